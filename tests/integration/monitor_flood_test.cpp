// Floods never defeat a rule: a container that floods its monitor with alerts (thousands of
// writes below /etc) and then reads /etc/shadow is still killed before the read (kill), or the
// read is still alerted (alert); repeats are coalesced into one alert with a count, alerts are
// rate-limited per container and alerts.jsonl is capped, each counted in an internal alert.
#include <sys/stat.h>

#include <iostream>

#include "monitor_test.hpp"

namespace brig::test {
namespace {

constexpr int kFloodWrites = 3000;
constexpr int kRuns = 10;
constexpr const char* kShadow = "root:*:19000:0:99999:7:::\n";

// What the internal alerts of one container said was not alerted one by one.
struct Uncounted {
    int64_t dropped = 0;     // Falco internal: syscall event drop, n_drops
    int64_t ring_full = 0;   // of them, n_drops_buffer
    int64_t suppressed = 0;  // Falco internal: alerts rate limited, the events of brig.count
};

class MonitorFloodTest : public MonitorTest {
protected:
    // "Write below etc" alerts (the flood), "Read sensitive file untrusted" as `shadow_action`.
    void write_flood_config(const std::string& shadow_action,
                            const Json& outputs = Json::object()) {
        fs::path rules = tmp_dir() / "shadow.yaml";
        write_file(rules,
                   "- rule: Read sensitive file untrusted\n  action: " + shadow_action + "\n");
        Json all_outputs = outputs;
        all_outputs["file"] = output_file_.string();
        write_config(Json{{"monitor",
                           {{"default_action", "alert"},
                            {"rules_files", Json::array({rules.string()})},
                            {"outputs", all_outputs}}}}
                         .dump());
    }

    static Uncounted uncounted(const Watched& w) {
        Uncounted u;
        for (const auto& alert : w.alerts) {
            if (alert["rule"] == "Falco internal: syscall event drop") {
                u.dropped += alert["output_fields"]["n_drops"].get<int64_t>();
                u.ring_full += alert["output_fields"]["n_drops_buffer"].get<int64_t>();
            }
            if (alert["rule"] == "Falco internal: alerts rate limited")
                u.suppressed += alert["output_fields"]["brig.count"].get<int64_t>();
        }
        return u;
    }

    // The events the alerts of `rule` stand for: each counts brig.count of them.
    static int64_t counted(const Watched& w, const std::string& rule) {
        int64_t events = 0;
        for (const auto& alert : w.alerts)
            if (alert["rule"] == rule)
                events += alert["output_fields"]["brig.count"].get<int64_t>();
        return events;
    }

    // Floods, then reads /etc/shadow into /leak, then leaves /marker.
    void set_flood_then_shadow_read() {
        bundle().set_script("/probe write " + std::to_string(kFloodWrites) +
                            " /etc >/dev/null; cat /etc/shadow > /leak; echo after > /marker");
        fs::remove(bundle().rootfs() / "leak");
        fs::remove(bundle().rootfs() / "marker");
    }

    void expect_shadow_alert(const Watched& w, const std::string& action) {
        expect_alert(w, "Read sensitive file untrusted", "Warning", "filesystem",
                     {{"fd.name", "/etc/shadow"},
                      {"proc.name", "cat"},
                      {"proc.cmdline", "cat /etc/shadow"},
                      {"brig.count", "1"},
                      {"brig.enforced", action == "alert" ? "none" : "kernel"}},
                     action);
    }

