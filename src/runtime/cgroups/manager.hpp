// One interface over cgroup v2, v1 and hybrid hosts (as youki's CgroupManager trait and crun's
// cgroup-internal.h ops table do). The runtime only talks to this.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/config/spec.hpp"

namespace brig::cgroups {

enum class HierarchyKind { unified, legacy, hybrid };

class CgroupManager {
public:
    virtual ~CgroupManager() = default;

    virtual HierarchyKind kind() const = 0;
    // The container's cgroup path relative to each hierarchy root ("/brig/ID" or the config's).
    virtual const std::string& path() const = 0;

    // Creates the cgroup(s); idempotent. Rejects resources the host cannot enforce.
    virtual void create() = 0;
    // Writes the resource limits. Called before the container process is added, and by `update`.
    virtual void apply(const config::Resources& resources) = 0;
    // Moves pid into the cgroup(s).
    virtual void add_process(pid_t pid) = 0;
    // An O_DIRECTORY fd of the cgroup2 directory for clone3(CLONE_INTO_CGROUP), or -1 when the
    // container's controllers are not all on cgroup2.
    virtual int clone_into_fd() = 0;
    // The cgroup id (inode of the cgroup2 directory) that bpf_get_current_cgroup_id() returns for
    // the container's processes; 0 when the host has no cgroup2 mount.
    virtual uint64_t cgroup2_id() const = 0;

    virtual std::vector<pid_t> pids() const = 0;
    virtual void freeze() = 0;
    virtual void thaw() = 0;
    virtual bool frozen() const = 0;
    // Sends signal to every process in the cgroup (cgroup.kill for SIGKILL where present).
    virtual void kill_all(int signal) = 0;
    // Removes the cgroup(s), killing leftovers first. Safe to call when nothing exists.
    virtual void destroy() = 0;

    // runc's `events --stats` data object: {"cpu","memory","pids","blkio","hugetlb"}.
    virtual nlohmann::json stats() const = 0;
    // Number of OOM kills so far (memory.events oom_kill / memory.oom_control).
    virtual uint64_t oom_kills() const = 0;
};

// Picks the implementation from what /sys/fs/cgroup mounts. cgroups_path is linux.cgroupsPath
// (absolute, relative, or empty for the default "/brig/<id>"). Validates the path (no "..").
std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id);

HierarchyKind detect_hierarchy();

}  // namespace brig::cgroups
