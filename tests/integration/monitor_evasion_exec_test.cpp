// Every way to run a program, against real brig containers: a forbidden or dropped program run
// through ld.so, a dropped `#!` script, a dropped library under LD_PRELOAD, a file made
// executable with mmap or mprotect, and a program copied and run as the container's very first
// command. What the program would do (write a marker) is checked on the host, and the alert
// field by field; files the bundle or the host put into the rootfs run without an alert.
#include <unistd.h>

#include <fstream>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"

namespace brig::test {
namespace {

constexpr const char* kLoader = "/lib64/ld-linux-x86-64.so.2";
constexpr const char* kDropRule = "Drop and execute new binary in container";
constexpr const char* kForbiddenRule = "Forbidden program";

// A rule on a program's name, decided in the kernel.
constexpr const char* kForbiddenRules = R"(
- rule: Forbidden program
  desc: the program these tests must never see run
  condition: spawned_process and proc.name = forbidden
  output: >
    forbidden program (evt.type=%evt.type proc.name=%proc.name proc.exe=%proc.exe
    proc.cmdline=%proc.cmdline container.id=%container.id)
  priority: CRITICAL
  tags: [test]
  action: kill
- rule: Forbidden interpreter
  desc: a script run by this interpreter (Falco's proc.exe of a script is its #! path)
  condition: spawned_process and proc.exe = /usr/bin/interp
  output: >
    forbidden interpreter (evt.type=%evt.type proc.name=%proc.name proc.exe=%proc.exe
    container.id=%container.id)
  priority: CRITICAL
  tags: [test]
  action: kill
)";

// The files of this process mapped from `name` (ld-linux-x86-64.so.2, libc.so.6): the dynamic
// loader and C library the probes need, wherever this system keeps them.
fs::path mapped_library(const std::string& name) {
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
        auto slash = line.find('/');
        if (slash != std::string::npos && fs::path(line.substr(slash)).filename() == name)
            return line.substr(slash);
    }
    return {};
}

struct Watched {
    CommandResult result;
    std::string id;
    std::vector<Json> alerts;
    Json state;
};

class MonitorExecEvasionTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped())
            return;
        if (std::string why = why_no_monitor(&lsm_enforces_); !why.empty())
            GTEST_SKIP() << why;
        fs::path loader = mapped_library("ld-linux-x86-64.so.2");
        fs::path libc = mapped_library("libc.so.6");
        if (loader.empty() || libc.empty())
            GTEST_SKIP() << "this test binary maps no glibc ld.so and libc.so.6 to copy";
        install(loader, kLoader);
        install(libc, "/lib/x86_64-linux-gnu/libc.so.6");
        install(BRIG_EXEC_PROBE, "/usr/bin/exec_probe");
        install(BRIG_EXEC_PROBE, "/usr/bin/forbidden");
        install(BRIG_EXEC_PROBE, "/usr/bin/interp");
        install(BRIG_PRELOAD_PROBE, "/usr/lib/preload.so");
        write_file(tmp_dir() / "rules.yaml", kForbiddenRules);
        write_file(config_path(), R"({"monitor": {"default_action": "deny", "rules_files": [")" +
                                      (tmp_dir() / "rules.yaml").string() + R"("]}})");
    }

    // Copies a host file into the bundle's rootfs before create: the image's own.
    void install(const fs::path& from, const std::string& to) {
        fs::path target = bundle().rootfs() / to.substr(1);
        fs::create_directories(target.parent_path());
        fs::copy_file(from, target, fs::copy_options::overwrite_existing);
        fs::permissions(target, static_cast<fs::perms>(0755));
    }

    fs::path config_path() const { return tmp_dir() / "brig-config.json"; }
    fs::path in_rootfs(const std::string& path) { return bundle().rootfs() / path.substr(1); }

    // Runs `script` in bundle() to completion, waits for its watcher, collects alerts and state.
    Watched run_watched(const std::string& script, const std::string& action = "") {
        if (!action.empty())
            bundle().config()["annotations"][monitor::kActionAnnotation] = action;
        bundle().set_script(script);
        Watched w;
        w.id = new_id("exe");
        w.result = runtime({"--config", config_path().string(), "run", "--keep", "--bundle",
                            bundle().dir().string(), w.id});
        collect(w);
        return w;
    }

    // The watcher leaves once the cgroup is empty and every event is written.
    void collect(Watched& w) {
        fs::path record = state_root() / w.id / "monitor-watcher";
        ASSERT_TRUE(fs::exists(record)) << "no watcher was started for " << w.id;
        pid_t pid = std::stoi(read_file(record));
        EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }))
            << "watcher " << pid << " still running";
        fs::path log = state_root() / w.id / monitor::kAlertsFile;
        if (fs::exists(log))
            for (const auto& line : split_lines(read_file(log)))
                w.alerts.push_back(Json::parse(line));
        w.state = state(w.id);
    }

    // The alert of `rule` with the given output fields (and the ones every alert has).
    static void expect_alert(const Watched& w, const std::string& rule,
                             const std::map<std::string, std::string>& fields,
                             const std::string& action) {
        const Json* found = nullptr;
        for (const auto& alert : w.alerts)
            if (alert.value("rule", "") == rule)
                found = &alert;
        ASSERT_NE(found, nullptr) << "no alert '" << rule << "' in " << Json(w.alerts).dump();
        const Json& a = *found;
        EXPECT_EQ(a["priority"], "Critical") << a.dump();
        EXPECT_EQ(a["source"], "syscall");
        const Json& of = a["output_fields"];
        EXPECT_EQ(of.value("container.id", ""), w.id);
        EXPECT_EQ(of.value("brig.action", ""), action) << of.dump();
        EXPECT_EQ(of.value("brig.enforced", ""), "kernel") << of.dump();
        for (const auto& [name, value] : fields)
            EXPECT_EQ(of.value(name, "<absent>"), value) << name << " in " << of.dump();
        EXPECT_NE(a["output"].get<std::string>().find(w.id), std::string::npos) << a.dump();
    }

    static void expect_killed_by(const Watched& w, const std::string& rule) {
        EXPECT_TRUE(w.result.term_signal == SIGKILL || w.result.exit_code == 137)
            << w.result.describe();
        EXPECT_EQ(w.state.value("killedByRule", ""), rule) << w.state.dump();
    }

    static void expect_untouched(const Watched& w) {
        EXPECT_EQ(w.result.exit_code, 0) << w.result.describe();
        EXPECT_FALSE(w.state.contains("killedByRule")) << w.state.dump();
    }

    // What a task stopped at the code it mapped shows its shell: the tracepoint's SIGKILL
    // (137), or BPF-LSM's refusal (`refused`: the program's own exit status).
    std::string stopped(int refused) const {
        return "rc=" + std::to_string(lsm_enforces_ ? refused : 137) + "\n";
    }

    bool lsm_enforces_ = false;
};

