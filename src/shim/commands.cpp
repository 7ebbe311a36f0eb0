#include "shim/commands.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <utility>

#include "monitor/runtime_monitor.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"
#include "runtime/common/resident.hpp"
#include "runtime/lifecycle/container.hpp"
#include "runtime/state/state_store.hpp"
#include "shim/events.hpp"
#include "shim/service.hpp"
#include "shim/sha256.hpp"
#include "shim/ttrpc.hpp"
#include "task.pb.h"

namespace brig::shim {
namespace {

constexpr size_t socket_path_limit = 106;
constexpr int listener_fd = 3;

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() > socket_path_limit)
        throw Error("socket path " + path + " is longer than " + std::to_string(socket_path_limit) +
                        " bytes",
                    ENAMETOOLONG);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    return addr;
}

bool someone_listens(const std::string& path) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto addr = unix_address(path);
    return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

UniqueFd listen_on(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    auto addr = unix_address(path);
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw_errno("socket");
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw_errno("cannot bind " + path);
    chmod(path.c_str(), 0600);
    if (::listen(fd.get(), 64) != 0)
        throw_errno("cannot listen on " + path);
    return fd;
}

// A handler, not SIG_IGN: handlers reset to default across exec, so containers keep SIGPIPE.
void ignore_signal(int) {}

}  // namespace

ShimFlags parse_flags(const std::vector<std::string>& args) {
    ShimFlags f;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (a.empty() || a[0] != '-') {
            f.verb = a;
            continue;
        }
        a.erase(0, a[1] == '-' ? 2 : 1);
        std::string value;
        bool has_value = false;
        if (auto eq = a.find('='); eq != std::string::npos) {
            value = a.substr(eq + 1);
            a.resize(eq);
            has_value = true;
        }
        if (a == "debug" || a == "v") {
            f.debug = a == "debug" ? (!has_value || value == "true") : f.debug;
            if (a == "v")
                f.verb = "version";
            continue;
        }
        std::string* target = a == "namespace"        ? &f.ns
                              : a == "address"        ? &f.address
                              : a == "publish-binary" ? &f.publish_binary
                              : a == "id"             ? &f.id
                              : a == "bundle"         ? &f.bundle
                                                      : nullptr;
        if (!target) {
            // containerd versions add flags (-socket, -ttrpc-address...): take their value, go on.
            if (!has_value && i + 1 < args.size() && args[i + 1].rfind('-', 0) != 0 &&
                i + 2 < args.size())
                ++i;
            continue;
        }
        if (!has_value) {
            if (i + 1 >= args.size())
                throw Error("flag -" + a + " needs a value");
            value = args[++i];
        }
        *target = value;
    }
    return f;
}

std::string socket_path_for(const std::string& address, const std::string& ns,
                            const std::string& id) {
    return "/run/containerd/s/" + sha256_hex(address + "/" + ns + "/" + id);
}

std::string state_root_for(const std::string& ns) {
    return "/run/containerd/brig/" + ns;
}

