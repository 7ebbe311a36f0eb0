// Exec verdicts before the fact, the decision half (no root, no kernel): which rules hold execs,
// what the kernel must compare, the exec event built as the kernel will report it, the judgement
// and the approval the kernel checks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/exec_verdicts.hpp"
#include "monitor/monitor.hpp"
#include "monitor/rules.hpp"

using namespace brig::monitor;

namespace {

ContainerPolicy policy_of(const std::string& condition, const std::string& action) {
    RuleSet set;
    load_rules(
        "- macro: spawned_process\n  condition: evt.type in (execve, execveat)\n"
        "- rule: judged\n  condition: " +
            condition + "\n  output: forbidden %proc.name under %proc.pname\n" +
            "  priority: CRITICAL\n  action: " + action + "\n",
        "test.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    c.cgroup2_id = 42;
    return compile_policy(set, c, Action::alert, std::nullopt);
}

void set_text(char* out, size_t size, const std::string& text) {
    std::memset(out, 0, size);
    std::memcpy(out, text.data(), std::min(text.size(), size - 1));
}

// An exec of `path` with `argv` by a child of a process named `parent` (pid 100).
brig_event pending_exec(const std::string& path, const std::vector<std::string>& argv,
                        const std::string& parent) {
    brig_event e{};
    e.cgroup_id = 42;
    e.type = BRIG_EV_EXEC;
    e.pid = e.tid = 200;
    e.ppid = 100;
    e.tty = -1;
    set_text(e.path, sizeof(e.path), path);
    set_text(e.pcomm, sizeof(e.pcomm), parent);
    std::string area = exec_args_area(argv);
    std::memcpy(e.args, area.data(), area.size());
    e.args_len = static_cast<uint32_t>(area.size());
    return e;
}

}  // namespace

TEST(ExecVerdicts, OnlyUserDecidedRefusalsOfExecsAreJudgedBeforeTheyRun) {
    auto judged = policy_of("spawned_process and proc.pname = sh and proc.name = cat", "kill");
    ASSERT_EQ(judged.rules.size(), 1u);
    EXPECT_TRUE(judged.rules[0].judged_before_exec);
    EXPECT_EQ(judged.exec_checks, BRIG_EXEC_CHECK_CALL | BRIG_EXEC_CHECK_PARENT);

    // An alert acts after the fact anyway; an exact kernel rule kills at the exec itself; a
    // rule on opens never holds an exec.
    for (auto [condition, action] :
         {std::pair{"spawned_process and proc.pname = sh and proc.name = cat", "alert"},
          std::pair{"spawned_process and proc.name = cat", "kill"},
          std::pair{"evt.type = openat and fd.directory = /etc", "deny"}}) {
        auto policy = policy_of(condition, action);
        ASSERT_EQ(policy.rules.size(), 1u) << condition;
        EXPECT_FALSE(policy.rules[0].judged_before_exec) << condition << " " << action;
        EXPECT_EQ(policy.exec_checks, 0u) << condition << " " << action;
    }
}

TEST(ExecVerdicts, TheKernelComparesWhatTheRulesLookAt) {
    EXPECT_EQ(policy_of("spawned_process and proc.cmdline contains evil", "deny").exec_checks,
              BRIG_EXEC_CHECK_CALL);
    EXPECT_EQ(
        policy_of("spawned_process and proc.tty != 0 and user.name = root", "deny").exec_checks,
        BRIG_EXEC_CHECK_CALL | BRIG_EXEC_CHECK_TTY | BRIG_EXEC_CHECK_UID);
    EXPECT_EQ(policy_of("spawned_process and proc.exe_new = true and proc.aname[2] = nginx", "kill")
                  .exec_checks,
              BRIG_EXEC_CHECK_CALL | BRIG_EXEC_CHECK_EXE_NEW | BRIG_EXEC_CHECK_PARENT);
    // proc.pid is the task's own, not its parent's.
    EXPECT_EQ(policy_of("spawned_process and proc.pid = 1", "deny").exec_checks,
              BRIG_EXEC_CHECK_CALL);
}

TEST(ExecVerdicts, TheFileNameIsTheKernels) {
    EXPECT_EQ(kernel_exec_filename(false, 3, "cat"), "cat");
    EXPECT_EQ(kernel_exec_filename(true, AT_FDCWD, "bin/cat"), "bin/cat");
    EXPECT_EQ(kernel_exec_filename(true, 3, "/bin/cat"), "/bin/cat");
    EXPECT_EQ(kernel_exec_filename(true, 3, "cat"), "/dev/fd/3/cat");
    EXPECT_EQ(kernel_exec_filename(true, 7, ""), "/dev/fd/7");  // fexecve: AT_EMPTY_PATH
    EXPECT_EQ(kernel_exec_filename(false, AT_FDCWD, std::string(300, 'x')).size(),
              BRIG_PATH_LEN - 1u);
}

TEST(ExecVerdicts, TheArgumentsAreLaidOutAsTheKernelDoes) {
    EXPECT_EQ(exec_args_area({"cat", "/x"}), std::string("cat\0/x\0", 7));
    EXPECT_EQ(exec_args_area({}), std::string(1, '\0'));  // argv NULL or empty: one ""
    std::string cut = exec_args_area({std::string(200, 'a'), std::string(100, 'b')});
    ASSERT_EQ(cut.size(), static_cast<size_t>(BRIG_ARGS_LEN));
    EXPECT_EQ(cut[200], '\0');
    EXPECT_EQ(cut.back(), 'b');  // cut, as the exec program's copy of the first 256 bytes
}

TEST(ExecVerdicts, TerminalIndexFromTtyNr) {
    EXPECT_EQ(tty_index_of(0), -1);
    EXPECT_EQ(tty_index_of(makedev(136, 3)), 3);
    EXPECT_EQ(tty_index_of(makedev(137, 44)), 300);  // /dev/pts/300
}

TEST(ExecVerdicts, AMatchingRuleRefusesTheExecAndSaysSoInItsAlert) {
    auto policy = policy_of("spawned_process and proc.pname = sh and proc.name = cat", "kill");
    ProcessTable processes;
    auto refused = judge_exec(pending_exec("/bin/cat", {"cat", "/etc/hostname"}, "sh"), policy,
                              processes, std::nullopt);
    EXPECT_EQ(refused.action, Action::kill);
    ASSERT_EQ(refused.alerts.size(), 1u);
    const Alert& alert = refused.alerts[0];
    EXPECT_EQ(alert.rule, "judged");
    EXPECT_TRUE(alert.before_exec);
    EXPECT_FALSE(alert.enforced_in_kernel);
    EXPECT_NE(alert.output.find("forbidden cat under sh"), std::string::npos) << alert.output;
    auto json = nlohmann::json::parse(alert_json(alert));
    EXPECT_EQ(json["output_fields"]["brig.action"], "kill");
    EXPECT_EQ(json["output_fields"]["brig.enforced"], "user");
    EXPECT_EQ(json["output_fields"]["brig.before_exec"], true);

    // Another parent, another program: it runs.
    for (auto [path, parent] : {std::pair{"/bin/cat", "bash"}, std::pair{"/bin/tee", "sh"}}) {
        auto allowed =
            judge_exec(pending_exec(path, {"x"}, parent), policy, processes, std::nullopt);
        EXPECT_EQ(allowed.action, Action::alert) << path << " " << parent;
        EXPECT_TRUE(allowed.alerts.empty());
    }
}

TEST(ExecVerdicts, ABusyboxAppletIsJudgedByItsName) {
    // busybox sh runs applets as /proc/self/exe with argv[0] naming them.
    auto policy = policy_of("spawned_process and proc.pname = sh and proc.name = cat", "deny");
    ProcessTable processes;
    auto judgement = judge_exec(pending_exec("/proc/self/exe", {"cat", "/x"}, "sh"), policy,
                                processes, std::nullopt);
    EXPECT_EQ(judgement.action, Action::deny);
}

TEST(ExecVerdicts, AnAncestorSeenEarlierCounts) {
    auto policy = policy_of("spawned_process and proc.pcmdline contains evil", "deny");
    ProcessTable processes;
    brig_event parent = pending_exec("/bin/sh", {"sh", "-c", "evil things"}, "init");
    parent.pid = parent.tid = 100;
    parent.ppid = 1;
    EventFields recorded = event_fields(parent, policy);
    processes.complete(parent, recorded);  // the parent's exec, from the ring
    auto judgement =
        judge_exec(pending_exec("/bin/cat", {"cat"}, "sh"), policy, processes, std::nullopt);
    EXPECT_EQ(judgement.action, Action::deny);
}

TEST(ExecVerdicts, ARuleOnANewBinaryLetsTheKernelDecideWhichKindRuns) {
    ProcessTable processes;
    auto pending = pending_exec("/tmp/x", {"x"}, "sh");
    // Refused only if new: it may run as an old file, and the kernel checks that it is one.
    auto policy = policy_of("spawned_process and proc.exe_new = true and proc.pname = sh", "kill");
    auto judgement = judge_exec(pending, policy, processes, std::nullopt);
    EXPECT_EQ(judgement.action, Action::alert);
    ASSERT_TRUE(judgement.exe_new.has_value());
    EXPECT_FALSE(*judgement.exe_new);
    auto approval = approval_of(pending, judgement, policy.exec_checks, std::nullopt);
    EXPECT_TRUE(approval.checks & BRIG_EXEC_CHECK_EXE_NEW);
    EXPECT_EQ(approval.exe_new, 0u);

    auto only_old =
        policy_of("spawned_process and proc.exe_new = false and proc.pname = sh", "deny");
    judgement = judge_exec(pending, only_old, processes, std::nullopt);
    ASSERT_TRUE(judgement.exe_new.has_value());
    EXPECT_TRUE(*judgement.exe_new);

    // A rule that does not care: refused whatever the file is, nothing left to the kernel.
    auto any = policy_of(
        "spawned_process and proc.pname = sh and (proc.exe_new = true or proc.name = x)", "deny");
    EXPECT_EQ(judge_exec(pending, any, processes, std::nullopt).action, Action::deny);
    auto unrelated = policy_of(
        "spawned_process and proc.pname = sh and (proc.exe_new = true or proc.name = y)", "deny");
    judgement = judge_exec(pending, unrelated, processes, std::nullopt);
    approval = approval_of(pending, judgement, unrelated.exec_checks, std::nullopt);
    EXPECT_TRUE(approval.checks & BRIG_EXEC_CHECK_EXE_NEW);  // new would be refused
}

TEST(ExecVerdicts, TheReaperIsAcceptedAsParentOnlyIfTheVerdictHoldsForIt) {
    auto policy = policy_of("spawned_process and proc.pname = nginx and proc.name = sh", "kill");
    ProcessTable processes;
    auto pending = pending_exec("/bin/sh", {"sh"}, "worker");
    // If the parent exits meanwhile the task goes to the init: fine for a tini, not for nginx.
    auto judgement = judge_exec(pending, policy, processes, Reaper{1, "nginx"});
    EXPECT_EQ(judgement.action, Action::alert);
    EXPECT_FALSE(judgement.reaper_too);
    EXPECT_EQ(approval_of(pending, judgement, policy.exec_checks, Reaper{1, "nginx"}).alt_ppid, 0u);
    judgement = judge_exec(pending, policy, processes, Reaper{1, "tini"});
    EXPECT_TRUE(judgement.reaper_too);
    auto approval = approval_of(pending, judgement, policy.exec_checks, Reaper{1, "tini"});
    EXPECT_EQ(approval.alt_ppid, 1u);
    EXPECT_STREQ(approval.alt_pcomm, "tini");
}

TEST(ExecVerdicts, TheApprovalIsTheExecAsTheKernelWillSeeIt) {
    auto policy = policy_of("spawned_process and proc.pname = sh and proc.tty != 0", "deny");
    ProcessTable processes;
    auto pending = pending_exec("/bin/cat", {"cat", "/x"}, "bash");
    pending.uid = 1000;
    auto judgement = judge_exec(pending, policy, processes, std::nullopt);
    auto approval = approval_of(pending, judgement, policy.exec_checks, std::nullopt);
    EXPECT_EQ(approval.checks, BRIG_EXEC_CHECK_CALL | BRIG_EXEC_CHECK_PARENT | BRIG_EXEC_CHECK_TTY);
    EXPECT_STREQ(approval.filename, "/bin/cat");
    EXPECT_EQ(approval.filename[sizeof(approval.filename) - 1], 0);
    EXPECT_EQ(approval.args_len, 7u);
    EXPECT_EQ(std::string(approval.args, approval.args_len), std::string("cat\0/x\0", 7));
    EXPECT_EQ(approval.args[approval.args_len], 0);  // zero past argv, as the kernel's copy
    EXPECT_EQ(approval.ppid, 100u);
    EXPECT_STREQ(approval.pcomm, "bash");
    EXPECT_EQ(approval.uid, 1000u);
    EXPECT_EQ(approval.tty, -1);
    EXPECT_EQ(approval.alt_ppid, 0u);
}

TEST(ExecVerdicts, AnUnapprovedExecIsAlertedAsKilledInTheKernel) {
    auto policy = policy_of("spawned_process and proc.pname = sh and proc.name = cat", "deny");
    auto exec = pending_exec("/opt/marker-b", {"/opt/marker-b"}, "exec_race");
    exec.flags = BRIG_EXEC_UNAPPROVED;
    auto json = nlohmann::json::parse(alert_json(unapproved_exec_alert(exec, policy)));
    EXPECT_EQ(json["rule"], "brig exec not approved");
    EXPECT_EQ(json["priority"], "Critical");
    EXPECT_EQ(json["output_fields"]["proc.name"], "marker-b");
    EXPECT_EQ(json["output_fields"]["proc.exe"], "/opt/marker-b");
    EXPECT_EQ(json["output_fields"]["proc.pname"], "exec_race");
    EXPECT_EQ(json["output_fields"]["container.id"], "c1");
    EXPECT_EQ(json["output_fields"]["brig.action"], "kill");
    EXPECT_EQ(json["output_fields"]["brig.enforced"], "kernel");
}

TEST(ExecVerdicts, AReadThatDoesNotEndInTimeIsAnsweredByTheWatchdog) {
    ReadWatchdog watchdog(std::chrono::milliseconds(50));
    std::atomic<int> expired = 0;
    watchdog.begin([&] { ++expired; });
    EXPECT_FALSE(watchdog.end());  // in time: nothing happens
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    EXPECT_EQ(expired, 0);

    watchdog.begin([&] { ++expired; });
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // a read stuck past the limit
    EXPECT_TRUE(watchdog.end());
    EXPECT_EQ(expired, 1);

    watchdog.begin([&] { ++expired; });  // the next read has its own limit
    EXPECT_FALSE(watchdog.end());
    EXPECT_EQ(expired, 1);
}
