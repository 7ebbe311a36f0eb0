// Verdicts decided in user space come before the fact: a deny or kill rule the kernel's maps
// cannot express (proc.pname here) stops a forbidden program before its first instruction, in
// the container's own processes and in `brig exec`'s; an exec changed after its verdict dies
// before it runs; without a watcher no exec runs at all. Checked from the host: marker files the
// forbidden programs would write, the container's state, its alerts field by field.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"

namespace brig::test {
namespace {

constexpr const char* kRule = "Program under sh";

std::string rules_text(const std::string& action) {
    return "- rule: Program under sh\n"
           "  desc: cat and tee may not be started by a shell\n"
           "  condition: spawned_process and proc.pname = sh and proc.name in (cat, tee)\n"
           "  output: Forbidden program (proc.name=%proc.name proc.pname=%proc.pname "
           "proc.cmdline=%proc.cmdline container.id=%container.id)\n"
           "  priority: CRITICAL\n"
           "  tags: [test]\n"
           "  action: " +
           action +
           "\n"
           "- rule: Marker b from the racer\n"
           "  desc: the racer's child may run marker-a, never marker-b\n"
           "  condition: spawned_process and proc.pname = exec_race and proc.name = marker-b\n"
           "  output: Forbidden marker (proc.name=%proc.name)\n"
           "  priority: CRITICAL\n"
           "  action: " +
           action + "\n";
}

struct Watched {
    CommandResult result;
    std::string id;
    std::vector<Json> alerts;
    Json state;
};

class MonitorUserVerdict : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (std::string why = why_no_monitor(); !why.empty())
            GTEST_SKIP() << why;
        fs::create_directories(bundle().rootfs() / "opt");
        for (const char* name : {"exec_race", "marker-a", "marker-b"})
            fs::copy_file(BRIG_EXEC_RACE, bundle().rootfs() / "opt" / name);
        use_rules("kill");
    }

    void use_rules(const std::string& action) {
        write_file(tmp_dir() / "verdict.yaml", rules_text(action));
        write_file(config_path(), R"({"monitor": {"rules_files": [")" +
                                      (tmp_dir() / "verdict.yaml").string() + R"("]}})");
    }
    fs::path config_path() const { return tmp_dir() / "brig-config.json"; }
    fs::path in_rootfs(const std::string& path) { return bundle().rootfs() / path.substr(1); }

    Watched run_watched(const std::string& script) {
        bundle().set_script(script);
        Watched w;
        w.id = new_id("verdict");
        w.result = runtime({"--config", config_path().string(), "run", "--keep", "--bundle",
                            bundle().dir().string(), w.id});
        collect(w);
        return w;
    }

    std::string start_detached(const std::string& script) {
        bundle().set_script(script);
        std::string id = new_id("verdict");
        auto started = runtime({"--config", config_path().string(), "run", "--detach", "--bundle",
                                bundle().dir().string(), id});
        EXPECT_TRUE(started.ok()) << started.describe();
        return id;
    }

    pid_t watcher_of(const std::string& id) {
        fs::path record = state_root() / id / "monitor-watcher";
        return fs::exists(record) ? std::stoi(read_file(record)) : -1;
    }

    // Waits for the watcher to finish (the cgroup is empty), then reads alerts and state.
    void collect(Watched& w) {
        pid_t watcher = watcher_of(w.id);
        ASSERT_GT(watcher, 0) << "no watcher was started for " << w.id;
        EXPECT_TRUE(wait_until([&] { return !process_alive(watcher); }))
            << "watcher " << watcher << " still running";
        fs::path log = state_root() / w.id / monitor::kAlertsFile;
        if (fs::exists(log))
            for (const auto& line : split_lines(read_file(log)))
                w.alerts.push_back(Json::parse(line));
        w.state = state(w.id);
    }

    static std::vector<Json> alerts_of(const Watched& w, const std::string& rule) {
        std::vector<Json> found;
        for (const auto& alert : w.alerts)
            if (alert.value("rule", "") == rule)
                found.push_back(alert);
        return found;
    }

    // The refusal alert of `rule`, checked field by field.
    static void expect_refusal_alert(const Json& a, const std::string& id,
                                     const std::string& program, const std::string& cmdline,
                                     const std::string& action) {
        static const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
        EXPECT_TRUE(std::regex_match(a.value("time", ""), rfc3339)) << a.dump();
        EXPECT_EQ(a["rule"], kRule);
        EXPECT_EQ(a["priority"], "Critical");
        EXPECT_EQ(a["source"], "syscall");
        EXPECT_EQ(a["tags"], Json::array({"test"}));
        std::string output = a.value("output", "");
        EXPECT_NE(output.find(": Critical Forbidden program (proc.name=" + program),
                  std::string::npos)
            << output;
        const Json& of = a["output_fields"];
        EXPECT_EQ(of.value("proc.name", ""), program) << of.dump();
        EXPECT_EQ(of.value("proc.pname", ""), "sh");
        EXPECT_EQ(of.value("proc.cmdline", ""), cmdline);
        EXPECT_EQ(of.value("container.id", ""), id);
        EXPECT_EQ(of.value("brig.action", ""), action);
        EXPECT_EQ(of.value("brig.enforced", ""), "user");
        EXPECT_EQ(of.value("brig.before_exec", false), true) << of.dump();
    }

    static void expect_killed_by_rule(const Watched& w) {
        EXPECT_TRUE(w.result.term_signal == SIGKILL || w.result.exit_code == 137)
            << w.result.describe();
        EXPECT_EQ(w.state.value("status", ""), "stopped") << w.state.dump();
        EXPECT_EQ(w.state.value("killedByRule", ""), kRule) << w.state.dump();
    }
};

