// The cgroup verbs (pause, resume, update, events) and resource limits, seen from the host.
#include <signal.h>

#include <thread>

#include "harness.hpp"

namespace brig::test {
namespace {

// Host directory of `controller` (a v1 controller, or "" for the cgroup2 line) for the
// cgroup of `pid`, from /proc/<pid>/cgroup: works for any runtime's cgroupsPath.
fs::path cgroup_dir(pid_t pid, const std::string& controller) {
    for (const auto& line : split_lines(read_file("/proc/" + std::to_string(pid) + "/cgroup"))) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos)
            continue;
        std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        if (controller.empty()
                ? controllers.empty() && line.rfind("0::", 0) == 0
                : ("," + controllers + ",").find("," + controller + ",") != std::string::npos)
            return fs::path(controller.empty() ? "/sys/fs/cgroup/unified"
                                               : "/sys/fs/cgroup/" + controller) /
                   path.substr(1);
    }
    return {};
}

class CgroupVerbsTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (!fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") ||
            !fs::exists("/sys/fs/cgroup/pids"))
            GTEST_SKIP() << "needs the hybrid cgroup layout (v1 memory and pids controllers)";
    }

    // Creates and starts bundle() with `script`; returns the id.
    std::string start_script(const std::string& script) {
        bundle().set_script(script);
        auto id = new_id();
        auto created = create(id);
        EXPECT_TRUE(created.ok()) << created.describe();
        auto started = start(id);
        EXPECT_TRUE(started.ok()) << started.describe();
        return id;
    }

    pid_t init_pid(const std::string& id) { return state(id).value("pid", 0); }
};

// A counter loop whose current value the host reads through /proc/<pid>/root/count.
constexpr const char* kCounter = "i=0; while true; do i=$((i+1)); echo $i > /count; done";

// runc's "should warn about a non-empty cgroup": a second container in the first one's cgroup
// runs (with a warning), and the first is still watched, running, and still its cgroup's.
TEST_F(CgroupVerbsTest, SecondContainerInTheSameCgroupRunsWithAWarning) {
    const std::string path = "/brig-itest-shared-" + std::to_string(::getpid());
    bundle().config()["linux"]["cgroupsPath"] = path;
    auto first = start_script("sleep 1000");
    auto second_id = new_id();
    auto second = create(second_id);
    ASSERT_TRUE(second.ok()) << second.describe();
    EXPECT_NE(second.err.find("container's cgroup is not empty"), std::string::npos)
        << second.describe();
    ASSERT_TRUE(start(second_id).ok());
    EXPECT_EQ(status(first), "running");
    EXPECT_EQ(status(second_id), "running");
    EXPECT_EQ(cgroup_dir(init_pid(second_id), "pids"), cgroup_dir(init_pid(first), "pids"));
    ASSERT_TRUE(delete_container(second_id, true).ok());
    ASSERT_TRUE(delete_container(first, true).ok());
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids" + path));
}

// runc's "should refuse pre-existing frozen cgroup": create fails naming it, and leaves the
// cgroup as it found it (frozen, still there) and nothing else.
TEST_F(CgroupVerbsTest, PreexistingFrozenCgroupIsRefused) {
    if (!fs::exists("/sys/fs/cgroup/freezer"))
        GTEST_SKIP() << "needs the v1 freezer";
    const std::string path = "/brig-itest-frozen-" + std::to_string(::getpid());
    const fs::path freezer = "/sys/fs/cgroup/freezer" + path;
    fs::create_directories(freezer);
    write_file(freezer / "freezer.state", "FROZEN");
    bundle().config()["linux"]["cgroupsPath"] = path;
    bundle().set_script("true");
    auto id = new_id();
    auto created = create(id);
    EXPECT_FALSE(created.ok());
    EXPECT_NE(created.err.find("container's cgroup unexpectedly frozen"), std::string::npos)
        << created.describe();
    EXPECT_TRUE(fs::exists(freezer));
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids" + path));
    EXPECT_FALSE(fs::exists(state_root() / id));
    write_file(freezer / "freezer.state", "THAWED");
    ::rmdir(freezer.c_str());
}

