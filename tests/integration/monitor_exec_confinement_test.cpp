// Every process of a container is confined as its init: a process started by `brig exec` (with
// arguments, a process.json or a terminal) cannot write below /etc when the container's rules
// deny or kill it. On the tracepoint path the kill lands after the syscall, so only the
// Landlock domain each exec'd process gets keeps the truncation and the creation from landing;
// under BPF-LSM the hooks refuse for every process of the cgroup.
#include <unistd.h>

#include <string>
#include <tuple>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"

namespace brig::test {
namespace {

constexpr const char* kPasswd = "root:x:0:0:root:/root:/bin/sh\n";

enum class ExecForm { args, process_json, tty };
using ActionAndForm = std::tuple<std::string, ExecForm>;

class MonitorExecConfinementTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (std::string why = why_no_monitor(&lsm_enforces_); !why.empty())
            GTEST_SKIP() << why;
        write_file(config_path(), R"({"monitor": {}})");
        write_file(bundle().rootfs() / "etc/passwd", kPasswd);
    }

    fs::path config_path() const { return tmp_dir() / "brig-config.json"; }

    // A container running `script` (default: sleep) as its init, every rule's action set to
    // `action`.
    std::string start_container(const std::string& action, const std::string& script = "") {
        bundle().config()["annotations"][monitor::kActionAnnotation] = action;
        bundle().set_script(script.empty() ? "sleep 1000" : script);
        auto id = new_id("exc");
        auto created = runtime({"--config", config_path().string(), "create", "--bundle",
                                bundle().dir().string(), id});
        EXPECT_TRUE(created.ok()) << created.describe();
        auto started = start(id);
        EXPECT_TRUE(started.ok()) << started.describe();
        return id;
    }

    // Runs `sh -c script` in the container as `form` says; its output (stdout, or the terminal).
    std::string exec_script(const std::string& id, ExecForm form, const std::string& script) {
        if (form == ExecForm::args)
            return runtime({"exec", id, "sh", "-c", script}).out;
        if (form == ExecForm::process_json) {
            Json process = {{"args", {"sh", "-c", script}},
                            {"cwd", "/"},
                            {"env", {"PATH=/bin:/usr/bin"}},
                            {"user", {{"uid", 0}, {"gid", 0}}}};
            auto file = tmp_dir() / "process.json";
            write_file(file, process.dump());
            return runtime({"exec", "--process", file.string(), id}).out;
        }
        // As `busybox sh`: a shell (`sh`) on a terminal breaks "Terminal shell in container",
        // which the action annotation makes deny or kill as well.
        ConsoleSocket console(tmp_dir() / ("console-" + id + ".sock"));
        auto process = spawn_runtime({"exec", "--tty", "--detach", "--console-socket",
                                      console.path().string(), id, "busybox", "sh", "-c", script});
        auto master = console.receive_fd();
        EXPECT_TRUE(master) << "no pty master received";
        std::string output = master ? read_pty(master.get()) : "";
        process->wait();
        return output;
    }

    std::vector<Json> alerts(const std::string& id) {
        std::vector<Json> parsed;
        fs::path log = state_root() / id / monitor::kAlertsFile;
        if (fs::exists(log))
            for (const auto& line : split_lines(read_file(log)))
                parsed.push_back(Json::parse(line));
        return parsed;
    }

    // The alert of `rule` on `file`, once the watcher has written it.
    Json wait_for_alert(const std::string& id, const std::string& rule, const std::string& file) {
        Json found;
        wait_until([&] {
            for (const auto& a : alerts(id))
                if (a.value("rule", "") == rule &&
                    a["output_fields"].value("fd.name", "") == file) {
                    found = a;
                    return true;
                }
            return false;
        });
        return found;
    }

    // `cmdline`: the writer's, as the alert names it.
    void expect_write_below_etc_alert(const std::string& id, const std::string& file,
                                      const std::string& action, const std::string& cmdline) {
        Json a = wait_for_alert(id, "Write below etc", file);
        ASSERT_TRUE(a.is_object())
            << "no 'Write below etc' alert on " << file << " in " << Json(alerts(id)).dump();
        EXPECT_EQ(a["priority"], "Error");
        EXPECT_EQ(a["source"], "syscall");
        ASSERT_TRUE(a["output"].is_string());
        EXPECT_NE(a["output"].get<std::string>().find(file), std::string::npos) << a.dump();
        const Json& of = a["output_fields"];
        EXPECT_EQ(of.value("container.id", ""), id);
        EXPECT_EQ(of.value("brig.action", ""), action);
        EXPECT_EQ(of.value("brig.enforced", ""), action == "alert" ? "none" : "kernel");
        EXPECT_EQ(of.value("proc.name", ""), cmdline.substr(0, cmdline.find(' ')));
        EXPECT_EQ(of.value("proc.cmdline", ""), cmdline);
        EXPECT_EQ(of.value("user.uid", -1), 0);
    }

