#include "runtime/cgroups/hybrid.hpp"

#include <algorithm>
#include <csignal>
#include <nlohmann/json.hpp>

#include "runtime/cgroups/fs_util.hpp"
#include "runtime/common/error.hpp"

namespace brig::cgroups {

std::vector<UniqueFd> HybridManager::sub_cgroup_fds(const SubCgroups& subs) const {
    std::vector<UniqueFd> fds = v1_.sub_cgroup_fds(subs);
    if (auto all = subs.find(""); all != subs.end() && v2_.exists())
        for (auto& fd : v2_.sub_cgroup_fds({{"", all->second}}))
            fds.push_back(std::move(fd));
    return fds;
}

namespace {

// Puts part's cpuset fields (cpuset_part) or its other cpu fields into `into`.
void merge_cpu(std::optional<config::CpuResources>& into, const config::CpuResources& part,
               bool cpuset_part) {
    if (!into)
        into.emplace();
    if (cpuset_part) {
        into->cpus = part.cpus;
        into->mems = part.mems;
    } else {
        std::string cpus = into->cpus, mems = into->mems;
        *into = part;
        into->cpus = cpus;
        into->mems = mems;
    }
}

}  // namespace

void HybridManager::create() {
    v1_.create();
    v2_.create();
}

void HybridManager::apply(const config::Resources& resources) {
    config::Resources on_v1 = resources, on_v2;
    on_v1.unified.clear();
    on_v2.unified = resources.unified;
    auto v2_only = [&](const char* v1_name, const char* v2_name) {
        return !v1_.has_controller(v1_name) && v2_.host_has_controller(v2_name);
    };
    if (v2_only("memory", "memory"))
        std::swap(on_v1.memory, on_v2.memory);
    if (v2_only("pids", "pids"))
        std::swap(on_v1.pids_limit, on_v2.pids_limit);
    if (v2_only("blkio", "io"))
        std::swap(on_v1.block_io, on_v2.block_io);
    if (v2_only("hugetlb", "hugetlb"))
        std::swap(on_v1.hugepage_limits, on_v2.hugepage_limits);
    if (v2_only("rdma", "rdma"))
        std::swap(on_v1.rdma, on_v2.rdma);
    // cgroup2 decides devices with a BPF program, no controller needed.
    if (!v1_.has_controller("devices"))
        std::swap(on_v1.devices, on_v2.devices);
    if (resources.cpu) {
        // cpu and cpuset can sit on different sides.
        config::CpuResources cpu = *resources.cpu, cpuset;
        std::swap(cpuset.cpus, cpu.cpus);
        std::swap(cpuset.mems, cpu.mems);
        on_v1.cpu.reset();
        merge_cpu(v2_only("cpu", "cpu") ? on_v2.cpu : on_v1.cpu, cpu, false);
        merge_cpu(v2_only("cpuset", "cpuset") ? on_v2.cpu : on_v1.cpu, cpuset, true);
    }
    v1_.apply(on_v1);
    v2_.apply(on_v2);
}

void HybridManager::add_process(pid_t pid) {
    v1_.add_process(pid);
    v2_.add_process(pid);
}

std::vector<pid_t> HybridManager::pids() const {
    auto a = v1_.pids(), b = v2_.pids();
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    return a;
}

void HybridManager::freeze() {
    v1_.has_controller("freezer") ? v1_.freeze() : v2_.freeze();
}

void HybridManager::thaw() {
    v1_.has_controller("freezer") ? v1_.thaw() : v2_.thaw();
}

bool HybridManager::frozen() const {
    return v1_.has_controller("freezer") ? v1_.frozen() : v2_.frozen();
}

void HybridManager::kill_all(int signal) {
    if (signal == SIGKILL && detail::path_exists(v2_.dir() + "/cgroup.kill"))
        v2_.kill_all(signal);
    v1_.kill_all(signal);
}

void HybridManager::destroy() {
    // Both halves are attempted; the first failure is reported.
    std::string failure;
    for (CgroupManager* half :
         {static_cast<CgroupManager*>(&v1_), static_cast<CgroupManager*>(&v2_)}) {
        try {
            half->destroy();
        } catch (const Error& e) {
            if (failure.empty())
                failure = e.what();
        }
    }
    if (!failure.empty())
        throw Error(failure);
}

nlohmann::json HybridManager::stats() const {
    auto out = v1_.stats();
    auto v2 = v2_.stats();
    for (const char* controller : {"hugetlb", "memory", "pids"})
        if (!v1_.has_controller(controller))
            out[controller] = v2[controller];
    return out;
}

uint64_t HybridManager::oom_kills() const {
    return v1_.has_controller("memory") ? v1_.oom_kills() : v2_.oom_kills();
}

std::unique_ptr<OomWatch> HybridManager::watch_oom() {
    return v1_.has_controller("memory") ? v1_.watch_oom() : v2_.watch_oom();
}

}  // namespace brig::cgroups
