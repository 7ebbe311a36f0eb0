// The monitor against the real kernel: a forked child in its own cgroup2 dir stands in for a
// container (the full container-level tests come with `brig create`). Needs root and cgroup2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

using namespace brig::monitor;
namespace fs = std::filesystem;

namespace {

class MonitorEnforcement : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root";
        const std::string root = brig::test::cgroup2_mount_point();
        if (root.empty() || !fs::exists(root + "/cgroup.procs"))
            GTEST_SKIP() << "no cgroup2 hierarchy mounted";
        dir_ = fs::temp_directory_path() / ("brig-monitor-test-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter_++));
        fs::create_directories(dir_);
        // A script, not a symlink to /bin/sh: busybox (the VM's sh) would look for an applet
        // named brigforbidden.
        std::ofstream(dir_ / "brigforbidden") << "#!/bin/sh\nexec /bin/sh \"$@\"\n";
        fs::permissions(dir_ / "brigforbidden", fs::perms::owner_all);
        container_.id = dir_.filename();
        container_.cgroup2_path = root + "/" + container_.id;
        fs::create_directory(container_.cgroup2_path);
        container_.cgroup2_id = cgroup_id_of(container_.cgroup2_path);
        try {
            monitor_.emplace(Monitor::open(config_));
        } catch (const brig::Error& e) {
            if (std::getenv("BRIG_IN_VM"))  // the VM is where it must load: never a silent skip
                ADD_FAILURE() << "the eBPF monitor does not load in the VM: " << e.what();
            else
                brig::test::fail_if_programs_refused(e);
            GTEST_SKIP() << "eBPF monitor cannot load here: " << e.what();
        }
    }

    void TearDown() override {
        if (monitor_)
            monitor_->unregister_container(container_.cgroup2_id);
        if (!container_.cgroup2_path.empty())
            ::rmdir(container_.cgroup2_path.c_str());
        if (!dir_.empty())
            fs::remove_all(dir_);
    }

    ContainerPolicy policy_from(const std::string& rules_yaml) {
        RuleSet set;
        load_rules(default_rules_text(), "default.yaml", set);
        load_rules(rules_yaml, "test.yaml", set);
        return compile_policy(set, container_, Action::alert, std::nullopt);
    }

    // Forks a child that joins the cgroup (if in_container), waits until registration is done,
    // then runs `body`; returns its wait status.
    template <typename Body>
    int run_child(bool in_container, const ContainerPolicy* policy, Body body,
                  std::string state_dir = "") {
        int go[2];
        EXPECT_EQ(::pipe(go), 0);
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(go[1]);
            char byte;
            if (::read(go[0], &byte, 1) != 1)
                _exit(100);
            _exit(body());
        }
        ::close(go[0]);
        if (in_container) {
            std::ofstream(container_.cgroup2_path + "/cgroup.procs") << pid << std::flush;
            if (policy)
                monitor_->register_container(container_, *policy);
            if (!state_dir.empty())
                watcher_ = start_watcher(*monitor_, config_, container_, *policy, state_dir);
        }
        EXPECT_EQ(::write(go[1], "g", 1), 1);
        ::close(go[1]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        return status;
    }

    int exec_forbidden_writing(const fs::path& marker) {
        std::string script = "echo ran > " + marker.string();
        std::string program = (dir_ / "brigforbidden").string();
        ::execl(program.c_str(), "brigforbidden", "-c", script.c_str(), nullptr);
        return 101;
    }

    static int try_packet_socket() {
        int fd = ::socket(AF_PACKET, SOCK_RAW, 0);
        if (fd >= 0)
            return 0;
        return errno == EPERM ? 1 : 2;
    }

    static inline int counter_ = 0;
    fs::path dir_;
    MonitorConfig config_;
    ContainerIdentity container_;
    std::optional<Monitor> monitor_;
    pid_t watcher_ = 0;
};

const char* kForbiddenExecRule =
    "- rule: forbidden binary\n"
    "  condition: evt.type = execve and proc.name = brigforbidden\n"
    "  output: forbidden binary %proc.name (%proc.exe) run in %container.id\n"
    "  priority: CRITICAL\n"
    "  action: kill\n";

}  // namespace

