#include "shim/event_loop.hpp"

#include <sys/eventfd.h>

#include "runtime/common/error.hpp"

namespace brig::shim {

EventLoop::EventLoop()
    : epoll_(epoll_create1(EPOLL_CLOEXEC)), wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!epoll_ || !wake_)
        throw_errno("event loop: epoll/eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_token_;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
        throw_errno("event loop: epoll_ctl");
}

EventLoop::Token EventLoop::add(int fd, uint32_t events, Callback callback) {
    Token token = next_token_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        throw_errno("event loop: cannot watch fd " + std::to_string(fd));
    entries_.emplace(token, Entry{fd, std::make_shared<Callback>(std::move(callback))});
    return token;
}

void EventLoop::modify(Token token, uint32_t events) {
    auto it = entries_.find(token);
    if (it == entries_.end())
        return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, it->second.fd, &ev) != 0)
        throw_errno("event loop: epoll_ctl MOD");
}

void EventLoop::remove(Token token) {
    auto it = entries_.find(token);
    if (it == entries_.end())
        return;
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
    entries_.erase(it);
}

void EventLoop::run(const std::function<void()>& on_idle) {
    bool dispatched = false;
    while (!stopping_) {
        if (run_once(dispatched && on_idle ? 0 : -1) > 0) {
            dispatched = true;
        } else if (dispatched && on_idle) {
            on_idle();
            dispatched = false;
        }
    }
}

int EventLoop::run_once(int timeout_ms) {
    epoll_event events[32];
    int n = epoll_wait(epoll_.get(), events, 32, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        throw_errno("event loop: epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
        Token token = events[i].data.u64;
        if (token == wake_token_) {
            uint64_t value;
            [[maybe_unused]] auto r = ::read(wake_.get(), &value, sizeof value);
            stopping_ = true;
            continue;
        }
        auto it = entries_.find(token);
        if (it == entries_.end())
            continue;                         // removed by an earlier handler of this batch
        auto callback = it->second.callback;  // keeps it alive if the handler removes itself
        (*callback)(events[i].events);
    }
    return n;
}

void EventLoop::stop() {
    uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace brig::shim
