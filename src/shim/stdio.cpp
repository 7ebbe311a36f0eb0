#include "shim/stdio.hpp"

#include <fcntl.h>
#include <poll.h>

#include "runtime/common/error.hpp"

namespace brig::shim {
namespace {

constexpr size_t pump_buffer = 32768;

void set_nonblocking(int fd, bool on) {
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

UniqueFd open_or_throw(const std::string& path, int flags, const char* what) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd)
        throw_errno(std::string(what) + " " + path);
    return fd;
}

UniqueFd dev_null() {
    return open_or_throw("/dev/null", O_RDWR, "cannot open");
}

}  // namespace

Pump::Pump(EventLoop& loop, UniqueFd from, UniqueFd to)
    : loop_(loop), from_(std::move(from)), to_(std::move(to)) {
    set_nonblocking(from_.get(), true);
    set_nonblocking(to_.get(), true);
    from_token_ = loop_.add(from_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
}

Pump::~Pump() {
    close();
}

void Pump::close() {
    if (from_token_)
        loop_.remove(std::exchange(from_token_, 0));
    if (to_token_)
        loop_.remove(std::exchange(to_token_, 0));
    from_.reset();
    to_.reset();
}

void Pump::on_readable() {
    if (!buffer_.empty())
        return;
    char buf[pump_buffer];
    ssize_t n = ::read(from_.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {  // EOF, or EIO from a pty master whose slave side is gone
        eof_ = true;
        loop_.remove(std::exchange(from_token_, 0));
        from_.reset();
        finish();
        return;
    }
    buffer_.assign(buf, static_cast<size_t>(n));
    on_writable();
}

void Pump::on_writable() {
    while (!buffer_.empty()) {
        ssize_t n = ::write(to_.get(), buffer_.data(), buffer_.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            // Stop reading until the destination drains.
            if (from_token_)
                loop_.modify(from_token_, 0);
            if (!to_token_)
                to_token_ = loop_.add(to_.get(), EPOLLOUT, [this](uint32_t) { on_writable(); });
            return;
        }
        if (n < 0) {  // the reader went away for good: drop the data, keep the source drained
            buffer_.clear();
            break;
        }
        buffer_.erase(0, static_cast<size_t>(n));
    }
    if (to_token_)
        loop_.remove(std::exchange(to_token_, 0));
    if (from_token_)
        loop_.modify(from_token_, EPOLLIN);
    finish();
}

void Pump::finish() {
    if (eof_ && buffer_.empty())
        close();
}

void Pump::drain() {
    if (!from_ || !to_)
        return;
    set_nonblocking(to_.get(), false);
    for (;;) {
        if (!buffer_.empty()) {
            on_writable();
            if (!buffer_.empty())
                break;  // only on a hard write error
        }
        pollfd p{from_.get(), POLLIN, 0};
        if (poll(&p, 1, 0) <= 0 || !from_)
            break;
        on_readable();
        if (!from_)
            break;
    }
    if (to_)
        set_nonblocking(to_.get(), true);
}

ProcessIo::ProcessIo(EventLoop& loop, const StdioPaths& paths) : loop_(loop), paths_(paths) {
    if (!paths.stdin.empty()) {
        // Non-blocking open of a FIFO's read end never waits for the writer.
        stdin_fifo_ = open_or_throw(paths.stdin, O_RDONLY | O_NONBLOCK, "stdin: cannot open");
    }
    if (paths.terminal) {
        for (auto& fd : child_)
            fd = dev_null();
        return;
    }
    if (stdin_fifo_) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            throw_errno("stdin: pipe");
        child_[0].reset(p[0]);
        stdin_pipe_.reset(p[1]);
        in_ = std::make_unique<Pump>(loop_, std::move(stdin_fifo_), std::move(stdin_pipe_));
    } else {
        child_[0] = dev_null();
    }
    child_[1] = paths.stdout.empty() ? dev_null()
                                     : open_or_throw(paths.stdout, O_RDWR, "stdout: cannot open");
    if (paths.stderr.empty())
        child_[2] = dev_null();
    else if (paths.stderr == paths.stdout)
        child_[2].reset(fcntl(child_[1].get(), F_DUPFD_CLOEXEC, 3));
    else
        child_[2] = open_or_throw(paths.stderr, O_RDWR, "stderr: cannot open");
}

void ProcessIo::release_child_fds() {
    for (auto& fd : child_)
        fd.reset();
}

void ProcessIo::attach_pty(UniqueFd master) {
    master_ = std::move(master);
    if (stdin_fifo_) {
        UniqueFd to(fcntl(master_.get(), F_DUPFD_CLOEXEC, 3));
        in_ = std::make_unique<Pump>(loop_, std::move(stdin_fifo_), std::move(to));
    }
    if (!paths_.stdout.empty()) {
        UniqueFd from(fcntl(master_.get(), F_DUPFD_CLOEXEC, 3));
        out_ = std::make_unique<Pump>(loop_, std::move(from),
                                      open_or_throw(paths_.stdout, O_RDWR, "stdout: cannot open"));
    }
}

void ProcessIo::close_stdin() {
    in_.reset();
    stdin_fifo_.reset();
    stdin_pipe_.reset();
}

void ProcessIo::drain_output() {
    if (out_) {
        out_->drain();
        out_.reset();
    }
}

}  // namespace brig::shim