TEST_F(MonitorEnforcement, ForbiddenExecIsKilledBeforeItRuns) {
    auto policy = policy_from(kForbiddenExecRule);
    fs::path marker = dir_ / "marker";
    int status = run_child(true, &policy, [&] { return exec_forbidden_writing(marker); });
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_FALSE(fs::exists(marker)) << "the forbidden program ran";
}

TEST_F(MonitorEnforcement, HostProcessDoingTheSameIsUntouched) {
    auto policy = policy_from(kForbiddenExecRule);
    monitor_->register_container(container_, policy);  // watched container exists, host is not it
    fs::path marker = dir_ / "marker";
    int status = run_child(false, nullptr, [&] { return exec_forbidden_writing(marker); });
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_TRUE(fs::exists(marker));
    EXPECT_EQ(run_child(false, nullptr, try_packet_socket), 0) << "host packet socket refused";
}

TEST_F(MonitorEnforcement, PacketSocketIsDenied) {
    auto policy = policy_from("");
    int status = run_child(true, &policy, try_packet_socket);
    // Refused (EPERM, exit 1) or killed before socket() returns: never a usable socket.
    bool refused = WIFEXITED(status) && WEXITSTATUS(status) == 1;
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    EXPECT_TRUE(refused || killed) << "status " << status;
}

TEST_F(MonitorEnforcement, UnregisterRemovesEveryMapEntry) {
    auto policy = policy_from(kForbiddenExecRule);
    monitor_->register_container(container_, policy);
    EXPECT_TRUE(monitor_->is_registered(container_.cgroup2_id));
    EXPECT_GE(monitor_->map_entries_of(container_.cgroup2_id), policy.kernel.entry_count());
    monitor_->unregister_container(container_.cgroup2_id);
    EXPECT_FALSE(monitor_->is_registered(container_.cgroup2_id));
    EXPECT_EQ(monitor_->map_entries_of(container_.cgroup2_id), 0u);
}

TEST_F(MonitorEnforcement, KillIsRecordedAndAlertedByTheWatcher) {
    auto policy = policy_from(kForbiddenExecRule);
    fs::path state = dir_ / "state";
    fs::create_directories(state);
    fs::path marker = dir_ / "marker";
    int status = run_child(
        true, &policy, [&] { return exec_forbidden_writing(marker); }, state.string());
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_GT(watcher_, 0);
    // The watcher exits once the cgroup is empty and its ring drained; the bound only guards
    // against a hang.
    for (int i = 0; i < 1000 && ::kill(watcher_, 0) == 0; ++i)
        ::usleep(10000);
    ASSERT_NE(::kill(watcher_, 0), 0) << "watcher still running";
    auto alerts = read_alerts(state.string());
    bool found = false;
    for (const auto& line : alerts)
        if (line.find("\"rule\":\"forbidden binary\"") != std::string::npos) {
            found = true;
            EXPECT_NE(line.find("\"source\":\"syscall\""), std::string::npos) << line;
            EXPECT_NE(line.find("\"brig.enforced\":\"kernel\""), std::string::npos) << line;
            EXPECT_NE(line.find("brigforbidden"), std::string::npos) << line;
        }
    EXPECT_TRUE(found) << alerts.size() << " alerts";
    auto killed = killed_by(state.string());
    ASSERT_TRUE(killed.has_value());
    EXPECT_EQ(killed->rule, "forbidden binary");
    EXPECT_EQ(
        monitor_->condemned_by(container_.cgroup2_id), 1u + [&] {
            for (size_t i = 0; i < policy.rules.size(); ++i)
                if (policy.rules[i].name == "forbidden binary")
                    return i;
            return size_t{0};
        }());
}

