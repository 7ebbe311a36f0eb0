// OCI hooks: order, namespaces, the state on stdin, failures and timeouts.
#include "harness.hpp"

namespace brig::test {
namespace {

class HooksTest : public RuntimeTest {
protected:
    // A hook running busybox sh: saves its stdin to <dir>/<name>.json and appends
    // "<name> <mount namespace>" to <dir>/hooks.log. `dir` is a host path for hooks run in the
    // runtime's mount namespace and "" (the container's root) for startContainer.
    Json recording_hook(const std::string& name, const std::string& dir) {
        std::string script = "cat > " + dir + "/" + name + ".json; echo \"" + name +
                             " $(readlink /proc/self/ns/mnt)\" >> " + dir + "/hooks.log";
        return {{"path", "/bin/busybox"}, {"args", {"sh", "-c", script}}};
    }
    Json script_hook(const std::string& script) {
        return {{"path", "/bin/busybox"}, {"args", {"sh", "-c", script}}};
    }
    // hooks.log as (name, mount namespace) pairs.
    std::vector<std::pair<std::string, std::string>> hook_log() {
        std::vector<std::pair<std::string, std::string>> entries;
        for (const auto& line : split_lines(read_file(bundle().rootfs() / "hooks.log"))) {
            auto space = line.find(' ');
            entries.emplace_back(line.substr(0, space),
                                 space == std::string::npos ? "" : line.substr(space + 1));
        }
        return entries;
    }
    std::vector<std::string> hook_names() {
        std::vector<std::string> names;
        for (const auto& [name, ns] : hook_log())
            names.push_back(name);
        return names;
    }
    void record_all_hooks() {
        auto host_dir = bundle().rootfs().string();
        auto& hooks = bundle().config()["hooks"];
        for (const char* name :
             {"prestart", "createRuntime", "createContainer", "poststart", "poststop"})
            hooks[name] = {recording_hook(name, host_dir)};
        hooks["startContainer"] = {recording_hook("startContainer", "")};
    }
};

TEST_F(HooksTest, RunInTheSpecsOrderAcrossTheLifecycle) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 runs poststart hooks during create");
    record_all_hooks();
    bundle().set_script("true");
    auto id = new_id();
    auto created = create(id);
    ASSERT_TRUE(created.ok()) << created.describe();
    EXPECT_EQ(hook_names(),
              (std::vector<std::string>{"prestart", "createRuntime", "createContainer"}));
    ASSERT_TRUE(start(id).ok());
    ASSERT_EQ(wait_for_status(id, "stopped"), "stopped");
    EXPECT_EQ(hook_names(),
              (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                        "startContainer", "poststart"}));
    auto deleted = delete_container(id);
    ASSERT_TRUE(deleted.ok()) << deleted.describe();
    EXPECT_EQ(hook_names(),
              (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                        "startContainer", "poststart", "poststop"}));
}

TEST_F(HooksTest, RunInTheRuntimeOrTheContainerNamespaceAsTheSpecSays) {
    record_all_hooks();
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    auto container_mnt = namespace_link(std::to_string(state(id).value("pid", 0)), "mnt");
    ASSERT_TRUE(start(id).ok());
    ASSERT_TRUE(delete_container(id, true).ok());
    auto host_mnt = namespace_link("self", "mnt");
    std::map<std::string, std::string> seen;
    for (const auto& [name, ns] : hook_log())
        seen[name] = ns;
    ASSERT_EQ(seen.size(), 6u) << read_file(bundle().rootfs() / "hooks.log");
    for (const char* name : {"prestart", "createRuntime", "poststart", "poststop"})
        EXPECT_EQ(seen[name], host_mnt) << name << " runs in the runtime namespace";
    // createContainer runs in the container's mount namespace before pivot_root.
    EXPECT_EQ(seen["createContainer"], container_mnt);
    EXPECT_EQ(seen["startContainer"], container_mnt);
}

