#include "runtime/lifecycle/stats.hpp"

#include <nlohmann/json.hpp>

#include "runtime/cgroups/manager.hpp"
#include "runtime/lifecycle/container.hpp"

namespace brig::lifecycle {
namespace {

using nlohmann::json;

bool is_count(const json& v) {
    return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

uint64_t u64(const json& j, const char* key) {
    if (!j.is_object())
        return 0;
    auto it = j.find(key);
    return it != j.end() && is_count(*it) ? it->get<uint64_t>() : 0;
}

const json& object(const json& j, const char* key) {
    static const json none = json::object();
    if (!j.is_object())
        return none;
    auto it = j.find(key);
    return it != j.end() && it->is_object() ? *it : none;
}

MemoryCounter counter(const json& memory, const char* key) {
    const json& c = object(memory, key);
    return {u64(c, "limit"), u64(c, "usage"), u64(c, "max"), u64(c, "failcnt")};
}

std::vector<BlockIoEntry> block_io(const json& blkio, const char* key) {
    std::vector<BlockIoEntry> out;
    auto it = blkio.is_object() ? blkio.find(key) : blkio.end();
    if (it == blkio.end() || !it->is_array())
        return out;
    for (const auto& e : *it)
        if (e.is_object())
            out.push_back(
                {u64(e, "major"), u64(e, "minor"), e.value("op", std::string()), u64(e, "value")});
    return out;
}

}  // namespace

uint64_t ContainerStats::stat(const std::string& key) const {
    auto it = memory.stat.find(key);
    return it == memory.stat.end() ? 0 : it->second;
}

uint64_t ContainerStats::inactive_file() const {
    // v1 writes both; the total_ one counts the cgroups below the container's too.
    return memory.stat.count("total_inactive_file") ? stat("total_inactive_file")
                                                    : stat("inactive_file");
}

uint64_t ContainerStats::working_set() const {
    const uint64_t inactive = inactive_file();
    return inactive < memory.usage.usage ? memory.usage.usage - inactive : 0;
}

ContainerStats parse_container_stats(const json& s, bool unified, uint64_t oom_kills) {
    ContainerStats out;
    out.unified = unified;

    const json& cpu = object(s, "cpu");
    const json& usage = object(cpu, "usage");
    const json& throttling = object(cpu, "throttling");
    out.cpu.total_ns = u64(usage, "total");
    out.cpu.user_ns = u64(usage, "user");
    out.cpu.kernel_ns = u64(usage, "kernel");
    if (auto it = usage.find("percpu"); it != usage.end() && it->is_array())
        for (const auto& v : *it)
            if (is_count(v))
                out.cpu.per_cpu_ns.push_back(v.get<uint64_t>());
    out.cpu.periods = u64(throttling, "periods");
    out.cpu.throttled_periods = u64(throttling, "throttledPeriods");
    out.cpu.throttled_ns = u64(throttling, "throttledTime");

    const json& memory = object(s, "memory");
    out.memory.usage = counter(memory, "usage");
    out.memory.swap = counter(memory, "swap");
    out.memory.kernel = counter(memory, "kernel");
    out.memory.kernel_tcp = counter(memory, "kernelTCP");
    out.memory.cache = u64(memory, "cache");
    for (const auto& [key, value] : object(memory, "raw").items())
        if (is_count(value))
            out.memory.stat[key] = value.get<uint64_t>();
    out.memory.oom_kills = oom_kills;

    const json& pids = object(s, "pids");
    out.pids.current = u64(pids, "current");
    // pids.max "max" reads as UINT64_MAX; containerd's Metrics say 0 for no limit.
    out.pids.limit = u64(pids, "limit") == UINT64_MAX ? 0 : u64(pids, "limit");

    const json& blkio = object(s, "blkio");
    out.io_service_bytes = block_io(blkio, "ioServiceBytesRecursive");
    out.io_serviced = block_io(blkio, "ioServicedRecursive");

    for (const auto& [size, h] : object(s, "hugetlb").items())
        out.hugetlb.push_back({size, u64(h, "usage"), u64(h, "max"), u64(h, "failcnt")});
    return out;
}

ContainerStats Runtime::container_stats(const std::string& id) const {
    auto i = info(id);
    if (i.status == state::Status::stopped || i.status == state::Status::creating)
        throw Error("container \"" + id + "\": container not running", ESRCH);
    auto cgroup = cgroups::open_manager(i.state.cgroups_path, id);
    return parse_container_stats(cgroup->stats(), cgroup->kind() == cgroups::HierarchyKind::unified,
                                 cgroup->oom_kills());
}

}  // namespace brig::lifecycle
