// The cgroup layer on this machine's real cgroupfs (root only): limits read back from the
// kernel's files, enforcement (fork bomb, OOM, devices), freeze, kill and cleanup.
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/v2.hpp"
#include "runtime/common/error.hpp"

namespace fs = std::filesystem;
using namespace brig;
using namespace brig::cgroups;

namespace {

const std::string kRoot = "/sys/fs/cgroup";

std::string read_trimmed(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::string unique_id(const char* what) {
    static int counter = 0;
    return std::string("itest-") + what + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(++counter);
}

// Where a v1 controller's or the cgroup2 file of the container lives on this host.
std::string controller_file(const CgroupManager& manager, const std::string& v1_controller,
                            const std::string& v1_file, const std::string& v2_file) {
    if (manager.kind() == HierarchyKind::unified)
        return kRoot + manager.path() + "/" + v2_file;
    return kRoot + "/" + v1_controller + manager.path() + "/" + v1_file;
}

// Every directory the container's cgroup could occupy on this host.
std::vector<std::string> cgroup_dirs(const std::string& path) {
    std::vector<std::string> out;
    if (detect_hierarchy() == HierarchyKind::unified)
        return {kRoot + path};
    for (const auto& entry : fs::directory_iterator(kRoot))
        out.push_back(entry.path().string() + path);
    return out;
}

// A forked child that waits on a pipe until the parent has placed it, then runs body.
class Child {
public:
    explicit Child(std::function<int()> body) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(fds[1]);
            char go;
            if (::read(fds[0], &go, 1) != 1)
                ::_exit(120);
            ::_exit(body());
        }
        ::close(fds[0]);
        go_fd_ = fds[1];
    }
    ~Child() {
        if (go_fd_ >= 0)
            ::close(go_fd_);
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }
    void go() {
        char go = 'g';
        ASSERT_EQ(::write(go_fd_, &go, 1), 1);
        ::close(go_fd_);
        go_fd_ = -1;
    }
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        return status;
    }

private:
    pid_t pid_ = -1;
    int go_fd_ = -1;
    bool reaped_ = false;
};

class CgroupsReal : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root to create cgroups";
        if (!fs::exists(kRoot + "/cgroup.controllers") && !fs::exists(kRoot + "/memory/tasks"))
            GTEST_SKIP() << "no usable cgroup hierarchy at " << kRoot;
        ManagerOptions options;
        options.warn = [this](const std::string& m) { warnings_.push_back(m); };
        id_ = unique_id(::testing::UnitTest::GetInstance()->current_test_info()->name());
        manager_ = open_manager("", id_, options);
        manager_->create();
    }
    void TearDown() override {
        if (manager_)
            manager_->destroy();
    }

    bool has_v1(const std::string& controller) const {
        return manager_->kind() != HierarchyKind::unified &&
               fs::exists(kRoot + "/" + controller + "/tasks");
    }

    std::string id_;
    std::vector<std::string> warnings_;
    std::unique_ptr<CgroupManager> manager_;
};

}  // namespace

TEST_F(CgroupsReal, DetectsThisHost) {
    auto kind = detect_hierarchy();
    EXPECT_EQ(manager_->kind(), kind);
    // This machine: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified.
    if (fs::exists(kRoot + "/unified/cgroup.controllers")) {
        EXPECT_EQ(kind, HierarchyKind::hybrid);
    }
}

TEST_F(CgroupsReal, ProcessJoinsEveryHierarchy) {
    Child child([] {
        ::pause();
        return 0;
    });
    manager_->add_process(child.pid());
    child.go();
    auto pids = manager_->pids();
    ASSERT_EQ(pids.size(), 1u);
    EXPECT_EQ(pids[0], child.pid());

    std::string own = read_trimmed("/proc/" + std::to_string(child.pid()) + "/cgroup");
    std::istringstream lines(own);
    std::string line;
    int joined = 0;
    while (std::getline(lines, line)) {
        if (line.find("name=systemd") != std::string::npos)
            continue;
        // Every controller line (and the cgroup2 "0::" line) names the container's cgroup.
        EXPECT_TRUE(line.ends_with(manager_->path())) << line;
        ++joined;
    }
    EXPECT_GT(joined, 0);
    if (manager_->kind() != HierarchyKind::legacy) {
        struct stat st {};
        std::string v2dir =
            (manager_->kind() == HierarchyKind::hybrid ? kRoot + "/unified" : kRoot) +
            manager_->path();
        ASSERT_EQ(::stat(v2dir.c_str(), &st), 0);
        EXPECT_EQ(manager_->cgroup2_id(), st.st_ino);
    }
}

