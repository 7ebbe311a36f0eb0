// The kernel discards a signal sent to the init of a pid namespace unless that process catches
// or blocks it (SIGKILL and SIGSTOP from an ancestor namespace excepted): it is not queued for
// later. A `kill` right after `start` can so reach a program that has not yet installed its
// handlers (a shell before its `trap`) and be lost; runtime-tools' killsig test does exactly that.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace brig::linux {

struct SignalDisposition {
    bool namespace_init = false;  // the last NSpid is 1
    uint64_t blocked = 0;         // SigBlk, SigIgn, SigCgt: bit N-1 is signal N
    uint64_t ignored = 0;
    uint64_t caught = 0;
};

// From the text of /proc/PID/status; fields it lacks stay 0.
SignalDisposition parse_signal_disposition(const std::string& status);

// Whether the kernel would discard `signal` sent now to a process with this disposition
// (ignored signals are the process's own choice and not counted).
bool would_discard(const SignalDisposition& d, int signal);

// When pid is a namespace init that would discard signal and was created less than `young`
// ago (a container just started), waits up to max_wait (polling its status) for it to catch or
// block the signal. Returns at once otherwise, and when the process is gone.
void await_signal_handler(pid_t pid, int signal, std::chrono::milliseconds max_wait,
                          std::chrono::milliseconds young);

}  // namespace brig::linux