// runc runs createContainer hooks from the rootfs (runc's hooks.bats binds a library with
// `mount --bind SRC ./lib/X`): relative paths name the container's files.
TEST_F(HooksTest, CreateContainerHooksRunFromTheRootfs) {
    bundle().config()["hooks"]["createContainer"] = {script_hook("pwd > ./hook-cwd")};
    bundle().set_script("true");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(trim(read_file(bundle().rootfs() / "hook-cwd")), bundle().rootfs().string());
}

TEST_F(HooksTest, ReceiveTheContainerStateOnStdin) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc,
                              "runc 1.1 gives container-namespace hooks pid 1, not the host pid");
    record_all_hooks();
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    auto pid = state(id).value("pid", 0);
    ASSERT_TRUE(start(id).ok());
    ASSERT_TRUE(delete_container(id, true).ok());
    for (const char* name : {"prestart", "createRuntime", "createContainer", "startContainer",
                             "poststart", "poststop"}) {
        auto text = read_file(bundle().rootfs() / (std::string(name) + ".json"));
        auto hook_state = Json::parse(text, nullptr, false);
        ASSERT_TRUE(hook_state.is_object()) << name << ": " << text;
        EXPECT_EQ(hook_state.value("id", ""), id) << name << ": " << text;
        EXPECT_EQ(hook_state.value("bundle", ""), bundle().dir().string()) << name;
        EXPECT_TRUE(hook_state["status"].is_string()) << name << ": " << text;
        EXPECT_TRUE(hook_state["ociVersion"].is_string()) << name << ": " << text;
        if (std::string(name) != "poststop") {
            EXPECT_EQ(hook_state.value("pid", 0), pid) << name;
        }
    }
}

TEST_F(HooksTest, HookGetsItsArgsAndEnv) {
    auto out = bundle().rootfs() / "hook-out";
    bundle().config()["hooks"]["createRuntime"] = {
        {{"path", "/bin/busybox"},
         {"args", {"sh", "-c", "echo \"$0 $1 $HOOK_VAR\" > " + out.string(), "arg0", "arg1"}},
         {"env", {"HOOK_VAR=hook-value"}}}};
    bundle().write_config();
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    EXPECT_EQ(read_file(out), "arg0 arg1 hook-value\n");
}

TEST_F(HooksTest, FailingCreateRuntimeHookFailsCreateAndLeavesNothing) {
    bundle().config()["hooks"]["createRuntime"] = {script_hook("exit 1")};
    bundle().set_script("sleep 1000");
    auto id = new_id();
    auto created = create(id);
    EXPECT_NE(created.exit_code, 0) << created.describe();
    EXPECT_FALSE(trim(created.err).empty());
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(HooksTest, FailingPrestartHookFailsRunAndLeavesNothing) {
    bundle().config()["hooks"]["prestart"] = {script_hook("exit 2")};
    bundle().set_script("echo should-not-run > /ran");
    auto id = new_id();
    auto result = run(id);
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "ran"));
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

// A failing hook's error says "error running hook" and names how it ended, in runc's words
// (callers and runc's seccomp.bats match them); a startContainer hook runs under the container's
// seccomp filter.
TEST_F(HooksTest, AFailingHookIsAnErrorRunningHookInRuncsWords) {
    bundle().config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_KILL"}}}}};
    bundle().config()["hooks"]["startContainer"] = {script_hook("mkdir /tmp/by-hook")};
    bundle().set_script("echo should-not-run > /ran");
    auto id = new_id();
    auto result = run(id);
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_NE(result.err.find("hooks.startContainer[0] /bin/busybox: error running hook: killed "
                              "by signal 31 (bad system call)"),
              std::string::npos)
        << result.err;
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "ran"));
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "tmp/by-hook"));
    EXPECT_TRUE(is_one_line_error(result)) << "said once, by brig";
    // `start` after `create` names it the same way.
    auto created_id = new_id();
    ASSERT_TRUE(create(created_id).ok());
    auto started = start(created_id);
    EXPECT_FALSE(started.ok());
    EXPECT_NE(started.err.find("cannot start container \"" + created_id +
                               "\": hooks.startContainer[0] /bin/busybox: error running hook"),
              std::string::npos)
        << started.describe();
    EXPECT_TRUE(delete_container(created_id, true).ok());

    bundle().config()["linux"].erase("seccomp");
    bundle().config()["hooks"] = Json::object();
    bundle().config()["hooks"]["prestart"] = {script_hook("exit 3")};
    bundle().write_config();
    auto exited = run(new_id());
    EXPECT_NE(exited.err.find("hooks.prestart[0] /bin/busybox: error running hook: exit status 3"),
              std::string::npos)
        << exited.err;
}