TEST_F(CgroupsReal, LimitsReadBackFromKernelFiles) {
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 64 << 20;
    resources.cpu.emplace();
    resources.cpu->shares = 512;
    resources.cpu->quota = 25000;
    resources.cpu->period = 50000;
    resources.cpu->cpus = "0";
    resources.pids_limit = 32;
    manager_->apply(resources);
    EXPECT_EQ(
        read_trimmed(controller_file(*manager_, "memory", "memory.limit_in_bytes", "memory.max")),
        "67108864");
    EXPECT_EQ(read_trimmed(controller_file(*manager_, "pids", "pids.max", "pids.max")), "32");
    EXPECT_EQ(read_trimmed(controller_file(*manager_, "cpuset", "cpuset.cpus", "cpuset.cpus")),
              "0");
    if (manager_->kind() == HierarchyKind::unified) {
        EXPECT_EQ(read_trimmed(kRoot + manager_->path() + "/cpu.max"), "25000 50000");
        EXPECT_EQ(read_trimmed(kRoot + manager_->path() + "/cpu.weight"), "20");
    } else {
        EXPECT_EQ(read_trimmed(kRoot + "/cpu" + manager_->path() + "/cpu.shares"), "512");
        EXPECT_EQ(read_trimmed(kRoot + "/cpu" + manager_->path() + "/cpu.cfs_quota_us"), "25000");
        EXPECT_EQ(read_trimmed(kRoot + "/cpu" + manager_->path() + "/cpu.cfs_period_us"), "50000");
    }

    // update: only what is given changes.
    config::Resources update;
    update.pids_limit = 64;
    manager_->apply(update);
    EXPECT_EQ(read_trimmed(controller_file(*manager_, "pids", "pids.max", "pids.max")), "64");
    EXPECT_EQ(
        read_trimmed(controller_file(*manager_, "memory", "memory.limit_in_bytes", "memory.max")),
        "67108864");
}

TEST_F(CgroupsReal, KernelRefusalNamesTheField) {
    config::Resources resources;
    resources.cpu.emplace();
    resources.cpu->cpus = "0-4095";  // more cpus than this machine has
    try {
        manager_->apply(resources);
        FAIL() << "cpuset.cpus 0-4095 was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("linux.resources.cpu.cpus"), std::string::npos)
            << e.what();
    }
}

TEST_F(CgroupsReal, HugetlbGoesWhereTheControllerIs) {
    if (!fs::exists("/sys/kernel/mm/hugepages/hugepages-2048kB"))
        GTEST_SKIP() << "no 2 MB huge pages";
    config::Resources resources;
    resources.hugepage_limits.push_back({"2MB", 4 << 20});
    manager_->apply(resources);
    std::string file = fs::exists(kRoot + "/hugetlb/tasks")
                           ? kRoot + "/hugetlb" + manager_->path() + "/hugetlb.2MB.limit_in_bytes"
                       : manager_->kind() == HierarchyKind::hybrid
                           ? kRoot + "/unified" + manager_->path() + "/hugetlb.2MB.max"
                           : kRoot + manager_->path() + "/hugetlb.2MB.max";
    EXPECT_EQ(read_trimmed(file), "4194304");
}

TEST_F(CgroupsReal, PidsMaxStopsAForkBomb) {
    config::Resources resources;
    resources.pids_limit = 8;
    manager_->apply(resources);
    Child child([] {
        int forked = 0;
        bool refused = false;
        for (int n = 0; n < 50; ++n) {
            pid_t pid = ::fork();
            if (pid == 0) {
                ::pause();
                ::_exit(0);
            }
            if (pid < 0) {
                refused = errno == EAGAIN;
                break;
            }
            ++forked;
        }
        ::kill(0, 0);
        // Exit code: how many forks succeeded, 100 + that if one was refused.
        return refused ? 100 + forked : forked;
    });
    manager_->add_process(child.pid());
    child.go();
    int status = child.wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 100 + 7);  // 8 tasks: the child and 7 of its forks
    manager_->kill_all(SIGKILL);              // the orphaned forks
}

