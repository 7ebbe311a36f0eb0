#include "runtime/lifecycle/rollback.hpp"

namespace brig::lifecycle {

void Rollback::add(std::string what, std::function<void()> undo) {
    steps_.push_back({std::move(what), std::move(undo)});
}

std::string Rollback::run() noexcept {
    std::string failures;
    while (!steps_.empty()) {
        Step step = std::move(steps_.back());
        steps_.pop_back();
        try {
            step.undo();
        } catch (const std::exception& e) {
            try {
                std::string line = step.what + ": " + e.what();
                log_.warn("cleanup: " + line);
                failures += (failures.empty() ? "" : "; ") + line;
            } catch (...) {
            }
        } catch (...) {
        }
    }
    return failures;
}

Error Rollback::fail(const std::exception& failure) noexcept {
    const auto* error = dynamic_cast<const Error*>(&failure);
    const int err = error ? error->errnum() : 0;
    std::string failures = run();
    // (Out of memory here ends brig: noexcept.)
    return Error::passed_on(
        failures.empty() ? failure.what() : failure.what() + ("; cleanup: " + failures), err);
}

}  // namespace brig::lifecycle
