// linux.seccomp compiled with libseccomp and loaded as the last step before execve.
#pragma once

#include <string>

#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"

namespace brig::security {

// Checks actions, architectures, operators, flags and syscall names; throws naming the JSON path.
void validate_seccomp(const config::Seccomp& seccomp);

// Loads the filter into the calling thread. When the profile uses SCMP_ACT_NOTIFY, returns the
// notify fd (the caller sends it to listenerPath); otherwise an invalid UniqueFd.
UniqueFd load_seccomp(const config::Seccomp& seccomp);

}  // namespace brig::security
