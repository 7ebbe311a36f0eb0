#include "monitor/alert_queue.hpp"

#include <time.h>

#include <utility>

#include "monitor/quiet_thread.hpp"

namespace brig::monitor {
namespace {

Alert overflow_alert(const Alert& last, uint64_t count) {
    Alert alert;
    struct timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    alert.time = rfc3339(now);
    alert.rule = "brig alerts dropped";
    alert.priority = Priority::error;
    alert.output = alert.time + ": Error " + std::to_string(count) +
                   " alerts were dropped: the outputs were too slow for them";
    alert.output_fields = {{"brig.dropped", std::to_string(count)}};
    for (const auto& [name, value] : last.output_fields)
        if (name == "container.id")
            alert.output_fields.emplace_back(name, value);
    alert.tags = {"brig", "drops"};
    alert.hostname = last.hostname;
    alert.source = "internal";
    return alert;
}

}  // namespace

AlertQueue::AlertQueue(AlertSink& sink)
    : sink_(sink), writer_(quiet_thread([this] { write_all(); })) {}

AlertQueue::~AlertQueue() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    writer_.join();
}

void AlertQueue::emit(const Alert& alert) {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kLimit) {
        ++overflowed_;
        return;
    }
    queue_.push_back(alert);
    changed_.notify_all();
}

void AlertQueue::flush() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

void AlertQueue::write_all() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
            return;
        Alert alert = std::move(queue_.front());
        queue_.pop_front();
        uint64_t dropped = queue_.empty() ? std::exchange(overflowed_, 0) : 0;
        writing_ = true;
        lock.unlock();
        sink_.emit(alert);
        if (dropped)
            sink_.emit(overflow_alert(alert, dropped));
        lock.lock();
        writing_ = false;
        changed_.notify_all();
    }
}

}  // namespace brig::monitor
