// The cgroup v1 implementation: one directory per mounted controller (<root>/<controller>/path).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"

namespace brig::cgroups {

class CgroupV1 : public CgroupManager {
public:
    // root: where the controllers are mounted (/sys/fs/cgroup). Controllers are the known ones
    // whose <root>/<name> is a v1 hierarchy (has a "tasks" file).
    CgroupV1(std::string root, std::string path, WarningSink warn);

    HierarchyKind kind() const override { return HierarchyKind::legacy; }
    const std::string& path() const override { return path_; }
    void create() override;
    void apply(const config::Resources& resources) override;
    void add_process(pid_t pid) override;
    int clone_into_fd() override { return -1; }
    std::vector<UniqueFd> self_join_fds() const override;
    std::vector<UniqueFd> sub_cgroup_fds(const SubCgroups& subs) const override;
    uint64_t cgroup2_id() const override { return 0; }
    std::vector<pid_t> pids() const override;
    void freeze() override;
    void thaw() override;
    bool frozen() const override;
    bool exists() const override;
    void kill_all(int signal) override;
    void destroy() override;
    void remove_created() noexcept override;
    nlohmann::json stats() const override;
    uint64_t oom_kills() const override;
    std::unique_ptr<OomWatch> watch_oom() override;

    bool has_controller(const std::string& name) const { return dirs_.count(name) > 0; }
    // The container's directory for a controller; throws naming field if it is not mounted.
    const std::string& dir(const std::string& controller, const std::string& field) const;

private:
    void set_freezer_state(bool frozen);
    void init_cpuset();
    void apply_memory(const config::MemoryResources& memory);
    void apply_cpu(const config::CpuResources& cpu);
    void apply_block_io(const config::BlockIoResources& io);
    void apply_devices(const std::vector<config::DeviceRule>& rules);

    std::string root_;
    std::string path_;
    WarningSink warn_;
    std::map<std::string, std::string> dirs_;  // controller -> container directory
    std::vector<std::string> created_;
};

}  // namespace brig::cgroups