    void expect_killed_by_write_below_etc(const std::string& id) {
        EXPECT_EQ(wait_for_status(id, "stopped"), "stopped");
        EXPECT_EQ(state(id).value("killedByRule", ""), "Write below etc");
    }

    bool lsm_enforces_ = false;  // BPF-LSM refuses (EPERM) where the tracepoints kill
};

class ExecWriteBelowEtc : public MonitorExecConfinementTest,
                          public testing::WithParamInterface<ActionAndForm> {
protected:
    const std::string& action() const { return std::get<0>(GetParam()); }
    ExecForm form() const { return std::get<1>(GetParam()); }

    // Runs `op` from an exec'd process; returns its command line. Kill stops it, and so does
    // deny on the tracepoint path (the writer is killed); BPF-LSM refuses with EPERM and lets
    // the shell go on.
    std::string attempt(const std::string& id, const std::string& op) {
        const std::string script = op + "; echo survived";
        std::string out = exec_script(id, form(), script);
        if (action() == "kill" || !lsm_enforces_) {
            EXPECT_EQ(out.find("survived"), std::string::npos) << out;
        }
        return (form() == ExecForm::tty ? "busybox sh -c " : "sh -c ") + script;
    }
};

TEST_P(ExecWriteBelowEtc, TruncationNeverLands) {
    auto id = start_container(action());
    auto cmdline = attempt(id, ": > /etc/passwd");
    EXPECT_EQ(read_file(bundle().rootfs() / "etc/passwd"), kPasswd) << "the exec truncated it";
    expect_write_below_etc_alert(id, "/etc/passwd", action(), cmdline);
    if (action() == "kill")
        expect_killed_by_write_below_etc(id);
    else
        EXPECT_EQ(status(id), "running");
}

TEST_P(ExecWriteBelowEtc, CreationNeverLands) {
    auto id = start_container(action());
    auto cmdline = attempt(id, "echo evil > /etc/x");
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "etc/x")) << "the exec created it";
    expect_write_below_etc_alert(id, "/etc/x", action(), cmdline);
    if (action() == "kill")
        expect_killed_by_write_below_etc(id);
    else
        EXPECT_EQ(status(id), "running");
}

std::string case_name(const testing::TestParamInfo<ActionAndForm>& info) {
    static const char* forms[] = {"Args", "ProcessJson", "Tty"};
    std::string action = std::get<0>(info.param);
    action[0] = static_cast<char>(toupper(action[0]));
    return action + forms[static_cast<int>(std::get<1>(info.param))];
}

INSTANTIATE_TEST_SUITE_P(ActionAndForm, ExecWriteBelowEtc,
                         testing::Combine(testing::Values("kill", "deny"),
                                          testing::Values(ExecForm::args, ExecForm::process_json,
                                                          ExecForm::tty)),
                         case_name);

// Under action alert (no rule denies) an exec'd process is exactly as unconfined as under runc:
// the write lands (and is alerted), and the init's /proc files are readable.
TEST_F(MonitorExecConfinementTest, WithoutADenyRuleAnExecIsUnconfined) {
    auto id = start_container("alert");
    auto out = exec_script(id, ExecForm::args, ": > /etc/passwd; readlink /proc/1/exe");
    EXPECT_EQ(out, "/bin/busybox\n");
    EXPECT_EQ(read_file(bundle().rootfs() / "etc/passwd"), "");
    expect_write_below_etc_alert(id, "/etc/passwd", "alert",
                                 "sh -c : > /etc/passwd; readlink /proc/1/exe");
    EXPECT_EQ(status(id), "running");
}

// The exec'd process gets the seccomp filter of the monitor's denies too (module loading and
// bpf() under deny): it holds as many filters as the init.
TEST_F(MonitorExecConfinementTest, AnExecHoldsTheInitsSeccompDenies) {
    auto id = start_container("deny");
    auto out = exec_script(id, ExecForm::args,
                           "grep Seccomp_filters /proc/1/status; grep Seccomp_filters "
                           "/proc/self/status");
    auto lines = split_lines(out);
    ASSERT_EQ(lines.size(), 2u) << out;
    EXPECT_NE(lines[0], "Seccomp_filters:\t0") << "the init holds no filter of the monitor";
    EXPECT_EQ(lines[1], lines[0]) << "exec'd process vs init";
}

// What create compiled is what every exec gets: a --config of exec's that turns the monitor off
// does not lift it.
TEST_F(MonitorExecConfinementTest, ExecsConfigCannotLiftTheConfinement) {
    auto id = start_container("deny");
    auto off = tmp_dir() / "monitor-off.json";
    write_file(off, R"({"monitor": {"enabled": false}})");
    runtime({"--config", off.string(), "exec", id, "sh", "-c", ": > /etc/passwd"});
    EXPECT_EQ(read_file(bundle().rootfs() / "etc/passwd"), kPasswd);
}

