#include "runtime/cgroups/manager.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/cgroups/fs_util.hpp"
#include "runtime/cgroups/v1.hpp"
#include "runtime/cgroups/v2.hpp"
#include "runtime/common/error.hpp"

namespace brig::cgroups {

using namespace detail;

namespace {

constexpr const char* kDefaultParent = "/brig";

// v1 controllers plus the cgroup2 hierarchy mounted beside them. Each resource goes to the
// side that has its controller; processes join both, so cgroup2_id() (the eBPF monitor's key)
// identifies the container.
class HybridManager : public CgroupManager {
public:
    HybridManager(const std::string& root, const std::string& path, const WarningSink& warn,
                  bool oom_group)
        : v1_(root, path, warn), v2_(root + "/unified", path, warn, oom_group) {}

    HierarchyKind kind() const override { return HierarchyKind::hybrid; }
    const std::string& path() const override { return v1_.path(); }

    void create() override {
        v1_.create();
        v2_.create();
    }

    void apply(const config::Resources& resources) override {
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
            bool cpu_on_v2 = v2_only("cpu", "cpu");
            bool cpuset_on_v2 = v2_only("cpuset", "cpuset");
            auto merge = [](std::optional<config::CpuResources>& into,
                            const config::CpuResources& part, bool cpuset_part) {
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
            };
            on_v1.cpu.reset();
            merge(cpu_on_v2 ? on_v2.cpu : on_v1.cpu, cpu, false);
            merge(cpuset_on_v2 ? on_v2.cpu : on_v1.cpu, cpuset, true);
        }
        v1_.apply(on_v1);
        v2_.apply(on_v2);
    }

    void add_process(pid_t pid) override {
        v1_.add_process(pid);
        v2_.add_process(pid);
    }
    // clone3 places the child into the cgroup2 half; it joins the v1 controllers itself.
    int clone_into_fd() override { return v2_.clone_into_fd(); }
    std::vector<UniqueFd> self_join_fds() const override { return v1_.self_join_fds(); }
    uint64_t cgroup2_id() const override { return v2_.cgroup2_id(); }

    std::vector<pid_t> pids() const override {
        auto a = v1_.pids(), b = v2_.pids();
        a.insert(a.end(), b.begin(), b.end());
        std::sort(a.begin(), a.end());
        a.erase(std::unique(a.begin(), a.end()), a.end());
        return a;
    }
    void freeze() override { v1_.has_controller("freezer") ? v1_.freeze() : v2_.freeze(); }
    void thaw() override { v1_.has_controller("freezer") ? v1_.thaw() : v2_.thaw(); }
    bool frozen() const override {
        return v1_.has_controller("freezer") ? v1_.frozen() : v2_.frozen();
    }
    void kill_all(int signal) override {
        if (signal == SIGKILL && path_exists(v2_.dir() + "/cgroup.kill"))
            v2_.kill_all(signal);
        v1_.kill_all(signal);
    }
    void destroy() override {
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

    nlohmann::json stats() const override {
        auto out = v1_.stats();
        auto v2 = v2_.stats();
        if (!v1_.has_controller("hugetlb"))
            out["hugetlb"] = v2["hugetlb"];
        if (!v1_.has_controller("memory"))
            out["memory"] = v2["memory"];
        if (!v1_.has_controller("pids"))
            out["pids"] = v2["pids"];
        return out;
    }
    uint64_t oom_kills() const override {
        return v1_.has_controller("memory") ? v1_.oom_kills() : v2_.oom_kills();
    }
    std::unique_ptr<OomWatch> watch_oom() override {
        return v1_.has_controller("memory") ? v1_.watch_oom() : v2_.watch_oom();
    }

private:
    CgroupV1 v1_;
    CgroupV2 v2_;
};

// systemd's "name-part.slice" lives at "/name.slice/name-part.slice".
std::string expand_slice(const std::string& slice, const std::string& field) {
    if (slice == "-.slice")
        return "";
    if (!slice.ends_with(".slice") || slice.find('/') != std::string::npos)
        throw Error(field + ": '" + slice + "' is not a systemd slice name");
    std::string name = slice.substr(0, slice.size() - 6);
    if (name.empty() || name.front() == '-' || name.back() == '-' ||
        name.find("--") != std::string::npos)
        throw Error(field + ": '" + slice + "' is not a systemd slice name");
    std::string out, prefix;
    std::istringstream in(name);
    std::string part;
    while (std::getline(in, part, '-')) {
        prefix += (prefix.empty() ? "" : "-") + part;
        out += "/" + prefix + ".slice";
    }
    return out;
}

}  // namespace

void OomWatch::drain() {
    // eventfd reads 8 bytes, inotify whole events: a large buffer serves both.
    alignas(inotify_event) char buffer[4096];
    while (::read(fd_.get(), buffer, kind_ == Kind::eventfd ? 8 : sizeof buffer) > 0) {
    }
}

nlohmann::json cgroup_features() {
    return {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}};
}

const char* hierarchy_name(HierarchyKind kind) {
    switch (kind) {
        case HierarchyKind::unified:
            return "unified";
        case HierarchyKind::legacy:
            return "legacy";
        case HierarchyKind::hybrid:
            return "hybrid";
    }
    return "unknown";
}

