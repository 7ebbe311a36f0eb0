// The cgroup2 implementation: one directory below the cgroup2 mount. Also the cgroup2 half of a
// hybrid host, where it holds only the controllers v1 does not mount (hugetlb here).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cgroups {

class CgroupV2 : public CgroupManager {
public:
    // mount: the cgroup2 mount point; path: "/brig/ID".
    CgroupV2(std::string mount, std::string path, WarningSink warn, bool oom_group = false);

    HierarchyKind kind() const override { return HierarchyKind::unified; }
    const std::string& path() const override { return path_; }
    void create() override;
    void apply(const config::Resources& resources) override;
    void add_process(pid_t pid) override;
    int clone_into_fd() override;
    std::vector<UniqueFd> sub_cgroup_fds(const SubCgroups& subs) const override;
    uint64_t cgroup2_id() const override;
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

    const std::string& dir() const { return dir_; }
    // Controllers the host offers at the mount root (cgroup.controllers of the root).
    bool host_has_controller(const std::string& name) const;

private:
    void set_state_frozen(bool frozen);
    // Throws naming field unless controller is enabled for the container's cgroup.
    void require_controller(const std::string& controller, const std::string& field) const;
    void apply_memory(const config::MemoryResources& memory);
    void apply_cpu(const config::CpuResources& cpu);
    void apply_block_io(const config::BlockIoResources& io);
    void apply_unified(const std::map<std::string, std::string>& unified);

    std::string mount_;
    std::string path_;
    std::string dir_;
    WarningSink warn_;
    bool oom_group_;
    std::set<std::string> host_controllers_;
    std::vector<std::string> created_;  // directories this object made, outermost first
    UniqueFd clone_fd_;
};

}  // namespace brig::cgroups
