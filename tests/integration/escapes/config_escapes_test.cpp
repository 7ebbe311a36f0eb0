// Configurations that would leave a container less confined than it asks, and config fields a
// tenant controls that make the runtime touch host files: refused (one line naming the field,
// nothing left behind) or confined, and the host checked afterwards.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "monitor/monitor.hpp"

namespace brig::test {
namespace {

using EscapeConfigTest = RuntimeTest;

void drop_mount_namespace(Json& config) {
    auto& namespaces = config["linux"]["namespaces"];
    Json kept = Json::array();
    for (const auto& ns : namespaces)
        if (ns.value("type", "") != "mount")
            kept.push_back(ns);
    namespaces = kept;
}

// ---- no mount namespace -------------------------------------------------------------------

// Each field that needs the container's own mounts, alone in a config without a mount namespace.
TEST_F(EscapeConfigTest, NoMountNamespaceRefusesEveryFieldThatNeedsOne) {
    struct Case {
        std::string field;
        std::function<void(Json&)> set;
    };
    std::vector<Case> cases = {
        {"mounts",
         [](Json& c) {
             c["mounts"] = {{{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
         }},
        {"root.readonly", [](Json& c) { c["root"]["readonly"] = true; }},
        {"hostname", [](Json& c) { c["hostname"] = "tenant"; }},
        {"linux.maskedPaths", [](Json& c) { c["linux"]["maskedPaths"] = {"/proc/kcore"}; }},
        {"linux.readonlyPaths", [](Json& c) { c["linux"]["readonlyPaths"] = {"/proc/sys"}; }},
        {"linux.sysctl",
         [](Json& c) {
             c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
         }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.field);
        auto& config = bundle().config();
        config = base_config();
        drop_mount_namespace(config);
        config["mounts"] = Json::array();
        config.erase("hostname");
        config["linux"].erase("maskedPaths");
        config["linux"].erase("readonlyPaths");
        c.set(config);
        bundle().set_args({"true"});
        auto id = new_id();
        auto created = create(id);
        if (runtime_kind() == RuntimeKind::brig) {
            EXPECT_NE(created.exit_code, 0) << created.describe();
            EXPECT_TRUE(is_one_line_error(created));
            EXPECT_NE(created.err.find(c.field + ":"), std::string::npos) << created.err;
            auto left = leftovers(id);
            EXPECT_TRUE(left.empty()) << join(left);
        }
    }
    // Without any of them it runs, sharing the host's mounts (runc 1.1 then fails: it closes
    // its fds through /proc/self/fd, and this rootfs's /proc is empty).
    if (runtime_kind() != RuntimeKind::brig)
        return;
    auto& config = bundle().config();
    config = base_config();
    drop_mount_namespace(config);
    config["mounts"] = Json::array();
    config.erase("hostname");
    config["linux"].erase("maskedPaths");
    config["linux"].erase("readonlyPaths");
    bundle().set_args({"true"});
    auto ran = run(new_id());
    EXPECT_TRUE(ran.ok()) << ran.describe();
}

// ---- device rules -------------------------------------------------------------------------

// Docker's --device /dev/kmsg:/dev/kmsg:r: the node, and a read-only rule for it.
TEST_F(EscapeConfigTest, LinuxDevicesDoNotWidenTheDeviceRules) {
    bundle().config()["linux"]["devices"] = {
        {{"path", "/dev/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"fileMode", 0644}}};
    bundle().config()["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "r"}});
    // Reading the kernel log wants CAP_SYSLOG; writing it nothing (but the device rule).
    for (const char* set : {"bounding", "effective", "permitted"})
        bundle().config()["process"]["capabilities"][set].push_back("CAP_SYSLOG");
    bundle().set_script(
        "true < /dev/kmsg && echo read-ok; "
        "echo brig-escape-test-write 2>&1 > /dev/kmsg && echo write-ok; true");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(split_lines(result.out).front(), "read-ok") << result.describe();
    EXPECT_EQ(result.out.find("write-ok"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("Operation not permitted"), std::string::npos) << result.describe();
}

// ---- the monitor's rules annotation -------------------------------------------------------

class EscapeAnnotationRulesTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (runtime_kind() != RuntimeKind::brig)
            GTEST_SKIP() << "the annotation is brig's own";
        if (!fs::exists("/sys/fs/cgroup/unified/cgroup.procs") &&
            !fs::exists("/sys/fs/cgroup/cgroup.procs"))
            GTEST_SKIP() << "no cgroup2 hierarchy: containers run unwatched, rules unread";
        rules_dir_ = tmp_dir() / "rules.d";
        fs::create_directories(rules_dir_);
        write_file(
            config_path(),
            Json{{"monitor", {{"annotation_rules_dirs", Json::array({rules_dir_.string()})}}}}
                .dump());
        bundle().set_args({"true"});
    }

    fs::path config_path() const { return tmp_dir() / "brig-config.json"; }

    // create with the annotation set to `path`, within `limit`.
    CommandResult create_naming(const std::string& path, const std::string& id) {
        bundle().config()["annotations"][monitor::kRulesAnnotation] = path;
        bundle().write_config();
        CommandOptions options;
        options.timeout = std::chrono::seconds(20);
        return runtime(
            {"--config", config_path().string(), "create", "--bundle", bundle().dir().string(), id},
            options);
    }

    void expect_refused(const std::string& path) {
        SCOPED_TRACE(path);
        auto id = new_id();
        auto created = create_naming(path, id);
        EXPECT_FALSE(created.timed_out) << "create hung on " << path;
        EXPECT_NE(created.exit_code, 0) << created.describe();
        EXPECT_TRUE(is_one_line_error(created));
        EXPECT_NE(created.err.find(monitor::kRulesAnnotation), std::string::npos) << created.err;
        auto left = leftovers(id);
        EXPECT_TRUE(left.empty()) << join(left);
        last_error_ = created.err;
    }

    fs::path rules_dir_;
    std::string last_error_;
};

TEST_F(EscapeAnnotationRulesTest, HostPathsOutsideTheAllowedDirectoriesAreRefusedAlike) {
    // Existing or not, the answer is the same: it tells nothing about the host.
    expect_refused("/etc/passwd");
    auto existing = last_error_;
    expect_refused("/etc/brig-no-such-file");
    auto missing = last_error_;
    auto strip = [](std::string e, const std::string& path) {
        auto at = e.find(path);
        return at == std::string::npos ? e : e.erase(at, path.size());
    };
    EXPECT_EQ(strip(existing, "/etc/passwd"), strip(missing, "/etc/brig-no-such-file"));
    expect_refused((rules_dir_ / ".." / "brig-config.json").string());
    expect_refused("/dev/zero");
    expect_refused("relative.yaml");
}

TEST_F(EscapeAnnotationRulesTest, OnlyBoundedRegularFilesInTheDirectoryAreRead) {
    ASSERT_EQ(mkfifo((rules_dir_ / "fifo.yaml").c_str(), 0644), 0);
    expect_refused((rules_dir_ / "fifo.yaml").string());
    fs::create_symlink("/dev/zero", rules_dir_ / "zero.yaml");
    expect_refused((rules_dir_ / "zero.yaml").string());
    fs::create_symlink("/etc/shadow", rules_dir_ / "shadow.yaml");
    expect_refused((rules_dir_ / "shadow.yaml").string());
    write_file(rules_dir_ / "huge.yaml", std::string(2 << 20, '#'));
    expect_refused((rules_dir_ / "huge.yaml").string());
    fs::create_directories(rules_dir_ / "sub");
    write_file(rules_dir_ / "sub" / "r.yaml", "[]\n");
    expect_refused((rules_dir_ / "sub" / "r.yaml").string());

    write_file(rules_dir_ / "good.yaml",
               "- rule: tenant rule\n  condition: evt.type = open and fd.name = /tmp/x\n"
               "  output: x\n  priority: INFO\n");
    auto id = new_id();
    auto created = create_naming((rules_dir_ / "good.yaml").string(), id);
    EXPECT_TRUE(created.ok()) << created.describe();
}

// ---- namespace paths ------------------------------------------------------------------------

// A namespace path is opened by the runtime on the host: a FIFO there must not hang it, a
// device must not be opened.
TEST_F(EscapeConfigTest, NamespacePathsThatAreNoNamespaceAreNotOpened) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 opens the path itself: a FIFO hangs it");
    auto fifo = tmp_dir() / "ns-fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    for (const std::string& path : {fifo.string(), std::string("/dev/zero"), std::string("/etc")}) {
        SCOPED_TRACE(path);
        auto& namespaces = bundle().config()["linux"]["namespaces"];
        for (auto& ns : namespaces)
            if (ns["type"] == "network")
                ns["path"] = path;
        bundle().set_args({"true"});
        bundle().write_config();
        auto id = new_id();
        CommandOptions options;
        options.timeout = std::chrono::seconds(20);
        auto created = runtime({"create", "--bundle", bundle().dir().string(), id}, options);
        EXPECT_FALSE(created.timed_out) << "create hung on " << path;
        EXPECT_NE(created.exit_code, 0) << created.describe();
        if (runtime_kind() == RuntimeKind::brig) {
            EXPECT_TRUE(is_one_line_error(created));
            EXPECT_NE(created.err.find("linux.namespaces[1].path"), std::string::npos)
                << created.err;
        }
        auto left = leftovers(id);
        EXPECT_TRUE(left.empty()) << join(left);
    }
}

// ---- the image's files ----------------------------------------------------------------------

// The monitor names users from the image's /etc/passwd, read by the runtime as root on the
// host: a FIFO there (the image is the tenant's) must not hang create, nor stop the container.
TEST_F(EscapeConfigTest, AFifoAsTheImagesPasswdDoesNotHangTheRuntime) {
    auto passwd = bundle().rootfs() / "etc/passwd";
    fs::remove(passwd);
    ASSERT_EQ(mkfifo(passwd.c_str(), 0644), 0);
    bundle().set_script("echo ran");
    CommandOptions options;
    options.timeout = std::chrono::seconds(20);
    // The file is read only for a watched container: where the monitor watches none, say so.
    const std::string watched = new_id();
    auto created = runtime({"create", "--bundle", bundle().dir().string(), watched}, options);
    EXPECT_FALSE(created.timed_out) << "create hung on a FIFO /etc/passwd";
    ASSERT_TRUE(created.ok()) << created.describe();
    const Json recorded =
        Json::parse(read_file(state_root() / watched / "state.json"), nullptr, false);
    if (!recorded.is_object() || !recorded.value("monitored", false))
        GTEST_SKIP() << "the monitor watches no container here: the file is never read";
    auto ran = runtime({"run", "--bundle", bundle().dir().string(), new_id()}, options);
    EXPECT_FALSE(ran.timed_out) << "run hung on a FIFO /etc/passwd";
    EXPECT_TRUE(ran.ok()) << ran.describe();
    EXPECT_EQ(ran.out, "ran\n");
}

// ---- startContainer hooks -------------------------------------------------------------------

// The hook runs from the image inside the container: it sees what the program sees, no fd of
// the runtime's caller and the container's seccomp filter.
TEST_F(EscapeConfigTest, StartContainerHookGetsWhatTheProcessGets) {
    bundle().config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"architectures", {"SCMP_ARCH_X86_64"}},
        {"syscalls", {{{"names", {"syslog"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
    // No pipeline and no redirection of a single command: the shell's pipe fds or its saved
    // stdout (busybox keeps it at fd 10) would be listed.
    auto probe = [](const std::string& who) {
        return "exec >/" + who + ".fds; ls /proc/$$/fd; grep ^Seccomp: /proc/$$/status > /" + who +
               ".seccomp; true";
    };
    bundle().config()["hooks"]["startContainer"] = {
        {{"path", "/bin/sh"}, {"args", {"sh", "-c", probe("hook")}}}};
    bundle().set_script(probe("process"));
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);  // not CLOEXEC: inherited as a caller's stray fds are
    TestFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    CommandOptions options;
    options.inherited_fds = {{write_end.get(), 9}, {write_end.get(), 10}};
    auto id = new_id();
    auto created = runtime({"create", "--bundle", bundle().dir().string(), id}, options);
    ASSERT_TRUE(created.ok()) << created.describe();
    ASSERT_TRUE(start(id).ok());
    wait_for_status(id, "stopped");
    auto rootfs = bundle().rootfs();
    EXPECT_EQ(read_file(rootfs / "hook.fds"), read_file(rootfs / "process.fds"));
    EXPECT_EQ(read_file(rootfs / "process.fds"), "0\n1\n2\n");
    EXPECT_EQ(trim(read_file(rootfs / "hook.seccomp")), "Seccomp:\t2");
    EXPECT_EQ(read_file(rootfs / "hook.seccomp"), read_file(rootfs / "process.seccomp"));
}

}  // namespace
}  // namespace brig::test
