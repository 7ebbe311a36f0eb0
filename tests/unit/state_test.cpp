#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"
#include "runtime/state/container_id.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::state {
namespace {

std::string make_temp_dir() {
    char tmpl[] = "/tmp/brig-state-test-XXXXXX";
    return mkdtemp(tmpl);
}

TEST(ContainerId, AcceptsTheAllowedAlphabet) {
    EXPECT_NO_THROW(validate_container_id("abc-DEF_1.2+3"));
}

TEST(ContainerId, RejectsTraversalSeparatorsEmptyAndHuge) {
    const std::vector<std::string> bad_ids = {"",
                                              ".",
                                              "..",
                                              "../x",
                                              "a/b",
                                              "a b",
                                              "x\n",
                                              std::string(1 << 20, 'a'),
                                              std::string("a\0b", 3)};
    for (const auto& bad : bad_ids)
        EXPECT_THROW(validate_container_id(bad), Error) << bad.substr(0, 10);
}

TEST(ContainerId, ErrorExplainsTheRule) {
    try {
        validate_container_id("../x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("only letters, digits"), std::string::npos);
    }
}

TEST(StateStore, WritesReadsListsAndRemoves) {
    StateStore store(make_temp_dir() + "/root");
    store.create_dir("c1");
    ContainerState s;
    s.id = "c1";
    s.oci_version = "1.2.0";
    s.recorded_status = Status::created;
    s.pid = 42;
    s.bundle = "/b";
    s.annotations["k"] = "v";
    store.write(s);
    auto back = store.read("c1");
    EXPECT_EQ(back.pid, 42);
    EXPECT_EQ(back.bundle, "/b");
    EXPECT_EQ(back.annotations.at("k"), "v");
    EXPECT_EQ(back.recorded_status, Status::created);
    EXPECT_EQ(store.list(), std::vector<std::string>{"c1"});
    // No temp file is left after an atomic write.
    EXPECT_NE(access((store.dir("c1") + "/state.json.tmp").c_str(), F_OK), 0);
    store.remove("c1");
    EXPECT_FALSE(store.exists("c1"));
    EXPECT_THROW(store.read("c1"), Error);
}

TEST(StateStore, SecondCreateOfTheSameIdFails) {
    StateStore store(make_temp_dir());
    store.create_dir("dup");
    try {
        store.create_dir("dup");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "container \"dup\" already exists");
    }
}

TEST(StateStore, DirectoryWithoutStateIsCreating) {
    StateStore store(make_temp_dir());
    store.create_dir("half");
    EXPECT_EQ(store.read("half").recorded_status, Status::creating);
}

TEST(OciState, HasExactlyTheReferenceKeysAndZeroPidWhenStopped) {
    ContainerState s;
    s.id = "x";
    s.pid = 7;
    s.killed_by_rule.clear();
    auto j = s.to_oci_json(Status::stopped);
    std::vector<std::string> keys;
    for (auto& [k, v] : j.items())
        keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"annotations", "bundle", "created", "id",
                                              "ociVersion", "owner", "pid", "rootfs", "status"}));
    EXPECT_EQ(j["pid"], 0);
    EXPECT_EQ(j["status"], "stopped");
}

TEST(ProcessStartTime, KnowsLiveAndDeadProcesses) {
    EXPECT_GT(process_start_time(getpid()), 0u);
    EXPECT_EQ(process_start_time(0), 0u);
    EXPECT_EQ(process_start_time(999999999), 0u);
}

TEST(LogFormat, JsonLinesCarryLevelMsgTime) {
    auto line = Logger::format_line(LogFormat::json, LogLevel::error, "boom \"x\"", "T");
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["msg"], "boom \"x\"");
    EXPECT_EQ(j["time"], "T");
    EXPECT_EQ(line.back(), '\n');
}

}  // namespace
}  // namespace brig::state
