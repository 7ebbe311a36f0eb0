// fork()-like clone3: the child continues from the call with 0, nothing else to set up.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace brig::linux {

struct CloneRequest {
    uint64_t namespaces = 0;      // CLONE_NEW* flags
    bool parent_is_ours = false;  // CLONE_PARENT: the child becomes our parent's child
    // >= 0: start in this cgroup2 directory (CLONE_INTO_CGROUP). Where the kernel refuses that
    // (EOPNOTSUPP, EBUSY; E2BIG or EINVAL before Linux 5.7) the child starts in our cgroup.
    int cgroup_fd = -1;
    int* pidfd = nullptr;       // non-null: receives a pidfd (CLONE_PIDFD)
    bool* in_cgroup = nullptr;  // non-null: set to whether the child started in cgroup_fd
};

// Returns the child's pid in the parent and 0 in the child; throws on failure.
pid_t clone_process(const CloneRequest& request);

}  // namespace brig::linux
