// Forwards the signals brig receives to a process it waits for (`run`, `exec`).
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace brig::lifecycle {

class SignalForwarder {
public:
    // Blocks the forwardable signals so none is lost between now and wait().
    SignalForwarder();
    SignalForwarder(const SignalForwarder&) = delete;
    SignalForwarder& operator=(const SignalForwarder&) = delete;
    ~SignalForwarder();

    // Waits for pid (a child of ours) to exit, forwarding signals to it through pidfd;
    // returns its exit status, 128+N when killed by signal N. With a pty master, copies
    // stdin to it and its output to stdout meanwhile (and forwards SIGWINCH as a resize).
    int wait(pid_t pid, int pidfd, int pty_master = -1);

private:
    sigset_t forwarded_;
    sigset_t previous_;
};

}  // namespace brig::lifecycle
