// The config.json `brig spec` writes: a busybox-ready container with Docker's defaults
// (14 capabilities, masked and read-only paths, the default seccomp profile) and, as runc's,
// a terminal.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace brig::cli {

// `rootless`: for an unprivileged caller, as `runc spec --rootless`: a user namespace mapping
// root to the caller's uid/gid, no network namespace, /sys bind-mounted from the host, no
// cgroup resources.
nlohmann::json default_spec(bool rootless);

}  // namespace brig::cli
