#include "runtime/lifecycle/signal_forwarder.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
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

namespace {

// Copies what is readable on `from` to `to`; false at end of input.
bool pump(int from, int to) {
    char buf[16384];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

void copy_window_size(int from_tty, int to_pty) {
    winsize ws{};
    if (ioctl(from_tty, TIOCGWINSZ, &ws) == 0)
        ioctl(to_pty, TIOCSWINSZ, &ws);
}

}  // namespace

int SignalForwarder::wait(pid_t pid, int pidfd, int pty_master) {
    UniqueFd sigfd(signalfd(-1, &forwarded_, SFD_CLOEXEC));
    if (!sigfd)
        throw_errno("signalfd");
    // With our own terminal on stdin, put it in raw mode: the container's pty does the cooking.
    termios saved{};
    bool raw = pty_master >= 0 && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        termios t = saved;
        cfmakeraw(&t);
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        copy_window_size(STDIN_FILENO, pty_master);
    }
    bool stdin_open = pty_master >= 0;
    bool pty_open = pty_master >= 0;
    for (;;) {
        pollfd fds[4] = {{pidfd, POLLIN, 0},
                         {sigfd.get(), POLLIN, 0},
                         {pty_open ? pty_master : -1, POLLIN, 0},
                         {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
        if (poll(fds, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("poll");
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGWINCH && raw)
                    copy_window_size(STDIN_FILENO, pty_master);
                else
                    syscall(SYS_pidfd_send_signal, pidfd, si.ssi_signo, nullptr, 0);
            }
        }
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
            pty_open = pump(pty_master, STDOUT_FILENO);
        if (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
            stdin_open = pump(STDIN_FILENO, pty_master);
        if (fds[0].revents & POLLIN) {
            // Drain what the container wrote before it exited.
            while (pty_open && poll(&fds[2], 1, 0) > 0 && (fds[2].revents & POLLIN))
                pty_open = pump(pty_master, STDOUT_FILENO);
            break;
        }
    }
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
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
