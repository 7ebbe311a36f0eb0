// The cgroup layer against fake hierarchies in a tmpdir: paths, conversions, and the files
// written for each linux.resources field.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/cgroups/device_filter.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/update_flags.hpp"
#include "runtime/common/error.hpp"

namespace fs = std::filesystem;
using namespace brig;
using namespace brig::cgroups;

namespace {

void put(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

std::string get(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class TempRoot {
public:
    TempRoot() {
        std::string pattern = (fs::temp_directory_path() / "brig-cgroups-XXXXXX").string();
        root_ = ::mkdtemp(pattern.data());
    }
    ~TempRoot() { fs::remove_all(root_); }
    const fs::path& path() const { return root_; }

private:
    fs::path root_;
};

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// A cgroup2 root offering controllers, with the container's leaf pre-populated the way the
// kernel would populate it (the fake kernel enables everything offered).
struct FakeV2 {
    TempRoot tmp;
    std::vector<std::string> warnings;
    std::unique_ptr<CgroupManager> manager;
    fs::path leaf;

    explicit FakeV2(const std::string& controllers = "cpuset cpu io memory hugetlb pids") {
        put(tmp.path() / "cgroup.controllers", controllers);
        put(tmp.path() / "cgroup.subtree_control", "");
        put(tmp.path() / "brig/cgroup.controllers", controllers);
        put(tmp.path() / "brig/cgroup.subtree_control", "");
        leaf = tmp.path() / "brig/c1";
        for (const char* file :
             {"cgroup.procs", "cgroup.freeze", "memory.max", "memory.low", "memory.swap.max",
              "cpu.weight", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max",
              "io.weight", "io.max", "hugetlb.2MB.max", "memory.high"})
            put(leaf / file, "");
        put(leaf / "cgroup.controllers", controllers);
        put(leaf / "cpu.max", "max 100000\n");
        ManagerOptions options;
        options.root = tmp.path().string();
        options.warn = [this](const std::string& m) { warnings.push_back(m); };
        manager = open_manager("", "c1", options);
        manager->create();
    }
};

}  // namespace

TEST(CgroupsPath, DefaultAbsoluteRelative) {
    EXPECT_EQ(resolve_cgroups_path("", "abc"), "/brig/abc");
    EXPECT_EQ(resolve_cgroups_path("/kubepods/pod1/abc", "abc"), "/kubepods/pod1/abc");
    EXPECT_EQ(resolve_cgroups_path("mine/abc", "abc"), "/brig/mine/abc");
}

TEST(CgroupsPath, RejectsTraversalAndEmptySegments) {
    for (const char* bad : {"/a/../b", "..", "a/..", "/a//b", "/a/", "/", "./a", "/a/./b"}) {
        std::string message = error_of([&] { resolve_cgroups_path(bad, "abc"); });
        EXPECT_NE(message.find("linux.cgroupsPath"), std::string::npos) << bad << ": " << message;
    }
    EXPECT_THROW(resolve_cgroups_path("", "../x"), Error);
}

TEST(CgroupsPath, SystemdSyntaxMapsToScope) {
    EXPECT_EQ(resolve_cgroups_path("system.slice:docker:abc", "abc"),
              "/system.slice/docker-abc.scope");
    EXPECT_EQ(resolve_cgroups_path("kubepods-besteffort-pod1.slice:cri:abc", "abc"),
              "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
              "cri-abc.scope");
    EXPECT_THROW(resolve_cgroups_path("notaslice:cri:abc", "abc"), Error);
    EXPECT_THROW(resolve_cgroups_path("system.slice:cri:../x", "abc"), Error);
}

TEST(CgroupsConversion, SharesToWeight) {
    EXPECT_EQ(cpu_shares_to_weight(2), 1u);
    EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
    EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
    EXPECT_EQ(cpu_shares_to_weight(1), 1u);  // clamped like the kernel clamps cpu.shares
}

TEST(CgroupsConversion, BlkioWeightToIoWeight) {
    EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
    EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
    EXPECT_EQ(blkio_weight_to_io_weight(500), 1 + (490u * 9999) / 990);
}

TEST(CgroupsConversion, MemorySwap) {
    EXPECT_EQ(memory_swap_to_v2(3 << 20, 1 << 20), 2 << 20);
    EXPECT_EQ(memory_swap_to_v2(-1, 1 << 20), -1);
    EXPECT_EQ(memory_swap_to_v2(0, -1), -1);
    EXPECT_EQ(memory_swap_to_v2(1 << 20, 1 << 20), 0);
    EXPECT_NE(error_of([] { memory_swap_to_v2(1 << 20, 2 << 20); }).find("memory.swap"),
              std::string::npos);
    EXPECT_NE(error_of([] { memory_swap_to_v2(1 << 20, std::nullopt); }).find("memory.limit"),
              std::string::npos);
}

TEST(CgroupsDetect, FromMountedFiles) {
    TempRoot unified, hybrid, legacy;
    put(unified.path() / "cgroup.controllers", "memory");
    put(hybrid.path() / "unified/cgroup.controllers", "hugetlb");
    put(legacy.path() / "memory/tasks", "");
    EXPECT_EQ(detect_hierarchy_at(unified.path()), HierarchyKind::unified);
    EXPECT_EQ(detect_hierarchy_at(hybrid.path()), HierarchyKind::hybrid);
    EXPECT_EQ(detect_hierarchy_at(legacy.path()), HierarchyKind::legacy);
}

TEST(CgroupsV2Fake, CreateEnablesControllersInAncestors) {
    FakeV2 fake("memory");
    EXPECT_TRUE(fs::is_directory(fake.leaf));
    EXPECT_EQ(get(fake.tmp.path() / "cgroup.subtree_control"), "+memory");
    EXPECT_EQ(get(fake.tmp.path() / "brig/cgroup.subtree_control"), "+memory");
    EXPECT_EQ(fake.manager->kind(), HierarchyKind::unified);
    EXPECT_EQ(fake.manager->path(), "/brig/c1");
}

TEST(CgroupsV2Fake, OomGroupOnRequest) {
    TempRoot tmp;
    put(tmp.path() / "cgroup.controllers", "memory");
    put(tmp.path() / "brig/c1/memory.oom.group", "0");
    ManagerOptions options;
    options.root = tmp.path().string();
    options.oom_group = true;
    open_manager("", "c1", options)->create();
    EXPECT_EQ(get(tmp.path() / "brig/c1/memory.oom.group"), "1");
    options.oom_group = false;
    put(tmp.path() / "brig/c2/memory.oom.group", "0");
    open_manager("", "c2", options)->create();
    EXPECT_EQ(get(tmp.path() / "brig/c2/memory.oom.group"), "0");
}

TEST(CgroupsFeatures, CgroupObject) {
    auto features = cgroup_features();
    EXPECT_EQ(features["v1"], true);
    EXPECT_EQ(features["v2"], true);
    EXPECT_EQ(features["systemd"], true);
}

TEST(CgroupsV2Fake, MemoryFiles) {
    FakeV2 fake;
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 1 << 20;
    resources.memory->reservation = 512 << 10;
    resources.memory->swap = 3 << 20;
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.leaf / "memory.max"), "1048576");
    EXPECT_EQ(get(fake.leaf / "memory.low"), "524288");
    EXPECT_EQ(get(fake.leaf / "memory.swap.max"), "2097152");

