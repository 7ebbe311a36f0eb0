#include "shim/metrics.hpp"

#include <cstdint>
#include <map>
#include <utility>

#include "metrics.pb.h"
#include "metrics_v2.pb.h"

namespace brig::shim {
namespace {

namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;
using lifecycle::ContainerStats;

// A memory.stat key of cgroup v1, its cgroup2 counterpart (for a hybrid host whose memory
// controller is on cgroup2), and the fields for the cgroup's own and its total_ value.
struct V1Key {
    const char* key;
    const char* v2_key;
    void (v1::MemoryStat::*local)(uint64_t);
    void (v1::MemoryStat::*total)(uint64_t);
};

constexpr V1Key v1_keys[] = {
    {"cache", "file", &v1::MemoryStat::set_cache, &v1::MemoryStat::set_total_cache},
    {"rss", "anon", &v1::MemoryStat::set_rss, &v1::MemoryStat::set_total_rss},
    {"rss_huge", "anon_thp", &v1::MemoryStat::set_rss_huge, &v1::MemoryStat::set_total_rss_huge},
    {"mapped_file", "file_mapped", &v1::MemoryStat::set_mapped_file,
     &v1::MemoryStat::set_total_mapped_file},
    {"dirty", "file_dirty", &v1::MemoryStat::set_dirty, &v1::MemoryStat::set_total_dirty},
    {"writeback", "file_writeback", &v1::MemoryStat::set_writeback,
     &v1::MemoryStat::set_total_writeback},
    {"pgpgin", nullptr, &v1::MemoryStat::set_pg_pg_in, &v1::MemoryStat::set_total_pg_pg_in},
    {"pgpgout", nullptr, &v1::MemoryStat::set_pg_pg_out, &v1::MemoryStat::set_total_pg_pg_out},
    {"pgfault", "pgfault", &v1::MemoryStat::set_pg_fault, &v1::MemoryStat::set_total_pg_fault},
    {"pgmajfault", "pgmajfault", &v1::MemoryStat::set_pg_maj_fault,
     &v1::MemoryStat::set_total_pg_maj_fault},
    {"inactive_anon", "inactive_anon", &v1::MemoryStat::set_inactive_anon,
     &v1::MemoryStat::set_total_inactive_anon},
    {"active_anon", "active_anon", &v1::MemoryStat::set_active_anon,
     &v1::MemoryStat::set_total_active_anon},
    {"inactive_file", "inactive_file", &v1::MemoryStat::set_inactive_file,
     &v1::MemoryStat::set_total_inactive_file},
    {"active_file", "active_file", &v1::MemoryStat::set_active_file,
     &v1::MemoryStat::set_total_active_file},
    {"unevictable", "unevictable", &v1::MemoryStat::set_unevictable,
     &v1::MemoryStat::set_total_unevictable},
};

void fill(v1::MemoryEntry* out, const lifecycle::MemoryCounter& c) {
    out->set_limit(c.limit);
    out->set_usage(c.usage);
    out->set_max(c.max);
    out->set_failcnt(c.failcnt);
}

void fill_v1_memory(v1::MemoryStat* m, const ContainerStats& s) {
    // cgroup2 counts the whole subtree in every key: its value is the total too.
    const bool from_v2 = !s.memory.stat.count("total_rss") && s.memory.stat.count("anon");
    for (const auto& k : v1_keys) {
        if (from_v2) {
            const uint64_t value = k.v2_key ? s.stat(k.v2_key) : 0;
            (m->*k.local)(value);
            (m->*k.total)(value);
        } else {
            (m->*k.local)(s.stat(k.key));
            (m->*k.total)(s.stat(std::string("total_") + k.key));
        }
    }
    m->set_hierarchical_memory_limit(s.stat("hierarchical_memory_limit"));
    m->set_hierarchical_swap_limit(s.stat("hierarchical_memsw_limit"));
    fill(m->mutable_usage(), s.memory.usage);
    fill(m->mutable_swap(), s.memory.swap);
    fill(m->mutable_kernel(), s.memory.kernel);
    fill(m->mutable_kernel_tcp(), s.memory.kernel_tcp);
}

std::string v1_metrics(const ContainerStats& s) {
    v1::Metrics m;
    for (const auto& h : s.hugetlb) {
        auto* out = m.add_hugetlb();
        out->set_pagesize(h.pagesize);
        out->set_usage(h.usage);
        out->set_max(h.max);
        out->set_failcnt(h.failcnt);
    }
    m.mutable_pids()->set_current(s.pids.current);
    m.mutable_pids()->set_limit(s.pids.limit);
    auto* usage = m.mutable_cpu()->mutable_usage();
    usage->set_total(s.cpu.total_ns);
    usage->set_kernel(s.cpu.kernel_ns);
    usage->set_user(s.cpu.user_ns);
    for (uint64_t ns : s.cpu.per_cpu_ns)
        usage->add_per_cpu(ns);
    auto* throttling = m.mutable_cpu()->mutable_throttling();
    throttling->set_periods(s.cpu.periods);
    throttling->set_throttled_periods(s.cpu.throttled_periods);
    throttling->set_throttled_time(s.cpu.throttled_ns);
    fill_v1_memory(m.mutable_memory(), s);
    for (auto [from, to] :
         {std::pair{&s.io_service_bytes, m.mutable_blkio()->mutable_io_service_bytes_recursive()},
          std::pair{&s.io_serviced, m.mutable_blkio()->mutable_io_serviced_recursive()}})
        for (const auto& e : *from) {
            auto* out = to->Add();
            out->set_op(e.op);
            out->set_major(e.major);
            out->set_minor(e.minor);
            out->set_value(e.value);
        }
    m.mutable_memory_oom_control()->set_oom_kill(s.memory.oom_kills);
    return m.SerializeAsString();
}

struct V2Key {
    const char* key;
    void (v2::MemoryStat::*set)(uint64_t);
};

constexpr V2Key v2_keys[] = {
    {"anon", &v2::MemoryStat::set_anon},
    {"file", &v2::MemoryStat::set_file},
    {"kernel_stack", &v2::MemoryStat::set_kernel_stack},
    {"slab", &v2::MemoryStat::set_slab},
    {"sock", &v2::MemoryStat::set_sock},
    {"shmem", &v2::MemoryStat::set_shmem},
    {"file_mapped", &v2::MemoryStat::set_file_mapped},
    {"file_dirty", &v2::MemoryStat::set_file_dirty},
    {"file_writeback", &v2::MemoryStat::set_file_writeback},
    {"anon_thp", &v2::MemoryStat::set_anon_thp},
    {"inactive_anon", &v2::MemoryStat::set_inactive_anon},
    {"active_anon", &v2::MemoryStat::set_active_anon},
    {"inactive_file", &v2::MemoryStat::set_inactive_file},
    {"active_file", &v2::MemoryStat::set_active_file},
    {"unevictable", &v2::MemoryStat::set_unevictable},
    {"slab_reclaimable", &v2::MemoryStat::set_slab_reclaimable},
    {"slab_unreclaimable", &v2::MemoryStat::set_slab_unreclaimable},
    {"pgfault", &v2::MemoryStat::set_pgfault},
    {"pgmajfault", &v2::MemoryStat::set_pgmajfault},
    {"workingset_refault", &v2::MemoryStat::set_workingset_refault},
    {"workingset_activate", &v2::MemoryStat::set_workingset_activate},
    {"workingset_nodereclaim", &v2::MemoryStat::set_workingset_nodereclaim},
    {"pgrefill", &v2::MemoryStat::set_pgrefill},
    {"pgscan", &v2::MemoryStat::set_pgscan},
    {"pgsteal", &v2::MemoryStat::set_pgsteal},
    {"pgactivate", &v2::MemoryStat::set_pgactivate},
    {"pgdeactivate", &v2::MemoryStat::set_pgdeactivate},
    {"pglazyfree", &v2::MemoryStat::set_pglazyfree},
    {"pglazyfreed", &v2::MemoryStat::set_pglazyfreed},
    {"thp_fault_alloc", &v2::MemoryStat::set_thp_fault_alloc},
    {"thp_collapse_alloc", &v2::MemoryStat::set_thp_collapse_alloc},
};

uint64_t minus(uint64_t a, uint64_t b) {
    return a > b ? a - b : 0;
}

void fill_v2_memory(v2::MemoryStat* m, const ContainerStats& s) {
    for (const auto& k : v2_keys)
        (m->*k.set)(s.stat(k.key));
    const auto& mem = s.memory;
    m->set_usage(mem.usage.usage);
    m->set_usage_limit(mem.usage.limit);
    m->set_max_usage(mem.usage.max);
    // brig's swap counter is memory+swap (the v1 meaning); cgroup2's files count swap alone.
    m->set_swap_usage(minus(mem.swap.usage, mem.usage.usage));
    m->set_swap_limit(mem.swap.limit == UINT64_MAX ? UINT64_MAX
                                                   : minus(mem.swap.limit, mem.usage.limit));
}

std::string v2_metrics(const ContainerStats& s) {
    v2::Metrics m;
    m.mutable_pids()->set_current(s.pids.current);
    m.mutable_pids()->set_limit(s.pids.limit);
    auto* cpu = m.mutable_cpu();
    cpu->set_usage_usec(s.cpu.total_ns / 1000);
    cpu->set_user_usec(s.cpu.user_ns / 1000);
    cpu->set_system_usec(s.cpu.kernel_ns / 1000);
    cpu->set_nr_periods(s.cpu.periods);
    cpu->set_nr_throttled(s.cpu.throttled_periods);
    cpu->set_throttled_usec(s.cpu.throttled_ns / 1000);
    fill_v2_memory(m.mutable_memory(), s);
    // io.stat has one line per device; brig lists each direction as an entry.
    std::map<std::pair<uint64_t, uint64_t>, v2::IOEntry> devices;
    auto entry = [&](const lifecycle::BlockIoEntry& e) -> v2::IOEntry& {
        auto& out = devices[{e.major, e.minor}];
        out.set_major(e.major);
        out.set_minor(e.minor);
        return out;
    };
    for (const auto& e : s.io_service_bytes)
        e.op == "Read" ? entry(e).set_rbytes(e.value) : entry(e).set_wbytes(e.value);
    for (const auto& e : s.io_serviced)
        e.op == "Read" ? entry(e).set_rios(e.value) : entry(e).set_wios(e.value);
    for (auto& [device, e] : devices)
        *m.mutable_io()->add_usage() = std::move(e);
    for (const auto& h : s.hugetlb) {
        auto* out = m.add_hugetlb();
        out->set_pagesize(h.pagesize);
        out->set_current(h.usage);
        out->set_max(h.max);
    }
    m.mutable_memory_events()->set_max(s.memory.usage.failcnt);
    m.mutable_memory_events()->set_oom_kill(s.memory.oom_kills);
    return m.SerializeAsString();
}

}  // namespace

MetricsAny metrics_of(const ContainerStats& stats) {
    if (stats.unified)
        return {"io.containerd.cgroups.v2.Metrics", v2_metrics(stats)};
    return {"io.containerd.cgroups.v1.Metrics", v1_metrics(stats)};
}

}  // namespace brig::shim
