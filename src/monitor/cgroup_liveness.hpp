// Whether a cgroup2 id still names a cgroup. A registration whose cgroup has gone (removed by
// someone else, or left by a brig killed before its delete) watches nothing, yet it keeps the
// programs attached to every syscall of the host: such registrations are dropped.
#pragma once

#include <cstdint>

#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {

class CgroupLiveness {
public:
    CgroupLiveness();  // opens the cgroup2 mount; with none, no id is ever "gone"
    // True only when the kernel says no cgroup has this id; any other answer (no mount, no
    // CAP_DAC_READ_SEARCH, a cgroup outside this namespace's view) keeps it.
    bool gone(uint64_t cgroup2_id) const;

private:
    UniqueFd mount_;
};

}  // namespace brig::monitor
