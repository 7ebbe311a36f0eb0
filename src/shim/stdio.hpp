// A container process's stdio as containerd gives it: FIFO paths, with or without a terminal.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "runtime/common/unique_fd.hpp"
#include "shim/event_loop.hpp"

namespace brig::shim {

// Copies from one fd to another through the event loop without ever blocking it; at end of
// input it flushes and closes its destination (the reader downstream then sees EOF).
class Pump {
public:
    Pump(EventLoop& loop, UniqueFd from, UniqueFd to);
    Pump(const Pump&) = delete;
    Pump& operator=(const Pump&) = delete;
    ~Pump();

    // Copies whatever is readable right now, blocking on the destination if need be (used on
    // process exit, so output reaches containerd before the exit event).
    void drain();
    void close();
    bool done() const { return !from_ && !to_; }

private:
    void on_readable();
    void on_writable();
    void finish();

    EventLoop& loop_;
    UniqueFd from_, to_;
    EventLoop::Token from_token_ = 0, to_token_ = 0;
    std::string buffer_;
    bool eof_ = false;
};

struct StdioPaths {
    std::string stdin, stdout, stderr;
    bool terminal = false;
};

// The fds a process gets as 0/1/2 plus the copying the shim does for it. Without a terminal,
// stdout/stderr FIFOs go to the process directly (opened read-write, so a restarting containerd
// never makes the process die of SIGPIPE); stdin goes through a pipe the shim feeds, so the
// process sees EOF when the client closes its end.
class ProcessIo {
public:
    ProcessIo(EventLoop& loop, const StdioPaths& paths);

    // The process's 0/1/2, given to the runtime's create or exec, then released.
    int child_fd(int n) const { return child_[n].get(); }
    void release_child_fds();

    // With a terminal: the pty master received over the console socket.
    void attach_pty(UniqueFd master);
    int pty_master() const { return master_.get(); }

    void close_stdin();
    // On exit of the process: forward its remaining terminal output.
    void drain_output();

private:
    EventLoop& loop_;
    StdioPaths paths_;
    UniqueFd child_[3];
    UniqueFd stdin_fifo_;  // read end of containerd's stdin FIFO, until a pump takes it
    UniqueFd stdin_pipe_;  // write end of the process's stdin pipe (no terminal)
    UniqueFd master_;
    std::unique_ptr<Pump> in_, out_;
};

}  // namespace brig::shim
