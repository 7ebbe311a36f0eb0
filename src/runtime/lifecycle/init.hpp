// The container's first process: runs in the clone brig made, applies everything in the
// config but the user program, reports to brig, waits for `start`, then execs.
#pragma once

#include <map>
#include <string>

#include "runtime/config/spec.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/security/deny_policy.hpp"
#include "runtime/security/lsm.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::lifecycle {

// The most of a start error the init hands `start` through started.fifo ("E" + the error).
constexpr size_t kStartErrorMax = 2048;

struct InitContext {
    const config::Spec* spec = nullptr;
    const security::SeccompProgram* seccomp = nullptr;  // compiled by brig, loaded last
    const security::DenyPolicy* denies = nullptr;       // the monitor's in-process part
    security::LsmPlan lsm;                              // AppArmor/SELinux labels to apply
    std::string mount_label_option;                     // for tmpfs/devpts/mqueue, or empty
    std::string bundle;                                 // absolute host path
    std::string rootfs;                                 // absolute host path
    int sync_fd = -1;
    int start_fifo_fd = -1;     // read end of exec.fifo: a byte arrives on `start`
    int started_fifo_fd = -1;   // started.fifo: closed by exec, the error if we fail before it
    int console_fd = -1;        // --console-socket connection, or -1
    int seccomp_listener = -1;  // connected linux.seccomp.listenerPath, or -1
    int exec_hold = -1;         // connected exec verdict socket (security::hold_execs), or -1
    int preserve_fds = 0;       // fds 3..3+N-1 stay open
    int listen_fds = 0;         // LISTEN_FDS passed through
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool new_user_namespace = false;
    bool new_time_namespace = false;
    std::map<size_t, int> source_trees;  // RootfsOptions::source_trees
};

// The body of the container's spawn (in its cgroup and namespaces; state_json is the OCI
// state brig sent with `go`, for the hooks). Never returns: execs the user program or _exits
// with an error reported on sync_fd (before `ready`) or on stderr (after it).
[[noreturn]] void container_init(const InitContext& ctx, const std::string& state_json);

// Applies what every process entering the container gets right before exec (also used by
// `brig exec`): user, capabilities, no_new_privs, seccomp last, fd sweep, then execve.
// start_hooks (the init's startContainer hooks) run last, with all of that applied.
[[noreturn]] void exec_user_process(const config::Process& process,
                                    const std::optional<config::Seccomp>& seccomp_config,
                                    const security::SeccompProgram* seccomp, int seccomp_listener,
                                    bool setgroups_allowed, int preserve_fds, int listen_fds,
                                    const std::string& state_json,
                                    const std::vector<config::Hook>* start_hooks = nullptr);

}  // namespace brig::lifecycle
