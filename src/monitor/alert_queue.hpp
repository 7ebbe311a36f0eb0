// The watcher's alerts, written by a thread of their own: an output can take seconds (an HTTP
// endpoint that does not answer, a slow program), and the watcher's loop answers the exec
// verdicts a container's processes wait for (exec_verdicts.hpp).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "monitor/alerts.hpp"

namespace brig::monitor {

class AlertQueue {
public:
    explicit AlertQueue(AlertSink& sink);
    ~AlertQueue();  // writes what is queued first
    AlertQueue(const AlertQueue&) = delete;
    AlertQueue& operator=(const AlertQueue&) = delete;

    // Queues the alert; past kLimit waiting ones it is counted instead, and the count alerted
    // once the outputs catch up.
    void emit(const Alert& alert);
    // Returns once every queued alert is written.
    void flush();

    static constexpr size_t kLimit = 10000;

private:
    void write_all();

    AlertSink& sink_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Alert> queue_;
    uint64_t overflowed_ = 0;
    bool writing_ = false;
    bool stopping_ = false;
    std::thread writer_;
};

}  // namespace brig::monitor
