// The one error type of brig: a message with context and, where a syscall failed, its errno.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace brig {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, int err = 0)
        : std::runtime_error(err ? message + ": " + errno_text(err) : message), errno_(err) {}

    int errnum() const noexcept { return errno_; }

    // An error passed on with its text as it stands (already naming its errno, if any): one
    // read back from a child process, or one with cleanup failures appended.
    static Error passed_on(const std::string& text, int err) { return Error(text, err, true); }

    static std::string errno_text(int err);

private:
    Error(const std::string& text, int err, bool) : std::runtime_error(text), errno_(err) {}

    int errno_;
};

// Throws Error with the current errno; use right after a failed syscall.
[[noreturn]] void throw_errno(const std::string& context);

// Calls a syscall-like function, retrying on EINTR; throws on -1.
template <typename F>
auto check_syscall(const std::string& context, F&& call) {
    for (;;) {
        auto ret = call();
        if (ret != -1)
            return ret;
        if (errno != EINTR)
            throw_errno(context);
    }
}

}  // namespace brig