    resources.memory.emplace();
    resources.memory->limit = -1;
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.leaf / "memory.max"), "max");
    EXPECT_EQ(get(fake.leaf / "memory.swap.max"), "max");
}

TEST(CgroupsV2Fake, SwapAloneUsesTheLimitInForce) {
    FakeV2 fake;
    put(fake.leaf / "memory.max", "4194304\n");
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->swap = 6 << 20;
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.leaf / "memory.swap.max"), "2097152");
}

TEST(CgroupsV2Fake, IgnorableMemoryFieldsWarn) {
    FakeV2 fake;
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->kernel = 1 << 20;
    resources.memory->swappiness = 10;
    fake.manager->apply(resources);
    ASSERT_EQ(fake.warnings.size(), 2u);
    EXPECT_NE(fake.warnings[0].find("linux.resources.memory.swappiness"), std::string::npos);
    EXPECT_NE(fake.warnings[1].find("linux.resources.memory.kernel"), std::string::npos);
}

TEST(CgroupsV2Fake, BadValuesNameTheField) {
    FakeV2 fake;
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = -5;
    EXPECT_NE(
        error_of([&] { fake.manager->apply(resources); }).find("linux.resources.memory.limit"),
        std::string::npos);
    EXPECT_EQ(get(fake.leaf / "memory.max"), "");

    config::Resources shares;
    shares.cpu.emplace();
    shares.cpu->shares = 1 << 20;
    EXPECT_NE(error_of([&] { fake.manager->apply(shares); }).find("linux.resources.cpu.shares"),
              std::string::npos);
    EXPECT_EQ(get(fake.leaf / "cpu.weight"), "");

    config::Resources cpu;
    cpu.cpu.emplace();
    cpu.cpu->quota = -7;
    EXPECT_NE(error_of([&] { fake.manager->apply(cpu); }).find("linux.resources.cpu.quota"),
              std::string::npos);
}