TEST_F(MonitorExecEvasionTest, AProgramRunsThroughLdSoInThisRootfs) {
    // What the tests below stop works here when nothing forbids it: ld.so, libc and the probe.
    auto w = run_watched(std::string(kLoader) + " /usr/bin/exec_probe /tmp/ran && echo ok", "kill");
    expect_untouched(w);
    EXPECT_EQ(w.result.out, "ok\n");
    EXPECT_EQ(read_file(in_rootfs("/tmp/ran")), "ran\n");
    EXPECT_TRUE(w.alerts.empty()) << Json(w.alerts).dump();
}

TEST_F(MonitorExecEvasionTest, AForbiddenProgramRunThroughLdSoIsKilledBeforeItRuns) {
    auto w = run_watched(std::string(kLoader) + " /usr/bin/forbidden /tmp/ran; echo survived");
    expect_killed_by(w, kForbiddenRule);
    EXPECT_EQ(w.result.out.find("survived"), std::string::npos) << w.result.out;
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/ran"))) << "the forbidden program ran";
    expect_alert(w, kForbiddenRule,
                 {{"evt.type", "mmap"},
                  {"proc.name", "forbidden"},
                  {"proc.exe", "/usr/bin/forbidden"},
                  {"proc.cmdline", "ld-linux-x86-64.so.2 /usr/bin/forbidden /tmp/ran"}},
                 "kill");
}

TEST_F(MonitorExecEvasionTest, ADroppedProgramRunThroughLdSoNeverRuns) {
    auto w = run_watched("cp /usr/bin/exec_probe /tmp/dropped && " + std::string(kLoader) +
                         " /tmp/dropped /tmp/ran; echo rc=$?");
    expect_untouched(w);  // deny: the task, not the container
    // BPF-LSM refuses the mapping: ld.so cannot load the program (127).
    EXPECT_EQ(w.result.out, stopped(127));
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/ran"))) << "the dropped program ran";
    expect_alert(w, kDropRule,
                 {{"proc.name", "dropped"},
                  {"proc.exe", "/tmp/dropped"},
                  {"proc.cmdline", "ld-linux-x86-64.so.2 /tmp/dropped /tmp/ran"}},
                 "deny");
}

