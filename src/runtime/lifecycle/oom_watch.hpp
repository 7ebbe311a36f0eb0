// Out-of-memory kills in a container's cgroup, as they happen (the shim's /tasks/oom events).
#pragma once

#include <cstdint>
#include <memory>

#include "runtime/cgroups/manager.hpp"

namespace brig::lifecycle {

class OomWatch {
public:
    // Starts counting from the cgroup's present OOM kill count. Throws when the notifier cannot
    // be registered.
    explicit OomWatch(std::unique_ptr<cgroups::CgroupManager> cgroup);

    // Readable (POLLIN) when the memory cgroup may have OOM-killed a process; -1 when the host's
    // memory controller gives no notifier (then only new_kills() at the process's exit tells).
    int fd() const { return notifier_ ? notifier_->fd() : -1; }
    // OOM kills counted since the watch began or the last call; consumes pending notifications.
    // The fd also fires for other memory events, and cgroup v1 notifies when the OOM starts,
    // before its kill is counted: 0 after a notification means "ask again shortly".
    uint64_t new_kills();

private:
    std::unique_ptr<cgroups::CgroupManager> cgroup_;
    std::unique_ptr<cgroups::OomWatch> notifier_;
    uint64_t seen_ = 0;
};

}  // namespace brig::lifecycle
