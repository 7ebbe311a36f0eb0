// The monitor's BPF-LSM path with real brig containers: a denied exec or open is refused with
// EPERM before it happens (the forbidden program runs no instruction, the file keeps its bytes),
// the container keeps running, and a host process doing the same is untouched.
//
// Needs a kernel that takes `lsm` programs: skips on this project's dev host (BPF-LSM refused:
// the tracepoint path kills instead, see monitor_enforcement_test.cpp), fails inside the VM
// (BRIG_IN_VM=1), where BPF-LSM must be in force.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "harness.hpp"
#include "monitor/monitor.hpp"

namespace brig::test {
namespace {

constexpr const char* kRules =
    "- rule: forbidden exec\n"
    "  desc: test rule\n"
    "  condition: evt.type = execve and proc.name = brigforbidden\n"
    "  output: forbidden exec %proc.exe\n"
    "  priority: CRITICAL\n"
    "  action: deny\n"
    "- rule: killing exec\n"
    "  desc: test rule\n"
    "  condition: evt.type = execve and proc.name = brigkill\n"
    "  output: killing exec %proc.exe\n"
    "  priority: CRITICAL\n"
    "  action: kill\n"
    "- rule: forbidden write\n"
    "  desc: test rule\n"
    "  condition: evt.type in (open, openat, openat2) and fd.filename = brigsecret\n"
    "  output: forbidden open %fd.name\n"
    "  priority: CRITICAL\n"
    "  action: deny\n";

constexpr const char* kForbiddenProgram = "#!/bin/sh\necho ran > \"$1\"\n";
constexpr const char* kSecret = "original\n";

class MonitorBpfLsm : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (runtime_kind() != RuntimeKind::brig)
            GTEST_SKIP() << "the monitor is brig's own";
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root";
        const bool in_vm = std::getenv("BRIG_IN_VM") != nullptr;
        try {
            auto monitor = monitor::Monitor::open(monitor::MonitorConfig{});
            if (monitor.path() != monitor::EnforcementPath::bpf_lsm) {
                if (in_vm)
                    FAIL() << "in the VM the monitor runs without BPF-LSM: "
                           << monitor::probe_kernel().describe();
                GTEST_SKIP() << "BPF-LSM is not in force here: "
                             << monitor::probe_kernel().describe();
            }
        } catch (const std::exception& e) {
            if (in_vm)
                FAIL() << "in the VM the eBPF monitor does not load: " << e.what();
            GTEST_SKIP() << "the eBPF monitor cannot load here: " << e.what();
        }
        write_file(tmp_dir() / "lsm-rules.yaml", kRules);
        write_file(config_path(), R"({"monitor": {"default_action": "alert", "rules_files": [")" +
                                      (tmp_dir() / "lsm-rules.yaml").string() + R"("]}})");
        write_file(bundle().rootfs() / "bin/brigforbidden", kForbiddenProgram, 0755);
        write_file(bundle().rootfs() / "bin/brigkill", kForbiddenProgram, 0755);
        write_file(bundle().rootfs() / "tmp/brigsecret", kSecret);
    }

    fs::path config_path() const { return tmp_dir() / "brig-config.json"; }

    CommandResult run_watched(const std::string& id, const std::string& script) {
        bundle().set_script(script);
        bundle().write_config();
        auto result = runtime({"--config", config_path().string(), "run", "--keep", "--bundle",
                               bundle().dir().string(), id});
        fs::path record = state_root() / id / "monitor-watcher";
        if (fs::exists(record)) {
            pid_t watcher = std::stoi(read_file(record));
            EXPECT_TRUE(wait_until([&] { return !process_alive(watcher); }))
                << "watcher " << watcher << " still running";
        }
        return result;
    }

    std::string alerts_of(const std::string& id) {
        fs::path log = state_root() / id / monitor::kAlertsFile;
        return fs::exists(log) ? read_file(log) : "";
    }
};

}  // namespace

TEST_F(MonitorBpfLsm, ForbiddenExecFailsWithEpermAndRunsNoInstruction) {
    const std::string id = new_id("lsmexec");
    auto result = run_watched(id, "/bin/brigforbidden /ran; echo rc=$?; echo alive");
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    // sh reports the failed exec (126), then carries on: refused, not killed.
    EXPECT_NE(result.out.find("rc=126"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("alive"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result.describe();
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "ran")) << "the forbidden program ran";
    std::string alerts = alerts_of(id);
    EXPECT_NE(alerts.find("\"rule\":\"forbidden exec\""), std::string::npos) << alerts;
    EXPECT_NE(alerts.find("\"brig.action\":\"deny\""), std::string::npos) << alerts;
    EXPECT_TRUE(delete_container(id).ok());
}

TEST_F(MonitorBpfLsm, KillingExecIsRefusedAndTheWholeContainerDies) {
    // Deny AND kill: the program is never loaded, then the container is killed.
    const std::string id = new_id("lsmkill");
    auto result = run_watched(id, "/bin/brigkill /ran; echo survived");
    EXPECT_EQ(result.exit_code, 137) << result.describe();
    EXPECT_EQ(result.out.find("survived"), std::string::npos) << result.describe();
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "ran")) << "the forbidden program ran";
    std::string alerts = alerts_of(id);
    EXPECT_NE(alerts.find("\"rule\":\"killing exec\""), std::string::npos) << alerts;
    EXPECT_TRUE(delete_container(id, true).ok());
}

TEST_F(MonitorBpfLsm, ForbiddenWriteIsRefusedAndTheContainerKeepsRunning) {
    const std::string id = new_id("lsmopen");
    auto result = run_watched(id,
                              "echo changed > /tmp/brigsecret; echo rc=$?; cat /tmp/brigsecret; "
                              "echo alive");
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    EXPECT_NE(result.out.find("rc=1"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("alive"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result.describe();
    EXPECT_EQ(read_file(bundle().rootfs() / "tmp/brigsecret"), kSecret);
    std::string alerts = alerts_of(id);
    EXPECT_NE(alerts.find("\"rule\":\"forbidden write\""), std::string::npos) << alerts;
    EXPECT_TRUE(delete_container(id).ok());
}

TEST_F(MonitorBpfLsm, HostProcessDoingTheSameIsUntouched) {
    // A watched container exists (created, its process waiting) while the host does the same.
    const std::string id = new_id("lsmhost");
    bundle().set_script("sleep 30");
    bundle().write_config();
    auto created = runtime(
        {"--config", config_path().string(), "create", "--bundle", bundle().dir().string(), id});
    ASSERT_TRUE(created.ok()) << created.describe();
    fs::path program = tmp_dir() / "brigforbidden";
    fs::path marker = tmp_dir() / "ran";
    fs::path secret = tmp_dir() / "brigsecret";
    write_file(program, kForbiddenProgram, 0755);
    write_file(secret, kSecret);
    auto host = run_command(
        {"/bin/sh", "-c",
         program.string() + " " + marker.string() + " && echo changed > " + secret.string()});
    EXPECT_TRUE(host.ok()) << host.describe();
    EXPECT_EQ(read_file(marker), "ran\n");
    EXPECT_EQ(read_file(secret), "changed\n");
    EXPECT_TRUE(delete_container(id, true).ok());
}

}  // namespace brig::test
