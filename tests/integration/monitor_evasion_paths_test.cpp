// Issue 17, path forms: /etc/shadow read and /etc written through every way of naming them but
// their plain path (`//`, `/./`, `..`, symlinks, /proc/self/root, an O_PATH fd reopened through
// /proc/self/fd/N, a file handle, and the path operations that make or change entries). The rules
// must see the file the kernel resolves: with action alert, one alert naming the real path; with
// kill, the container dies before it read a byte of the file or changed it (checked on the host).
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ostream>
#include <tuple>

#include "monitor_test.hpp"

namespace brig::test {
namespace {

constexpr const char* kShadow = "root:brig-secret-hash:19000:0:99999:7:::\n";
constexpr const char* kPasswd = "root:x:0:0:root:/root:/bin/sh\n";
constexpr const char* kReadRule = "Read sensitive file untrusted";
constexpr const char* kWriteRule = "Write below etc";

constexpr const char* kMoreOutputFields = R"yaml(
- rule: Read sensitive file untrusted
  output: " (evt.type=%evt.type)"
  override:
    output: append
- rule: Write below etc
  output: " (evt.type=%evt.type evt.arg.oldpath=%evt.arg.oldpath evt.arg.newpath=%evt.arg.newpath)"
  override:
    output: append
)yaml";

struct PathForm {
    const char* name;                           // of the test
    const char* script;                         // what the container does
    std::map<std::string, std::string> fields;  // of the alert, besides the rule's
    const char* capability = nullptr;           // that the form needs, beyond Docker's
};

const PathForm kReads[] = {
    {"DoubleSlash", "cat /etc//shadow", {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"DotComponent", "cat /etc/./shadow", {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"DotDot", "cat /tmp/../etc/shadow", {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"RelativeDotDot",
     "cd /tmp && cat ../etc/shadow",
     {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"SymlinkToTheFile", "cat /tmp/shadow-link", {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"SymlinkedDirectory",
     "cat /tmp/etc-link/shadow",
     {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"ProcSelfRoot",
     "cat /proc/self/root/etc/shadow",
     {{"proc.name", "cat"}, {"evt.type", "openat"}}},
    {"OPathFdReopened",
     "/probe reopen /etc/shadow",
     {{"proc.name", "probe"}, {"evt.type", "openat"}}},
    {"FileHandle",
     "/probe handle /etc/shadow",
     {{"proc.name", "probe"}, {"evt.type", "open_by_handle_at"}},
     "CAP_DAC_READ_SEARCH"},
};

// `changed`: the host-side path (below the rootfs) that the write creates or changes.
// `landlock_abi`: what refuses it on the tracepoint path (a tracepoint's kill lands after the
// syscall) needs that Landlock ABI.
struct WriteForm {
    PathForm form;
    const char* changed;
    int landlock_abi = 1;
};

const WriteForm kWrites[] = {
    {{"Symlink",
      "/probe symlink /tmp/x /etc/evil",
      {{"proc.name", "probe"}, {"evt.type", "symlink"}, {"fd.name", "/etc/evil"}}},
     "etc/evil"},
    {{"Mknod",
      "/probe mknod /etc/evil",
      {{"proc.name", "probe"}, {"evt.type", "mknod"}, {"fd.name", "/etc/evil"}}},
     "etc/evil"},
    {{"Truncate",
      "/probe truncate /etc/passwd",
      {{"proc.name", "probe"}, {"evt.type", "truncate"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd",
     3 /* LANDLOCK_ACCESS_FS_TRUNCATE */},
    {{"Link",
      "/probe link /tmp/x /etc/evil",
      {{"proc.name", "probe"},
       {"evt.type", "link"},
       {"evt.arg.oldpath", "/tmp/x"},
       {"evt.arg.newpath", "/etc/evil"}}},
     "etc/evil"},
    {{"OPathFdReopened",
      "/probe reopen-write /etc/passwd",
      {{"proc.name", "probe"}, {"evt.type", "openat"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd"},
    {{"DotDot",
      "echo evil > /tmp/../etc/passwd",
      {{"proc.name", "sh"}, {"evt.type", "openat"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd"},
    {{"ProcSelfRoot",
      "echo evil > /proc/self/root/etc/passwd",
      {{"proc.name", "sh"}, {"evt.type", "openat"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd"},
    {{"ProcSelfCwd",
      "cd /etc && echo evil > /proc/self/cwd/passwd",
      {{"proc.name", "sh"}, {"evt.type", "openat"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd"},
    {{"MagicLinksChained",
      "exec 3</proc/self; echo evil > /proc/self/fd/3/root/proc/self/root/etc/passwd",
      {{"proc.name", "sh"}, {"evt.type", "openat"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd"},
    {{"ProcPidTaskRoot",
      "echo evil > /proc/$$/task/$$/root/etc/passwd",
      {{"proc.name", "sh"}, {"evt.type", "openat"}, {"fd.name", "/etc/passwd"}}},
     "etc/passwd"},
};

// gtest names a failing case by its form.
void PrintTo(const PathForm& form, std::ostream* out) {
    *out << form.name;
}

void PrintTo(const WriteForm& write, std::ostream* out) {
    *out << write.form.name;
}

class MonitorEvasionPaths : public MonitorTest {
protected:
    void SetUp() override {
        MonitorTest::SetUp();
        if (IsSkipped())
            return;
        // The default rules with the syscall and a link's paths in their alerts' fields.
        write_file(tmp_dir() / "fields.yaml", kMoreOutputFields);
        write_config(R"({"monitor": {"rules_files": [")" + (tmp_dir() / "fields.yaml").string() +
                     R"("], "outputs": {"file": ")" + output_file_.string() + R"("}}})");
        write_file(bundle().rootfs() / "etc/shadow", kShadow, 0600);
        write_file(bundle().rootfs() / "etc/passwd", kPasswd, 0644);
        write_file(bundle().rootfs() / "tmp/x", "x\n", 0644);
        fs::create_symlink("/etc/shadow", bundle().rootfs() / "tmp/shadow-link");
        fs::create_directory_symlink("/etc", bundle().rootfs() / "tmp/etc-link");
    }

    // Runs `form` with `action` (alert or kill): with kill the container dies by `rule` before
    // it says "survived"; with alert it lives. Either way one alert of `rule`, field by field.
    Watched run_form(const PathForm& form, const std::string& action, const std::string& rule,
                     const std::string& priority, const std::string& tag) {
        if (form.capability)
            for (const char* set : {"bounding", "effective", "permitted"})
                bundle().config()["process"]["capabilities"][set].push_back(form.capability);
        bundle().set_script(std::string(form.script) + "; echo survived");
        auto w = run_watched(action);
        if (action == "kill") {
            expect_killed_by(w, rule);
            EXPECT_EQ(w.result.out.find("survived"), std::string::npos) << w.result.out;
        } else {
            expect_untouched(w);
        }
        EXPECT_EQ(count_alerts(w, rule), 1u) << "nothing twice: " << Json(w.alerts).dump();
        expect_alert(w, rule, priority, tag, form.fields, action);
        return w;
    }

    static int landlock_abi() {
        long abi =
            ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
        return abi > 0 ? static_cast<int>(abi) : 0;
    }

    // The file's state on the host: its content, or that it is absent.
    std::string host_state(const std::string& path) {
        fs::path file = bundle().rootfs() / path;
        if (!fs::exists(fs::symlink_status(file)))
            return "<absent>";
        if (!fs::is_regular_file(fs::symlink_status(file)))
            return "<not a regular file>";
        return read_file(file);
    }
};

using ReadCase = std::tuple<PathForm, std::string>;

class MonitorEvasionReads : public MonitorEvasionPaths,
                            public ::testing::WithParamInterface<ReadCase> {};

TEST_P(MonitorEvasionReads, TheRuleSeesTheRealFile) {
    const auto& [form, action] = GetParam();
    auto fields = form.fields;
    fields["fd.name"] = "/etc/shadow";
    auto w = run_form({form.name, form.script, fields, form.capability}, action, kReadRule,
                      "Warning", "mitre_credential_access");
    bool read = w.result.out.find("brig-secret-hash") != std::string::npos;
    // Alert: the form does reach the file (the test would prove nothing otherwise). Kill: the
    // task died before its first read(2).
    EXPECT_EQ(read, action == "alert") << w.result.describe();
}

std::string read_case_name(const ::testing::TestParamInfo<ReadCase>& info) {
    return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(Forms, MonitorEvasionReads,
                         ::testing::Combine(::testing::ValuesIn(kReads),
                                            ::testing::Values("alert", "kill")),
                         read_case_name);

using WriteCase = std::tuple<WriteForm, std::string>;

class MonitorEvasionWrites : public MonitorEvasionPaths,
                             public ::testing::WithParamInterface<WriteCase> {};

TEST_P(MonitorEvasionWrites, TheRuleSeesTheRealPath) {
    const auto& [write, action] = GetParam();
    std::string before = host_state(write.changed);
    run_form(write.form, action, kWriteRule, "Error", "filesystem");
    std::string after = host_state(write.changed);
    // Alert: the write lands (so the form reached /etc). Kill: nothing of it does.
    if (action == "alert") {
        EXPECT_NE(after, before) << write.changed;
    } else if (!lsm_enforces_ && landlock_abi() < write.landlock_abi) {
        GTEST_SKIP() << "killed and alerted, but nothing here refuses the write itself before "
                        "the kill (Landlock ABI "
                     << landlock_abi() << " < " << write.landlock_abi << ", no BPF-LSM)";
    } else {
        EXPECT_EQ(after, before) << write.changed;
    }
}

std::string write_case_name(const ::testing::TestParamInfo<WriteCase>& info) {
    return std::string(std::get<0>(info.param).form.name) + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(Forms, MonitorEvasionWrites,
                         ::testing::Combine(::testing::ValuesIn(kWrites),
                                            ::testing::Values("alert", "kill")),
                         write_case_name);

// Rules on reading below a directory and on a file's name, for reads through symlinks.
constexpr const char* kVaultRules = R"yaml(
- rule: Read below vault
  desc: d
  condition: evt.type in (open, openat, openat2) and fd.name startswith /vault/
  output: "vault read (fd.name=%fd.name proc.name=%proc.name evt.type=%evt.type container.id=%container.id user.uid=%user.uid)"
  priority: ERROR
  tags: [filesystem]
  action: kill
- rule: Key file opened
  desc: d
  condition: evt.type in (open, openat, openat2) and fd.filename = secret.key
  output: "key opened (fd.name=%fd.name proc.name=%proc.name evt.type=%evt.type container.id=%container.id user.uid=%user.uid)"
  priority: ERROR
  tags: [filesystem]
  action: kill
)yaml";

TEST_F(MonitorEvasionPaths, ReadsBelowADirectoryAndByNameAreMatchedThroughSymlinks) {
    write_file(tmp_dir() / "vault.yaml", kVaultRules);
    write_config(R"({"monitor": {"rules_files": [")" + (tmp_dir() / "vault.yaml").string() +
                 R"("], "outputs": {"file": ")" + output_file_.string() + R"("}}})");
    fs::create_directories(bundle().rootfs() / "vault");
    write_file(bundle().rootfs() / "vault/data", "vault-content\n", 0600);
    fs::create_directories(bundle().rootfs() / "srv");
    write_file(bundle().rootfs() / "srv/secret.key", "key-content\n", 0600);
    fs::create_directory_symlink("/vault", bundle().rootfs() / "tmp/v");
    fs::create_symlink("/srv/secret.key", bundle().rootfs() / "tmp/innocent");
    for (const auto& [script, rule, file] :
         {std::tuple{"cat /tmp/v/data", "Read below vault", "/vault/data"},
          std::tuple{"cat /tmp/innocent", "Key file opened", "/srv/secret.key"}}) {
        bundle().set_script(std::string(script) + "; echo survived");
        auto w = run_watched("kill");
        expect_killed_by(w, rule);
        EXPECT_EQ(w.result.out.find("content"), std::string::npos) << w.result.out;
        expect_alert(w, rule, "Error", "filesystem",
                     {{"fd.name", file}, {"proc.name", "cat"}, {"evt.type", "openat"}}, "kill");
    }
}

// A container with a writable cgroupfs (CAP_SYS_ADMIN in its cgroup namespace: privileged,
// systemd inside) makes a cgroup below its own and moves into it: still the same container,
// watched as before (the init, then an exec), on the tracepoint path and BPF-LSM. Action alert:
// a kill rule's Landlock domain forbids the mount.
TEST_F(MonitorEvasionPaths, ATaskMovedIntoACgroupBelowTheContainersIsStillWatched) {
    auto& config = bundle().config();
    config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    for (const char* set : {"bounding", "effective", "permitted"})
        config["process"]["capabilities"][set].push_back("CAP_SYS_ADMIN");
    write_file(bundle().rootfs() / "move",
               "mkdir -p /tmp/cg && { grep -q \" /tmp/cg \" /proc/mounts || mount -t cgroup2 none "
               "/tmp/cg; } "
               "&& mkdir -p /tmp/cg/$1 && echo $$ > /tmp/cg/$1/cgroup.procs && "
               "grep -q \"^0::/$1$\" /proc/self/cgroup && echo moved-$1\n",
               0755);
    bundle().set_script(". /move x; cat /etc/shadow > /dev/null; echo done");
    auto w = run_watched("alert");
    expect_untouched(w);
    EXPECT_EQ(w.result.out, "moved-x\ndone\n") << w.result.describe();
    EXPECT_EQ(count_alerts(w, kReadRule), 1u) << Json(w.alerts).dump();
    expect_alert(w, kReadRule, "Warning", "filesystem",
                 {{"fd.name", "/etc/shadow"}, {"proc.name", "cat"}}, "alert");

    bundle().set_script(". /move y > /dev/null && echo ready > /tmp/ready && sleep 100");
    auto id = new_id("mon");
    auto started = runtime({"--config", config_path().string(), "run", "--detach", "--bundle",
                            bundle().dir().string(), id});
    ASSERT_TRUE(started.ok()) << started.describe();
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "tmp/ready"); }))
        << started.describe() << status(id);
    auto exec = runtime({"exec", id, "sh", "-c", ". /move z && cat /etc/shadow > /dev/null"});
    EXPECT_EQ(exec.out, "moved-z\n") << exec.describe();
    fs::path log = state_root() / id / monitor::kAlertsFile;
    EXPECT_TRUE(wait_until([&] {
        return fs::exists(log) && read_file(log).find("/etc/shadow") != std::string::npos;
    })) << "no alert for the exec's read below its own cgroup";
    runtime({"delete", "--force", id});
}

TEST_F(MonitorEvasionPaths, FtruncateIsAlertedOnTheFilesPath) {
    // The open for writing is alerted, and so is the ftruncate of its fd, on the file's path.
    bundle().set_script("/probe ftruncate /etc/passwd");
    auto w = run_watched("alert");
    expect_untouched(w);
    EXPECT_EQ(host_state("etc/passwd"), "");
    std::vector<std::string> types;
    for (const auto& alert : w.alerts) {
        if (alert.value("rule", "") != kWriteRule)
            continue;
        EXPECT_EQ(field_text(alert["output_fields"], "fd.name"), "/etc/passwd") << alert.dump();
        types.push_back(field_text(alert["output_fields"], "evt.type"));
    }
    EXPECT_EQ(types, (std::vector<std::string>{"openat", "ftruncate"})) << Json(w.alerts).dump();
}

}  // namespace
}  // namespace brig::test