TEST_F(CgroupsReal, FreezeStopsProgressAndThawResumes) {
    auto* counter = static_cast<std::atomic<uint64_t>*>(
        ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(counter, MAP_FAILED);
    new (counter) std::atomic<uint64_t>(0);
    Child child([counter] {
        for (;;)
            counter->fetch_add(1);
        return 0;
    });
    manager_->add_process(child.pid());
    child.go();
    while (counter->load() == 0) {
    }
    manager_->freeze();
    EXPECT_TRUE(manager_->frozen());
    uint64_t at_freeze = counter->load();
    ::usleep(50000);
    EXPECT_EQ(counter->load(), at_freeze) << "the frozen child kept counting";
    manager_->thaw();
    EXPECT_FALSE(manager_->frozen());
    while (counter->load() == at_freeze) {
    }
    ::munmap(counter, sizeof(std::atomic<uint64_t>));
}

TEST_F(CgroupsReal, MemoryHogIsOomKilledAndCounted) {
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 16 << 20;
    resources.memory->swap = 16 << 20;  // memory+swap: no swap to escape to
    manager_->apply(resources);
    uint64_t before = manager_->oom_kills();
    auto watch = manager_->watch_oom();
    ASSERT_TRUE(watch);
    pollfd quiet{watch->fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&quiet, 1, 0), 0) << "the OOM fd fired before any OOM";
    Child child([] {
        const size_t size = 256 << 20;
        // volatile: at -O2 an unread malloc'd block and its writes are optimized away.
        volatile char* block = static_cast<volatile char*>(::malloc(size));
        for (size_t at = 0; block && at < size; at += 4096)
            block[at] = 1;
        return 0;
    });
    manager_->add_process(child.pid());
    child.go();
    int status = child.wait();
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_GT(manager_->oom_kills(), before);
    pollfd fired{watch->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&fired, 1, 60000), 1) << "no OOM notification";
    watch->drain();
    EXPECT_EQ(::poll(&fired, 1, 0), 0) << "drain() left the fd readable";
}

