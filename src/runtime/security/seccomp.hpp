// linux.seccomp compiled with libseccomp and loaded as the last step before execve.
#pragma once

#include <linux/filter.h>

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
// Same as load_seccomp_program(compile_seccomp(seccomp)).
UniqueFd load_seccomp(const config::Seccomp& seccomp);

// A filter compiled by libseccomp, ready for seccomp(2).
struct SeccompProgram {
    std::vector<sock_filter> filter;
    unsigned long flags = 0;  // SECCOMP_FILTER_FLAG_*, NEW_LISTENER included for notify
    bool notify = false;      // loading returns a notify fd
};

// Validates and compiles. Compiling a multi-architecture profile costs libseccomp tens of
// milliseconds: do it in brig before the container process exists, and only load in it.
SeccompProgram compile_seccomp(const config::Seccomp& seccomp);
// The same, with compiled programs kept in `cache_dir` (created 0700 if missing; e.g.
// <root>/seccomp-cache). An entry is used only if it was made from exactly the same profile by
// the same libseccomp for the same kernel; a broken or foreign entry is recompiled.
SeccompProgram compile_seccomp_cached(const config::Seccomp& seccomp, const std::string& cache_dir);
// Installs a compiled filter in the calling thread (the only work left for the container
// process: one seccomp(2) call). Returns the notify fd when `program.notify`.
UniqueFd load_seccomp_program(const SeccompProgram& program);

// Connects to linux.seccomp.listenerPath, a unix stream socket on the host. brig connects
// before the container process exists: the path is the host's, which the container (after
// pivot_root) could neither reach nor be trusted to resolve.
UniqueFd connect_seccomp_listener(const std::string& listener_path);

// The runtime-spec's container process state {"ociVersion","fds":["seccompFd"],"pid",
// "metadata","state"} that goes to the listener with the notify fd; `container_state` is the OCI
// state of the container. Built before the filter is loaded: from the load on, until the
// listener has the fd, no notified syscall (a malloc's mmap) may happen.
std::string seccomp_listener_payload(const nlohmann::json& container_state,
                                     const std::string& metadata);
// Sends `payload` with `notify_fd` attached as SCM_RIGHTS over the connected `listener` and ends
// the message (listeners read up to EOF) with shutdown: sendmsg, sendto and shutdown only, what
// a profile may not notify.
void send_seccomp_notify_fd(int listener, int notify_fd, const std::string& payload);

// What this build and kernel support, for `brig features`.
std::vector<std::string> seccomp_known_actions();
std::vector<std::string> seccomp_known_operators();
std::vector<std::string> seccomp_known_architectures();  // those libseccomp can build for
std::vector<std::string> seccomp_known_flags();
std::vector<std::string> seccomp_supported_flags();  // known flags the running kernel accepts
std::string libseccomp_version();                    // "2.5.4"

}  // namespace brig::security