TEST(MonitorPinDir, VersionedByObjectHashAndUnusedOldDirsRemoved) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root";
    // A private base so the shared /sys/fs/bpf/brig is left alone; removing it detaches the links.
    MonitorConfig config;
    config.bpffs_dir = "/sys/fs/bpf/brig-pin-test-" + std::to_string(::getpid());
    fs::create_directories(config.bpffs_dir + "/unused");
    fs::create_directories(config.bpffs_dir + "/busy");
    auto cleanup = [&] { fs::remove_all(config.bpffs_dir); };
    struct Cleanup {
        std::function<void()> run;
        ~Cleanup() { run(); }
    } guard{cleanup};
    // Stand-ins for an older brig's pin dirs: an empty `containers` map, or one holding the
    // cgroup2 id `key`.
    auto pin_containers = [&](const std::string& dir, uint64_t key = 0) {
        int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "containers", 8, 8, 4, nullptr);
        ASSERT_GE(fd, 0);
        uint64_t value = 1;
        if (key) {
            ASSERT_EQ(bpf_map_update_elem(fd, &key, &value, BPF_ANY), 0);
        }
        ASSERT_EQ(bpf_obj_pin(fd, (dir + "/containers").c_str()), 0);
        ::close(fd);
    };
    pin_containers(config.bpffs_dir + "/unused");
    fs::create_directories(config.bpffs_dir + "/unused/links");  // attached: costs the host
    fs::create_directories(config.bpffs_dir + "/idle");          // detached, used a moment ago
    pin_containers(config.bpffs_dir + "/idle");
    fs::create_directories(config.bpffs_dir + "/stale");  // detached, idle for two hours
    pin_containers(config.bpffs_dir + "/stale");
    fs::last_write_time(config.bpffs_dir + "/stale",
                        fs::file_time_type::clock::now() - std::chrono::hours(2));
    const std::string cgroup2 = brig::test::cgroup2_mount_point();
    if (cgroup2.empty())
        GTEST_SKIP() << "no cgroup2 hierarchy mounted";
    pin_containers(config.bpffs_dir + "/busy", cgroup_id_of(cgroup2));  // a cgroup that is there
    // Attached, holding only a cgroup that has gone (its brig killed before the delete).
    const std::string gone_cgroup = cgroup2 + "/brig-pin-test-" + std::to_string(::getpid());
    fs::create_directory(gone_cgroup);
    const uint64_t gone_id = cgroup_id_of(gone_cgroup);
    ASSERT_EQ(::rmdir(gone_cgroup.c_str()), 0);
    fs::create_directories(config.bpffs_dir + "/ghost/links");
    pin_containers(config.bpffs_dir + "/ghost", gone_id);
    std::optional<Monitor> monitor;
    try {
        monitor.emplace(Monitor::open(config));
    } catch (const brig::Error& e) {
        brig::test::fail_if_programs_refused(e);
        GTEST_SKIP() << "eBPF monitor cannot load here: " << e.what();
    }
    EXPECT_EQ(monitor->pin_dir(), config.bpffs_dir + "/" + pin_dir_name());
    EXPECT_EQ(pin_dir_name().size(), 16u);
    EXPECT_TRUE(fs::exists(monitor->pin_dir() + "/containers"));
    EXPECT_FALSE(fs::exists(config.bpffs_dir + "/unused")) << "an unused old pin dir was kept";
    EXPECT_FALSE(fs::exists(config.bpffs_dir + "/stale")) << "a long idle pin dir was kept";
    EXPECT_TRUE(fs::exists(config.bpffs_dir + "/idle/containers"))
        << "a detached pin dir in use a moment ago was removed";
    EXPECT_TRUE(fs::exists(config.bpffs_dir + "/busy/containers"))
        << "a pin dir still holding a container was removed";
    EXPECT_FALSE(fs::exists(config.bpffs_dir + "/ghost"))
        << "a pin dir holding only containers whose cgroup has gone was kept";
}

