// The watcher's side of the kernel's coalescing (submit_event in bpf/monitor_common.h): the
// count each alert stands for, and the alerts of the repeats counted after a window's first
// repeat, once the window is over.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <tuple>

#include "monitor/bpf/monitor_abi.h"

namespace brig::monitor {

class RepeatTracker {
public:
    // The kernel's entry of a key, if it still has one.
    using KernelLookup = std::function<std::optional<brig_repeat>(const brig_repeat_key&)>;
    // Alerts `event` as standing for `count` events.
    using Emit = std::function<void(const brig_event& event, uint64_t count)>;

    explicit RepeatTracker(uint32_t window_ms) : window_ns_(uint64_t{window_ms} * 1000000) {}

    // The events `event` stands for (itself and the repeats before it not alerted yet), or
    // nothing for a window's first repeat: it is kept, and alerted with the repeats after it by
    // flush().
    std::optional<uint64_t> count_of(const brig_event& event);
    // Alerts, for every kept repeat whose window is over at `now_ns` (boot time), or for all of
    // them when `all` (the container is gone), the events counted since, with the kept event.
    void flush(uint64_t now_ns, bool all, const KernelLookup& lookup, const Emit& emit);
    bool empty() const { return kept_.empty(); }
    // When the next flush() has something to do (boot time), 0 when nothing is kept.
    uint64_t next_due_ns() const;

private:
    using Key = std::tuple<uint64_t, uint64_t, uint32_t, uint32_t>;  // brig_repeat_key's fields
    struct Kept {
        brig_event event;  // the window's first repeat
        uint64_t alerted;  // the entry's total already alerted or standing for the kept event
    };
    static Key key_of(const brig_event& event);
    uint64_t window_ns_;
    std::map<Key, Kept> kept_;
};

}  // namespace brig::monitor
