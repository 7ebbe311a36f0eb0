// The rule-map keys one container's registration wrote, kept in its state dir so that
// unregistering deletes exactly those: walking a shared map costs a syscall per entry of every
// container on the node, so a walk per delete grows with the node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/bpf/monitor_abi.h"

namespace brig::monitor {

struct RegisteredKeys {
    std::vector<brig_name_key> exec_names;
    std::vector<brig_name_key> open_names;
    std::vector<brig_prefix_key> open_paths;
    std::vector<brig_addr_key> addresses;
};

// A byte string for the state dir ("BRIGKEY1", four counts, the keys as the maps hold them).
std::string serialize_keys(const RegisteredKeys& keys);
// The keys of cgroup2_id, or nothing when the bytes are not a whole record or any key belongs
// to another cgroup (the caller then walks the maps).
std::optional<RegisteredKeys> parse_keys(std::string_view bytes, uint64_t cgroup2_id);

inline constexpr const char* kKeysFile = "monitor-keys";
// Room for every map full of one container's keys.
inline constexpr size_t kKeysFileLimit = 32u << 20;

}  // namespace brig::monitor