TEST_F(MonitorUserVerdict, AKillRuleStopsTheProgramBeforeItsFirstInstruction) {
    // tee makes its file itself: had it run at all, the marker would exist.
    auto w = run_watched("echo start; tee /tmp/marker </dev/null; echo survived");
    expect_killed_by_rule(w);
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/marker")));
    EXPECT_EQ(w.result.out, "start\n");
    auto alerts = alerts_of(w, kRule);
    ASSERT_EQ(alerts.size(), 1u) << Json(w.alerts).dump();
    expect_refusal_alert(alerts[0], w.id, "tee", "tee /tmp/marker", "kill");
}

TEST_F(MonitorUserVerdict, ADenyRuleRefusesTheExecAndTheContainerGoesOn) {
    use_rules("deny");
    write_file(in_rootfs("/etc/data"), "12345\n");
    auto w = run_watched(
        "cat /etc/data; echo \"cat: $?\"; tee /tmp/marker </dev/null; echo \"tee: $?\"; "
        "/bin/echo allowed > /tmp/allowed; wc -c </etc/data; sleep 0");
    EXPECT_EQ(w.result.exit_code, 0) << w.result.describe();
    EXPECT_FALSE(w.state.contains("killedByRule")) << w.state.dump();
    // Refused with EPERM (busybox sh: 126); the programs the rule allows run as usual.
    EXPECT_EQ(w.result.out, "cat: 126\ntee: 126\n6\n");
    EXPECT_NE(w.result.err.find("cat: Operation not permitted"), std::string::npos) << w.result.err;
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/marker")));
    EXPECT_EQ(read_file(in_rootfs("/tmp/allowed")), "allowed\n");
    // One alert per refused command, however many directories of PATH the shell tried.
    auto alerts = alerts_of(w, kRule);
    ASSERT_EQ(alerts.size(), 2u) << Json(w.alerts).dump();
    expect_refusal_alert(alerts[0], w.id, "cat", "cat /etc/data", "deny");
    expect_refusal_alert(alerts[1], w.id, "tee", "tee /tmp/marker", "deny");
}

