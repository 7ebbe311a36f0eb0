// The fixture of the monitor's integration tests: a busybox bundle with the static probe and an
// /etc/shadow, `brig run` with --config, and the container's alerts read back once its watcher
// has finished.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"

namespace brig::test {

struct Watched {
    CommandResult result;
    std::string id;
    std::vector<Json> alerts;  // alerts.jsonl of the container, parsed
    Json state;
};

inline std::string host_name() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

class MonitorTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (std::string why = why_no_monitor(&lsm_enforces_); !why.empty())
            GTEST_SKIP() << why;
        output_file_ = tmp_dir() / "alerts-output.jsonl";
        write_config(R"({"monitor": {"default_action": "deny", "outputs": {"file": ")" +
                     output_file_.string() + R"("}}})");
        fs::copy_file(BRIG_MONITOR_PROBE, bundle().rootfs() / "probe");
        write_file(bundle().rootfs() / "etc/shadow", "root:*:19000:0:99999:7:::\n", 0600);
    }

    void write_config(const std::string& json) { write_file(config_path(), json); }
    // Configures the monitor with one more rules file: `name` in tmp_dir(), holding `yaml`.
    void use_rules_file(const std::string& name, std::string_view yaml) {
        write_file(tmp_dir() / name, yaml);
        write_config(R"({"monitor": {"rules_files": [")" + (tmp_dir() / name).string() + R"("]}})");
    }
    fs::path config_path() const { return tmp_dir() / "brig-config.json"; }

    // Runs bundle() to completion with --config, waits for the container's watcher to finish,
    // and collects its alerts and state. `action`: org.brig.monitor.action, "" = none.
    // `run_flags`: more flags for `brig run`.
    Watched run_watched(const std::string& action = "",
                        const std::vector<std::string>& run_flags = {}) {
        if (!action.empty())
            bundle().config()["annotations"][monitor::kActionAnnotation] = action;
        bundle().write_config();
        Watched w;
        w.id = new_id("mon");
        std::vector<std::string> args{"--config", config_path().string(), "run", "--keep"};
        args.insert(args.end(), run_flags.begin(), run_flags.end());
        args.insert(args.end(), {"--bundle", bundle().dir().string(), w.id});
        w.result = runtime(args);
        wait_for_watcher(w.id);
        fs::path log = state_root() / w.id / monitor::kAlertsFile;
        if (fs::exists(log))
            for (const auto& line : split_lines(read_file(log)))
                w.alerts.push_back(Json::parse(line));
        w.state = state(w.id);
        return w;
    }

    // The watcher leaves once the cgroup is empty and every event is written.
    void wait_for_watcher(const std::string& id) {
        fs::path record = state_root() / id / "monitor-watcher";
        ASSERT_TRUE(fs::exists(record)) << "no watcher was started for " << id;
        pid_t pid = std::stoi(read_file(record));
        EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }))
            << "watcher " << pid << " still running";
    }

    static const Json* find_alert(const Watched& w, const std::string& rule) {
        for (const auto& alert : w.alerts)
            if (alert.value("rule", "") == rule)
                return &alert;
        return nullptr;
    }

    static size_t count_alerts(const Watched& w, const std::string& rule) {
        return std::count_if(w.alerts.begin(), w.alerts.end(),
                             [&](const Json& alert) { return alert.value("rule", "") == rule; });
    }

    // An output field as text: numbers and booleans printed, "<absent>" when missing.
    static std::string field_text(const Json& of, const std::string& name) {
        if (!of.contains(name))
            return "<absent>";
        const Json& v = of[name];
        if (v.is_string())
            return v.get<std::string>();
        if (v.is_null())
            return "<NA>";
        return v.dump();
    }

    // Checks every Falco field of the alert of `rule`; `fields` are expected output_fields.
    void expect_alert(const Watched& w, const std::string& rule, const std::string& priority,
                      const std::string& tag, const std::map<std::string, std::string>& fields,
                      const std::string& action) {
        const Json* found = find_alert(w, rule);
        ASSERT_NE(found, nullptr) << "no alert '" << rule << "' in " << Json(w.alerts).dump();
        const Json& a = *found;
        static const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
        ASSERT_TRUE(a["time"].is_string()) << a.dump();
        std::string time = a["time"];
        EXPECT_TRUE(std::regex_match(time, rfc3339)) << time;
        EXPECT_EQ(a["priority"], priority);
        ASSERT_TRUE(a["output"].is_string());
        std::string output = a["output"];
        // Falco's default time prefix (time_format_iso_8601 false): the time of day.
        static const std::regex prefix(R"(\d\d:\d\d:\d\d\.\d{9}: )");
        EXPECT_TRUE(std::regex_search(output.substr(0, 20), prefix)) << output;
        EXPECT_EQ(output.find(": " + priority + " "), 18u) << output;
        EXPECT_NE(output.find(w.id), std::string::npos) << output;
        EXPECT_EQ(a["hostname"], host_name());
        EXPECT_EQ(a["source"], "syscall");
        ASSERT_TRUE(a["tags"].is_array());
        EXPECT_NE(std::find(a["tags"].begin(), a["tags"].end(), tag), a["tags"].end())
            << a["tags"].dump();
        const Json& of = a["output_fields"];
        ASSERT_TRUE(of.is_object()) << a.dump();
        EXPECT_EQ(of.value("container.id", ""), w.id);
        EXPECT_EQ(of.value("brig.action", ""), action);
        for (const auto& [name, value] : fields)
            EXPECT_EQ(field_text(of, name), value) << name << " in " << of.dump();
        EXPECT_TRUE(of["user.uid"].is_number()) << of.dump();  // typed as Falco's
    }

    // int $0x80 faults where the kernel runs no ia32 syscalls (this dev machine's hypervisor):
    // there is nothing to get past the monitor with there; the VM tests run these.
    static bool has_ia32_syscalls() {
        return run_command({BRIG_MONITOR_PROBE, "ia32"}).exit_code == 0;
    }

    // Runs `script`, which ends in `echo survived`, with every rule set to kill: the container
    // dies by `rule` before it gets there.
    Watched run_killed(const std::string& script, const std::string& rule) {
        bundle().set_script(script);
        auto w = run_watched("kill");
        expect_killed_by(w, rule);
        EXPECT_EQ(w.result.out.find("survived"), std::string::npos) << w.result.out;
        return w;
    }

    void expect_killed_by(const Watched& w, const std::string& rule) {
        EXPECT_EQ(w.result.term_signal == SIGKILL || w.result.exit_code == 137, true)
            << w.result.describe();
        EXPECT_EQ(w.state.value("status", ""), "stopped") << w.state.dump();
        EXPECT_EQ(w.state.value("killedByRule", ""), rule) << w.state.dump();
    }

    void expect_untouched(const Watched& w) {
        EXPECT_EQ(w.result.exit_code, 0) << w.result.describe();
        EXPECT_FALSE(w.state.contains("killedByRule")) << w.state.dump();
    }

    fs::path output_file_;
    bool lsm_enforces_ = false;  // BPF-LSM refuses (EPERM) what the tracepoints kill
};

}  // namespace brig::test