TEST_F(MonitorExecEvasionTest, ADroppedScriptNeverRuns) {
    auto w = run_watched(
        "printf '#!/bin/sh\\necho ran > /tmp/ran\\n' > /tmp/dropped.sh && chmod +x /tmp/dropped.sh "
        "&& "
        "/tmp/dropped.sh; echo rc=$?");
    expect_untouched(w);
    // BPF-LSM refuses the exec of the script itself: the shell's "Permission denied" (126).
    EXPECT_EQ(w.result.out, stopped(126));
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/ran"))) << "the dropped script ran";
    // Falco's names: killed once the interpreter is loaded (tracepoint), proc.exe and
    // proc.cmdline are the interpreter's argv; refused before (BPF-LSM), the exec's own.
    expect_alert(w, kDropRule,
                 {{"proc.name", "dropped.sh"},
                  {"proc.exe", lsm_enforces_ ? "/tmp/dropped.sh" : "/bin/sh"},
                  {"proc.cmdline", lsm_enforces_ ? "dropped.sh" : "dropped.sh /tmp/dropped.sh"}},
                 "deny");
}

TEST_F(MonitorExecEvasionTest, AForbiddenScriptIsKilledByItsName) {
    fs::create_directories(in_rootfs("/opt"));
    write_file(in_rootfs("/opt/forbidden"), "#!/bin/sh\necho ran > /tmp/ran\n", 0755);
    auto w = run_watched("/opt/forbidden; echo survived");
    expect_killed_by(w, kForbiddenRule);
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/ran"))) << "the forbidden script ran";
    expect_alert(w, kForbiddenRule,
                 {{"evt.type", "execve"},
                  {"proc.name", "forbidden"},
                  {"proc.exe", lsm_enforces_ ? "/opt/forbidden" : "/bin/sh"}},
                 "kill");
}

TEST_F(MonitorExecEvasionTest, AScriptIsKilledByTheInterpreterItsHashBangLineNames) {
    fs::create_directories(in_rootfs("/opt"));
    write_file(in_rootfs("/opt/uses-interp"), "#!/usr/bin/interp /tmp/ran\n", 0755);
    auto w = run_watched("/opt/uses-interp; echo survived");
    expect_killed_by(w, "Forbidden interpreter");
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/ran"))) << "the interpreter ran";
    expect_alert(w, "Forbidden interpreter",
                 {{"evt.type", "execve"},
                  {"proc.name", "uses-interp"},
                  {"proc.exe", lsm_enforces_ ? "/opt/uses-interp" : "/usr/bin/interp"}},
                 "kill");
}

TEST_F(MonitorExecEvasionTest, ADroppedLibraryUnderLdPreloadNeverRuns) {
    auto w = run_watched(
        "cp /usr/lib/preload.so /tmp/evil.so && LD_PRELOAD=/tmp/evil.so "
        "BRIG_PRELOAD_MARKER=/tmp/preload-ran /usr/bin/exec_probe /tmp/ran; echo rc=$?");
    expect_untouched(w);
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/preload-ran"))) << "the dropped library's code ran";
    // BPF-LSM refuses the mapping: ld.so says so, skips the library and runs the program.
    EXPECT_EQ(w.result.out, stopped(0));
    EXPECT_EQ(fs::exists(in_rootfs("/tmp/ran")), lsm_enforces_);
    expect_alert(w, kDropRule,
                 {{"proc.name", "evil.so"},
                  {"proc.exe", "/tmp/evil.so"},
                  {"proc.cmdline", "exec_probe /tmp/ran"}},
                 "deny");
}

TEST_F(MonitorExecEvasionTest, ADroppedFileMadeExecutableByMmapOrMprotectIsStopped) {
    auto w = run_watched(
        "cp /bin/busybox /tmp/code && /usr/bin/exec_probe mmap /tmp/code /tmp/mapped; echo rc=$?; "
        "/usr/bin/exec_probe mprotect /tmp/code /tmp/protected; echo rc=$?");
    expect_untouched(w);
    // BPF-LSM refuses the call with EPERM: the probe says so and exits 1.
    std::string refused_mmap = lsm_enforces_ ? "mmap: Operation not permitted\n" : "";
    std::string refused_mprotect = lsm_enforces_ ? "mprotect: Operation not permitted\n" : "";
    EXPECT_EQ(w.result.out, refused_mmap + stopped(1) + refused_mprotect + stopped(1));
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/mapped"))) << "went on after mapping new code";
    EXPECT_FALSE(fs::exists(in_rootfs("/tmp/protected"))) << "went on after mprotect of new code";
    size_t mmaps = 0, mprotects = 0;
    for (const auto& alert : w.alerts) {
        ASSERT_EQ(alert.value("rule", ""), kDropRule) << alert.dump();
        const Json& of = alert["output_fields"];
        EXPECT_EQ(of.value("proc.name", ""), "code") << of.dump();
        EXPECT_EQ(of.value("proc.exe", ""), "/tmp/code") << of.dump();
        std::string cmdline = of.value("proc.cmdline", "");
        mmaps += cmdline == "exec_probe mmap /tmp/code /tmp/mapped";
        mprotects += cmdline == "exec_probe mprotect /tmp/code /tmp/protected";
    }
    EXPECT_EQ(mmaps, 1u) << Json(w.alerts).dump();
    EXPECT_EQ(mprotects, 1u) << Json(w.alerts).dump();
}

