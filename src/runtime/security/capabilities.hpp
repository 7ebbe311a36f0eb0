// Capability sets applied at exec time with libcap.
#pragma once

#include <string>
#include <vector>

#include "runtime/config/spec.hpp"

namespace brig::security {

// Validates capability names ("CAP_CHOWN"); unknown names throw naming `json_path`; names this
// kernel lacks are returned so the caller can warn and skip them.
std::vector<std::string> validate_capabilities(const config::Capabilities& caps,
                                               const std::string& json_path);

// Drops the bounding set to `caps.bounding`. Must run while still privileged (before setuid).
void apply_bounding_set(const config::Capabilities& caps);
// Sets effective/permitted/inheritable then ambient. Runs after the switch to the container user
// (with PR_SET_KEEPCAPS set before it).
void apply_capability_sets(const config::Capabilities& caps);

}  // namespace brig::security