TEST_F(CgroupsReal, MemoryUpdatesKeepLimitAndSwapConsistent) {
    if (!has_v1("memory") ||
        !fs::exists(kRoot + "/memory" + manager_->path() + "/memory.memsw.limit_in_bytes"))
        GTEST_SKIP() << "needs v1 memory with swap accounting (memory.memsw.*)";
    std::string dir = kRoot + "/memory" + manager_->path();
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 32 << 20;
    resources.memory->swap = 32 << 20;
    manager_->apply(resources);

    // Raising both: memsw has to grow first, or the kernel refuses the limit.
    resources.memory->limit = 64 << 20;
    resources.memory->swap = 96 << 20;
    manager_->apply(resources);
    EXPECT_EQ(read_trimmed(dir + "/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(read_trimmed(dir + "/memory.memsw.limit_in_bytes"), "100663296");

    // The limit alone above memory+swap: an error that says what to add.
    config::Resources limit_only;
    limit_only.memory.emplace();
    limit_only.memory->limit = 128 << 20;
    try {
        manager_->apply(limit_only);
        FAIL() << "a limit above memory+swap was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("linux.resources.memory.swap"), std::string::npos)
            << e.what();
    }

    // -1 lifts both.
    limit_only.memory->limit = -1;
    manager_->apply(limit_only);
    EXPECT_EQ(read_trimmed(dir + "/memory.limit_in_bytes"),
              read_trimmed(kRoot + "/memory/memory.limit_in_bytes"));
    EXPECT_EQ(read_trimmed(dir + "/memory.memsw.limit_in_bytes"),
              read_trimmed(kRoot + "/memory/memory.memsw.limit_in_bytes"));
}

TEST_F(CgroupsReal, OneMebibyteLimitRunsTrue) {
    config::Resources resources;
    resources.memory.emplace();
    resources.memory->limit = 1 << 20;
    manager_->apply(resources);
    Child child([] {
        ::execl("/bin/true", "true", nullptr);
        return 127;
    });
    manager_->add_process(child.pid());
    child.go();
    int status = child.wait();
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(CgroupsReal, DeniedDeviceCannotBeOpened) {
    config::Resources resources;
    resources.devices.push_back({true, 'a', std::nullopt, std::nullopt, "rwm"});
    resources.devices.push_back({false, 'c', 1, 3, "rw"});  // /dev/null
    manager_->apply(resources);
    Child child([] {
        int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        return (zero >= 0 ? 0 : 1) | (null < 0 && errno == EPERM ? 0 : 2);
    });
    manager_->add_process(child.pid());
    child.go();
    int status = child.wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: /dev/zero refused, 2: /dev/null opened";
}

// The eBPF device program on the cgroup2 side, which this hybrid host has too.
TEST_F(CgroupsReal, EbpfDeviceProgramDeniesOnCgroup2) {
    std::string mount = detect_hierarchy() == HierarchyKind::unified ? kRoot : kRoot + "/unified";
    if (!fs::exists(mount + "/cgroup.controllers"))
        GTEST_SKIP() << "no cgroup2 mount";
    CgroupV2 v2(mount, "/brig/" + unique_id("ebpf"), {});
    v2.create();
    config::Resources resources;
    resources.devices = default_device_rules();
    resources.devices.push_back({false, 'c', 1, 5, "r"});  // /dev/zero: no reading
    try {
        v2.apply(resources);
        Child child([] {
            int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            int zero_write = ::open("/dev/zero", O_WRONLY | O_CLOEXEC);
            int zero_read = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
            int loop = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
            return (null >= 0 ? 0 : 1) | (zero_write >= 0 ? 0 : 2) |
                   (zero_read < 0 && errno == EPERM ? 0 : 4) | (loop < 0 && errno == EPERM ? 0 : 8);
        });
        v2.add_process(child.pid());
        child.go();
        int status = child.wait();
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0)
            << "1: null refused, 2: zero write refused, 4: zero read allowed, 8: loop-control";

        // update replaces the program instead of stacking a second one.
        resources.devices = default_device_rules();
        v2.apply(resources);
        Child again([] { return ::open("/dev/zero", O_RDONLY | O_CLOEXEC) >= 0 ? 0 : 1; });
        v2.add_process(again.pid());
        again.go();
        status = again.wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    } catch (...) {
        v2.destroy();
        throw;
    }
    v2.destroy();
    EXPECT_FALSE(fs::exists(v2.dir()));
}

// The cgroup2 implementation's core files (cgroup.freeze, cgroup.kill, cgroup.events) work on
// any cgroup2 mount, also on this hybrid host's /sys/fs/cgroup/unified.
class CgroupsRealV2Core : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root to create cgroups";
        std::string mount =
            detect_hierarchy() == HierarchyKind::unified ? kRoot : kRoot + "/unified";
        if (!fs::exists(mount + "/cgroup.controllers"))
            GTEST_SKIP() << "no cgroup2 mount";
        v2_ = std::make_unique<CgroupV2>(mount, "/brig/" + unique_id("v2core"), nullptr);
        v2_->create();
    }
    void TearDown() override {
        if (v2_)
            v2_->destroy();
    }
    std::unique_ptr<CgroupV2> v2_;
};