// runc's "cgroup v1 + unified resources should fail": a cgroup2 key whose controller is on v1
// here is an invalid configuration, named, and nothing is left.
TEST_F(CgroupVerbsTest, UnifiedResourcesOfAControllerOnV1AreAnInvalidConfiguration) {
    const std::string path = "/brig-itest-unified-" + std::to_string(::getpid());
    bundle().config()["linux"]["cgroupsPath"] = path;
    bundle().config()["linux"]["resources"]["unified"] = {{"memory.min", "131072"}};
    bundle().set_script("true");
    auto id = new_id();
    auto created = create(id);
    EXPECT_FALSE(created.ok());
    EXPECT_TRUE(is_one_line_error(created));
    EXPECT_NE(created.err.find(
                  R"(linux.resources.unified["memory.min"]: invalid configuration: the host has )"
                  "no cgroup2 memory controller"),
              std::string::npos)
        << created.describe();
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory" + path));
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/unified" + path));
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
}

// runc's `exec --cgroup`: a process joins a cgroup below the container's, per controller or
// for all; a path out of it, a missing one and an unknown controller are refused, named.
TEST_F(CgroupVerbsTest, ExecJoinsASubCgroupBelowTheContainers) {
    const std::string path = "/brig-itest-sub-" + std::to_string(::getpid());
    bundle().config()["linux"]["cgroupsPath"] = path;
    auto id = start_script("sleep 1000");
    auto cat_cgroup = [&](std::vector<std::string> flags) {
        std::vector<std::string> args{"exec"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), {id, "cat", "/proc/self/cgroup"});
        return runtime(args);
    };
    auto up = cat_cgroup({"--cgroup", ".."});
    EXPECT_NE(up.exit_code, 0);
    EXPECT_NE(up.err.find("exec --cgroup: .. is not a sub cgroup path"), std::string::npos)
        << up.describe();
    auto missing = cat_cgroup({"--cgroup", "nonexistent"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.err.find("/nonexistent/cgroup.procs: no such file or directory"),
              std::string::npos)
        << missing.describe();
    auto unknown = cat_cgroup({"--cgroup", "whaaat:/"});
    EXPECT_NE(unknown.err.find("exec --cgroup: unknown controller whaaat"), std::string::npos)
        << unknown.describe();

    fs::create_directories("/sys/fs/cgroup/memory" + path + "/submem");
    fs::create_directories("/sys/fs/cgroup/pids" + path + "/subpids");
    auto joined = cat_cgroup({"--cgroup", "memory:submem", "--cgroup", "pids:subpids"});
    ASSERT_TRUE(joined.ok()) << joined.describe();
    EXPECT_NE(joined.out.find(":memory:" + path + "/submem\n"), std::string::npos) << joined.out;
    EXPECT_NE(joined.out.find(":pids:" + path + "/subpids\n"), std::string::npos) << joined.out;
    EXPECT_NE(joined.out.find(":cpu:" + path + "\n"), std::string::npos) << joined.out;
    auto own = cat_cgroup({"--cgroup", "/"});
    ASSERT_TRUE(own.ok()) << own.describe();
    EXPECT_NE(own.out.find(":memory:" + path + "\n"), std::string::npos) << own.out;
    ASSERT_TRUE(delete_container(id, true).ok());
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory" + path));
}

TEST_F(CgroupVerbsTest, PauseShowsPausedAndStopsProgress) {
    auto id = start_script(kCounter);
    auto pid = init_pid(id);
    auto count_file = fs::path("/proc/" + std::to_string(pid) + "/root/count");
    ASSERT_TRUE(wait_until([&] { return !trim(read_file(count_file)).empty(); }));
    auto paused = runtime({"pause", id});
    ASSERT_TRUE(paused.ok()) << paused.describe();
    EXPECT_EQ(status(id), "paused");
    auto frozen_value = read_file(count_file);
    // Give a running loop ample time to advance; a frozen one must not.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(read_file(count_file), frozen_value);
    EXPECT_EQ(status(id), "paused");
}

TEST_F(CgroupVerbsTest, ResumeMakesProgressAgain) {
    auto id = start_script(kCounter);
    auto pid = init_pid(id);
    auto count_file = fs::path("/proc/" + std::to_string(pid) + "/root/count");
    ASSERT_TRUE(wait_until([&] { return !trim(read_file(count_file)).empty(); }));
    ASSERT_TRUE(runtime({"pause", id}).ok());
    ASSERT_EQ(status(id), "paused");
    auto frozen_value = read_file(count_file);
    auto resumed = runtime({"resume", id});
    ASSERT_TRUE(resumed.ok()) << resumed.describe();
    EXPECT_EQ(status(id), "running");
    EXPECT_TRUE(wait_until([&] {
        auto now = trim(read_file(count_file));
        return !now.empty() && now != trim(frozen_value);
    }));
}

