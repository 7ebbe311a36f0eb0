#include "monitor/repeats.hpp"

namespace brig::monitor {

namespace {

// Repeats counted at the very end of a window reach the kernel's entry a little after their
// timestamp: the watcher waits this long past the window before it reads the count.
constexpr uint64_t kSettleNs = 20'000'000;
// A watcher keeps at most this many repeats: a container repeating more distinct events within
// one window has the counts of the excess alerted with the next event of each.
constexpr size_t kMaxKept = 4096;

}  // namespace

RepeatTracker::Key RepeatTracker::key_of(const brig_event& event) {
    return {event.cgroup_id, event.repeat_what, event.rule_id, event.tid};
}

std::optional<uint64_t> RepeatTracker::count_of(const brig_event& event) {
    if (event.repeat_total == 0)
        return 1;  // not coalesced
    Key key = key_of(event);
    auto it = kept_.find(key);
    if (it != kept_.end() && it->second.event.repeat_since_ns != event.repeat_since_ns) {
        kept_.erase(it);  // the kernel's entry was evicted and made again
        it = kept_.end();
    }
    if (event.repeats_follow && (it != kept_.end() || kept_.size() < kMaxKept)) {
        // Everything before it was alerted: the first event of its window, and the earlier
        // windows (flushed, or counted by that first event).
        kept_[key] = {event, event.repeat_total - 1};
        return std::nullopt;
    }
    if (it == kept_.end())
        return 1;
    // A window's first event while a repeat is still kept: the kept window's repeats count here.
    uint64_t count = event.repeat_total - it->second.alerted;
    kept_.erase(it);
    return count;
}

void RepeatTracker::flush(uint64_t now_ns, bool all, const KernelLookup& lookup, const Emit& emit) {
    for (auto it = kept_.begin(); it != kept_.end();) {
        auto& [key, kept] = *it;
        brig_repeat_key kernel_key{std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                   std::get<3>(key)};
        auto entry = lookup(kernel_key);
        if (!entry || entry->since_ns != kept.event.repeat_since_ns) {
            it = kept_.erase(it);  // evicted: its count is lost with it
            continue;
        }
        if (!entry->primed || entry->window_ns > kept.event.boot_ns) {
            // A newer window's first event is on its way and will carry the count.
            ++it;
            continue;
        }
        if (!all && now_ns < entry->window_ns + window_ns_ + kSettleNs) {
            ++it;
            continue;
        }
        brig_event last = kept.event;
        last.boot_ns = entry->last_ns;
        emit(last, entry->total - kept.alerted);
        it = kept_.erase(it);
    }
}

uint64_t RepeatTracker::next_due_ns() const {
    uint64_t due = 0;
    for (const auto& [key, kept] : kept_) {
        uint64_t at = kept.event.boot_ns + window_ns_ + kSettleNs;
        if (due == 0 || at < due)
            due = at;
    }
    return due;
}

}  // namespace brig::monitor
