// The systemd cgroup driver (`brig --systemd-cgroup`). On a host without systemd it is refused
// with one line and nothing left; VmSystemd.* run in the VM booted with systemd as PID 1
// (run-vm-tests --init systemd), where each container is a transient scope systemd knows.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "harness.hpp"

namespace brig::test {
namespace {

bool systemd_is_running() {
    return trim(read_file("/proc/1/comm")) == "systemd" && fs::exists("/run/systemd/private");
}

// What this host lacks is a skip; inside the systemd VM it is a failure.
#define BRIG_REQUIRE_SYSTEMD()                                                       \
    do {                                                                             \
        if (!systemd_is_running()) {                                                 \
            if (getenv("BRIG_VM_SYSTEMD"))                                           \
                FAIL() << "in the systemd VM: PID 1 is not systemd";                 \
            GTEST_SKIP() << "needs systemd as PID 1 (the VM's --init systemd boot)"; \
        }                                                                            \
    } while (0)

const fs::path cgroup_root = "/sys/fs/cgroup";

class SystemdCgroupTest : public RuntimeTest {
protected:
    CommandResult systemd_create(const std::string& id) {
        return runtime({"--systemd-cgroup", "create", "--bundle", bundle().dir().string(), id});
    }
    // `systemctl show -p NAME --value UNIT`.
    std::string unit_property(const std::string& unit, const std::string& name) {
        auto result = run_command({"systemctl", "show", "-p", name, "--value", unit});
        return trim(result.out);
    }
    std::string cgroup_of(pid_t pid) {
        return trim(read_file("/proc/" + std::to_string(pid) + "/cgroup"));
    }
    pid_t init_pid(const std::string& id) { return state(id).value("pid", 0); }
};

TEST_F(SystemdCgroupTest, WithoutSystemdCreateIsRefusedInOneLineLeavingNothing) {
    if (systemd_is_running())
        GTEST_SKIP() << "systemd runs here: the driver is tested by VmSystemd.*";
    bundle().set_script("sleep 100");
    const std::string id = new_id();
    auto result = systemd_create(id);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_TRUE(is_one_line_error(result)) << result.describe();
    EXPECT_NE(result.err.find("--systemd-cgroup: systemd is not running here"), std::string::npos)
        << result.describe();
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
    for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory"})
        EXPECT_FALSE(fs::exists(fs::path(root) / "system.slice" / ("brig-" + id + ".scope")));
}

TEST_F(SystemdCgroupTest, TheConfigsSystemdCgroupSelectsTheDriverAsTheFlagDoes) {
    if (systemd_is_running())
        GTEST_SKIP() << "systemd runs here: VmSystemd.* covers the driver";
    const fs::path config = tmp_dir() / "config.json";
    write_file(config, R"({"systemd_cgroup": true})");
    bundle().set_script("true");
    const std::string id = new_id();
    auto result =
        runtime({"--config", config.string(), "create", "--bundle", bundle().dir().string(), id});
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("--systemd-cgroup: systemd is not running here"), std::string::npos)
        << result.describe();
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
}

TEST_F(SystemdCgroupTest, ACgroupfsPathIsRefusedNamingTheField) {
    bundle().config()["linux"]["cgroupsPath"] = "/brig/somewhere";
    bundle().set_script("true");
    const std::string id = new_id();
    auto result = systemd_create(id);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_TRUE(is_one_line_error(result)) << result.describe();
    EXPECT_NE(result.err.find("linux.cgroupsPath: expected \"slice:prefix:name\""),
              std::string::npos)
        << result.describe();
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
}

class VmSystemd : public SystemdCgroupTest {};

TEST_F(VmSystemd, TheConfigsSystemdCgroupMakesAScope) {
    BRIG_REQUIRE_SYSTEMD();
    const fs::path config = tmp_dir() / "config.json";
    write_file(config, R"({"systemd_cgroup": true})");
    bundle().set_script("sleep 1000");
    const std::string id = new_id();
    auto created =
        runtime({"--config", config.string(), "create", "--bundle", bundle().dir().string(), id});
    ASSERT_TRUE(created.ok()) << created.describe();
    EXPECT_EQ(unit_property("brig-" + id + ".scope", "ActiveState"), "active");
    ASSERT_TRUE(delete_container(id, true).ok());
    EXPECT_EQ(unit_property("brig-" + id + ".scope", "LoadState"), "not-found");
}

TEST_F(VmSystemd, AContainerIsATransientScopeWithItsLimitsAsProperties) {
    BRIG_REQUIRE_SYSTEMD();
    bundle().config()["linux"]["resources"]["memory"]["limit"] = 64 * 1024 * 1024;
    bundle().config()["linux"]["resources"]["pids"]["limit"] = 30;
    bundle().set_script("sleep 1000");
    const std::string id = new_id();
    const std::string unit = "brig-" + id + ".scope";
    const fs::path dir = cgroup_root / "system.slice" / unit;
    auto created = systemd_create(id);
    ASSERT_TRUE(created.ok()) << created.describe();
    EXPECT_EQ(unit_property(unit, "ActiveState"), "active");
    EXPECT_EQ(unit_property(unit, "Delegate"), "yes");
    EXPECT_EQ(unit_property(unit, "MemoryMax"), "67108864");
    EXPECT_EQ(unit_property(unit, "TasksMax"), "30");
    EXPECT_EQ(cgroup_of(init_pid(id)), "0::/system.slice/" + unit);
    // The placeholder that held the scope open is gone: the init alone is in it.
    EXPECT_EQ(trim(read_file(dir / "cgroup.procs")), std::to_string(init_pid(id)));
    ASSERT_TRUE(start(id).ok());

    // systemd rewrites the files it manages from the properties: they still hold.
    ASSERT_TRUE(run_command({"systemctl", "daemon-reload"}).ok());
    EXPECT_EQ(trim(read_file(dir / "memory.max")), "67108864");
    EXPECT_EQ(trim(read_file(dir / "pids.max")), "30");

    auto updated = runtime({"update", "--memory", "32M", id});
    ASSERT_TRUE(updated.ok()) << updated.describe();
    EXPECT_EQ(unit_property(unit, "MemoryMax"), "33554432");
    EXPECT_EQ(trim(read_file(dir / "memory.max")), "33554432");

    ASSERT_TRUE(delete_container(id, true).ok());
    EXPECT_EQ(unit_property(unit, "LoadState"), "not-found");
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
}

TEST_F(VmSystemd, AKubeletSliceNestsTheScopeAsSystemdDoes) {
    BRIG_REQUIRE_SYSTEMD();
    const std::string id = new_id();
    // The kubelet writes the pod's UID with '_' for '-', which would nest another slice.
    std::string uid = id;
    std::replace(uid.begin(), uid.end(), '-', '_');
    const std::string pod_slice = "kubepods-besteffort-pod" + uid + ".slice";
    bundle().config()["linux"]["cgroupsPath"] = pod_slice + ":cri-containerd:" + id;
    bundle().set_script("sleep 1000");
    auto created = systemd_create(id);
    ASSERT_TRUE(created.ok()) << created.describe();
    const std::string expected = "/kubepods.slice/kubepods-besteffort.slice/" + pod_slice +
                                 "/cri-containerd-" + id + ".scope";
    EXPECT_EQ(cgroup_of(init_pid(id)), "0::" + expected);
    EXPECT_EQ(unit_property("cri-containerd-" + id + ".scope", "Slice"), pod_slice);
    ASSERT_TRUE(delete_container(id, true).ok());
    EXPECT_EQ(unit_property("cri-containerd-" + id + ".scope", "LoadState"), "not-found");
    EXPECT_FALSE(fs::exists(cgroup_root / expected.substr(1)));
    run_command({"systemctl", "stop", "kubepods.slice"});
}

TEST_F(VmSystemd, AFailedCreateStopsTheScopeItStarted) {
    BRIG_REQUIRE_SYSTEMD();
    // Refused by the kernel once the scope exists: a CPU the VM does not have.
    bundle().config()["linux"]["resources"]["cpu"]["cpus"] = "4095";
    bundle().set_script("true");
    const std::string id = new_id();
    auto result = systemd_create(id);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_TRUE(is_one_line_error(result)) << result.describe();
    EXPECT_EQ(unit_property("brig-" + id + ".scope", "LoadState"), "not-found");
    EXPECT_FALSE(fs::exists(cgroup_root / "system.slice" / ("brig-" + id + ".scope")));
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
}

TEST_F(VmSystemd, ABrigKilledDuringCreateLeavesWhatDeleteForceRemoves) {
    BRIG_REQUIRE_SYSTEMD();
    // The prestart hook stops create with the scope made and the init in it.
    bundle().config()["hooks"]["prestart"] =
        Json::array({{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}}});
    bundle().set_script("true");
    const std::string id = new_id();
    auto creating =
        spawn_runtime({"--systemd-cgroup", "create", "--bundle", bundle().dir().string(), id});
    const std::string unit = "brig-" + id + ".scope";
    ASSERT_TRUE(wait_until([&] { return unit_property(unit, "ActiveState") == "active"; }))
        << creating->wait().describe();
    ::kill(creating->pid(), SIGKILL);  // brig alone: the init stays in the scope
    creating->wait();
    ASSERT_TRUE(delete_container(id, true).ok());
    EXPECT_TRUE(wait_until([&] { return unit_property(unit, "LoadState") == "not-found"; }));
    EXPECT_TRUE(leftovers(id).empty()) << join(leftovers(id));
}

}  // namespace
}  // namespace brig::test
