// brig's default seccomp profile, with the effect of Docker's: everything returns EPERM except an
// allow list of ordinary syscalls. Kernel keyrings, kexec, userfaultfd, io_uring and namespace
// creation stay blocked; syscalls that are only useful with a capability (mount needs
// CAP_SYS_ADMIN, reboot CAP_SYS_BOOT, ...) are allowed when the container keeps that capability.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/config/spec.hpp"

namespace brig::security {

// `bounding` is the container's bounding set ("CAP_SYS_ADMIN", ...).
config::Seccomp default_seccomp(const std::vector<std::string>& bounding);

// The same profile as the linux.seccomp object of config.json.
nlohmann::json default_seccomp_json(const std::vector<std::string>& bounding);

// Any config::Seccomp as its runtime-spec JSON (linux.seccomp).
nlohmann::json seccomp_to_json(const config::Seccomp& seccomp);

}  // namespace brig::security
