// Verbs that describe the runtime itself: --version, features, spec, and error logging.
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

}  // namespace
}  // namespace brig::test
