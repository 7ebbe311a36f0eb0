// A single-threaded epoll loop: the shim serves ttrpc, copies stdio and watches its processes'
// pidfds from one thread, so no handler ever races another.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "runtime/common/unique_fd.hpp"

namespace brig::shim {

class EventLoop {
public:
    using Callback = std::function<void(uint32_t events)>;
    // Names one registration; fd numbers are reused, tokens never are.
    using Token = uint64_t;

    EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // The loop does not own fd; remove() it before closing it.
    Token add(int fd, uint32_t events, Callback callback);
    void modify(Token token, uint32_t events);
    void remove(Token token);

    // Runs until stop(); handlers may add and remove registrations freely. on_idle runs each
    // time the loop runs out of ready events after dispatching some.
    void run(const std::function<void()>& on_idle = {});
    // Waits up to timeout_ms (-1: forever) and dispatches what is ready once; the number of
    // events seen.
    int run_once(int timeout_ms);
    // Safe from any thread and from handlers.
    void stop();
    bool stopping() const { return stopping_; }

private:
    struct Entry {
        int fd;
        std::shared_ptr<Callback> callback;
    };

    UniqueFd epoll_;
    UniqueFd wake_;
    Token wake_token_ = 0;
    Token next_token_ = 1;
    bool stopping_ = false;
    std::unordered_map<Token, Entry> entries_;
};

}  // namespace brig::shim
