// `brig events --all [--follow]`: the node-wide view of the monitor's alerts, every container's
// in one stream, as a Falco user reads Falco's own output.
#include <signal.h>

#include <chrono>
#include <set>
#include <thread>

#include "harness.hpp"
#include "monitor/monitor.hpp"

namespace brig::test {
namespace {

class MonitorEventsAllTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (runtime_kind() != RuntimeKind::brig)
            GTEST_SKIP() << "the monitor is brig's own";
        try {
            monitor::Monitor::open(monitor::MonitorConfig{});
        } catch (const std::exception& e) {
            GTEST_SKIP() << "the eBPF monitor cannot load here: " << e.what();
        }
        write_file(bundle().rootfs() / "etc/shadow", "root:*:19000:0:99999:7:::\n", 0600);
        bundle().set_script("cat /etc/shadow >/dev/null");
    }

    // Runs bundle() (default rules: reading /etc/shadow is alerted) and waits for its alert.
    std::string run_alerting() {
        auto id = new_id("all");
        auto result = runtime({"run", "--keep", "--bundle", bundle().dir().string(), id});
        EXPECT_TRUE(result.ok()) << result.describe();
        fs::path log = state_root() / id / monitor::kAlertsFile;
        EXPECT_TRUE(wait_until([&] { return fs::exists(log) && !read_file(log).empty(); }))
            << "no alert for " << id;
        return id;
    }

    // The alert events of a stream, by container id.
    static std::multiset<std::string> alert_ids(const std::string& out) {
        std::multiset<std::string> ids;
        for (const auto& line : split_lines(out)) {
            auto event = Json::parse(line, nullptr, false);
            EXPECT_TRUE(event.is_object()) << line;
            if (event.value("type", "") == "alert") {
                EXPECT_EQ(event["data"]["rule"], "Read sensitive file untrusted") << line;
                EXPECT_EQ(event["data"]["output_fields"]["container.id"], event["id"]) << line;
                ids.insert(event.value("id", ""));
            }
        }
        return ids;
    }
};

TEST_F(MonitorEventsAllTest, EveryContainersAlertsInOneStream) {
    auto first = run_alerting();
    auto second = run_alerting();
    auto events = runtime({"events", "--all"});
    ASSERT_TRUE(events.ok()) << events.describe();
    auto ids = alert_ids(events.out);
    EXPECT_EQ(ids.count(first), 1u) << events.out;
    EXPECT_EQ(ids.count(second), 1u) << events.out;
}

TEST_F(MonitorEventsAllTest, FollowShowsNewContainersAlertsAsTheyCome) {
    auto before = run_alerting();
    auto follower = spawn_runtime({"events", "--all", "--follow"});
    auto later = run_alerting();
    std::this_thread::sleep_for(std::chrono::seconds(1));  // its next look at the root
    ::kill(follower->pid(), SIGTERM);
    auto result = follower->wait();
    auto ids = alert_ids(result.out);
    EXPECT_EQ(ids.count(before), 1u) << result.describe();
    EXPECT_EQ(ids.count(later), 1u) << result.describe();
}

TEST_F(MonitorEventsAllTest, AllTakesNoIdAndFollowNeedsAll) {
    auto with_id = runtime({"events", "--all", "x"});
    EXPECT_FALSE(with_id.ok());
    EXPECT_TRUE(is_one_line_error(with_id)) << with_id.describe();
    auto follow_alone = runtime({"events", "--follow", "x"});
    EXPECT_FALSE(follow_alone.ok());
    EXPECT_NE(follow_alone.err.find("--follow"), std::string::npos) << follow_alone.describe();
}

}  // namespace
}  // namespace brig::test