TEST_F(CgroupsRealV2Core, FreezeThawWithCgroupFreeze) {
    if (!fs::exists(v2_->dir() + "/cgroup.freeze"))
        GTEST_SKIP() << "kernel without cgroup.freeze";
    auto* counter = static_cast<std::atomic<uint64_t>*>(
        ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(counter, MAP_FAILED);
    new (counter) std::atomic<uint64_t>(0);
    Child child([counter] {
        for (;;)
            counter->fetch_add(1);
        return 0;
    });
    v2_->add_process(child.pid());
    child.go();
    while (counter->load() == 0) {
    }
    v2_->freeze();
    EXPECT_TRUE(v2_->frozen());
    uint64_t at_freeze = counter->load();
    ::usleep(50000);
    EXPECT_EQ(counter->load(), at_freeze) << "the frozen child kept counting";
    v2_->thaw();
    EXPECT_FALSE(v2_->frozen());
    while (counter->load() == at_freeze) {
    }
    ::munmap(counter, sizeof(std::atomic<uint64_t>));
}

TEST_F(CgroupsRealV2Core, KillAllReachesGrandchildrenAndDestroyRemoves) {
    Child child([] {
        ::fork();
        ::pause();
        return 0;
    });
    v2_->add_process(child.pid());
    child.go();
    while (v2_->pids().size() < 2) {
    }
    v2_->kill_all(SIGKILL);
    int status = child.wait();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    v2_->destroy();
    EXPECT_FALSE(fs::exists(v2_->dir()));
}

TEST_F(CgroupsReal, StatsReportUsage) {
    auto* touched = static_cast<std::atomic<int>*>(::mmap(nullptr, sizeof(std::atomic<int>),
                                                          PROT_READ | PROT_WRITE,
                                                          MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(touched, MAP_FAILED);
    new (touched) std::atomic<int>(0);
    Child child([touched] {
        // Memory is charged where it is first touched: touch it inside the cgroup.
        const size_t size = 4 << 20;
        // volatile: at -O2 an unread malloc'd block and its writes are optimized away.
        volatile char* block = static_cast<volatile char*>(::malloc(size));
        for (size_t at = 0; block && at < size; at += 4096)
            block[at] = 1;
        touched->store(1);
        ::pause();
        return 0;
    });
    manager_->add_process(child.pid());
    child.go();
    while (touched->load() == 0) {
    }
    ::munmap(touched, sizeof(std::atomic<int>));
    auto stats = manager_->stats();
    for (const char* key : {"cpu", "memory", "pids", "blkio", "hugetlb"})
        EXPECT_TRUE(stats.contains(key)) << key;
    EXPECT_EQ(stats["pids"]["current"], 1u);
    EXPECT_GT(stats["memory"]["usage"]["usage"].get<uint64_t>(), 0u);
    EXPECT_TRUE(stats["cpu"]["usage"]["total"].is_number());
}

TEST_F(CgroupsReal, KillAllAndDestroyLeaveNothing) {
    Child first([] {
        ::fork();  // a grandchild the runtime never saw
        ::pause();
        return 0;
    });
    manager_->add_process(first.pid());
    first.go();
    while (manager_->pids().size() < 2) {
    }
    manager_->freeze();  // destroy must cope with a paused container
    manager_->destroy();
    int status = first.wait();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    for (const auto& dir : cgroup_dirs(manager_->path()))
        EXPECT_FALSE(fs::exists(dir)) << dir;
    manager_->destroy();  // again: nothing there, no error
}

TEST_F(CgroupsReal, FailedApplyThenDestroyLeavesNoCgroup) {
    manager_->destroy();  // this test uses its own cgroup path
    manager_.reset();
    std::string id = unique_id("bad");
    std::string parent = "/" + id;  // a parent only this manager creates
    auto manager = open_manager(parent + "/leaf", id);
    manager->create();
    config::Resources resources;
    resources.pids_limit = 10;
    resources.unified["nonexistent.key"] = "1";
    EXPECT_THROW(manager->apply(resources), Error);
    manager->destroy();
    for (const auto& dir : cgroup_dirs(parent))
        EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST(CgroupsRealPath, TraversalIsRefusedBeforeAnythingExists) {
    EXPECT_THROW(open_manager("/brig/../../escape", "x"), Error);
    for (const auto& dir : cgroup_dirs("/escape"))
        EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST(CgroupsRealUnified, CloneIntoCgroupFd) {
    if (detect_hierarchy() != HierarchyKind::unified)
        GTEST_SKIP() << "CLONE_INTO_CGROUP needs a cgroup2-only host (this one is "
                     << hierarchy_name(detect_hierarchy()) << "); runs in the VM test bed";
    auto manager = open_manager("", unique_id("clone"));
    manager->create();
    EXPECT_GE(manager->clone_into_fd(), 0);
    manager->destroy();
}