    void report(int run, const Watched& w) {
        Uncounted u = uncounted(w);
        std::cout << "run " << run << ": " << counted(w, "Write below etc") << " writes alerted, "
                  << u.dropped << " dropped (" << u.ring_full << " with the ring full), "
                  << u.suppressed << " suppressed by the rate limit\n";
    }
};

TEST_F(MonitorFloodTest, AShadowReadRightAfterAFloodIsKilledBeforeItReads) {
    write_flood_config("kill");
    for (int run = 0; run < kRuns; ++run) {
        SCOPED_TRACE("run " + std::to_string(run));
        set_flood_then_shadow_read();
        auto w = run_watched();
        expect_killed_by(w, "Read sensitive file untrusted");
        std::string leaked =
            fs::exists(bundle().rootfs() / "leak") ? read_file(bundle().rootfs() / "leak") : "";
        EXPECT_EQ(leaked.find(kShadow), std::string::npos) << "the read happened";
        EXPECT_FALSE(fs::exists(bundle().rootfs() / "marker")) << "the container went on";
        expect_shadow_alert(w, "kill");
        report(run, w);
    }
}

TEST_F(MonitorFloodTest, AShadowReadRightAfterAFloodIsAlerted) {
    write_flood_config("alert");
    for (int run = 0; run < kRuns; ++run) {
        SCOPED_TRACE("run " + std::to_string(run));
        set_flood_then_shadow_read();
        auto w = run_watched();
        expect_untouched(w);
        EXPECT_EQ(read_file(bundle().rootfs() / "marker"), "after\n");
        expect_shadow_alert(w, "alert");
        // Every write is alerted, counted in an alert's brig.count, or counted as dropped or
        // suppressed: none is lost silently.
        Uncounted u = uncounted(w);
        EXPECT_EQ(counted(w, "Write below etc") + u.dropped + u.suppressed, kFloodWrites);
        report(run, w);
    }
}

TEST_F(MonitorFloodTest, RepeatsOfOneThreadOnOnePathAreOneAlertWithACount) {
    write_flood_config("alert", {{"rate", 0}});
    constexpr int kOpens = 3000;
    bundle().set_args({"/probe", "open", std::to_string(kOpens), "/etc/shadow"});
    auto w = run_watched();
    expect_untouched(w);
    EXPECT_EQ(w.result.out, "opened 3000 times\n");
    expect_alert(w, "Read sensitive file untrusted", "Warning", "filesystem",
                 {{"fd.name", "/etc/shadow"},
                  {"proc.name", "probe"},
                  {"proc.cmdline", "probe open 3000 /etc/shadow"},
                  {"brig.count", "1"}},
                 "alert");
    size_t alerts = 0;
    for (const auto& alert : w.alerts)
        alerts += alert["rule"] == "Read sensitive file untrusted";
    // The first open at once, the rest in an alert per coalescing window (1 s): the probe takes
    // milliseconds.
    EXPECT_LE(alerts, 3u) << Json(w.alerts).dump();
    EXPECT_EQ(counted(w, "Read sensitive file untrusted") + uncounted(w).dropped, kOpens);
}

TEST_F(MonitorFloodTest, AlertsBeyondTheRateAreSuppressedAndCounted) {
    // Falco's outputs.rate / max_burst: a bucket of 5 alerts, refilled once per 1000 s.
    write_flood_config("alert", {{"rate", 0.001}, {"max_burst", 5}});
    constexpr int kWrites = 50;
    bundle().set_script("/probe write " + std::to_string(kWrites) +
                        " /etc >/dev/null; cat /etc/shadow >/dev/null");
    auto w = run_watched();
    expect_untouched(w);
    size_t writes = 0;
    for (const auto& alert : w.alerts)
        writes += alert["rule"] == "Write below etc";
    EXPECT_EQ(writes, 5u) << Json(w.alerts).dump();
    // The bucket is empty, but the first alert of a rule always passes.
    expect_shadow_alert(w, "alert");
    const Json* limited = find_alert(w, "Falco internal: alerts rate limited");
    ASSERT_NE(limited, nullptr) << Json(w.alerts).dump();
    EXPECT_EQ((*limited)["source"], "internal");
    EXPECT_EQ((*limited)["priority"], "Warning");
    EXPECT_EQ((*limited)["output_fields"]["container.id"], w.id);
    EXPECT_NE((*limited)["output"].get<std::string>().find("'Write below etc' 45"),
              std::string::npos)
        << limited->dump();
    EXPECT_EQ(uncounted(w).suppressed, kWrites - 5);
    // The file output got what alerts.jsonl got.
    EXPECT_EQ(split_lines(read_file(output_file_)).size(), w.alerts.size());
}

TEST_F(MonitorFloodTest, AlertFilesAreCappedAndTheRotationIsAlerted) {
    constexpr uintmax_t kCap = 16384;
    write_flood_config("alert", {{"rate", 0}, {"file_max_bytes", kCap}});
    bundle().set_args({"/probe", "write", "400", "/etc"});
    auto w = run_watched();
    expect_untouched(w);
    fs::path log = state_root() / w.id / monitor::kAlertsFile;
    for (const fs::path& file : {log, output_file_}) {
        SCOPED_TRACE(file.string());
        fs::path rotated = file.string() + ".1";
        ASSERT_TRUE(fs::exists(rotated)) << "400 alerts of ~500 bytes stayed below 16 KiB";
        EXPECT_LE(fs::file_size(file), kCap);
        EXPECT_LE(fs::file_size(rotated), kCap);
        // The file after a rotation starts by saying so.
        auto first = Json::parse(split_lines(read_file(file)).at(0));
        EXPECT_EQ(first["rule"], "brig alerts file rotated");
        EXPECT_EQ(first["source"], "internal");
        EXPECT_EQ(first["output_fields"]["container.id"], w.id);
        EXPECT_EQ(first["output_fields"]["brig.file"], file.string());
        EXPECT_EQ(first["output_fields"]["brig.file_max_bytes"], kCap);
        auto last = Json::parse(split_lines(read_file(rotated)).back());
        EXPECT_EQ(last["rule"], "Write below etc");
    }
    // `brig events` shows the rotated file's alerts, then the current file's.
    auto events = runtime({"events", w.id});
    ASSERT_TRUE(events.ok()) << events.describe();
    size_t shown = split_lines(events.out).size();
    EXPECT_EQ(shown, split_lines(read_file(log.string() + ".1")).size() +
                         split_lines(read_file(log)).size());
}

}  // namespace
}  // namespace brig::test
