// fork()-like clone3: the child continues from the call with 0, nothing else to set up.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace brig::linux {

struct CloneRequest {
    uint64_t namespaces = 0;      // CLONE_NEW* flags
    bool parent_is_ours = false;  // CLONE_PARENT: the child becomes our parent's child
    int cgroup_fd = -1;           // >= 0: start in this cgroup2 directory (CLONE_INTO_CGROUP)
    int* pidfd = nullptr;         // non-null: receives a pidfd (CLONE_PIDFD)
};

// Returns the child's pid in the parent and 0 in the child; throws on failure.
pid_t clone_process(const CloneRequest& request);

}  // namespace brig::linux
