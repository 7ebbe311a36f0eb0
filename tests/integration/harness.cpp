#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace brig::test {

namespace {

[[noreturn]] void fail_errno(const std::string& context) {
    throw std::runtime_error(context + ": " + std::strerror(errno));
}

std::vector<std::string> child_environment(const CommandOptions& options) {
    std::map<std::string, std::string> entries;
    std::vector<std::string> order;
    auto add = [&](const std::string& entry) {
        auto name = entry.substr(0, entry.find('='));
        if (!entries.contains(name))
            order.push_back(name);
        entries[name] = entry;
    };
    for (char** e = environ; *e != nullptr; ++e)
        add(*e);
    for (const auto& e : options.extra_env)
        add(e);
    std::vector<std::string> env;
    for (const auto& name : order)
        env.push_back(entries[name]);
    return env;
}

void drain_nonblocking(int fd, std::string& into) {
    if (fd < 0)
        return;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    char buffer[65536];
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n > 0) {
            into.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}

std::string random_token() {
    static std::atomic<unsigned> counter{0};
    std::random_device device;
    std::mt19937 generator(device() ^ static_cast<unsigned>(getpid()));
    std::uniform_int_distribution<int> digit(0, 35);
    std::string token;
    for (int i = 0; i < 6; ++i) {
        int d = digit(generator);
        token += static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    }
    return std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + token;
}

// Mount points from /proc/self/mountinfo (field 5), with octal escapes decoded.
std::vector<std::string> mount_points() {
    std::vector<std::string> points;
    std::istringstream lines(read_file("/proc/self/mountinfo"));
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string field;
        for (int i = 0; i < 5 && fields >> field; ++i) {
        }
        std::string decoded;
        for (size_t i = 0; i < field.size(); ++i) {
            if (field[i] == '\\' && i + 3 < field.size()) {
                decoded += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                decoded += field[i];
            }
        }
        points.push_back(decoded);
    }
    return points;
}

// Removes a tree without crossing into other file systems (a leaked bind mount must never make
// teardown delete host files).
void remove_tree(const fs::path& path, dev_t device) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0)
        return;
    if (st.st_dev != device)
        return;
    if (S_ISDIR(st.st_mode)) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(path, ec))
            remove_tree(entry.path(), device);
        rmdir(path.c_str());
    } else {
        unlink(path.c_str());
    }
}

void find_cgroup_dirs(const fs::path& dir, const std::string& id, int depth,
                      std::vector<std::string>& found) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_directory(ec) || entry.is_symlink(ec))
            continue;
        auto name = entry.path().filename().string();
        if (name.find(id) != std::string::npos) {
            found.push_back("cgroup " + entry.path().string());
            continue;
        }
        if (depth > 1)
            find_cgroup_dirs(entry.path(), id, depth - 1, found);
    }
}

const std::vector<std::string>& busybox_applets() {
    static const std::vector<std::string> applets = [] {
        auto result = run_command({"/bin/busybox", "--list"});
        if (!result.ok())
            throw std::runtime_error("busybox --list failed: " + result.describe());
        return split_lines(result.out);
    }();
    return applets;
}

}  // namespace

// ---- running commands -------------------------------------------------------------------------

std::string CommandResult::describe() const {
    std::ostringstream text;
    if (timed_out)
        text << "TIMED OUT, ";
    if (term_signal != 0)
        text << "killed by signal " << term_signal;
    else
        text << "exit " << exit_code;
    auto shortened = [](const std::string& text) {
        return text.size() <= 4096 ? text : text.substr(0, 4096) + "...(truncated)";
    };
    text << ", stdout '" << shortened(out) << "', stderr '" << shortened(err) << "'";
    return text.str();
}