// runc refuses an exec into a paused container (its callers match the message) and, with
// --ignore-paused, runs it once the container is resumed.
TEST_F(CgroupVerbsTest, ExecIntoAPausedContainerIsRefused) {
    auto id = start_script("sleep 1000");
    ASSERT_TRUE(runtime({"pause", id}).ok());
    auto refused = runtime({"exec", id, "echo", "ran"});
    EXPECT_NE(refused.exit_code, 0) << refused.describe();
    EXPECT_NE(refused.err.find("cannot exec in a paused container"), std::string::npos)
        << refused.describe();
    EXPECT_EQ(refused.out.find("ran"), std::string::npos) << refused.describe();
    EXPECT_EQ(status(id), "paused");
}

TEST_F(CgroupVerbsTest, ExecWithIgnorePausedRunsOnceResumed) {
    auto id = start_script("sleep 1000");
    ASSERT_TRUE(runtime({"pause", id}).ok());
    std::thread resume([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        runtime({"resume", id});
    });
    auto executed = runtime({"exec", "--ignore-paused", id, "echo", "ran"});
    resume.join();
    ASSERT_TRUE(executed.ok()) << executed.describe();
    EXPECT_EQ(executed.out, "ran\n");
}

TEST_F(CgroupVerbsTest, ResumeOfARunningContainerFails) {
    auto id = start_script("sleep 1000");
    auto resumed = runtime({"resume", id});
    EXPECT_NE(resumed.exit_code, 0) << resumed.describe();
    EXPECT_EQ(status(id), "running");
}

TEST_F(CgroupVerbsTest, UpdateFlagsReachTheCgroupFiles) {
    auto id = start_script("sleep 1000");
    auto pid = init_pid(id);
    auto updated = runtime({"update", "--memory", "64m", "--pids-limit", "50", id});
    ASSERT_TRUE(updated.ok()) << updated.describe();
    EXPECT_EQ(trim(read_file(cgroup_dir(pid, "memory") / "memory.limit_in_bytes")),
              std::to_string(64 * 1024 * 1024));
    EXPECT_EQ(trim(read_file(cgroup_dir(pid, "pids") / "pids.max")), "50");
}

// runc spells it --cpu-share (containerd's and Docker's callers use runc's names).
TEST_F(CgroupVerbsTest, UpdateCpuShareIsRuncsSpelling) {
    if (!fs::exists("/sys/fs/cgroup/cpu/cpu.shares"))
        GTEST_SKIP() << "needs the v1 cpu controller";
    auto id = start_script("sleep 1000");
    auto pid = init_pid(id);
    auto updated = runtime({"update", "--cpu-share", "512", id});
    ASSERT_TRUE(updated.ok()) << updated.describe();
    EXPECT_EQ(trim(read_file(cgroup_dir(pid, "cpu") / "cpu.shares")), "512");
}

TEST_F(CgroupVerbsTest, UpdateResourcesFromStdin) {
    auto id = start_script("sleep 1000");
    auto pid = init_pid(id);
    CommandOptions options;
    options.stdin_data = R"({"memory": {"limit": 100663296}, "pids": {"limit": 42}})";
    auto updated = runtime({"update", "--resources", "-", id}, options);
    ASSERT_TRUE(updated.ok()) << updated.describe();
    EXPECT_EQ(trim(read_file(cgroup_dir(pid, "memory") / "memory.limit_in_bytes")), "100663296");
    EXPECT_EQ(trim(read_file(cgroup_dir(pid, "pids") / "pids.max")), "42");
}

// containerd's CRI sends the container's device list (deny all, then its allows) with every
// UpdateContainerResources: the running container keeps its devices (runc leaves them too).
TEST_F(CgroupVerbsTest, UpdateWithTheConfigsDeviceListKeepsTheDefaultDevices) {
    auto id = start_script("sleep 1000");
    CommandOptions options;
    options.stdin_data = R"({"devices": [{"allow": false, "access": "rwm"}],
                             "pids": {"limit": 42}})";
    auto updated = runtime({"update", "--resources", "-", id}, options);
    ASSERT_TRUE(updated.ok()) << updated.describe();
    auto writes = runtime({"exec", id, "sh", "-c", "echo x > /dev/null && echo wrote"});
    EXPECT_EQ(writes.out, "wrote\n") << writes.describe();
}

TEST_F(CgroupVerbsTest, UpdateWithABadValueNamesTheField) {
    auto id = start_script("sleep 1000");
    auto updated = runtime({"update", "--memory", "lots", id});
    EXPECT_TRUE(is_one_line_error(updated));
    EXPECT_NE(updated.err.find("memory"), std::string::npos) << updated.describe();
}

