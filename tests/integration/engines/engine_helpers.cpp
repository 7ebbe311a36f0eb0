#include "engines/engine_helpers.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace brig::test::engines {

ShellResult shell(const std::string& command) {
    ShellResult result;
    FILE* pipe = popen(("timeout -s KILL 90 /bin/sh -c " + quote(command) + " 2>&1").c_str(), "re");
    if (!pipe)
        return result;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
        result.output.append(buffer, n);
    int status = pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::string quote(const std::string& word) {
    std::string quoted = "'";
    for (char c : word)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

bool have_program(const std::string& path_or_name) {
    return shell("command -v " + quote(path_or_name)).status == 0;
}

std::string missing_prerequisite(const std::vector<std::string>& programs,
                                 const std::string& package) {
    if (geteuid() != 0)
        return "needs root";
    for (const auto& program : programs)
        if (!have_program(program))
            return program + " not found: the " + package +
                   " package is not installed (scripts/install-deps installs it)";
    if (!fs::exists("/bin/busybox"))
        return "busybox-static is not installed";
    if (!fs::exists(brig_binary()))
        return "brig not built: " + brig_binary();
    return "";
}

std::string brig_binary() {
    return BRIG_BINARY;
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string word; in >> word;)
        out.push_back(word);
    return out;
}

bool eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 600; ++i) {
        if (condition())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return condition();
}

ScratchDir::ScratchDir(const std::string& tag) {
    std::string pattern = "/tmp/brig-" + tag + "-XXXXXX";
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error("mkdtemp " + pattern + " failed");
    path_ = pattern;
    const fs::path root = rootfs();
    for (auto dir : {"bin", "proc", "sys", "dev", "etc", "tmp", "root"})
        fs::create_directories(root / dir);
    fs::copy_file("/bin/busybox", root / "bin/busybox");
    for (const auto& applet : words(shell("/bin/busybox --list").output))
        if (!fs::exists(root / "bin" / applet))
            fs::create_symlink("busybox", root / "bin" / applet);
    std::ofstream(root / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                          "nobody:x:65534:65534:nobody:/:/bin/sh\n";
    std::ofstream(root / "etc/group") << "root:x:0:\nnogroup:x:65534:\n";
    auto tar = shell("tar -C " + quote(root) + " -cf " + quote(rootfs_tar()) + " .");
    if (tar.status != 0)
        throw std::runtime_error("tar of the busybox rootfs failed: " + tar.output);
}

ScratchDir::~ScratchDir() {
    kill_and_unmount();
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

void ScratchDir::kill_and_unmount() const {
    const std::string prefix = path_.string() + "/";
    auto names_us = [&](const fs::path& proc) {
        std::ifstream f(proc / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(f)), {});
        if (cmdline.find(prefix) != std::string::npos)
            return true;
        std::error_code ec;
        auto root = fs::read_symlink(proc / "root", ec).string() + "/";
        return !ec && root.starts_with(prefix);
    };
    for (int round = 0; round < 3; ++round) {
        bool killed = false;
        for (const auto& entry : fs::directory_iterator("/proc")) {
            const std::string name = entry.path().filename();
            if (name.find_first_not_of("0123456789") != std::string::npos)
                continue;
            pid_t pid = std::stoi(name);
            if (pid != getpid() && names_us(entry.path()) && kill(pid, SIGKILL) == 0)
                killed = true;
        }
        if (!killed)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Deepest mounts first.
    std::vector<std::string> mounts;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
        auto fields = words(line);
        if (fields.size() > 4 && (fields[4] + "/").starts_with(prefix))
            mounts.push_back(fields[4]);
    }
    std::sort(mounts.begin(), mounts.end(), std::greater<>());
    for (const auto& mount : mounts)
        umount2(mount.c_str(), MNT_DETACH);
}

Daemon::Daemon(const std::vector<std::string>& argv, const fs::path& log) {
    pid_ = fork();
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        setsid();
        if (!freopen(log.c_str(), "a", stdout) || !freopen(log.c_str(), "a", stderr))
            _exit(126);
        std::vector<char*> args;
        for (const auto& arg : argv)
            args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
}

bool Daemon::running() {
    return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
}

bool Daemon::wait_ready(const std::function<bool()>& ready) {
    bool exited = false;
    bool ok = eventually([&] {
        exited = !running();
        return exited || ready();
    });
    return ok && !exited;
}

void Daemon::stop() {
    if (pid_ <= 0)
        return;
    kill(pid_, SIGTERM);
    bool exited = eventually([&] { return waitpid(pid_, nullptr, WNOHANG) != 0; });
    if (!exited) {
        kill(-pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
}

void SuiteVerdict::apply() const {
    if (!skip_reason.empty())
        GTEST_SKIP() << skip_reason;
    if (!setup_failure.empty())
        FAIL() << setup_failure;
}

}  // namespace brig::test::engines