SpawnedProcess::SpawnedProcess(const std::vector<std::string>& argv,
                               const CommandOptions& options) {
    signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test with SIGPIPE
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        fail_errno("pipe2");
    auto env = child_environment(options);
    std::vector<char*> c_argv;
    for (const auto& a : argv)
        c_argv.push_back(const_cast<char*>(a.c_str()));
    c_argv.push_back(nullptr);

    deadline_ = std::chrono::steady_clock::now() + options.timeout;
    pid_ = fork();
    if (pid_ < 0)
        fail_errno("fork");
    if (pid_ == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        // Move sources out of the way first so that targets may overlap sources.
        std::vector<std::pair<int, int>> moved;
        for (auto [source, target] : options.inherited_fds)
            moved.emplace_back(fcntl(source, F_DUPFD_CLOEXEC, 1000), target);
        for (auto [source, target] : moved)
            dup2(source, target);
        if (options.set_listen_pid)
            env.push_back("LISTEN_PID=" + std::to_string(getpid()));
        std::vector<char*> c_env;
        for (auto& e : env)
            c_env.push_back(e.data());
        c_env.push_back(nullptr);
        execvpe(c_argv[0], c_argv.data(), c_env.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0)
        fail_errno("pidfd_open");
    if (!options.stdin_data.empty()) {
        const char* data = options.stdin_data.data();
        size_t left = options.stdin_data.size();
        while (left > 0) {
            ssize_t n = write(in[1], data, left);
            if (n <= 0)
                break;
            data += n;
            left -= static_cast<size_t>(n);
        }
    }
    close(in[1]);
}

SpawnedProcess::~SpawnedProcess() {
    if (!waited_ && pid_ > 0) {
        kill(-pid_, SIGKILL);
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    for (int fd : {pidfd_, stdout_fd_, stderr_fd_})
        if (fd >= 0)
            close(fd);
}

CommandResult SpawnedProcess::wait() {
    if (waited_)
        return result_;
    bool exited = false;
    while (!exited) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline_) {
            result_.timed_out = true;
            kill(-pid_, SIGKILL);
            kill(pid_, SIGKILL);
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
        pollfd fds[3] = {{pidfd_, POLLIN, 0}, {stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
        int ready = poll(fds, 3, static_cast<int>(std::min<long>(left.count(), 1000)) + 1);
        if (ready < 0 && errno != EINTR)
            fail_errno("poll");
        if (ready <= 0)
            continue;
        std::string* sinks[3] = {nullptr, &result_.out, &result_.err};
        int* fds_owned[3] = {nullptr, &stdout_fd_, &stderr_fd_};
        for (int i = 1; i < 3; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buffer[65536];
            ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                sinks[i]->append(buffer, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                close(*fds_owned[i]);
                *fds_owned[i] = -1;
            }
        }
        if (fds[0].revents & POLLIN)
            exited = true;
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    waited_ = true;
    drain_nonblocking(stdout_fd_, result_.out);
    drain_nonblocking(stderr_fd_, result_.err);
    if (WIFEXITED(status)) {
        result_.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result_.term_signal = WTERMSIG(status);
    }
    return result_;
}

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
    SpawnedProcess process(argv, options);
    return process.wait();
}

// ---- host facts -------------------------------------------------------------------------------

bool apparmor_enabled() {
    const auto lsms = "," + trim(read_file("/sys/kernel/security/lsm")) + ",";
    return trim(read_file("/sys/module/apparmor/parameters/enabled")) == "Y" &&
           lsms.find(",apparmor,") != std::string::npos;
}

std::string find_apparmor_parser() {
    for (const char* candidate : {"/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"})
        if (access(candidate, X_OK) == 0)
            return candidate;
    return {};
}

// ---- files and processes ----------------------------------------------------------------------

std::string cgroup2_mount_point() {
    std::ifstream mounts("/proc/self/mounts");
    std::string device, mount_point, type, rest;
    while (mounts >> device >> mount_point >> type && std::getline(mounts, rest))
        if (type == "cgroup2")
            return mount_point;
    return "";
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return {};
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

void write_file(const fs::path& path, std::string_view content, mode_t mode) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        fail_errno("open " + path.string());
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            close(fd);
            fail_errno("write " + path.string());
        }
        done += static_cast<size_t>(n);
    }
    fchmod(fd, mode);
    close(fd);
}

bool process_alive(pid_t pid) {
    if (pid <= 0)
        return false;
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty())
        return false;
    auto paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

std::string trim(std::string_view text) {
    auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos)
        return {};
    auto end = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(begin, end - begin + 1));
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty())
            lines.push_back(line);
    }
    return lines;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (condition())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string namespace_link(const std::string& pid, const std::string& type) {
    std::error_code ec;
    auto target = fs::read_symlink("/proc/" + pid + "/ns/" + type, ec);
    return ec ? std::string() : target.string();
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string text;
    for (const auto& item : items) {
        if (!text.empty())
            text += separator;
        text += item;
    }
    return text;
}

::testing::AssertionResult is_one_line_error(const CommandResult& result) {
    if (result.exit_code == 0)
        return ::testing::AssertionFailure() << "command succeeded: " << result.describe();
    auto message = trim(result.err);
    if (message.empty())
        return ::testing::AssertionFailure() << "empty stderr: " << result.describe();
    if (message.find('\n') != std::string::npos)
        return ::testing::AssertionFailure() << "stderr is not one line: " << result.describe();
    return ::testing::AssertionSuccess();
}

