// The names of a container's users, as its own /etc/passwd gives them.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace brig::monitor {

// Host uid -> the container's name for it (config.json's root, /etc/passwd resolved inside it,
// uids mapped through linux.uidMappings). Empty when the bundle or the file cannot be read.
std::map<uint32_t, std::string> container_user_names(const std::string& bundle);

}  // namespace brig::monitor
