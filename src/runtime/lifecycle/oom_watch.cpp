#include "runtime/lifecycle/oom_watch.hpp"

#include "runtime/lifecycle/container.hpp"

namespace brig::lifecycle {

OomWatch::OomWatch(std::unique_ptr<cgroups::CgroupManager> cgroup)
    : cgroup_(std::move(cgroup)), notifier_(cgroup_->watch_oom()), seen_(cgroup_->oom_kills()) {}

uint64_t OomWatch::new_kills() {
    if (notifier_)
        notifier_->drain();
    uint64_t now = 0;
    try {
        now = cgroup_->oom_kills();
    } catch (const Error&) {
        return 0;  // the cgroup is gone: nothing more to count
    }
    if (now <= seen_)
        return 0;
    return now - std::exchange(seen_, now);
}

std::unique_ptr<OomWatch> Runtime::watch_oom(const std::string& id) const {
    auto i = info(id);
    if (i.status == state::Status::stopped || i.status == state::Status::creating)
        throw Error("container \"" + id + "\": container not running", ESRCH);
    return std::make_unique<OomWatch>(cgroups::open_manager(i.state.cgroups_path, id));
}

}  // namespace brig::lifecycle