// ---- the runtime under test -------------------------------------------------------------------

std::string runtime_binary() {
    const char* chosen = getenv("BRIG_TEST_RUNTIME");
    if (chosen != nullptr && *chosen != '\0')
        return chosen;
    return BRIG_BINARY;
}

std::string runtime_name() {
    return fs::path(runtime_binary()).filename().string();
}

RuntimeKind runtime_kind() {
    auto name = runtime_name();
    if (name == "brig")
        return RuntimeKind::brig;
    if (name == "runc")
        return RuntimeKind::runc;
    if (name == "crun")
        return RuntimeKind::crun;
    return RuntimeKind::other;
}

Json base_config() {
    static const char* const text = R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/true"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                   "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                   "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    },
    "noNewPrivileges": false
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "brig-test",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                    "/sys/devices/virtual/powercap"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";
    return Json::parse(text);
}

// ---- bundles ----------------------------------------------------------------------------------

Bundle::Bundle(fs::path dir) : dir_(std::move(dir)), config_(base_config()) {
    auto root = rootfs();
    for (const char* sub : {"bin", "proc", "sys", "dev", "etc", "tmp", "root", "usr/bin", "sbin"})
        fs::create_directories(root / sub);
    fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
    fs::copy_file("/bin/busybox", root / "bin/busybox");
    fs::permissions(root / "bin/busybox", static_cast<fs::perms>(0755));
    for (const auto& applet : busybox_applets()) {
        if (applet == "busybox")
            continue;
        std::error_code ec;
        fs::create_symlink("busybox", root / "bin" / applet, ec);
    }
    write_file(root / "etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "tester:x:1000:1000:tester:/tmp:/bin/sh\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    write_file(root / "etc/group",
               "root:x:0:\ntty:x:5:\nusers:x:100:\ntester:x:1000:\nnogroup:x:65534:\n");
    write_config();
}

void Bundle::set_args(std::vector<std::string> args) {
    config_["process"]["args"] = std::move(args);
    write_config();
}

void Bundle::write_config() const {
    write_file(dir_ / "config.json", config_.dump(2));
}

// ---- fds and the console socket ---------------------------------------------------------------

void TestFd::reset() {
    if (fd_ >= 0)
        close(fd_);
    fd_ = -1;
}

ConsoleSocket::ConsoleSocket(fs::path path) : path_(std::move(path)) {
    listener_ = TestFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_)
        fail_errno("socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.string().size() >= sizeof address.sun_path)
        throw std::runtime_error("console socket path too long: " + path_.string());
    std::strcpy(address.sun_path, path_.c_str());
    if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        fail_errno("bind " + path_.string());
    if (listen(listener_.get(), 4) != 0)
        fail_errno("listen");
}

TestFd ConsoleSocket::receive_fd(std::chrono::milliseconds timeout) {
    pollfd waiting{listener_.get(), POLLIN, 0};
    if (poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0)
        return {};
    TestFd connection(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection)
        return {};
    pollfd data{connection.get(), POLLIN, 0};
    if (poll(&data, 1, static_cast<int>(timeout.count())) <= 0)
        return {};
    char byte[256];
    iovec vector{byte, sizeof byte};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr message{};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (recvmsg(connection.get(), &message, MSG_CMSG_CLOEXEC) < 0)
        return {};
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
            return TestFd(fd);
        }
    }
    return {};
}

std::string read_pty(int master_fd, std::chrono::milliseconds limit) {
    std::string output;
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        pollfd waiting{master_fd, POLLIN, 0};
        int ready = poll(&waiting, 1, static_cast<int>(left.count()));
        if (ready <= 0) {
            if (ready < 0 && errno == EINTR)
                continue;
            break;
        }
        char buffer[4096];
        ssize_t n = read(master_fd, buffer, sizeof buffer);
        if (n > 0) {
            output.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;  // EIO: every slave fd is closed
    }
    return output;
}

// ---- the fixture ------------------------------------------------------------------------------

void RuntimeTest::SetUp() {
    if (geteuid() != 0)
        GTEST_SKIP() << "integration tests run containers and need root";
    if (!fs::exists("/bin/busybox"))
        GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
    if (!fs::exists(runtime_binary()))
        GTEST_SKIP() << "runtime not found: " << runtime_binary();
    char pattern[] = "/tmp/brig-itest-XXXXXX";
    if (mkdtemp(pattern) == nullptr)
        fail_errno("mkdtemp");
    tmp_dir_ = pattern;
    fs::permissions(tmp_dir_, static_cast<fs::perms>(0755));  // user-namespaced containers read it
    state_root_ = tmp_dir_ / "state";
    fs::create_directories(state_root_);
    bundle_ = std::make_unique<Bundle>(tmp_dir_ / "bundle");
}

