// The shim's Stats answer: brig's typed stats become containerd's v1 or v2 Metrics with what
// containerd's CRI computes the kubelet's working set, RSS and page faults from.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "metrics.pb.h"
#include "metrics_v2.pb.h"
#include "runtime/lifecycle/stats.hpp"
#include "shim/metrics.hpp"

namespace {

using brig::lifecycle::parse_container_stats;
using brig::shim::metrics_of;
using nlohmann::json;

constexpr uint64_t MiB = 1 << 20;

// runc's stats object as CgroupV1::stats() writes it, with 40 MiB of page cache.
json v1_stats() {
    return {
        {"cpu",
         {{"usage", {{"total", 5000}, {"percpu", {3000, 2000}}, {"kernel", 1000}, {"user", 4000}}},
          {"throttling", {{"periods", 7}, {"throttledPeriods", 2}, {"throttledTime", 99}}}}},
        {"memory",
         {{"cache", 41 * MiB},
          {"usage", {{"limit", 256 * MiB}, {"usage", 43 * MiB}, {"max", 44 * MiB}, {"failcnt", 1}}},
          {"swap", {{"limit", 512 * MiB}, {"usage", 43 * MiB}}},
          {"raw",
           {{"cache", 41 * MiB},
            {"rss", 1 * MiB},
            {"pgfault", 300},
            {"pgmajfault", 3},
            {"inactive_file", 40 * MiB},
            {"total_cache", 41 * MiB},
            {"total_rss", 2 * MiB},
            {"total_pgfault", 600},
            {"total_pgmajfault", 6},
            {"total_inactive_file", 40 * MiB},
            {"hierarchical_memory_limit", 256 * MiB}}}}},
        {"pids", {{"current", 3}, {"limit", UINT64_MAX}}},
        {"blkio",
         {{"ioServiceBytesRecursive",
           {{{"major", 8}, {"minor", 0}, {"op", "Read"}, {"value", 4096}}}}}},
        {"hugetlb", {{"2MB", {{"usage", 0}, {"max", 0}, {"failcnt", 0}}}}}};
}

// The same container on a cgroup2-only host (CgroupV2::stats()).
json v2_stats() {
    return {
        {"cpu",
         {{"usage", {{"total", 5000000}, {"kernel", 1000000}, {"user", 4000000}}},
          {"throttling", {{"periods", 7}, {"throttledPeriods", 2}, {"throttledTime", 99000}}}}},
        {"memory",
         {{"cache", 41 * MiB},
          {"usage", {{"limit", 256 * MiB}, {"usage", 43 * MiB}, {"max", 44 * MiB}, {"failcnt", 1}}},
          {"swap", {{"limit", 256 * MiB + 64 * MiB}, {"usage", 43 * MiB + 2 * MiB}}},
          {"raw",
           {{"anon", 2 * MiB},
            {"file", 41 * MiB},
            {"inactive_file", 40 * MiB},
            {"pgfault", 600},
            {"pgmajfault", 6}}}}},
        {"pids", {{"current", 3}, {"limit", 100}}},
        {"blkio",
         {{"ioServiceBytesRecursive",
           {{{"major", 8}, {"minor", 0}, {"op", "Read"}, {"value", 4096}},
            {{"major", 8}, {"minor", 0}, {"op", "Write"}, {"value", 512}}}},
          {"ioServicedRecursive",
           {{{"major", 8}, {"minor", 0}, {"op", "Read"}, {"value", 2}},
            {{"major", 8}, {"minor", 0}, {"op", "Write"}, {"value", 1}}}}}}};
}

TEST(ContainerStats, WorkingSetLeavesOutInactivePageCache) {
    auto v1 = parse_container_stats(v1_stats(), false, 0);
    EXPECT_EQ(v1.inactive_file(), 40 * MiB);
    EXPECT_EQ(v1.working_set(), 3 * MiB);
    auto v2 = parse_container_stats(v2_stats(), true, 0);
    EXPECT_EQ(v2.working_set(), 3 * MiB);
    // More inactive cache than usage (counted at different moments): never below zero.
    auto j = v2_stats();
    j["memory"]["raw"]["inactive_file"] = 50 * MiB;
    EXPECT_EQ(parse_container_stats(j, true, 0).working_set(), 0u);
}

TEST(ShimMetrics, V1CarriesWhatTheKubeletReads) {
    auto any = metrics_of(parse_container_stats(v1_stats(), false, 2));
    EXPECT_EQ(any.type_url, "io.containerd.cgroups.v1.Metrics");
    io::containerd::cgroups::v1::Metrics m;
    ASSERT_TRUE(m.ParseFromString(any.value));
    EXPECT_EQ(m.memory().usage().usage(), 43 * MiB);
    EXPECT_EQ(m.memory().usage().limit(), 256 * MiB);
    EXPECT_EQ(m.memory().total_inactive_file(), 40 * MiB);
    EXPECT_EQ(m.memory().inactive_file(), 40 * MiB);
    EXPECT_EQ(m.memory().rss(), 1 * MiB);
    EXPECT_EQ(m.memory().total_rss(), 2 * MiB);
    EXPECT_EQ(m.memory().pg_fault(), 300u);
    EXPECT_EQ(m.memory().total_pg_fault(), 600u);
    EXPECT_EQ(m.memory().pg_maj_fault(), 3u);
    EXPECT_EQ(m.memory().total_pg_maj_fault(), 6u);
    EXPECT_EQ(m.memory().cache(), 41 * MiB);
    EXPECT_EQ(m.memory().hierarchical_memory_limit(), 256 * MiB);
    EXPECT_EQ(m.memory().swap().limit(), 512 * MiB);
    EXPECT_EQ(m.memory_oom_control().oom_kill(), 2u);
    EXPECT_EQ(m.pids().current(), 3u);
    EXPECT_EQ(m.pids().limit(), 0u);  // "max"
    EXPECT_EQ(m.cpu().usage().total(), 5000u);
    EXPECT_EQ(m.cpu().usage().per_cpu_size(), 2);
    EXPECT_EQ(m.cpu().throttling().throttled_periods(), 2u);
    ASSERT_EQ(m.blkio().io_service_bytes_recursive_size(), 1);
    EXPECT_EQ(m.blkio().io_service_bytes_recursive(0).value(), 4096u);
    ASSERT_EQ(m.hugetlb_size(), 1);
    EXPECT_EQ(m.hugetlb(0).pagesize(), "2MB");
}

TEST(ShimMetrics, V2CarriesWhatTheKubeletReads) {
    auto any = metrics_of(parse_container_stats(v2_stats(), true, 2));
    EXPECT_EQ(any.type_url, "io.containerd.cgroups.v2.Metrics");
    io::containerd::cgroups::v2::Metrics m;
    ASSERT_TRUE(m.ParseFromString(any.value));
    EXPECT_EQ(m.memory().usage(), 43 * MiB);
    EXPECT_EQ(m.memory().usage_limit(), 256 * MiB);
    EXPECT_EQ(m.memory().max_usage(), 44 * MiB);
    EXPECT_EQ(m.memory().inactive_file(), 40 * MiB);
    EXPECT_EQ(m.memory().anon(), 2 * MiB);
    EXPECT_EQ(m.memory().file(), 41 * MiB);
    EXPECT_EQ(m.memory().pgfault(), 600u);
    EXPECT_EQ(m.memory().pgmajfault(), 6u);
    EXPECT_EQ(m.memory().swap_usage(), 2 * MiB);
    EXPECT_EQ(m.memory().swap_limit(), 64 * MiB);
    EXPECT_EQ(m.memory_events().oom_kill(), 2u);
    EXPECT_EQ(m.memory_events().max(), 1u);
    EXPECT_EQ(m.pids().limit(), 100u);
    EXPECT_EQ(m.cpu().usage_usec(), 5000u);
    EXPECT_EQ(m.cpu().system_usec(), 1000u);
    EXPECT_EQ(m.cpu().throttled_usec(), 99u);
    ASSERT_EQ(m.io().usage_size(), 1);
    EXPECT_EQ(m.io().usage(0).rbytes(), 4096u);
    EXPECT_EQ(m.io().usage(0).wbytes(), 512u);
    EXPECT_EQ(m.io().usage(0).rios(), 2u);
    EXPECT_EQ(m.io().usage(0).wios(), 1u);
}

// A hybrid host whose memory controller is on cgroup2: v1 Metrics (as the runc shim sends
// there) from cgroup2's memory.stat keys.
TEST(ShimMetrics, V1FromCgroup2MemoryKeys) {
    auto any = metrics_of(parse_container_stats(v2_stats(), false, 0));
    EXPECT_EQ(any.type_url, "io.containerd.cgroups.v1.Metrics");
    io::containerd::cgroups::v1::Metrics m;
    ASSERT_TRUE(m.ParseFromString(any.value));
    EXPECT_EQ(m.memory().total_inactive_file(), 40 * MiB);
    EXPECT_EQ(m.memory().total_rss(), 2 * MiB);
    EXPECT_EQ(m.memory().total_pg_fault(), 600u);
    EXPECT_EQ(m.memory().total_cache(), 41 * MiB);
}

}  // namespace
