#include "runtime/lifecycle/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "runtime/common/c_strings.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::lifecycle {
namespace {

// Feeds the state to the hook's stdin; a hook that does not read it is fine (EPIPE ignored).
void feed_stdin(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += static_cast<size_t>(n);
    }
}

}  // namespace

void run_hook(const config::Hook& hook, const std::string& state_json, const std::string& what) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw_errno(what + ": pipe");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, read_end.get(), STDIN_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> args =
        hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    auto argv = c_strings(args);
    auto envp = c_strings(hook.env);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, hook.path.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw Error(what + " " + hook.path, rc);
    read_end.reset();

    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    feed_stdin(write_end.get(), state_json);
    write_end.reset();

    int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
    if (pidfd) {
        pollfd p{pidfd.get(), POLLIN, 0};
        int n;
        do {
            n = poll(&p, 1, timeout_ms);
        } while (n < 0 && errno == EINTR);
        if (n == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            throw Error(what + " " + hook.path + ": error running hook: timed out after " +
                        std::to_string(*hook.timeout) + "s");
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            throw_errno(what + ": wait");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    // runc's words, which callers match: "error running hook", the signal by name.
    if (WIFSIGNALED(status)) {
        const char* name = sigdescr_np(WTERMSIG(status));
        std::string description = name ? name : "unknown signal";
        description[0] = static_cast<char>(std::tolower(description[0]));
        throw Error(what + " " + hook.path + ": error running hook: killed by signal " +
                    std::to_string(WTERMSIG(status)) + " (" + description + ")");
    }
    throw Error(what + " " + hook.path + ": error running hook: exit status " +
                std::to_string(WEXITSTATUS(status)));
}

void run_hooks(const std::vector<config::Hook>& hooks, const std::string& state_json,
               const std::string& kind) {
    for (size_t i = 0; i < hooks.size(); ++i)
        run_hook(hooks[i], state_json, "hooks." + kind + "[" + std::to_string(i) + "]");
}

void run_hooks_warning(const std::vector<config::Hook>& hooks, const std::string& state_json,
                       const std::string& kind,
                       const std::function<void(const std::string&)>& warn) {
    for (size_t i = 0; i < hooks.size(); ++i) {
        try {
            run_hook(hooks[i], state_json, "hooks." + kind + "[" + std::to_string(i) + "]");
        } catch (const Error& e) {
            warn(e.what());
        }
    }
}

}  // namespace brig::lifecycle