TEST(CgroupsV2Fake, WriteFailureNamesFieldAndFile) {
    FakeV2 fake;
    fs::remove(fake.leaf / "pids.max");
    fs::create_directory(fake.leaf / "pids.max");  // writing a directory fails
    config::Resources resources;
    resources.pids_limit = 10;
    std::string message = error_of([&] { fake.manager->apply(resources); });
    EXPECT_NE(message.find("linux.resources.pids.limit"), std::string::npos) << message;
    EXPECT_NE(message.find("pids.max"), std::string::npos) << message;
}

TEST(CgroupsV2Fake, CpuFiles) {
    FakeV2 fake;
    config::Resources resources;
    resources.cpu.emplace();
    resources.cpu->shares = 1024;
    resources.cpu->quota = 50000;
    resources.cpu->burst = 1000;
    resources.cpu->idle = 1;
    resources.cpu->cpus = "0";
    resources.cpu->mems = "0";
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.leaf / "cpu.weight"), "39");
    EXPECT_EQ(get(fake.leaf / "cpu.max"), "50000 100000");
    EXPECT_EQ(get(fake.leaf / "cpu.max.burst"), "1000");
    EXPECT_EQ(get(fake.leaf / "cpu.idle"), "1");
    EXPECT_EQ(get(fake.leaf / "cpuset.cpus"), "0");
    EXPECT_EQ(get(fake.leaf / "cpuset.mems"), "0");

    // An update of the period alone keeps the quota in force.
    config::Resources period;
    period.cpu.emplace();
    period.cpu->period = 200000;
    fake.manager->apply(period);
    EXPECT_EQ(get(fake.leaf / "cpu.max"), "50000 200000");
    period.cpu->period.reset();
    period.cpu->quota = -1;
    fake.manager->apply(period);
    EXPECT_EQ(get(fake.leaf / "cpu.max"), "max 200000");
}

TEST(CgroupsV2Fake, PidsIoHugetlb) {
    FakeV2 fake;
    config::Resources resources;
    resources.pids_limit = -1;
    resources.block_io.emplace();
    resources.block_io->weight = 1000;
    resources.block_io->throttle_read_bps.push_back({8, 0, 1048576});
    resources.hugepage_limits.push_back({"2MB", 4 << 20});
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.leaf / "pids.max"), "max");
    EXPECT_EQ(get(fake.leaf / "io.weight"), "10000");
    EXPECT_EQ(get(fake.leaf / "io.max"), "8:0 rbps=1048576");
    EXPECT_EQ(get(fake.leaf / "hugetlb.2MB.max"), "4194304");

    config::Resources bad;
    bad.hugepage_limits.push_back({"3MB", 1});
    EXPECT_NE(error_of([&] {
                  fake.manager->apply(bad);
              }).find("linux.resources.hugepageLimits[0].pageSize"),
              std::string::npos);
}

