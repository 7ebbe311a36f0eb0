// A container's cgroup statistics, typed: everything containerd's cgroups v1 and v2 Metrics carry
// (what the kubelet's working set, RSS and page faults come from), read through Runtime.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace brig::lifecycle {

struct MemoryCounter {
    uint64_t limit = 0;
    uint64_t usage = 0;
    uint64_t max = 0;  // the peak usage
    uint64_t failcnt = 0;
};

// One row of blkio.throttle.* (v1) or one direction of io.stat (v2, op "Read" or "Write").
struct BlockIoEntry {
    uint64_t major = 0;
    uint64_t minor = 0;
    std::string op;
    uint64_t value = 0;
};

struct HugetlbUsage {
    std::string pagesize;  // "2MB"
    uint64_t usage = 0;
    uint64_t max = 0;  // v1: the peak usage; v2: the limit (hugetlb.<size>.max)
    uint64_t failcnt = 0;
};

struct ContainerStats {
    // Which hierarchy holds the container's controllers: containerd expects v2 Metrics only from
    // a cgroup2-only host (on a hybrid host the runc shim reports v1 ones too).
    bool unified = false;

    struct Cpu {
        uint64_t total_ns = 0;
        uint64_t user_ns = 0;
        uint64_t kernel_ns = 0;
        std::vector<uint64_t> per_cpu_ns;  // v1 only
        uint64_t periods = 0;
        uint64_t throttled_periods = 0;
        uint64_t throttled_ns = 0;
    } cpu;

    struct Memory {
        MemoryCounter usage;
        MemoryCounter swap;  // memory + swap, the v1 memsw meaning
        MemoryCounter kernel;
        MemoryCounter kernel_tcp;
        uint64_t cache = 0;
        // memory.stat as the kernel writes it: v1 keys (rss, total_inactive_file, pgfault,
        // total_pgmajfault...) or v2 keys (anon, file, inactive_file, pgfault...).
        std::map<std::string, uint64_t> stat;
        uint64_t oom_kills = 0;
    } memory;

    struct Pids {
        uint64_t current = 0;
        uint64_t limit = 0;  // 0: unlimited
    } pids;

    std::vector<BlockIoEntry> io_service_bytes;
    std::vector<BlockIoEntry> io_serviced;
    std::vector<HugetlbUsage> hugetlb;

    // A memory.stat value, 0 when the kernel does not write that key.
    uint64_t stat(const std::string& key) const;
    // Page cache the kernel can drop first: total_inactive_file (v1) or inactive_file (v2).
    uint64_t inactive_file() const;
    // usage - inactive_file, the kubelet's working set (what it evicts on).
    uint64_t working_set() const;
};

// From runc's stats object (CgroupManager::stats()) and the cgroup's OOM kill count.
ContainerStats parse_container_stats(const nlohmann::json& runc_stats, bool unified,
                                     uint64_t oom_kills);

}  // namespace brig::lifecycle
