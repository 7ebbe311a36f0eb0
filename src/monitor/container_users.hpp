// The names of a container's users, as its own /etc/passwd gives them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/config/spec.hpp"

namespace brig::monitor {

// Host uid -> the container's name for it: /etc/passwd resolved inside `rootfs`, uids mapped
// through linux.uidMappings. The image is the tenant's: only a regular file is opened (a FIFO
// or a device never is), of at most 1 MiB. Empty when there is none. (A regular file on a
// FUSE or NFS root.path can still make the read wait: O_NONBLOCK does not apply there.)
std::map<uint32_t, std::string> container_user_names(
    const std::string& rootfs, const std::vector<config::IdMapping>& uid_mappings);

}  // namespace brig::monitor