void RuntimeTest::TearDown() {
    if (tmp_dir_.empty())
        return;
    for (auto it = ids_.rbegin(); it != ids_.rend(); ++it) {
        CommandOptions options;
        options.timeout = std::chrono::seconds(30);
        runtime({"delete", "--force", *it}, options);
    }
    // Anything still mounted below the tmp dir (a test's host-side mount, or a leak).
    auto prefix = tmp_dir_.string() + "/";
    auto points = mount_points();
    for (auto it = points.rbegin(); it != points.rend(); ++it) {
        if (it->rfind(prefix, 0) == 0)
            umount2(it->c_str(), MNT_DETACH);
    }
    struct stat st {};
    if (lstat(tmp_dir_.c_str(), &st) == 0)
        remove_tree(tmp_dir_, st.st_dev);
}

Bundle RuntimeTest::make_bundle(const std::string& name) {
    return Bundle(tmp_dir_ / name);
}

std::string RuntimeTest::new_id(const std::string& tag) {
    auto id = "itest-" + tag + "-" + random_token();
    ids_.push_back(id);
    return id;
}

CommandResult RuntimeTest::runtime(const std::vector<std::string>& args,
                                   const CommandOptions& options) {
    std::vector<std::string> argv{runtime_binary(), "--root", state_root_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, options);
}

std::unique_ptr<SpawnedProcess> RuntimeTest::spawn_runtime(const std::vector<std::string>& args,
                                                           const CommandOptions& options) {
    std::vector<std::string> argv{runtime_binary(), "--root", state_root_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<SpawnedProcess>(argv, options);
}

CommandResult RuntimeTest::create(const std::string& id, const std::vector<std::string>& extra) {
    return create_in(*bundle_, id, extra);
}

CommandResult RuntimeTest::create_in(const Bundle& b, const std::string& id,
                                     const std::vector<std::string>& extra) {
    std::vector<std::string> args{"create", "--bundle", b.dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    return runtime(args);
}

CommandResult RuntimeTest::run(const std::string& id, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"run", "--bundle", bundle_->dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    return runtime(args);
}

CommandResult RuntimeTest::delete_container(const std::string& id, bool force) {
    if (force)
        return runtime({"delete", "--force", id});
    return runtime({"delete", id});
}

CommandResult RuntimeTest::run_to_completion(const std::string& script) {
    bundle_->set_script(script);
    return run(new_id("run"));
}

Json RuntimeTest::state(const std::string& id) {
    auto result = runtime({"state", id});
    if (!result.ok())
        return Json::object();
    auto parsed = Json::parse(result.out, nullptr, false);
    return parsed.is_discarded() ? Json::object() : parsed;
}

std::string RuntimeTest::status(const std::string& id) {
    auto s = state(id);
    if (!s.contains("status") || !s["status"].is_string())
        return {};
    return s["status"].get<std::string>();
}

std::string RuntimeTest::wait_for_status(const std::string& id, const std::string& wanted) {
    std::string last;
    wait_until([&] {
        last = status(id);
        return last == wanted;
    });
    return last;
}

std::vector<std::string> RuntimeTest::leftovers(const std::string& id, const fs::path& bundle_dir) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(state_root_, ec)) {
        if (entry.path().filename().string().find(id) != std::string::npos)
            found.push_back("state " + entry.path().string());
    }
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
        if (hierarchy.is_directory(ec) && !hierarchy.is_symlink(ec))
            find_cgroup_dirs(hierarchy.path(), id, 4, found);
    }
    auto bundle_text = bundle_dir.string();
    for (const auto& point : mount_points()) {
        if (point.find(bundle_text) != std::string::npos)
            found.push_back("mount " + point);
    }
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        if (std::stoi(name) == getpid() || !process_alive(std::stoi(name)))
            continue;
        auto cgroup = read_file(entry.path() / "cgroup");
        auto cmdline = read_file(entry.path() / "cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cgroup.find(id) != std::string::npos || cmdline.find(id) != std::string::npos ||
            cmdline.find(bundle_text) != std::string::npos)
            found.push_back("process " + name + " (" + trim(cmdline) + ")");
    }
    return found;
}

}  // namespace brig::test
