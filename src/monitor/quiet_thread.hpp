// A thread of the watcher that takes no signal: delete's SIGUSR1 must reach the watcher's loop
// (it cuts its poll short), not a helper thread.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace brig::monitor {

template <typename F>
std::thread quiet_thread(F&& body) {
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);  // the new thread inherits this mask
    std::thread thread(std::forward<F>(body));
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    return thread;
}

}  // namespace brig::monitor
