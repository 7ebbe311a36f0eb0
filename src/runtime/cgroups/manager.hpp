// One interface over cgroup v2, v1 and hybrid hosts (as youki's CgroupManager trait and crun's
// cgroup-internal.h ops table do). The runtime only talks to this.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"

namespace brig::cgroups {

// An fd that becomes readable (POLLIN) when the container's memory cgroup may have hit an OOM:
// an eventfd registered on memory.oom_control (v1) or an inotify watch on memory.events (v2,
// which the kernel touches on every change). After it polls readable, call drain() and compare
// oom_kills() with the previous count: the fd also fires for other memory events and when the
// cgroup is removed.
class OomWatch {
public:
    enum class Kind { eventfd, inotify };
    OomWatch(UniqueFd fd, Kind kind) : fd_(std::move(fd)), kind_(kind) {}
    int fd() const { return fd_.get(); }
    // Consumes pending notifications so the fd blocks again (non-blocking read).
    void drain();

private:
    UniqueFd fd_;
    Kind kind_;
};

enum class HierarchyKind { unified, legacy, hybrid };

// exec --cgroup's sub-cgroups: controller ("" for all) -> path relative to the container's.
using SubCgroups = std::map<std::string, std::string>;

// exec --cgroup's values as runc reads them: "PATH" alone (for every controller) or each
// "CONTROLLER[,CONTROLLER]:PATH". Throws naming the flag for a malformed one.
SubCgroups parse_sub_cgroups(const std::vector<std::string>& flags);

// The cgroup.procs file of `sub` below `dir`, opened for writing (see sub_cgroup_fds).
UniqueFd open_sub_cgroup(const std::string& dir, const std::string& sub);

class CgroupManager {
public:
    virtual ~CgroupManager() = default;

    virtual HierarchyKind kind() const = 0;
    // The container's cgroup path relative to each hierarchy root ("/brig/ID" or the config's).
    virtual const std::string& path() const = 0;

    // Creates the cgroup(s); idempotent. Rejects resources the host cannot enforce.
    virtual void create() = 0;
    // Whether the container's cgroup is there already (before create: someone else's, or
    // shared with another container).
    virtual bool exists() const = 0;
    // Writes the resource limits. Called before the container process is added, and by `update`.
    virtual void apply(const config::Resources& resources) = 0;
    // Moves pid into the cgroup(s).
    virtual void add_process(pid_t pid) = 0;
    // The container's first process is in the cgroup(s): what create() put there to hold them
    // (the systemd driver's placeholder) can go.
    virtual void first_process_joined() noexcept {}
    // An O_DIRECTORY fd of the cgroup2 directory for clone3(CLONE_INTO_CGROUP), or -1 when the
    // host has no cgroup2 part for the container. On hybrid hosts the v1 controllers still need
    // self_join_fds().
    virtual int clone_into_fd() = 0;
    // The container's v1 `tasks` files, opened for writing, one per controller: a new process
    // joins the v1 controllers by writing "0" into each itself. A thread that moves itself
    // skips the kernel's global threadgroup lock (and the RCU grace period its write side waits
    // for), which writing another process's pid into cgroup.procs takes. Empty on cgroup2.
    virtual std::vector<UniqueFd> self_join_fds() const { return {}; }
    // runc's `exec --cgroup [CONTROLLER[,CONTROLLER]:]PATH`: the cgroup.procs files of
    // sub-cgroups of the container's (controller -> path below it, "" for every controller),
    // opened for writing; the exec'd process writes "0" into each once in the container's
    // cgroup. Throws naming the flag for a path outside the container's cgroup, an unknown
    // controller or a sub-cgroup that is not there.
    virtual std::vector<UniqueFd> sub_cgroup_fds(const SubCgroups& subs) const = 0;
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
    // Removes only the directories create() made (empty ones), touching no process: the undo of
    // a create into a cgroup that was there before.
    virtual void remove_created() noexcept = 0;

    // runc's `events --stats` data object: {"cpu","memory","pids","blkio","hugetlb"}.
    virtual nlohmann::json stats() const = 0;
    // Number of OOM kills so far (memory.events oom_kill / memory.oom_control).
    virtual uint64_t oom_kills() const = 0;
    // A notifier for OOM events (for `events` and the shim's /tasks/oom); nullptr when the host
    // has no memory controller for this container. Call after create().
    virtual std::unique_ptr<OomWatch> watch_oom() { return nullptr; }
};

// Receives one message per resource the host cannot enforce but the spec lets us ignore
// (kernel memory, swappiness on cgroup2, ...). The library never prints.
using WarningSink = std::function<void(const std::string& message)>;

struct ManagerOptions {
    // Where the hierarchies are mounted; tests point this at a populated tmpdir.
    std::string root = "/sys/fs/cgroup";
    WarningSink warn;  // may be empty: warnings are then dropped
    // cgroup2 only: write memory.oom.group=1 so an OOM kills the whole container rather than
    // one process of it (what Kubernetes asks for on cgroup2).
    bool oom_group = false;
    // The systemd driver: a new transient scope from a "slice:prefix:name" cgroupsPath, or the
    // scope at a container's recorded cgroup path.
    enum class Systemd { off, new_scope, recorded_scope } systemd = Systemd::off;
};

// Picks the implementation from what /sys/fs/cgroup mounts. cgroups_path is linux.cgroupsPath
// (absolute, relative, or empty for the default "/brig/<id>"). Validates the path (no "..").
std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id);
std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id,
                                            const ManagerOptions& options);

HierarchyKind detect_hierarchy();
// unified: <root>/cgroup.controllers exists; hybrid: <root>/unified/cgroup.controllers exists;
// otherwise legacy.
HierarchyKind detect_hierarchy_at(const std::string& root);
const char* hierarchy_name(HierarchyKind kind);  // "unified", "legacy", "hybrid"

// linux.cgroupsPath -> the path below each hierarchy root. "" -> "/brig/<id>"; "/a/b" as is;
// "a/b" -> "/brig/a/b"; systemd's "slice:prefix:name" -> "/<expanded slice>/<prefix>-<name>.scope"
// (cgroupfs driver). Throws naming linux.cgroupsPath on "..", ".", empty segments.
std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& container_id);

// The device rules every container gets after its own linux.resources.devices (runc's
// AllowedDevices): mknod of any c/b, /dev/null, zero, full, random, urandom, tty, console, ptmx,
// pts/*. The caller appends rules for linux.devices entries.
std::vector<config::DeviceRule> default_device_rules();

// The "linux.cgroup" object of `brig features` (runtime-spec features.md).
nlohmann::json cgroup_features();

// Conversions from the v1 units of the OCI spec to cgroup2 files (the ones runc and crun use).
uint64_t cpu_shares_to_weight(uint64_t shares);       // 1 + ((shares - 2) * 9999) / 262142
uint64_t blkio_weight_to_io_weight(uint64_t weight);  // 1 + ((weight - 10) * 9999) / 990
// memory.swap in the spec is memory+swap; memory.swap.max is swap alone. -1 means "max".
// Throws naming linux.resources.memory.swap when swap < limit or the limit is missing.
int64_t memory_swap_to_v2(int64_t swap, std::optional<int64_t> limit);

}  // namespace brig::cgroups