// A verifier's refusal of this build's programs is remembered until the next boot (/run): the
// next brig warns at once instead of spending seconds on the same refusal, and leaves no pin dir.
TEST(MonitorPinDir, AProgramRefusalAtThisBootIsNotTriedAgain) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root";
    const std::string refusal = "/run/brig-monitor-" + pin_dir_name() + ".refused";
    if (fs::exists(refusal))
        GTEST_SKIP() << "this kernel refused this build's programs: " << refusal;
    MonitorConfig config;
    config.bpffs_dir = "/sys/fs/bpf/brig-refusal-test-" + std::to_string(::getpid());
    std::string boot;
    std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
    std::ofstream(refusal) << boot << ' ' << E2BIG
                           << " load BPF programs: Argument list too long\n";
    struct Cleanup {
        std::string file, dir;
        ~Cleanup() {
            fs::remove(file);
            fs::remove_all(dir);
        }
    } guard{refusal, config.bpffs_dir};
    try {
        Monitor::open(config);
        ADD_FAILURE() << "the monitor loaded though this boot refused it";
    } catch (const brig::Error& e) {
        EXPECT_NE(std::string(e.what()).find("Argument list too long"), std::string::npos)
            << e.what();
        EXPECT_EQ(e.errnum(), E2BIG);
    }
    // Loading makes the pin dir first: none means no second try.
    EXPECT_FALSE(fs::exists(config.bpffs_dir + "/" + pin_dir_name()))
        << "the refused programs were loaded again";
}

namespace {

// The id of the BPF program pinned at path, 0 if none.
uint32_t pinned_prog_id(const std::string& path) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0)
        return 0;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
    ::close(fd);
    return id;
}

// Whether some BPF link of the host attaches program prog_id.
bool attached(uint32_t prog_id) {
    for (uint32_t id = 0; bpf_link_get_next_id(id, &id) == 0;) {
        int fd = bpf_link_get_fd_by_id(id);
        if (fd < 0)
            continue;
        bpf_link_info info{};
        uint32_t len = sizeof(info);
        bool match = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.prog_id == prog_id;
        ::close(fd);
        if (match)
            return true;
    }
    return false;
}

size_t entries(const std::string& map_path) {
    int fd = bpf_obj_get(map_path.c_str());
    size_t n = 0;
    // Room for any key: `containers` has 8-byte keys, the ring maps 4-byte ones.
    uint64_t key[64] = {};
    for (void* prev = nullptr; fd >= 0 && bpf_map_get_next_key(fd, prev, key) == 0; prev = key)
        ++n;
    if (fd >= 0)
        ::close(fd);
    return n;
}

}  // namespace

// "Off" costs the host nothing: sys_enter (and sched_process_exec) are attached from the first
// registration to the last unregistration only.
TEST_F(MonitorEnforcement, ProgramsAreAttachedOnlyWhileAContainerIsRegistered) {
    if (entries(monitor_->pin_dir() + "/containers") != 0)
        GTEST_SKIP() << "other containers are registered with this brig build's monitor";
    uint32_t sys_enter = pinned_prog_id(monitor_->pin_dir() + "/progs/brig_sys_enter");
    uint32_t exec = pinned_prog_id(monitor_->pin_dir() + "/progs/brig_exec");
    ASSERT_NE(sys_enter, 0u);
    ASSERT_NE(exec, 0u);
    EXPECT_FALSE(attached(sys_enter));
    EXPECT_FALSE(attached(exec));
    auto policy = policy_from(kForbiddenExecRule);
    monitor_->register_container(container_, policy);
    EXPECT_TRUE(attached(sys_enter));
    EXPECT_TRUE(attached(exec));
    monitor_->unregister_container(container_.cgroup2_id);
    EXPECT_FALSE(attached(sys_enter));
    EXPECT_FALSE(attached(exec));
}