TEST_F(MonitorUserVerdict, BrigExecProcessesAreJudgedToo) {
    use_rules("deny");
    std::string id = start_detached("echo up > /tmp/up; sleep 60");
    ASSERT_TRUE(wait_until([&] { return fs::exists(in_rootfs("/tmp/up")); }));
    auto allowed = runtime({"exec", id, "/bin/echo", "hello"});
    EXPECT_EQ(allowed.out, "hello\n") << allowed.describe();
    auto refused = runtime({"exec", id, "sh", "-c", "tee /tmp/exec-marker </dev/null; echo after"});
    EXPECT_EQ(refused.exit_code, 0) << refused.describe();
    EXPECT_EQ(refused.out, "after\n");
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/exec-marker")));

    use_rules("kill");  // the same container: its policy was compiled at create
    auto again = runtime({"exec", id, "sh", "-c", "cat /etc/passwd; echo after"});
    EXPECT_EQ(again.out, "after\n") << again.describe();
    ASSERT_TRUE(runtime({"kill", id, "KILL"}).ok());
    Watched w;
    w.id = id;
    collect(w);
    auto alerts = alerts_of(w, kRule);
    ASSERT_EQ(alerts.size(), 2u) << Json(w.alerts).dump();
    expect_refusal_alert(alerts[0], id, "tee", "tee /tmp/exec-marker", "deny");
    expect_refusal_alert(alerts[1], id, "cat", "cat /etc/passwd", "deny");
}

TEST_F(MonitorUserVerdict, AKillFromABrigExecKillsTheContainer) {
    std::string id = start_detached("echo up > /tmp/up; sleep 60");
    ASSERT_TRUE(wait_until([&] { return fs::exists(in_rootfs("/tmp/up")); }));
    auto killed =
        runtime({"exec", id, "sh", "-c", "tee /tmp/exec-marker </dev/null; echo survived"});
    EXPECT_TRUE(killed.term_signal == SIGKILL || killed.exit_code == 137) << killed.describe();
    EXPECT_EQ(killed.out.find("survived"), std::string::npos) << killed.out;
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/exec-marker")));
    EXPECT_EQ(wait_for_status(id, "stopped"), "stopped");
    Watched w;
    w.id = id;
    collect(w);
    EXPECT_EQ(w.state.value("killedByRule", ""), kRule) << w.state.dump();
    auto alerts = alerts_of(w, kRule);
    ASSERT_EQ(alerts.size(), 1u) << Json(w.alerts).dump();
    expect_refusal_alert(alerts[0], id, "tee", "tee /tmp/exec-marker", "kill");
}

TEST_F(MonitorUserVerdict, WithoutItsWatcherTheContainerRunsNoProgram) {
    use_rules("deny");
    std::string id = start_detached(
        "mkfifo /tmp/go; echo up > /tmp/up; read x < /tmp/go; "
        "/bin/echo ran > /tmp/marker 2>/tmp/err; echo \"echo: $?\" > /tmp/result");
    ASSERT_TRUE(wait_until([&] { return fs::exists(in_rootfs("/tmp/up")); }));
    pid_t watcher = watcher_of(id);
    ASSERT_GT(watcher, 0);
    ASSERT_EQ(::kill(watcher, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !process_alive(watcher); }));

    // brig exec says why it cannot start anything (and starts nothing).
    auto exec = runtime({"exec", id, "/bin/echo", "hello"});
    EXPECT_EQ(exec.exit_code, 255) << exec.describe();
    EXPECT_TRUE(exec.out.empty()) << exec.out;
    EXPECT_TRUE(is_one_line_error(exec));
    EXPECT_NE(exec.err.find("the container's monitor is gone"), std::string::npos) << exec.err;

    // The container's own exec fails (ENOSYS: no listener) and the program never runs.
    {
        TestFd go(::open(in_rootfs("/tmp/go").c_str(), O_WRONLY | O_CLOEXEC));
        ASSERT_TRUE(go);
        ASSERT_EQ(::write(go.get(), "x\n", 2), 2);
    }
    ASSERT_TRUE(wait_until([&] { return fs::exists(in_rootfs("/tmp/result")); }));
    EXPECT_EQ(read_file(in_rootfs("/tmp/result")), "echo: 126\n");
    EXPECT_EQ(read_file(in_rootfs("/tmp/marker")), "");  // made by sh's redirection only
    EXPECT_NE(read_file(in_rootfs("/tmp/err")).find("Function not implemented"), std::string::npos);
    EXPECT_EQ(wait_for_status(id, "stopped"), "stopped");
    ASSERT_TRUE(delete_container(id).ok());
    EXPECT_EQ(leftovers(id), std::vector<std::string>{});
}

