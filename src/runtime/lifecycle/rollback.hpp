// The undo steps of a multi-step setup (create), run last first when it fails. No step throws
// out of it: each failure is logged and appended to the error the caller sees, which still
// names (and carries the errno of) the failure that started the rollback, as youki's
// cleanup_container joins its errors.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"

namespace brig::lifecycle {

class Rollback {
public:
    explicit Rollback(const Logger& log) : log_(log) {}
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    // Steps still armed run here too (their failures only logged): never throws.
    ~Rollback() { run(); }

    // `what` names the step in the error ("removing the cgroup").
    void add(std::string what, std::function<void()> undo);
    // The setup succeeded: nothing is undone.
    void dismiss() noexcept { steps_.clear(); }
    // Undoes every step and returns the error to throw: `failure` (its text and errno), then
    // "; cleanup: " and each step that failed.
    Error fail(const std::exception& failure) noexcept;

private:
    struct Step {
        std::string what;
        std::function<void()> undo;
    };
    // Runs the steps last first; returns their failures, "; "-separated.
    std::string run() noexcept;

    const Logger& log_;
    std::vector<Step> steps_;
};

}  // namespace brig::lifecycle