TEST(CgroupsV2Fake, BfqWeightIsWrittenUnconverted) {
    FakeV2 fake;
    put(fake.leaf / "io.bfq.weight", "");
    config::Resources resources;
    resources.block_io.emplace();
    resources.block_io->weight = 500;
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.leaf / "io.bfq.weight"), "500");
    EXPECT_EQ(get(fake.leaf / "io.weight"), "");
}

TEST(CgroupsV2Fake, UnifiedKeysAreValidated) {
    FakeV2 fake("memory pids");
    config::Resources ok;
    ok.unified["memory.high"] = "1000000";
    fake.manager->apply(ok);
    EXPECT_EQ(get(fake.leaf / "memory.high"), "1000000");

    for (const char* key : {"../memory.max", "memory.nonexistent", "nodot", "io.weight", ""}) {
        config::Resources bad;
        bad.unified[key] = "1";
        std::string message = error_of([&] { fake.manager->apply(bad); });
        EXPECT_NE(message.find(std::string("linux.resources.unified[\"") + key + "\"]"),
                  std::string::npos)
            << message;
    }
}

TEST(CgroupsV2Fake, MissingControllerIsAnErrorNamingTheField) {
    FakeV2 fake("memory");
    config::Resources resources;
    resources.pids_limit = 5;
    std::string message = error_of([&] { fake.manager->apply(resources); });
    EXPECT_NE(message.find("linux.resources.pids.limit"), std::string::npos) << message;
    EXPECT_NE(message.find("pids"), std::string::npos);

    config::Resources network;
    network.network.emplace();
    network.network->class_id = 7;
    EXPECT_NE(error_of([&] { fake.manager->apply(network); }).find("linux.resources.network"),
              std::string::npos);
}