TEST_F(MonitorUserVerdict, AnExecChangedAfterItsVerdictDiesBeforeItRuns) {
    if (std::thread::hardware_concurrency() < 2)
        GTEST_SKIP() << "the race needs a second CPU for the thread that changes the path";
    use_rules("deny");
    // A child execs /opt/marker-a while another of its threads flips the path between
    // marker-a and marker-b: the watcher judges one, the kernel may copy the other.
    bundle().set_args({"/opt/exec_race", "race", "60", "/opt/marker-a"});
    Watched w;
    w.id = new_id("verdict");
    w.result = runtime({"--config", config_path().string(), "run", "--keep", "--bundle",
                        bundle().dir().string(), w.id});
    collect(w);
    ASSERT_EQ(w.result.exit_code, 0) << w.result.describe();
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/marker-b.ran")));
    std::smatch counts;
    ASSERT_TRUE(std::regex_search(w.result.out, counts,
                                  std::regex(R"(ran (\d+) refused (\d+) killed (\d+))")))
        << w.result.out;
    int killed = std::stoi(counts[3]);
    EXPECT_GE(killed, 1) << "the path never changed between verdict and exec: " << w.result.out;
    auto unapproved = alerts_of(w, "brig exec not approved");
    EXPECT_EQ(static_cast<int>(unapproved.size()), killed) << Json(w.alerts).dump();
    if (unapproved.empty())
        return;
    const Json& of = unapproved[0]["output_fields"];
    EXPECT_EQ(unapproved[0]["priority"], "Critical");
    EXPECT_EQ(of.value("proc.pname", ""), "exec_race") << of.dump();
    EXPECT_TRUE(of.value("proc.name", "").starts_with("marker-")) << of.dump();
    EXPECT_EQ(of.value("brig.action", ""), "kill");
    EXPECT_EQ(of.value("brig.enforced", ""), "kernel");
}

TEST_F(MonitorUserVerdict, WithoutSuchARuleNothingIsHeld) {
    // The default rules alone: no filter in the container, no socket, as if unwatched.
    write_file(config_path(), "{}");
    std::string plain = start_detached("sleep 60");
    use_rules("deny");
    std::string judged = start_detached("sleep 60");
    auto seccomp_filters = [&](const std::string& id) {
        std::string status =
            read_file("/proc/" + std::to_string(state(id).value("pid", 0)) + "/status");
        auto at = status.find("Seccomp_filters:");
        return at == std::string::npos ? -1 : std::atoi(status.c_str() + at + 16);
    };
    ASSERT_EQ(wait_for_status(plain, "running"), "running");
    ASSERT_EQ(wait_for_status(judged, "running"), "running");
    EXPECT_FALSE(fs::exists(state_root() / plain / "exec-verdicts.sock"));
    EXPECT_TRUE(fs::exists(state_root() / judged / "exec-verdicts.sock"));
    EXPECT_EQ(seccomp_filters(judged), seccomp_filters(plain) + 1);
}

TEST_F(MonitorUserVerdict, DeleteLeavesNothingBehind) {
    std::string id = start_detached("echo up > /tmp/up; sleep 60");
    ASSERT_TRUE(wait_until([&] { return fs::exists(in_rootfs("/tmp/up")); }));
    ASSERT_TRUE(runtime({"exec", id, "/bin/echo", "x"}).ok());
    std::string cgroup =
        trim(read_file("/proc/" + std::to_string(state(id).value("pid", 0)) + "/cgroup"));
    auto line = cgroup.rfind("0::");
    ASSERT_NE(line, std::string::npos) << cgroup;
    std::string root = fs::exists("/sys/fs/cgroup/unified/cgroup.procs") ? "/sys/fs/cgroup/unified"
                                                                         : "/sys/fs/cgroup";
    uint64_t cgroup_id = monitor::cgroup_id_of(root + cgroup.substr(line + 3));
    auto monitor = monitor::Monitor::open(monitor::MonitorConfig{});
    EXPECT_GT(monitor.map_entries_of(cgroup_id), 0u);
    ASSERT_TRUE(delete_container(id, true).ok());
    EXPECT_EQ(monitor.map_entries_of(cgroup_id), 0u);  // approvals and the armed mark too
    EXPECT_EQ(leftovers(id), std::vector<std::string>{});
}

}  // namespace
}  // namespace brig::test
