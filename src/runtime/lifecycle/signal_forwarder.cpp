#include "runtime/lifecycle/signal_forwarder.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::lifecycle {

SignalForwarder::SignalForwarder() {
    sigfillset(&forwarded_);
    for (int s : {SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGKILL, SIGSTOP, SIGTTIN,
                  SIGTTOU, SIGTSTP})
        sigdelset(&forwarded_, s);
    sigprocmask(SIG_BLOCK, &forwarded_, &previous_);
}

SignalForwarder::~SignalForwarder() {
    sigprocmask(SIG_SETMASK, &previous_, nullptr);
}

int SignalForwarder::wait(pid_t pid, int pidfd) {
    UniqueFd sigfd(signalfd(-1, &forwarded_, SFD_CLOEXEC));
    if (!sigfd)
        throw_errno("signalfd");
    for (;;) {
        pollfd fds[2] = {{pidfd, POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("poll");
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(sigfd.get(), &si, sizeof si) == sizeof si)
                syscall(SYS_pidfd_send_signal, pidfd, si.ssi_signo, nullptr, 0);
        }
        if (fds[0].revents & POLLIN)
            break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            throw_errno("waitpid");
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

}  // namespace brig::lifecycle
