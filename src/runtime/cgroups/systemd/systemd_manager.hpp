// The systemd cgroup driver (`brig --systemd-cgroup`, containerd's SystemdCgroup = true): each
// container is a transient scope unit systemd made, with Delegate=yes, in the slice its
// cgroupsPath names, and its limits are unit properties as well as cgroup files (systemd
// rewrites the files it manages from the properties on a daemon-reload). Everything else (the
// files systemd does not manage, freezing, stats, the device filter) goes to the cgroupfs
// manager of the scope's directory.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/systemd/dbus_message.hpp"
#include "runtime/cgroups/systemd/systemd_bus.hpp"

namespace brig::cgroups {

struct SystemdUnit {
    std::string slice;  // "system.slice"
    std::string name;   // "brig-ID.scope"
    std::string path;   // "/system.slice/brig-ID.scope", below each hierarchy root
};

// runc's --systemd-cgroup syntax: "slice:prefix:name" ("" -> system.slice, brig-<id>.scope).
// Throws naming linux.cgroupsPath for any other form.
SystemdUnit systemd_unit_for(const std::string& cgroups_path, const std::string& container_id);
// The unit of a container's recorded cgroup path ("/system.slice/brig-ID.scope").
SystemdUnit systemd_unit_at(const std::string& cgroup_path);

// The resources systemd manages, as its unit properties: cgroup2's names (MemoryMax,
// CPUWeight, TasksMax, AllowedCPUs, ...) or v1's (MemoryLimit, CPUShares, BlockIOWeight).
dbus::Properties resource_properties(const config::Resources& resources, bool unified);
// What every container's scope starts with: the slice, Delegate=yes, accounting, the pid.
dbus::Properties scope_properties(const SystemdUnit& unit, pid_t pid, bool unified);
// "0-2,7" -> the little-endian CPU (or node) bitmask systemd's AllowedCPUs takes.
std::vector<uint8_t> cpu_list_mask(const std::string& list, const std::string& field);

using SystemdConnector = std::function<std::unique_ptr<SystemdBus>()>;

class SystemdManager : public CgroupManager {
public:
    SystemdManager(SystemdUnit unit, std::unique_ptr<CgroupManager> files, SystemdConnector connect,
                   WarningSink warn);
    ~SystemdManager() override;

    HierarchyKind kind() const override { return files_->kind(); }
    const std::string& path() const override { return files_->path(); }
    // Starts the scope around a placeholder process of brig's (a scope cannot be empty, and
    // clone3 places the init into an existing cgroup), then the cgroupfs side.
    void create() override;
    bool exists() const override { return files_->exists(); }
    void apply(const config::Resources& resources) override;
    void add_process(pid_t pid) override { files_->add_process(pid); }
    void first_process_joined() noexcept override;
    int clone_into_fd() override { return files_->clone_into_fd(); }
    std::vector<UniqueFd> self_join_fds() const override { return files_->self_join_fds(); }
    std::vector<UniqueFd> sub_cgroup_fds(const SubCgroups& subs) const override {
        return files_->sub_cgroup_fds(subs);
    }
    uint64_t cgroup2_id() const override { return files_->cgroup2_id(); }
    std::vector<pid_t> pids() const override { return files_->pids(); }
    void freeze() override { files_->freeze(); }
    void thaw() override { files_->thaw(); }
    bool frozen() const override { return files_->frozen(); }
    void kill_all(int signal) override { files_->kill_all(signal); }
    // Kills what is left, removes the directories, then stops the unit.
    void destroy() override;
    void remove_created() noexcept override;
    nlohmann::json stats() const override;
    uint64_t oom_kills() const override { return files_->oom_kills(); }
    std::unique_ptr<OomWatch> watch_oom() override { return files_->watch_oom(); }

private:
    SystemdBus& bus();
    // A connection lives for one request: processes forked later (the monitor's watcher, the
    // init before its exec) must not hold it, and systemd would queue signals for it.
    void disconnect() noexcept;
    void stop_unit_noexcept() noexcept;

    SystemdUnit unit_;
    std::unique_ptr<CgroupManager> files_;
    SystemdConnector connect_;
    WarningSink warn_;
    std::unique_ptr<SystemdBus> bus_;
    pid_t placeholder_ = -1;
    bool started_ = false;  // this create started the unit (it was not there)
};

}  // namespace brig::cgroups