// Never less than the init: without the record of what create applied, exec is refused.
TEST_F(MonitorExecConfinementTest, ExecWithoutTheRecordOfCreateIsRefused) {
    auto id = start_container("deny");
    fs::remove(state_root() / id / "confinement.json");
    auto result = runtime({"exec", id, "sh", "-c", ": > /etc/passwd"});
    EXPECT_EQ(result.exit_code, 255) << result.describe();
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_NE(result.err.find("confinement.json"), std::string::npos) << result.err;
    EXPECT_EQ(read_file(bundle().rootfs() / "etc/passwd"), kPasswd);
}

// The cost that remains on the tracepoint path (README, "Every process of the container"): each
// exec'd process is a Landlock domain of its own, which scopes ptrace, so it and the init cannot
// read each other's /proc/PID/exe or environ (runc: both readable); the processes one exec forks
// share its domain and see each other; signals cross. Under BPF-LSM there is no Landlock, and
// without a deny rule neither.
TEST_F(MonitorExecConfinementTest, WhatADomainPerExecHidesAndWhatItDoesNot) {
    const std::string init_reads_peer =
        "while [ ! -s /tmp/peer ]; do sleep 0.05; done; "
        "{ readlink /proc/$(cat /tmp/peer)/exe || echo hidden; } > /tmp/saw.new 2>/dev/null; "
        "mv /tmp/saw.new /tmp/init-saw; exec sleep 1000";
    for (const std::string action : {"deny", "alert"}) {
        SCOPED_TRACE(action);
        fs::remove(bundle().rootfs() / "tmp/peer");
        fs::remove(bundle().rootfs() / "tmp/init-saw");
        auto id = start_container(action, init_reads_peer);
        ASSERT_TRUE(runtime({"exec", "--detach", id, "sh", "-c",
                             "echo $$ > /tmp/peer.new && mv /tmp/peer.new /tmp/peer && "
                             "exec sleep 1000"})
                        .ok());
        ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "tmp/init-saw"); }));
        const bool hidden = action == "deny" && !lsm_enforces_;
        const std::string seen = hidden ? "hidden" : "/bin/busybox";
        EXPECT_EQ(trim(read_file(bundle().rootfs() / "tmp/init-saw")), seen) << "init -> exec";
        auto out = exec_script(
            id, ExecForm::args,
            "readlink /proc/1/exe || echo hidden; "
            "tr '\\0' '\\n' < /proc/1/environ | grep -q ^HOME= && echo env || echo hidden; "
            "sleep 100 & readlink /proc/$!/exe; kill $! && echo signalled; "
            "kill -0 1 && echo init-signalled");
        EXPECT_EQ(out, seen + "\n" + (hidden ? "hidden" : "env") +
                           "\n/bin/busybox\nsignalled\ninit-signalled\n");
    }
}

// A symlink over a sensitive file and an open's result (fd.num), made by `brig exec` in a
// container without process.capabilities (every capability, as a privileged one): alerted as
// from the init of a default container.
constexpr const char* kLinkAndResultRules = R"yaml(
- rule: Create Symlink Over Sensitive Files
  desc: d
  condition: evt.type in (symlink, symlinkat) and evt.arg.target in (/etc/shadow)
  output: "symlink (target=%evt.arg.target linkpath=%evt.arg.linkpath file=%fd.name)"
  priority: WARNING
- rule: Read the notes
  desc: d
  condition: >
    evt.type in (open, openat, openat2) and evt.is_open_read=true and fd.num>=0
    and fd.name = /srv/notes
  output: "notes read (fd=%fd.num file=%fd.name)"
  priority: NOTICE
)yaml";

TEST_F(MonitorExecConfinementTest, AnExecsSymlinksAndOpenResultsAreAlertedWithEveryCapability) {
    write_file(tmp_dir() / "links.yaml", kLinkAndResultRules);
    write_file(config_path(), R"({"monitor": {"rules_files": [")" +
                                  (tmp_dir() / "links.yaml").string() + R"("]}})");
    bundle().config()["process"].erase("capabilities");
    fs::create_directories(bundle().rootfs() / "srv");
    write_file(bundle().rootfs() / "srv/notes", "n\n", 0644);
    auto id = start_container("alert");
    EXPECT_EQ(exec_script(id, ExecForm::args,
                          "ln -s /etc/shadow /tmp/s && exec 7</srv/notes && echo done"),
              "done\n");
    Json link = wait_for_alert(id, "Create Symlink Over Sensitive Files", "/tmp/s");
    ASSERT_TRUE(link.is_object()) << Json(alerts(id)).dump();
    EXPECT_EQ(link["output_fields"].value("evt.arg.target", ""), "/etc/shadow");
    Json read = wait_for_alert(id, "Read the notes", "/srv/notes");
    ASSERT_TRUE(read.is_object()) << Json(alerts(id)).dump();
    ASSERT_TRUE(read["output_fields"]["fd.num"].is_number()) << read.dump();
    EXPECT_GE(read["output_fields"]["fd.num"].get<int>(), 3) << read.dump();
}

}  // namespace
}  // namespace brig::test
