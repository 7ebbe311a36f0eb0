// linux.seccomp compiled with libseccomp and loaded as the last step before execve.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"

namespace brig::security {

// Checks actions, architectures, operators, flags and syscall names; throws naming the JSON path
// ("linux.seccomp.syscalls[3].action: unknown action \"X\""). Unknown syscall names are not an
// error: like runc, they are skipped when the filter is built.
void validate_seccomp(const config::Seccomp& seccomp);

// Loads the filter into the calling thread. When the profile uses SCMP_ACT_NOTIFY, returns the
// notify fd (the caller sends it to listenerPath); otherwise an invalid UniqueFd.
// Without CAP_SYS_ADMIN the caller must have set no_new_privs first (the kernel's rule).
UniqueFd load_seccomp(const config::Seccomp& seccomp);

// Connects to `listener_path` (a unix stream socket) and sends the runtime-spec's container
// process state {"ociVersion","fds":["seccompFd"],"pid","metadata","state"} with `notify_fd`
// attached as SCM_RIGHTS. `container_state` is the OCI state of the container.
void send_seccomp_notify_fd(const std::string& listener_path, int notify_fd,
                            const nlohmann::json& container_state, const std::string& metadata);

// What this build and kernel support, for `brig features`.
std::vector<std::string> seccomp_known_actions();
std::vector<std::string> seccomp_known_operators();
std::vector<std::string> seccomp_known_architectures();  // those libseccomp can build for
std::vector<std::string> seccomp_known_flags();
std::vector<std::string> seccomp_supported_flags();  // known flags the running kernel accepts
std::string libseccomp_version();                    // "2.5.4"

}  // namespace brig::security