int run_start(const ShimFlags& flags, const std::string&) {
    // Our real path, so that ps shows the shim's name (not "exe").
    char self_path[PATH_MAX];
    ssize_t self_len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (self_len <= 0)
        throw_errno("start: readlink /proc/self/exe");
    const std::string self(self_path, static_cast<size_t>(self_len));
    if (flags.id.empty())
        throw Error("start: -id is required");
    // containerd writes the runtime options to our stdin; we take none of them.
    {
        char buf[4096];
        int fl = fcntl(STDIN_FILENO, F_GETFL);
        if (fl >= 0 && fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
            while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
            }
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        throw_errno("start: getcwd");
    const std::string bundle = cwd;
    const std::string path = socket_path_for(flags.address, flags.ns, flags.id);
    const std::string address = "unix://" + path;
    if (someone_listens(path)) {
        // A shim for this very container already serves (containerd retried): reuse it.
        state::write_file_atomic(bundle + "/address", address);
        std::cout << address << std::flush;
        return 0;
    }
    unlink(path.c_str());  // a dead shim's socket
    UniqueFd listener = listen_on(path);

    pid_t pid = fork();
    if (pid < 0)
        throw_errno("start: fork");
    if (pid == 0) {
        setsid();
        // dup2 clears CLOEXEC, but not when the listener already is fd 3.
        if (listener.get() == listener_fd ? fcntl(listener_fd, F_SETFD, 0) < 0
                                          : dup2(listener.get(), listener_fd) < 0)
            _exit(1);
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        // containerd reads the shim's log from the "log" FIFO in the bundle.
        int log = ::open((bundle + "/log").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        dup2(log >= 0 ? log : null, STDERR_FILENO);
        std::vector<std::string> args = {self,          "-namespace",      flags.ns,
                                         "-id",         flags.id,          "-address",
                                         flags.address, "-publish-binary", flags.publish_binary};
        if (flags.debug)
            args.push_back("-debug");
        args.push_back("serve");
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(self.c_str(), argv.data());
        _exit(127);
    }
    state::write_file_atomic(bundle + "/address", address);
    state::write_file_atomic(bundle + "/shim.pid", std::to_string(pid));
    std::cout << address << std::flush;
    return 0;
}

int run_delete(const ShimFlags& flags) {
    char cwd[PATH_MAX];
    std::string bundle = flags.bundle;
    if (bundle.empty() && getcwd(cwd, sizeof cwd))
        bundle = cwd;
    Logger log;
    if (!flags.id.empty()) {
        monitor::RuntimeMonitor monitor("", log);  // drops the container's BPF map entries
        lifecycle::Runtime runtime(state_root_for(flags.ns), log, false, &monitor);
        try {
            runtime.remove(flags.id, true);
        } catch (const Error& e) {
            std::cerr << "delete: " << e.what() << "\n";  // already gone: nothing to clean
        }
    }
    if (!bundle.empty())
        umount2((bundle + "/rootfs").c_str(), MNT_DETACH);
    // The dead shim's socket, unless a live one answers on it.
    const std::string socket_path = socket_path_for(flags.address, flags.ns, flags.id);
    if (!flags.id.empty() && !someone_listens(socket_path))
        unlink(socket_path.c_str());
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    containerd::task::v2::DeleteResponse r;
    r.set_exit_status(128 + SIGKILL);
    r.mutable_exited_at()->set_seconds(now.tv_sec);
    r.mutable_exited_at()->set_nanos(static_cast<int32_t>(now.tv_nsec));
    std::cout << r.SerializeAsString() << std::flush;
    return 0;
}

int serve(const ShimFlags& flags) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
    struct sigaction sa {};
    sa.sa_handler = ignore_signal;
    sigaction(SIGPIPE, &sa, nullptr);
    unsetenv("LISTEN_FDS");  // brig's create would hand "listen fds" to the container
    fcntl(listener_fd, F_SETFD, FD_CLOEXEC);

    Logger log(LogConfig{"", LogFormat::text, flags.debug});
    const char* ttrpc_address = getenv("TTRPC_ADDRESS");
    TtrpcPublisher publisher(ttrpc_address ? ttrpc_address : "", flags.ns);
    EventLoop loop;
    // Containers started through the shim are watched exactly like `brig create`'s: the BPF side
    // is loaded (or the pinned one reused) at the first Create.
    monitor::RuntimeMonitor monitor("", log);
    // One monitor per runtime handler config (CRI's ConfigPath), loaded at its first container.
    std::map<std::string, std::unique_ptr<monitor::RuntimeMonitor>> handler_monitors;
    auto handler_for = [&](const std::string& path) {
        monitor::RuntimeMonitor* chosen = &monitor;
        if (!path.empty()) {
            auto& loaded = handler_monitors[path];
            if (!loaded)
                loaded = std::make_unique<monitor::RuntimeMonitor>(path, log);
            chosen = loaded.get();
        }
        return ServiceOptions::Handler{chosen, chosen->systemd_cgroup()};
    };
    TaskService service(loop, publisher, log,
                        {state_root_for(flags.ns), flags.ns, &monitor, handler_for});
    bool served_call = false;
    ttrpc::Server server(loop, [&](const ttrpc::Call& call) {
        served_call = true;
        return service.handle(call);
    });
    service.set_replier(&server);
    server.listen(UniqueFd(listener_fd));
    // After a burst of calls (Create runs much of the runtime library once), not after every
    // stdio copy.
    loop.run([&] {
        if (std::exchange(served_call, false))
            release_resident_text();
    });
    publisher.flush();
    const std::string path = socket_path_for(flags.address, flags.ns, flags.id);
    unlink(path.c_str());
    return 0;
}

}  // namespace brig::shim
