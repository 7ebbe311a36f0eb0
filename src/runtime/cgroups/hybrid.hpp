// The hybrid layout: v1 controllers plus the cgroup2 hierarchy mounted beside them
// (<root>/unified). Each resource goes to the side that has its controller; processes join
// both, so cgroup2_id() (the eBPF monitor's key) identifies the container.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/v1.hpp"
#include "runtime/cgroups/v2.hpp"

namespace brig::cgroups {

class HybridManager : public CgroupManager {
public:
    HybridManager(const std::string& root, const std::string& path, const WarningSink& warn,
                  bool oom_group)
        : v1_(root, path, warn), v2_(root + "/unified", path, warn, oom_group) {}

    HierarchyKind kind() const override { return HierarchyKind::hybrid; }
    const std::string& path() const override { return v1_.path(); }
    void create() override;
    void apply(const config::Resources& resources) override;
    void add_process(pid_t pid) override;
    // clone3 can place a child into one cgroup only: the v1 controllers need a write anyway.
    // clone3 places the child into the cgroup2 half; it joins the v1 controllers itself.
    int clone_into_fd() override { return v2_.clone_into_fd(); }
    std::vector<UniqueFd> self_join_fds() const override { return v1_.self_join_fds(); }
    // The v1 controllers; a path for every controller also moves the cgroup2 half.
    std::vector<UniqueFd> sub_cgroup_fds(const SubCgroups& subs) const override;
    uint64_t cgroup2_id() const override { return v2_.cgroup2_id(); }
    std::vector<pid_t> pids() const override;
    void freeze() override;
    void thaw() override;
    bool frozen() const override;
    bool exists() const override { return v2_.exists() || v1_.exists(); }
    void kill_all(int signal) override;
    void destroy() override;
    void remove_created() noexcept override {
        v1_.remove_created();
        v2_.remove_created();
    }
    nlohmann::json stats() const override;
    uint64_t oom_kills() const override;
    std::unique_ptr<OomWatch> watch_oom() override;

private:
    CgroupV1 v1_;
    CgroupV2 v2_;
};

}  // namespace brig::cgroups
