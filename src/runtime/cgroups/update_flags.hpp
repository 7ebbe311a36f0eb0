// runc's `update` flags (--memory 256m, --cpu-quota 50000, ...) as a partial linux.resources,
// for CgroupManager::apply(). Unset flags leave their field unset, so apply() leaves the cgroup
// file alone.
#pragma once

#include <map>
#include <string>

#include "runtime/config/spec.hpp"

namespace brig::cgroups {

// Keys are flag names without dashes' prefix: "memory", "memory-swap", "memory-reservation",
// "kernel-memory", "kernel-memory-tcp", "cpu-shares", "cpu-quota", "cpu-period", "cpu-rt-period",
// "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight", "cpu-burst",
// "cpu-idle". Throws naming the flag ("--memory: ...") on an unknown flag or a bad value.
config::Resources resources_from_update_flags(const std::map<std::string, std::string>& flags);

// "1048576", "512k", "256m", "1g", "1.5GiB", "-1" -> bytes (binary units, as runc's
// units.RAMInBytes). Throws naming flag.
int64_t parse_memory_size(const std::string& text, const std::string& flag);

}  // namespace brig::cgroups
