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
    // returns its exit status, 128+N when killed by signal N.
    int wait(pid_t pid, int pidfd);

private:
    sigset_t forwarded_;
    sigset_t previous_;
};

}  // namespace brig::lifecycle
