// The one way brig starts a process inside a container, for `create`'s init and for each
// `exec`: plan (SpawnPlan, Confinement) -> clone into the cgroup -> the sync protocol (Spawn).
#pragma once

#include <sys/types.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"
#include "runtime/common/log.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/security/lsm.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::lifecycle {

// The fds a spawned process gets as its 0, 1 and 2.
using Stdio = std::array<int, 3>;
inline constexpr Stdio caller_stdio{0, 1, 2};

// Throws naming `field` unless every fd of stdio is open.
void check_stdio(const Stdio& stdio, const std::string& field);

// What a process entering the container is confined with, prepared by brig before the clone:
// the compiled seccomp filter, the LSM labels (refused here when they cannot be applied) and
// the connection to linux.seccomp.listenerPath.
struct Confinement {
    std::optional<security::SeccompProgram> seccomp;
    security::LsmPlan lsm;
    UniqueFd seccomp_listener;

    const security::SeccompProgram* seccomp_program() const {
        return seccomp ? &*seccomp : nullptr;
    }
};

Confinement prepare_confinement(const config::Spec& spec, const config::Process& process,
                                const std::string& mount_label, const security::LsmHost& host,
                                const std::string& seccomp_cache_dir, const Logger& log);

struct SpawnPlan {
    // CLONE_NEW* of the namespaces to create. A new cgroup namespace is made by the process
    // once it is in its cgroup, so that it is rooted there.
    uint64_t clone_flags = 0;
    // Namespaces to join (user first): a first process joins them, then clones the process
    // (a pid namespace only applies to children).
    std::vector<linux::NamespaceToJoin> joins;
    cgroups::CgroupManager* cgroup = nullptr;  // null: brig's own cgroup
    // With a new user namespace: the maps brig writes before `go`.
    const std::vector<config::IdMapping>* uid_mappings = nullptr;
    const std::vector<config::IdMapping>* gid_mappings = nullptr;
    Stdio stdio = caller_stdio;
    // cgroup.procs files of sub-cgroups (exec --cgroup) the process writes "0" into once it is
    // in its cgroup, before its body runs.
    std::vector<UniqueFd> sub_cgroups = {};
};

// Runs in the spawned process once it is in its cgroup and namespaces (and mapped), with its
// end of the sync socket and the text of brig's `go`. Never returns: it execs or throws, and
// what it throws reaches brig as the same brig::Error (text and errno).
using SpawnBody = std::function<void(int sync_fd, const std::string& go_text)>;

// A process spawned into a container and not yet handed over: destroying it kills and reaps
// the process (never throws).
class Spawn {
public:
    // Clones the process into the cgroup, completes the join where clone3 could not and
    // writes the id maps. The process then waits for go().
    Spawn(SpawnPlan plan, const SpawnBody& body);
    Spawn(const Spawn&) = delete;
    Spawn& operator=(const Spawn&) = delete;
    ~Spawn();

    pid_t pid() const;

    // Lets the process continue; `text` reaches its body.
    void go(const std::string& text = {});
    // `create`: answers each run_hooks request with on_hooks() until the process is ready.
    void wait_ready(const std::function<void()>& on_hooks);
    // `exec`: waits until the process has exec'd its program (the socket closes on exec).
    void wait_exec();

    struct Process {
        pid_t pid = 0;
        UniqueFd pidfd;
    };
    // The process belongs to the caller from here on.
    Process release();

private:
    struct Child;  // kills and reaps the process unless released

    SpawnPlan plan_;
    UniqueFd sync_;
    std::unique_ptr<Child> process_;
    UniqueFd pidfd_;
};

}  // namespace brig::lifecycle
