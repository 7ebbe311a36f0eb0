// Capability sets applied at exec time with libcap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/config/spec.hpp"

namespace brig::security {

// Checks capability names ("CAP_CHOWN"): one warning naming `json_path` and the set for each
// unknown name and each name this kernel lacks. Those are skipped when the sets are applied
// (runtime-spec 1.1: logged as a warning, not an error; as runc).
std::vector<std::string> validate_capabilities(const config::Capabilities& caps,
                                               const std::string& json_path);

// Drops the bounding set to `caps.bounding`. Must run while still privileged (before setuid).
void apply_bounding_set(const config::Capabilities& caps);
// Sets effective/permitted/inheritable then ambient. Runs after the switch to the container user
// (with PR_SET_KEEPCAPS set before it). Returns the ambient capabilities that could not be raised
// because they are not both permitted and inheritable (the caller may warn about them).
std::vector<std::string> apply_capability_sets(const config::Capabilities& caps);

// The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap).
int last_kernel_capability();
// Every capability the running kernel knows, as "CAP_*" names, in number order.
std::vector<std::string> kernel_capability_names();
// Bit mask (bit N = capability N) of the names this kernel knows; others are ignored.
uint64_t capability_mask(const std::vector<std::string>& names);

}  // namespace brig::security
