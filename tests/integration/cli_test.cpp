// Verbs that describe the runtime itself (--version, features, spec, error logging), and the
// answers runc's callers rely on (delete --force, kill 0, kill --all, ps arguments).
#include <algorithm>
#include <iterator>
#include <sstream>

#include "harness.hpp"

namespace brig::test {
namespace {

using CliTest = RuntimeTest;

TEST_F(CliTest, VersionHasGoRuncParsableLines) {
    auto result = run_command({runtime_binary(), "--version"});
    ASSERT_TRUE(result.ok()) << result.describe();
    auto lines = split_lines(result.out);
    ASSERT_GE(lines.size(), 3u) << result.out;
    EXPECT_EQ(lines[0].rfind(runtime_name() + " version ", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("commit: ", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2].rfind("spec: 1.", 0), 0u) << lines[2];
}

TEST_F(CliTest, BrigVersionIsExactlyThreeLines) {
    if (runtime_kind() != RuntimeKind::brig)
        GTEST_SKIP() << "the three-line form is brig's contract; " << runtime_name()
                     << " prints more";
    auto result = run_command({runtime_binary(), "--version"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(split_lines(result.out).size(), 3u) << result.out;
}

TEST_F(CliTest, FeaturesDescribesTheRuntime) {
    auto result = runtime({"features"});
    ASSERT_TRUE(result.ok()) << result.describe();
    auto features = Json::parse(result.out, nullptr, false);
    ASSERT_TRUE(features.is_object()) << result.out;
    EXPECT_TRUE(features["ociVersionMin"].is_string());
    EXPECT_TRUE(features["ociVersionMax"].is_string());
    std::set<std::string> hooks;
    for (const auto& hook : features["hooks"])
        hooks.insert(hook.get<std::string>());
    EXPECT_EQ(hooks, (std::set<std::string>{"prestart", "createRuntime", "createContainer",
                                            "startContainer", "poststart", "poststop"}));
    std::set<std::string> options;
    for (const auto& option : features["mountOptions"])
        options.insert(option.get<std::string>());
    for (const char* option : {"bind", "rbind", "ro", "nosuid", "nodev", "noexec", "rprivate",
                               "rslave", "rshared", "relatime", "strictatime"})
        EXPECT_TRUE(options.contains(option)) << option;
    const auto& linux_features = features["linux"];
    std::set<std::string> namespaces;
    for (const auto& ns : linux_features["namespaces"])
        namespaces.insert(ns.get<std::string>());
    for (const char* ns : {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"})
        EXPECT_TRUE(namespaces.contains(ns)) << ns;
    std::set<std::string> caps;
    for (const auto& cap : linux_features["capabilities"])
        caps.insert(cap.get<std::string>());
    for (const char* cap : {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_KILL"})
        EXPECT_TRUE(caps.contains(cap)) << cap;
    EXPECT_TRUE(linux_features["cgroup"].is_object());
    const auto& seccomp = linux_features["seccomp"];
    ASSERT_TRUE(seccomp.is_object());
    EXPECT_TRUE(seccomp["enabled"].is_boolean());
    for (const char* key : {"actions", "operators", "archs"})
        EXPECT_TRUE(seccomp[key].is_array() && !seccomp[key].empty()) << key;
    EXPECT_TRUE(linux_features["apparmor"].is_object());
    EXPECT_TRUE(linux_features["selinux"].is_object());
    EXPECT_TRUE(features["annotations"].is_object());
}

TEST_F(CliTest, SpecWritesAConfigThatRunsAsIs) {
    auto spec_dir = tmp_dir() / "spec";
    fs::create_directories(spec_dir);
    auto written = run_command({runtime_binary(), "spec", "--bundle", spec_dir.string()});
    ASSERT_TRUE(written.ok()) << written.describe();
    auto config = Json::parse(read_file(spec_dir / "config.json"), nullptr, false);
    ASSERT_TRUE(config.is_object());
    EXPECT_EQ(config["root"].value("path", ""), "rootfs");
    // Only the command changes: the rest of the default runs on a busybox rootfs.
    config["process"]["args"] = {"sh", "-c", "echo spec-ran"};
    config["process"]["terminal"] = false;
    bundle().config() = config;
    bundle().write_config();
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "spec-ran\n");
}

TEST_F(CliTest, SpecRefusesToOverwriteAnExistingConfig) {
    auto before = read_file(bundle().dir() / "config.json");
    auto written = run_command({runtime_binary(), "spec", "--bundle", bundle().dir().string()});
    EXPECT_NE(written.exit_code, 0) << written.describe();
    EXPECT_EQ(read_file(bundle().dir() / "config.json"), before);
}

TEST_F(CliTest, JsonLogRecordsTheErrorOfAFailingCommand) {
    auto log = tmp_dir() / "log.json";
    auto id = new_id();
    auto result = runtime({"--log", log.string(), "--log-format", "json", "start", id});
    ASSERT_NE(result.exit_code, 0);
    auto lines = split_lines(read_file(log));
    ASSERT_FALSE(lines.empty()) << "nothing in " << log;
    bool saw_error = false;
    for (const auto& line : lines) {
        auto entry = Json::parse(line, nullptr, false);
        ASSERT_TRUE(entry.is_object()) << "not JSON: " << line;
        EXPECT_TRUE(entry["level"].is_string()) << line;
        EXPECT_TRUE(entry["msg"].is_string()) << line;
        EXPECT_TRUE(entry["time"].is_string()) << line;
        if (entry.value("level", "") == "error") {
            saw_error = true;
            EXPECT_NE(entry.value("msg", "").find("does not exist"), std::string::npos) << line;
        }
    }
    EXPECT_TRUE(saw_error) << read_file(log);
}

TEST_F(CliTest, TextLogRecordsTheErrorOfAFailingCommand) {
    auto log = tmp_dir() / "log.txt";
    auto result = runtime({"--log", log.string(), "state", new_id()});
    ASSERT_NE(result.exit_code, 0);
    EXPECT_NE(read_file(log).find("does not exist"), std::string::npos) << read_file(log);
}

TEST_F(CliTest, UnknownVerbFails) {
    auto result = runtime({"frobnicate"});
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_FALSE(trim(result.err).empty());
}

TEST_F(CliTest, GlobalFlagsCallersPassAreAccepted) {
    auto result = runtime({"--systemd-cgroup", "--debug", "list", "-q"});
    EXPECT_TRUE(result.ok()) << result.describe();
}

// ---- what runc's callers rely on --------------------------------------------------------------

class RuncCallersTest : public RuntimeTest {
protected:
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
};

TEST_F(RuncCallersTest, DeleteForceOfAMissingContainerSucceeds) {
    auto id = new_id();
    auto forced = delete_container(id, true);
    EXPECT_EQ(forced.exit_code, 0) << forced.describe();
    // Without --force it is still an error.
    auto plain = delete_container(id, false);
    EXPECT_NE(plain.exit_code, 0) << plain.describe();
}

TEST_F(RuncCallersTest, KillWithSignalZeroProbesTheInit) {
    auto id = start_script("sleep 1000");
    auto alive = runtime({"kill", id, "0"});
    EXPECT_EQ(alive.exit_code, 0) << alive.describe();
    EXPECT_EQ(status(id), "running");
    ASSERT_TRUE(runtime({"kill", id, "KILL"}).ok());
    ASSERT_EQ(wait_for_status(id, "stopped"), "stopped");
    auto gone = runtime({"kill", id, "0"});
    EXPECT_NE(gone.exit_code, 0) << gone.describe();
}

// containerd's runc shim sends `kill --all ID KILL` once the init has exited: with a shared pid
// namespace its children live on in the container's cgroup, and the call must reach them.
TEST_F(RuncCallersTest, KillAllOfAStoppedContainerSignalsWhatIsLeft) {
    auto& namespaces = bundle().config()["linux"]["namespaces"];
    for (auto it = namespaces.begin(); it != namespaces.end(); ++it)
        if ((*it)["type"] == "pid") {
            namespaces.erase(it);
            break;
        }
    auto id = start_script("sleep 1000 & echo $! > /leftover.pid");
    ASSERT_EQ(wait_for_status(id, "stopped"), "stopped");
    auto pid_file = bundle().rootfs() / "leftover.pid";
    ASSERT_TRUE(wait_until([&] { return !trim(read_file(pid_file)).empty(); }));
    pid_t leftover = std::stoi(trim(read_file(pid_file)));
    ASSERT_TRUE(process_alive(leftover));
    auto killed = runtime({"kill", "--all", id, "KILL"});
    EXPECT_EQ(killed.exit_code, 0) << killed.describe();
    EXPECT_TRUE(wait_until([&] { return !process_alive(leftover); }));
    // Nothing left to signal: still a success.
    auto again = runtime({"kill", "--all", id, "KILL"});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
}

// The table is the host's ps (`-ef` by default, as runc's bats ps.bats expects) limited to the
// container's processes; go-runc's Top passes its own ps arguments after the id.
TEST_F(RuncCallersTest, PsTableIsTheHostsPsOfTheContainersProcesses) {
    auto id = start_script("sleep 1000");
    auto json = runtime({"ps", "--format", "json", id});
    ASSERT_TRUE(json.ok()) << json.describe();
    std::set<std::string> pids;
    for (const auto& pid : Json::parse(json.out))
        pids.insert(std::to_string(pid.get<int>()));
    ASSERT_FALSE(pids.empty());
    std::vector<std::vector<std::string>> cases{{}, {"-e", "-o", "pid,comm"}};
    // runc 1.1.5 hands a "--" on to ps, which refuses it.
    if (runtime_kind() == RuntimeKind::brig)
        cases.push_back({"--", "-e", "-o", "pid,comm"});
    for (const auto& args : cases) {
        SCOPED_TRACE(join(args, " "));
        std::vector<std::string> command{"ps", "--format", "table", id};
        command.insert(command.end(), args.begin(), args.end());
        auto result = runtime(command);
        ASSERT_TRUE(result.ok()) << result.describe();
        auto lines = split_lines(result.out);
        ASSERT_EQ(lines.size(), pids.size() + 1) << result.out;
        std::istringstream header(lines[0]);
        std::vector<std::string> columns{std::istream_iterator<std::string>(header), {}};
        EXPECT_EQ(columns.front(), args.empty() ? "UID" : "PID") << lines[0];
        auto pid_column = std::find(columns.begin(), columns.end(), "PID") - columns.begin();
        std::set<std::string> listed;
        for (size_t i = 1; i < lines.size(); ++i) {
            std::istringstream line(lines[i]);
            std::vector<std::string> fields{std::istream_iterator<std::string>(line), {}};
            ASSERT_GT(fields.size(), static_cast<size_t>(pid_column)) << lines[i];
            listed.insert(fields[pid_column]);
        }
        EXPECT_EQ(listed, pids) << result.out;
    }
}

TEST_F(RuncCallersTest, SpecAsksForATerminalAsRuncs) {
    auto spec_dir = tmp_dir() / "spec";
    fs::create_directories(spec_dir);
    auto written = run_command({runtime_binary(), "spec", "--bundle", spec_dir.string()});
    ASSERT_TRUE(written.ok()) << written.describe();
    auto config = Json::parse(read_file(spec_dir / "config.json"), nullptr, false);
    ASSERT_TRUE(config.is_object());
    EXPECT_EQ(config["process"].value("terminal", false), true);
}

}  // namespace
}  // namespace brig::test