TEST_F(MonitorExecEvasionTest, AProgramCopiedByTheFirstCommandNeverRuns) {
    // No blind window: the copy is new from the container's first instruction on.
    for (int run = 0; run < 10; ++run) {
        fs::remove(in_rootfs("/tmp/echo"));
        auto w = run_watched("cp /bin/busybox /tmp/echo && /tmp/echo hi", "kill");
        expect_killed_by(w, kDropRule);
        EXPECT_EQ(w.result.out, "") << "run " << run << ": the copy ran";
        expect_alert(
            w, kDropRule,
            {{"proc.name", "echo"}, {"proc.exe", "/tmp/echo"}, {"proc.cmdline", "echo hi"}},
            "kill");
        if (HasFailure())
            return;
    }
}

TEST_F(MonitorExecEvasionTest, PastItsShareOfTheWrittenFilesMapNewIsToldByCtime) {
    // More distinct files than a container may record: from then on a file changed later than
    // that moment is new; the image's files are not.
    auto w = run_watched(
        "mkdir /tmp/many && cd /tmp/many && seq 1 17000 | xargs touch && cd / && "
        "/usr/bin/exec_probe /tmp/ran && mkdir /tmp/late && cp /bin/busybox /tmp/late/echo && "
        "/tmp/late/echo hi; "
        "echo rc=$?");
    expect_untouched(w);
    EXPECT_EQ(w.result.out, stopped(126));
    EXPECT_EQ(read_file(in_rootfs("/tmp/ran")), "ran\n") << "the image's program did not run";
    expect_alert(
        w, kDropRule,
        {{"proc.name", "echo"}, {"proc.exe", "/tmp/late/echo"}, {"proc.cmdline", "echo hi"}},
        "deny");
}

TEST_F(MonitorExecEvasionTest, FilesTheBundleOrTheHostPutThereRunWithoutAnAlert) {
    // Before create: the image's program, script and library. Between create and start: what
    // the engine writes into the rootfs.
    write_file(in_rootfs("/usr/bin/bundle.sh"), "#!/bin/sh\necho ran > /tmp/ran-script\n", 0755);
    bundle().config()["annotations"][monitor::kActionAnnotation] = "kill";
    bundle().set_script(std::string("/usr/bin/exec_probe /tmp/ran && ") + kLoader +
                        " /usr/bin/exec_probe /tmp/ran-loader && /usr/bin/bundle.sh && "
                        "/tmp/host/touch /tmp/ran-host && /tmp/host.sh && "
                        "LD_PRELOAD=/usr/lib/preload.so BRIG_PRELOAD_MARKER=/tmp/ran-preload "
                        "/usr/bin/exec_probe /tmp/ran-preloaded && echo ok > /tmp/done");
    Watched w;
    w.id = new_id("exe");
    auto created = runtime(
        {"--config", config_path().string(), "create", "--bundle", bundle().dir().string(), w.id});
    ASSERT_TRUE(created.ok()) << created.describe();
    fs::create_directories(in_rootfs("/tmp/host"));
    fs::copy_file("/bin/busybox", in_rootfs("/tmp/host/touch"));
    fs::permissions(in_rootfs("/tmp/host/touch"), static_cast<fs::perms>(0755));
    write_file(in_rootfs("/tmp/host.sh"), "#!/bin/sh\necho ran > /tmp/ran-host-script\n", 0755);
    auto started = runtime({"--config", config_path().string(), "start", w.id});
    ASSERT_TRUE(started.ok()) << started.describe();
    EXPECT_EQ(wait_for_status(w.id, "stopped"), "stopped");
    collect(w);
    EXPECT_FALSE(w.state.contains("killedByRule")) << w.state.dump();
    EXPECT_TRUE(w.alerts.empty()) << Json(w.alerts).dump();
    EXPECT_TRUE(fs::exists(in_rootfs("/tmp/done"))) << "the container did not get to its end";
    for (const char* marker : {"/tmp/ran", "/tmp/ran-loader", "/tmp/ran-script", "/tmp/ran-host",
                               "/tmp/ran-host-script", "/tmp/ran-preload", "/tmp/ran-preloaded"})
        EXPECT_TRUE(fs::exists(in_rootfs(marker))) << marker << " missing";
}

}  // namespace
}  // namespace brig::test
