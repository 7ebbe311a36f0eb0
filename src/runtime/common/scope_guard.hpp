// Runs a cleanup on scope exit unless dismissed: the undo half of every multi-step setup.
#pragma once

#include <utility>

namespace brig {

template <typename F>
class ScopeGuard {
public:
    explicit ScopeGuard(F undo) : undo_(std::move(undo)) {}
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ~ScopeGuard() {
        if (armed_)
            undo_();
    }
    void dismiss() noexcept { armed_ = false; }

private:
    F undo_;
    bool armed_ = true;
};

}  // namespace brig