// A registration whose cgroup went with no unregistration (a brig killed between the two, a
// cgroup removed by someone else) watches nothing: the next unregistration drops it, so the
// programs detach with the last container that is there. One whose cgroup is there stays.
TEST_F(MonitorEnforcement, ARegistrationWhoseCgroupHasGoneIsDroppedAndDetachesWithTheLast) {
    const std::string containers = monitor_->pin_dir() + "/containers";
    if (entries(containers) != 0)
        GTEST_SKIP() << "other containers are registered with this brig build's monitor";
    uint32_t sys_enter = pinned_prog_id(monitor_->pin_dir() + "/progs/brig_sys_enter");
    auto policy = policy_from(kForbiddenExecRule);
    auto another = [&](const std::string& suffix) {
        ContainerIdentity container = container_;
        container.cgroup2_path += suffix;
        fs::create_directory(container.cgroup2_path);
        container.cgroup2_id = cgroup_id_of(container.cgroup2_path);
        monitor_->register_container(container, policy);
        return container;
    };
    ContainerIdentity gone = another("-gone");
    ContainerIdentity kept = another("-kept");
    ASSERT_EQ(::rmdir(gone.cgroup2_path.c_str()), 0);
    monitor_->register_container(container_, policy);
    monitor_->unregister_container(container_.cgroup2_id);
    EXPECT_FALSE(monitor_->is_registered(gone.cgroup2_id));
    EXPECT_EQ(monitor_->map_entries_of(gone.cgroup2_id), 0u);
    EXPECT_TRUE(monitor_->is_registered(kept.cgroup2_id)) << "a live cgroup's registration dropped";
    EXPECT_TRUE(attached(sys_enter));
    ASSERT_EQ(::rmdir(kept.cgroup2_path.c_str()), 0);
    // A cgroup of its own: the cgroup programs stay attached to container_'s until it goes.
    ContainerIdentity last = another("-last");
    monitor_->unregister_container(last.cgroup2_id);
    ::rmdir(last.cgroup2_path.c_str());
    EXPECT_EQ(entries(containers), 0u);
    EXPECT_FALSE(attached(sys_enter)) << "a gone cgroup's registration keeps the programs attached";
}

// A container takes a ring made ahead of need and gives it back: create and delete change no
// map-in-map (each change would wait for an RCU grace period).
TEST_F(MonitorEnforcement, RingsComeFromAPoolMadeAheadOfNeed) {
    const std::string rings = monitor_->pin_dir() + "/rings";
    const std::string owners = monitor_->pin_dir() + "/ring_owners";
    size_t pool = entries(rings);
    EXPECT_GT(pool, entries(owners)) << "no free ring in the pool";
    auto policy = policy_from(kForbiddenExecRule);
    for (int i = 0; i < 3; ++i) {
        // A cgroup each time: the cgroup programs stay attached until the cgroup goes.
        ContainerIdentity container = container_;
        container.cgroup2_path += "-" + std::to_string(i);
        fs::create_directory(container.cgroup2_path);
        container.cgroup2_id = cgroup_id_of(container.cgroup2_path);
        size_t held = entries(owners);
        monitor_->register_container(container, policy);
        EXPECT_EQ(entries(owners), held + 1);
        brig::UniqueFd ring(monitor_->ring_fd(container.cgroup2_id));
        EXPECT_TRUE(ring);
        monitor_->unregister_container(container.cgroup2_id);
        ::rmdir(container.cgroup2_path.c_str());
        EXPECT_EQ(entries(owners), held);
        EXPECT_EQ(entries(rings), pool);
    }
}

// A kill condemns the whole container in-kernel: a sibling that only makes syscalls no rule
// watches dies at its next one, with no watcher running.
TEST_F(MonitorEnforcement, CondemnedContainersOtherTasksDieAtTheirNextSyscall) {
    auto policy = policy_from(kForbiddenExecRule);
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    auto fork_waiting = [&](auto body) {
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(go[1]);
            char byte;
            if (::read(go[0], &byte, 1) != 1)
                _exit(100);
            _exit(body());
        }
        std::ofstream(container_.cgroup2_path + "/cgroup.procs") << pid << std::flush;
        return pid;
    };
    pid_t spinner = fork_waiting([] {
        for (;;)
            ::syscall(SYS_getppid);
        return 0;
    });
    fs::path marker = dir_ / "marker";
    pid_t offender = fork_waiting([&] { return exec_forbidden_writing(marker); });
    ::close(go[0]);
    monitor_->register_container(container_, policy);
    ASSERT_EQ(::write(go[1], "gg", 2), 2);
    ::close(go[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(offender, &status, 0), offender);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    pid_t done = 0;
    for (int i = 0; i < 200 && done == 0; ++i) {
        done = ::waitpid(spinner, &status, WNOHANG);
        if (done == 0)
            ::usleep(10000);
    }
    if (done == 0) {
        ::kill(spinner, SIGKILL);
        ::waitpid(spinner, &status, 0);
        FAIL() << "the condemned container's spinning task was not killed";
    }
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
}