TEST(CgroupsV2Fake, StatsShape) {
    FakeV2 fake;
    put(fake.leaf / "cpu.stat",
        "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\n"
        "nr_throttled 1\nthrottled_usec 5\n");
    put(fake.leaf / "memory.current", "4096\n");
    put(fake.leaf / "memory.max", "max\n");
    put(fake.leaf / "memory.stat", "anon 1024\nfile 2048\n");
    put(fake.leaf / "memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
    put(fake.leaf / "pids.current", "3\n");
    put(fake.leaf / "pids.max", "max\n");
    put(fake.leaf / "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
    put(fake.leaf / "hugetlb.2MB.current", "0\n");
    put(fake.leaf / "hugetlb.2MB.max", "4194304\n");
    auto stats = fake.manager->stats();
    EXPECT_EQ(stats["cpu"]["usage"]["total"], 10000u);
    EXPECT_EQ(stats["cpu"]["usage"]["user"], 6000u);
    EXPECT_EQ(stats["cpu"]["throttling"]["throttledPeriods"], 1u);
    EXPECT_EQ(stats["memory"]["usage"]["usage"], 4096u);
    EXPECT_EQ(stats["memory"]["usage"]["limit"], UINT64_MAX);
    EXPECT_EQ(stats["memory"]["cache"], 2048u);
    EXPECT_EQ(stats["memory"]["raw"]["anon"], 1024u);
    EXPECT_EQ(stats["pids"]["current"], 3u);
    EXPECT_EQ(stats["blkio"]["ioServiceBytesRecursive"][1]["op"], "Write");
    EXPECT_EQ(stats["blkio"]["ioServiceBytesRecursive"][1]["value"], 200u);
    EXPECT_EQ(stats["hugetlb"]["2MB"]["max"], 4194304u);
    EXPECT_EQ(fake.manager->oom_kills(), 1u);
}

// A legacy host: one directory per controller, each a v1 hierarchy ("tasks").
struct FakeV1 {
    TempRoot tmp;
    std::vector<std::string> warnings;
    std::unique_ptr<CgroupManager> manager;

    fs::path dir(const std::string& controller) { return tmp.path() / controller / "brig/c1"; }

    FakeV1() {
        for (const char* controller :
             {"memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio"})
            put(tmp.path() / controller / "tasks", "");
        put(tmp.path() / "cpuset/cpuset.cpus", "0-1\n");
        put(tmp.path() / "cpuset/cpuset.mems", "0\n");
        put(tmp.path() / "cpuset/brig/cpuset.cpus", "");
        put(tmp.path() / "cpuset/brig/cpuset.mems", "");
        put(dir("cpuset") / "cpuset.cpus", "");
        put(dir("cpuset") / "cpuset.mems", "");
        for (const char* file :
             {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
              "memory.swappiness", "memory.oom_control"})
            put(dir("memory") / file, "");
        put(dir("memory") / "memory.memsw.limit_in_bytes", "9223372036854771712\n");
        for (const char* file : {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"})
            put(dir("cpu") / file, "");
        put(dir("pids") / "pids.max", "");
        put(dir("blkio") / "blkio.weight", "");
        put(dir("blkio") / "blkio.throttle.write_iops_device", "");
        put(dir("devices") / "devices.allow", "");
        put(dir("devices") / "devices.deny", "");
        ManagerOptions options;
        options.root = tmp.path().string();
        options.warn = [this](const std::string& m) { warnings.push_back(m); };
        manager = open_manager("", "c1", options);
        manager->create();
    }
};

TEST(CgroupsV1Fake, CreateCopiesCpusetFromParents) {
    FakeV1 fake;
    EXPECT_EQ(fake.manager->kind(), HierarchyKind::legacy);
    EXPECT_EQ(get(fake.tmp.path() / "cpuset/brig/cpuset.cpus"), "0-1");
    EXPECT_EQ(get(fake.dir("cpuset") / "cpuset.cpus"), "0-1");
    EXPECT_EQ(get(fake.dir("cpuset") / "cpuset.mems"), "0");
    for (const char* controller : {"memory", "cpu", "pids", "devices", "freezer", "blkio"})
        EXPECT_TRUE(fs::is_directory(fake.dir(controller))) << controller;
    EXPECT_EQ(fake.manager->clone_into_fd(), -1);
    EXPECT_EQ(fake.manager->cgroup2_id(), 0u);
}

TEST(CgroupsV1Fake, ANewProcessJoinsThroughEachTasksFile) {
    FakeV1 fake;
    const char* controllers[] = {"memory", "cpu",     "cpuacct", "cpuset",
                                 "pids",   "devices", "freezer", "blkio"};
    for (const char* controller : controllers)
        put(fake.dir(controller) / "tasks", "");
    std::vector<UniqueFd> fds = fake.manager->self_join_fds();
    ASSERT_EQ(fds.size(), std::size(controllers));
    for (const auto& fd : fds)
        ASSERT_EQ(::write(fd.get(), "0", 1), 1);
    for (const char* controller : controllers)
        EXPECT_EQ(get(fake.dir(controller) / "tasks"), "0") << controller;
}

TEST(CgroupsV1Fake, ResourceFiles) {
    FakeV1 fake;
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 1 << 20;
    resources.memory->swap = 2 << 20;
    resources.memory->reservation = 1 << 19;
    resources.memory->swappiness = 0;
    resources.memory->disable_oom_killer = true;
    resources.cpu.emplace();
    resources.cpu->shares = 512;
    resources.cpu->quota = 20000;
    resources.cpu->period = 100000;
    resources.pids_limit = 12;
    resources.block_io.emplace();
    resources.block_io->weight = 300;
    resources.block_io->throttle_write_iops.push_back({8, 16, 50});
    resources.devices.push_back({false, 'a', std::nullopt, std::nullopt, "rwm"});
    resources.devices.push_back({true, 'c', 1, 3, "rw"});
    fake.manager->apply(resources);
    EXPECT_EQ(get(fake.dir("memory") / "memory.limit_in_bytes"), "1048576");
    EXPECT_EQ(get(fake.dir("memory") / "memory.memsw.limit_in_bytes"), "2097152");
    EXPECT_EQ(get(fake.dir("memory") / "memory.soft_limit_in_bytes"), "524288");
    EXPECT_EQ(get(fake.dir("memory") / "memory.swappiness"), "0");
    EXPECT_EQ(get(fake.dir("memory") / "memory.oom_control"), "1");
    EXPECT_EQ(get(fake.dir("cpu") / "cpu.shares"), "512");
    EXPECT_EQ(get(fake.dir("cpu") / "cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(get(fake.dir("cpu") / "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(get(fake.dir("pids") / "pids.max"), "12");
    EXPECT_EQ(get(fake.dir("blkio") / "blkio.weight"), "300");
    EXPECT_EQ(get(fake.dir("blkio") / "blkio.throttle.write_iops_device"), "8:16 50");
    EXPECT_EQ(get(fake.dir("devices") / "devices.allow"), "c 1:3 rw");
    EXPECT_EQ(get(fake.dir("devices") / "devices.deny"), "a");
}

TEST(CgroupsV1Fake, MissingControllersAndV2OnlyFields) {
    FakeV1 fake;
    config::Resources hugetlb;
    hugetlb.hugepage_limits.push_back({"2MB", 1});
    std::string message = error_of([&] { fake.manager->apply(hugetlb); });
    EXPECT_NE(message.find("linux.resources.hugepageLimits[0]"), std::string::npos) << message;
    EXPECT_NE(message.find("hugetlb"), std::string::npos) << message;

    config::Resources unified;
    unified.unified["memory.high"] = "1";
    EXPECT_NE(error_of([&] { fake.manager->apply(unified); }).find("linux.resources.unified"),
              std::string::npos);

    config::Resources kernel;
    kernel.memory.emplace();
    kernel.memory->kernel = 1 << 20;  // no memory.kmem.limit_in_bytes in the fake
    fake.manager->apply(kernel);
    ASSERT_EQ(fake.warnings.size(), 1u);
    EXPECT_NE(fake.warnings[0].find("linux.resources.memory.kernel"), std::string::npos);

    config::Resources swappiness;
    swappiness.memory.emplace();
    swappiness.memory->swappiness = 101;
    EXPECT_NE(error_of([&] { fake.manager->apply(swappiness); }).find("memory.swappiness"),
              std::string::npos);
}

TEST(CgroupsV1Fake, SwapBelowLimitIsRefused) {
    FakeV1 fake;
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 4 << 20;
    resources.memory->swap = 2 << 20;
    EXPECT_NE(error_of([&] { fake.manager->apply(resources); }).find("linux.resources.memory.swap"),
              std::string::npos);
    EXPECT_EQ(get(fake.dir("memory") / "memory.limit_in_bytes"), "");
}

// Hybrid: memory on v1, hugetlb only on the cgroup2 side (as on the machine this was built on).
TEST(CgroupsHybridFake, ResourcesGoWhereTheirControllerIs) {
    TempRoot tmp;
    for (const char* controller : {"memory", "cpu", "cpuset", "pids", "devices", "freezer"})
        put(tmp.path() / controller / "tasks", "");
    put(tmp.path() / "unified/cgroup.controllers", "hugetlb");
    put(tmp.path() / "unified/cgroup.subtree_control", "");
    fs::path leaf2 = tmp.path() / "unified/brig/c1";
    put(leaf2 / "cgroup.controllers", "hugetlb");
    put(leaf2 / "hugetlb.2MB.max", "");
    fs::path memory = tmp.path() / "memory/brig/c1";
    put(memory / "memory.limit_in_bytes", "");
    put(tmp.path() / "cpu/brig/c1/cpu.shares", "");
    put(tmp.path() / "cpuset/brig/c1/cpuset.cpus", "0");
    put(tmp.path() / "cpuset/brig/c1/cpuset.mems", "0");
    ManagerOptions options;
    options.root = tmp.path().string();
    auto manager = open_manager("", "c1", options);
    EXPECT_EQ(manager->kind(), HierarchyKind::hybrid);
    manager->create();
    EXPECT_EQ(get(tmp.path() / "unified/cgroup.subtree_control"), "+hugetlb");

    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 8 << 20;
    resources.cpu.emplace();
    resources.cpu->shares = 100;
    resources.cpu->cpus = "1";
    resources.hugepage_limits.push_back({"2MB", 2 << 20});
    manager->apply(resources);
    EXPECT_EQ(get(memory / "memory.limit_in_bytes"), "8388608");
    EXPECT_EQ(get(tmp.path() / "cpu/brig/c1/cpu.shares"), "100");
    EXPECT_EQ(get(tmp.path() / "cpuset/brig/c1/cpuset.cpus"), "1");
    EXPECT_EQ(get(leaf2 / "hugetlb.2MB.max"), "2097152");

    // unified keys go to the cgroup2 side, and only for controllers enabled there.
    config::Resources unified;
    unified.unified["hugetlb.2MB.max"] = "4194304";
    manager->apply(unified);
    EXPECT_EQ(get(leaf2 / "hugetlb.2MB.max"), "4194304");
    unified.unified = {{"memory.high", "1"}};
    EXPECT_NE(error_of([&] { manager->apply(unified); }).find("linux.resources.unified"),
              std::string::npos);
    // clone3 places a process into the cgroup2 half; it joins the v1 half through tasks files.
    EXPECT_GE(manager->clone_into_fd(), 0);
    for (const char* controller : {"memory", "cpu", "cpuset", "pids", "devices", "freezer"})
        put(tmp.path() / controller / "brig/c1/tasks", "");
    EXPECT_EQ(manager->self_join_fds().size(), 6u);
}

// The device program decides per access bit, the last matching rule winning.
TEST(CgroupsDevices, LastMatchWinsPerAccessBit) {
    std::vector<config::DeviceRule> rules = {
        {false, 'a', std::nullopt, std::nullopt, "rwm"},
        {true, 'c', 1, 3, "rwm"},
        {true, 'c', 1, 5, "r"},
        {false, 'c', 1, 3, "w"},
        {true, 'c', 136, std::nullopt, "rw"},
    };
    EXPECT_TRUE(device_rules_allow(rules, 'c', 1, 3, "r"));
    EXPECT_FALSE(device_rules_allow(rules, 'c', 1, 3, "w"));
    EXPECT_FALSE(device_rules_allow(rules, 'c', 1, 3, "rw"));
    EXPECT_TRUE(device_rules_allow(rules, 'c', 1, 5, "r"));
    EXPECT_FALSE(device_rules_allow(rules, 'c', 1, 5, "rw"));
    EXPECT_TRUE(device_rules_allow(rules, 'c', 136, 7, "rw"));
    EXPECT_FALSE(device_rules_allow(rules, 'b', 8, 0, "r"));
    EXPECT_FALSE(device_rules_allow({}, 'c', 1, 3, "r"));

    std::vector<config::DeviceRule> blacklist = {{true, 'a', std::nullopt, std::nullopt, ""},
                                                 {false, 'b', 8, std::nullopt, "w"}};
    EXPECT_TRUE(device_rules_allow(blacklist, 'b', 8, 1, "r"));
    EXPECT_FALSE(device_rules_allow(blacklist, 'b', 8, 1, "rw"));
}

TEST(CgroupsDevices, ProgramJumpsStayInside) {
    auto prog = build_device_program(default_device_rules(), "linux.resources.devices");
    ASSERT_GT(prog.size(), 8u);
    EXPECT_EQ(prog.back().code, BPF_JMP | BPF_EXIT);
    for (size_t n = 0; n < prog.size(); ++n) {
        if (BPF_CLASS(prog[n].code) == BPF_JMP && BPF_OP(prog[n].code) != BPF_EXIT) {
            long target = static_cast<long>(n) + 1 + prog[n].off;
            EXPECT_GT(target, static_cast<long>(n));
            EXPECT_LT(target, static_cast<long>(prog.size()));
        }
    }
}

TEST(CgroupsDevices, BadRulesNameTheEntry) {
    std::vector<config::DeviceRule> rules = {{true, 'c', 1, 3, "rwx"}};
    EXPECT_NE(error_of([&] {
                  build_device_program(rules, "linux.resources.devices");
              }).find("linux.resources.devices[0].access"),
              std::string::npos);
    rules = {{true, 'z', 1, 3, "r"}};
    EXPECT_NE(error_of([&] {
                  build_device_program(rules, "linux.resources.devices");
              }).find("linux.resources.devices[0].type"),
              std::string::npos);
}

TEST(CgroupsUpdateFlags, SizesWithUnits) {
    EXPECT_EQ(parse_memory_size("1048576", "--memory"), 1048576);
    EXPECT_EQ(parse_memory_size("512k", "--memory"), 512 * 1024);
    EXPECT_EQ(parse_memory_size("256M", "--memory"), 256LL << 20);
    EXPECT_EQ(parse_memory_size("1.5GiB", "--memory"), 3LL << 29);
    EXPECT_EQ(parse_memory_size("-1", "--memory"), -1);
    for (const char* bad : {"", "m", "12q", "-5", "1e3"})
        EXPECT_NE(error_of([&] { parse_memory_size(bad, "--memory"); }).find("--memory"),
                  std::string::npos)
            << bad;
}

TEST(CgroupsUpdateFlags, OnlyGivenFieldsAreSet) {
    auto resources = resources_from_update_flags(
        {{"memory", "64m"}, {"cpu-quota", "50000"}, {"pids-limit", "100"}});
    ASSERT_TRUE(resources.memory);
    EXPECT_EQ(resources.memory->limit, 64 << 20);
    EXPECT_FALSE(resources.memory->swap);
    ASSERT_TRUE(resources.cpu);
    EXPECT_EQ(resources.cpu->quota, 50000);
    EXPECT_FALSE(resources.cpu->period);
    EXPECT_FALSE(resources.cpu->shares);
    EXPECT_EQ(resources.pids_limit, 100);
    EXPECT_FALSE(resources.block_io);

    EXPECT_NE(error_of([] {
                  resources_from_update_flags({{"cpu-quota", "lots"}});
              }).find("--cpu-quota"),
              std::string::npos);
    EXPECT_NE(error_of([] {
                  resources_from_update_flags({{"blkio-weight", "5"}});
              }).find("--blkio-weight"),
              std::string::npos);
    EXPECT_NE(error_of([] {
                  resources_from_update_flags({{"bogus", "1"}});
              }).find("--bogus"),
              std::string::npos);
}

namespace brig::cgroups {
namespace {

TEST(SubCgroups, FlagsParseAsRuncReadsThem) {
    EXPECT_EQ(parse_sub_cgroups({"sub"}), (SubCgroups{{"", "sub"}}));
    EXPECT_EQ(parse_sub_cgroups({"memory:a", "cpu,cpuacct:b/c"}),
              (SubCgroups{{"memory", "a"}, {"cpu", "b/c"}, {"cpuacct", "b/c"}}));
    EXPECT_TRUE(parse_sub_cgroups({}).empty());
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"a", "memory:b"}, {":x"}, {"memory:a:b"}, {"memory,:a"}}) {
        try {
            parse_sub_cgroups(bad);
            ADD_FAILURE() << bad.front() << " accepted";
        } catch (const Error& e) {
            EXPECT_TRUE(std::string(e.what()).starts_with("exec --cgroup: invalid argument"))
                << e.what();
        }
    }
}

TEST(SubCgroups, APathOutOfTheContainersCgroupIsRefusedBeforeAnythingIsOpened) {
    for (const char* sub : {"..", "a/../..", "../x"}) {
        try {
            open_sub_cgroup("/nonexistent/brig/c", sub);
            ADD_FAILURE() << sub << " accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("is not a sub cgroup path"), std::string::npos)
                << e.what();
        }
    }
    try {
        open_sub_cgroup("/nonexistent/brig/c", "a/../b/./");
        ADD_FAILURE() << "opened";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/brig/c/b/cgroup.procs: no such file"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace brig::cgroups