TEST_F(HooksTest, FailingPoststopHookOnlyWarns) {
    bundle().config()["hooks"]["poststop"] = {script_hook("exit 1")};
    bundle().set_script("true");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    ASSERT_EQ(wait_for_status(id, "stopped"), "stopped");
    auto deleted = delete_container(id);
    EXPECT_TRUE(deleted.ok()) << deleted.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

// runtime-tools poststart_fail: a failing poststart hook is a warning; the later hooks run and
// the container goes on running.
TEST_F(HooksTest, FailingPoststartHookWarnsAndTheRestRun) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 runs poststart hooks during create");
    auto second = bundle().rootfs() / "second-ran";
    bundle().config()["hooks"]["poststart"] = {script_hook("exit 3"),
                                               script_hook("touch " + second.string())};
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    auto started = start(id);
    EXPECT_TRUE(started.ok()) << started.describe();
    EXPECT_TRUE(started.err.find("hooks.poststart[0]") != std::string::npos) << started.describe();
    EXPECT_TRUE(fs::exists(second)) << "the hook after the failing one did not run";
    EXPECT_EQ(status(id), "running");
}

// runtime-tools poststop_fail: every poststop hook runs although an earlier one fails.
TEST_F(HooksTest, FailingPoststopHookDoesNotSkipTheRest) {
    auto second = bundle().rootfs() / "second-ran";
    bundle().config()["hooks"]["poststop"] = {script_hook("exit 1"),
                                              script_hook("touch " + second.string())};
    bundle().set_script("true");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    ASSERT_EQ(wait_for_status(id, "stopped"), "stopped");
    auto deleted = delete_container(id);
    EXPECT_TRUE(deleted.ok()) << deleted.describe();
    EXPECT_TRUE(deleted.err.find("hooks.poststop[0]") != std::string::npos) << deleted.describe();
    EXPECT_TRUE(fs::exists(second)) << "the hook after the failing one did not run";
}

// runtime-tools hooks_stdin: the hooks of create run after the runtime-spec's step 2, which
// is where "creating" ends, so they see "created"; poststart sees "running".
TEST_F(HooksTest, CreateHooksSeeStatusCreated) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 gives prestart hooks \"creating\"");
    record_all_hooks();
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    auto status_of = [&](const char* name) {
        auto text = read_file(bundle().rootfs() / (std::string(name) + ".json"));
        return Json::parse(text, nullptr, false).value("status", "");
    };
    for (const char* name : {"prestart", "createRuntime", "createContainer", "startContainer"})
        EXPECT_EQ(status_of(name), "created") << name;
    EXPECT_EQ(status_of("poststart"), "running");
}

TEST_F(HooksTest, HookThatOutlivesItsTimeoutFailsCreate) {
    auto hook = script_hook("sleep 1000");
    hook["timeout"] = 1;
    bundle().config()["hooks"]["createRuntime"] = {hook};
    bundle().set_script("sleep 1000");
    auto id = new_id();
    auto created = create(id);
    EXPECT_FALSE(created.timed_out) << "the runtime waited past the hook's timeout";
    EXPECT_NE(created.exit_code, 0) << created.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(HooksTest, HookWithinItsTimeoutSucceeds) {
    auto hook = script_hook("sleep 0.1");
    hook["timeout"] = 30;
    bundle().config()["hooks"]["createRuntime"] = {hook};
    bundle().set_script("true");
    auto id = new_id();
    auto created = create(id);
    EXPECT_TRUE(created.ok()) << created.describe();
}

}  // namespace
}  // namespace brig::test
