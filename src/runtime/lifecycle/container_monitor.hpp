// What the lifecycle needs from a monitor of its containers (brig's eBPF monitor implements it
// in src/monitor; the runtime library does not depend on it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/config/spec.hpp"
#include "runtime/security/deny_policy.hpp"

namespace brig::lifecycle {

struct MonitoredContainer {
    std::string id;
    std::string rootfs;  // absolute on the host
    std::vector<config::IdMapping> uid_mappings;
    std::string state_dir;
    uint64_t cgroup2_id = 0;  // 0: the host has no cgroup2 mount
    std::string cgroup2_path;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> env;
    // linux.seccomp notifies a listener of its own: a task may have only one, so the monitor
    // cannot also hold the container's execs.
    bool own_seccomp_listener = false;
};

// In the container's state dir while its monitor judges every exec before it runs: each
// process brig starts in the container hands its exec listener there (security::hold_execs).
inline constexpr const char* kExecVerdictSocket = "exec-verdicts.sock";

// One container's watch, prepared before its first process exists.
class ContainerWatch {
public:
    virtual ~ContainerWatch() = default;
    // The in-process part of the policy (Landlock, seccomp), which the init and every exec'd
    // process apply to themselves (create records it in the state dir for exec).
    virtual security::DenyPolicy in_process_denies() const = 0;
    // In brig, once the process is in its cgroup and before it runs anything of the user's:
    // from here on the container is watched.
    virtual void activate(pid_t init_pid) = 0;
    // Undoes activate() (a create that fails after it).
    virtual void cancel() = 0;
    // The socket (<state dir>/kExecVerdictSocket) the container's processes hand their exec
    // listener to, "" when the monitor's verdicts on execs need no hold.
    virtual std::string exec_verdict_socket() const = 0;
};

class ContainerMonitor {
public:
    virtual ~ContainerMonitor() = default;
    virtual std::unique_ptr<ContainerWatch> prepare(const MonitoredContainer& container) = 0;
    // On delete, after the cgroup is gone: removes every trace of the container from the
    // monitor, its user-space watcher included.
    virtual void release(uint64_t cgroup2_id, const std::string& state_dir) = 0;
    // The rule that killed the container, if one did.
    virtual std::optional<std::string> killed_by(const std::string& state_dir) = 0;
};

}  // namespace brig::lifecycle