HierarchyKind detect_hierarchy_at(const std::string& root) {
    if (path_exists(root + "/cgroup.controllers"))
        return HierarchyKind::unified;
    if (path_exists(root + "/unified/cgroup.controllers"))
        return HierarchyKind::hybrid;
    return HierarchyKind::legacy;
}

HierarchyKind detect_hierarchy() {
    return detect_hierarchy_at("/sys/fs/cgroup");
}

std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& container_id) {
    const std::string field = "linux.cgroupsPath";
    if (cgroups_path.empty()) {
        if (container_id.empty() || container_id.find('/') != std::string::npos ||
            container_id == "." || container_id == "..")
            throw Error("container id '" + container_id + "' cannot name a cgroup");
        return std::string(kDefaultParent) + "/" + container_id;
    }
    if (cgroups_path.find('\0') != std::string::npos ||
        cgroups_path.find('\n') != std::string::npos)
        throw Error(field + ": contains a NUL or newline");
    // systemd driver syntax "slice:prefix:name"; brig drives cgroupfs, so map it to the path
    // systemd would have used.
    if (cgroups_path.front() != '/' &&
        std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2) {
        auto first = cgroups_path.find(':');
        auto second = cgroups_path.find(':', first + 1);
        std::string slice = cgroups_path.substr(0, first);
        std::string prefix = cgroups_path.substr(first + 1, second - first - 1);
        std::string name = cgroups_path.substr(second + 1);
        if (name.empty())
            name = container_id;
        for (const auto& part : {prefix, name})
            if (part.find('/') != std::string::npos || part == "." || part == "..")
                throw Error(field + ": '" + cgroups_path + "' has a bad systemd unit name");
        if (name.ends_with(".slice"))
            throw Error(field + ": '" + cgroups_path + "': a container cannot be a slice");
        std::string unit = name.ends_with(".scope") ? name
                           : prefix.empty()         ? name + ".scope"
                                                    : prefix + "-" + name + ".scope";
        return expand_slice(slice.empty() ? "system.slice" : slice, field) + "/" + unit;
    }
    std::string out;
    std::string body = cgroups_path.front() == '/' ? cgroups_path.substr(1) : cgroups_path;
    if (body.empty())
        throw Error(field + ": '/' is the host's root cgroup");
    std::istringstream in(body);
    std::string segment;
    while (std::getline(in, segment, '/')) {
        if (segment.empty())
            throw Error(field + ": '" + cgroups_path + "' has an empty path segment");
        if (segment == "." || segment == "..")
            throw Error(field + ": '" + cgroups_path + "' may not contain '" + segment + "'");
        out += "/" + segment;
    }
    if (body.back() == '/')
        throw Error(field + ": '" + cgroups_path + "' has an empty path segment");
    return cgroups_path.front() == '/' ? out : kDefaultParent + out;
}

std::vector<config::DeviceRule> default_device_rules() {
    auto rule = [](char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
        return config::DeviceRule{true, type, major, minor, access};
    };
    return {
        rule('c', std::nullopt, std::nullopt, "m"),  // mknod of any char device
        rule('b', std::nullopt, std::nullopt, "m"),  // mknod of any block device
        rule('c', 1, 3, "rwm"),                      // /dev/null
        rule('c', 1, 5, "rwm"),                      // /dev/zero
        rule('c', 1, 7, "rwm"),                      // /dev/full
        rule('c', 1, 8, "rwm"),                      // /dev/random
        rule('c', 1, 9, "rwm"),                      // /dev/urandom
        rule('c', 5, 0, "rwm"),                      // /dev/tty
        rule('c', 5, 1, "rwm"),                      // /dev/console
        rule('c', 5, 2, "rwm"),                      // /dev/ptmx
        rule('c', 136, std::nullopt, "rwm"),         // /dev/pts/*
    };
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + ((weight - 10) * 9999) / 990;
}

int64_t memory_swap_to_v2(int64_t swap, std::optional<int64_t> limit) {
    const std::string field = "linux.resources.memory.swap";
    int64_t memory = limit.value_or(0);
    // An unlimited memory with no swap given means both unlimited, as on v1.
    if (memory == -1 && swap == 0)
        return -1;
    if (swap == -1 || swap == 0)
        return swap;
    if (swap < -1)
        throw Error(field + ": " + std::to_string(swap) + " is invalid (use -1 for no limit)");
    if (memory == 0 || memory == -1)
        throw Error(field + ": a swap limit needs a memory limit (linux.resources.memory.limit)");
    if (memory < 0)
        throw Error("linux.resources.memory.limit: " + std::to_string(memory) + " is invalid");
    if (swap < memory)
        throw Error(field + ": memory+swap " + std::to_string(swap) +
                    " is below the memory limit " + std::to_string(memory));
    return swap - memory;
}

std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id,
                                            const ManagerOptions& options) {
    std::string path = resolve_cgroups_path(cgroups_path, container_id);
    switch (detect_hierarchy_at(options.root)) {
        case HierarchyKind::unified:
            return std::make_unique<CgroupV2>(options.root, path, options.warn, options.oom_group);
        case HierarchyKind::hybrid:
            return std::make_unique<HybridManager>(options.root, path, options.warn,
                                                   options.oom_group);
        case HierarchyKind::legacy:
            break;
    }
    return std::make_unique<CgroupV1>(options.root, path, options.warn);
}

std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id) {
    return open_manager(cgroups_path, container_id, ManagerOptions{});
}

}  // namespace brig::cgroups
