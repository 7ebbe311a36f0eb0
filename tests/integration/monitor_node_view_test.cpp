// The node-wide view of the monitor: `brig events --all [--follow]` (every container's alerts in
// one stream, as a Falco user reads Falco's own output) and `brig metrics [--listen]` (what a
// Prometheus scraper reads, as from Falco's webserver).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <set>
#include <thread>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"

namespace brig::test {
namespace {

class MonitorNodeViewTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (std::string why = why_no_monitor(); !why.empty())
            GTEST_SKIP() << why;
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

TEST_F(MonitorNodeViewTest, EveryContainersAlertsInOneStream) {
    auto first = run_alerting();
    auto second = run_alerting();
    auto events = runtime({"events", "--all"});
    ASSERT_TRUE(events.ok()) << events.describe();
    auto ids = alert_ids(events.out);
    EXPECT_EQ(ids.count(first), 1u) << events.out;
    EXPECT_EQ(ids.count(second), 1u) << events.out;
}

TEST_F(MonitorNodeViewTest, FollowShowsNewContainersAlertsAsTheyCome) {
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

TEST_F(MonitorNodeViewTest, AllTakesNoIdAndFollowNeedsAll) {
    auto with_id = runtime({"events", "--all", "x"});
    EXPECT_FALSE(with_id.ok());
    EXPECT_TRUE(is_one_line_error(with_id)) << with_id.describe();
    auto follow_alone = runtime({"events", "--follow", "x"});
    EXPECT_FALSE(follow_alone.ok());
    EXPECT_NE(follow_alone.err.find("--follow"), std::string::npos) << follow_alone.describe();
}

TEST_F(MonitorNodeViewTest, MetricsCountEachContainersAlertsAndSayThePath) {
    auto id = run_alerting();
    auto metrics = runtime({"metrics"});
    ASSERT_TRUE(metrics.ok()) << metrics.describe();
    const std::string path =
        monitor::Monitor::open(monitor::MonitorConfig{}).path() == monitor::EnforcementPath::bpf_lsm
            ? "bpf_lsm"
            : "tracepoint";
    EXPECT_NE(metrics.out.find("falcosecurity_falco_rules_matches_total{rule_name=\"Read "
                               "sensitive file untrusted\",priority=\"Warning\",source=\"syscall\","
                               "container_id=\"" +
                               id + "\"} 1\n"),
              std::string::npos)
        << metrics.out;
    EXPECT_NE(metrics.out.find("falcosecurity_scap_n_drops_total{container_id=\"" + id + "\"} 0"),
              std::string::npos)
        << metrics.out;
    EXPECT_NE(metrics.out.find("brig_monitor_enforcement_path_info{path=\"" + path + "\"} 1"),
              std::string::npos)
        << metrics.out;
}

// What a scraper does: GET /metrics over HTTP from `brig metrics --listen`.
TEST_F(MonitorNodeViewTest, MetricsAreServedToAScraper) {
    auto id = run_alerting();
    const int port = 20000 + ::getpid() % 20000;
    const std::string address = "127.0.0.1:" + std::to_string(port);
    auto server = spawn_runtime({"metrics", "--listen", address});
    std::string response;
    EXPECT_TRUE(wait_until([&] {
        int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
        bool connected = ::connect(sock, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0;
        if (connected) {
            const char request[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
            (void)!::send(sock, request, sizeof request - 1, MSG_NOSIGNAL);
            char buf[4096];
            for (ssize_t n; (n = ::recv(sock, buf, sizeof buf, 0)) > 0;)
                response.append(buf, static_cast<size_t>(n));
        }
        ::close(sock);
        return connected;
    }));
    ::kill(server->pid(), SIGTERM);
    server->wait();
    EXPECT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
    EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos)
        << response;
    EXPECT_NE(response.find("container_id=\"" + id + "\"} 1"), std::string::npos) << response;
}

}  // namespace
}  // namespace brig::test