TEST_F(CgroupVerbsTest, EventsStatsPrintsOneStatsObject) {
    auto id = start_script("sleep 1000");
    auto result = runtime({"events", "--stats", id});
    ASSERT_TRUE(result.ok()) << result.describe();
    auto lines = split_lines(trim(result.out));
    ASSERT_EQ(lines.size(), 1u) << result.out;
    auto event = Json::parse(lines[0], nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << lines[0];
    EXPECT_EQ(event.value("type", ""), "stats") << lines[0];
    ASSERT_TRUE(event.contains("data") && event["data"].is_object()) << lines[0];
    EXPECT_TRUE(event["data"].contains("memory")) << lines[0];
    EXPECT_TRUE(event["data"].contains("pids")) << lines[0];
    EXPECT_TRUE(event["data"].contains("cpu")) << lines[0];
}

TEST_F(CgroupVerbsTest, EventsReportsAnOomKill) {
    bundle().config()["linux"]["resources"]["memory"]["limit"] = 16 * 1024 * 1024;
    // The hog starts when the host creates /go; the shell survives the kill of `tail`.
    auto id = start_script(
        "while [ ! -e /go ]; do sleep 0.1; done; head -c 100m /dev/zero | tail; sleep 1000");
    auto events_out = tmp_dir() / "events.out";
    std::string command = "exec '" + runtime_binary() + "' --root '" + state_root().string() +
                          "' events --interval 1s " + id + " > '" + events_out.string() + "'";
    SpawnedProcess events({"sh", "-c", command}, {});
    // The first stats line means the stream (and its OOM watch) is set up.
    ASSERT_TRUE(
        wait_until([&] { return read_file(events_out).find("\"stats\"") != std::string::npos; }));
    write_file(bundle().rootfs() / "go", "");
    bool saw_oom = wait_until([&] {
        for (const auto& line : split_lines(read_file(events_out))) {
            auto event = Json::parse(line, nullptr, false);
            if (!event.is_discarded() && event.value("type", "") == "oom")
                return true;
        }
        return false;
    });
    EXPECT_TRUE(saw_oom) << read_file(events_out);
    // Whether the stream ends on its own when the container dies differs between runtimes.
    kill(events.pid(), SIGKILL);
    events.wait();
}

TEST_F(CgroupVerbsTest, PidsLimitStopsAForkLoop) {
    bundle().config()["linux"]["resources"]["pids"]["limit"] = 10;
    auto id = start_script(
        "(for i in $(seq 30); do sleep 1000 & done) 2>/fork-errors; "
        "echo finished > /finished; sleep 1000");
    auto pid = init_pid(id);
    auto pids_dir = cgroup_dir(pid, "pids");
    ASSERT_FALSE(pids_dir.empty());
    EXPECT_EQ(trim(read_file(pids_dir / "pids.max")), "10");
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "finished"); }));
    EXPECT_LE(std::stoi(trim(read_file(pids_dir / "pids.current"))), 10);
    EXPECT_LE(split_lines(trim(read_file(pids_dir / "tasks"))).size(), 10u);
    // The loop did run into the limit rather than finishing early.
    EXPECT_FALSE(trim(read_file(bundle().rootfs() / "fork-errors")).empty());
}

TEST_F(CgroupVerbsTest, OneMebibyteMemoryLimitRunsTrue) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "needs about 4 MiB to start a container");
    bundle().config()["linux"]["resources"]["memory"]["limit"] = 1024 * 1024;
    bundle().set_args({"/bin/true"});
    auto id = new_id();
    auto created = create(id);
    ASSERT_TRUE(created.ok()) << created.describe();
    EXPECT_EQ(trim(read_file(cgroup_dir(init_pid(id), "memory") / "memory.limit_in_bytes")),
              std::to_string(1024 * 1024));
    auto started = start(id);
    ASSERT_TRUE(started.ok()) << started.describe();
    EXPECT_EQ(wait_for_status(id, "stopped"), "stopped");
}

TEST_F(CgroupVerbsTest, OneMebibyteMemoryLimitRunsTrueToSuccess) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "needs about 4 MiB to start a container");
    bundle().config()["linux"]["resources"]["memory"]["limit"] = 1024 * 1024;
    bundle().set_args({"/bin/true"});
    auto result = run(new_id());
    EXPECT_EQ(result.exit_code, 0) << result.describe();
}

}  // namespace
}  // namespace brig::test
