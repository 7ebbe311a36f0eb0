// root, mounts, /dev, masked and read-only paths, hostname, sysctl: the container's file system
// and kernel view.
#include <sys/mount.h>

#include "harness.hpp"

namespace brig::test {
namespace {

using RootfsTest = RuntimeTest;

// The /proc/self/mountinfo line (inside the container) whose mount point is `point`.
std::string mountinfo_line(const std::string& mountinfo, const std::string& point) {
    std::string found;
    for (const auto& line : split_lines(mountinfo)) {
        std::istringstream fields(line);
        std::string field;
        for (int i = 0; i < 5; ++i)
            fields >> field;
        if (field == point)
            found = line;  // the last one is the visible one
    }
    return found;
}

// Mount options (field 6) of a mountinfo line, e.g. "ro,nosuid,relatime".
std::set<std::string> mount_options(const std::string& line) {
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 6; ++i)
        fields >> field;
    std::set<std::string> options;
    std::istringstream parts(field);
    for (std::string option; std::getline(parts, option, ',');)
        options.insert(option);
    return options;
}

TEST_F(RootfsTest, HostnameIsSet) {
    bundle().config()["hostname"] = "box-one";
    bundle().set_args({"hostname"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "box-one\n");
}

TEST_F(RootfsTest, DomainnameIsSet) {
    if (runtime_kind() == RuntimeKind::runc)
        GTEST_SKIP() << "runc 1.1 ignores domainname";
    bundle().config()["domainname"] = "example.org";
    bundle().set_args({"cat", "/proc/sys/kernel/domainname"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "example.org\n");
}

TEST_F(RootfsTest, ReadonlyRootRefusesWrites) {
    bundle().config()["root"]["readonly"] = true;
    bundle().set_script("touch /written");
    auto result = run(new_id());
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "written"));
}

// runc's "ro /dev mount": a read-only tmpfs on /dev is populated (devices, /dev/pts) before it
// is made read-only; the devices work, new entries are refused, /dev/pts stays writable.
TEST_F(RootfsTest, ReadonlyDevTmpfsIsPopulatedThenReadonly) {
    for (auto& mount : bundle().config()["mounts"])
        if (mount.value("destination", "") == "/dev")
            mount["options"].push_back("ro");
    bundle().set_script(
        "echo x >/dev/null && echo null-ok; test -c /dev/zero && echo zero-ok; "
        "touch /dev/new 2>/dev/null || echo dev-ro; test -d /dev/pts && echo pts-ok");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "null-ok\nzero-ok\ndev-ro\npts-ok\n") << result.describe();
}

TEST_F(RootfsTest, WritableRootAcceptsWrites) {
    bundle().set_script("touch /written");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_TRUE(fs::exists(bundle().rootfs() / "written"));
}

TEST_F(RootfsTest, ContainerSeesItsRootfsAsRoot) {
    write_file(bundle().rootfs() / "marker", "inside\n");
    bundle().set_args({"cat", "/marker"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "inside\n");
}

TEST_F(RootfsTest, ReadonlyBindMountShowsHostFilesAndRefusesWrites) {
    auto host_dir = tmp_dir() / "host-data";
    fs::create_directories(host_dir);
    write_file(host_dir / "file", "from-host\n");
    bundle().config()["mounts"].push_back({{"destination", "/data"},
                                           {"type", "bind"},
                                           {"source", host_dir.string()},
                                           {"options", {"rbind", "ro"}}});
    bundle().set_script("cat /data/file; touch /data/new && echo wrote");
    auto result = run(new_id());
    EXPECT_EQ(result.out, "from-host\n") << result.describe();
    EXPECT_FALSE(fs::exists(host_dir / "new"));
}

TEST_F(RootfsTest, ReadWriteBindMountWritesThroughToTheHost) {
    auto host_dir = tmp_dir() / "host-data";
    fs::create_directories(host_dir);
    bundle().config()["mounts"].push_back({{"destination", "/data"},
                                           {"type", "bind"},
                                           {"source", host_dir.string()},
                                           {"options", {"bind"}}});
    bundle().set_script("echo written > /data/new");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(read_file(host_dir / "new"), "written\n");
}

TEST_F(RootfsTest, MountDestinationIsCreatedInsideTheRootfs) {
    auto host_dir = tmp_dir() / "host-data";
    fs::create_directories(host_dir);
    bundle().config()["mounts"].push_back({{"destination", "/deep/new/dir"},
                                           {"type", "bind"},
                                           {"source", host_dir.string()},
                                           {"options", {"bind"}}});
    bundle().set_script("test -d /deep/new/dir");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_TRUE(fs::is_directory(bundle().rootfs() / "deep/new/dir"));
}

TEST_F(RootfsTest, TmpfsMountHonoursSizeAndFlags) {
    bundle().config()["mounts"].push_back({{"destination", "/scratch"},
                                           {"type", "tmpfs"},
                                           {"source", "tmpfs"},
                                           {"options", {"nosuid", "nodev", "size=1m"}}});
    bundle().set_args({"cat", "/proc/self/mountinfo"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    auto line = mountinfo_line(result.out, "/scratch");
    ASSERT_FALSE(line.empty()) << result.out;
    EXPECT_NE(line.find(" - tmpfs "), std::string::npos) << line;
    EXPECT_NE(line.find("size=1024k"), std::string::npos) << line;
    auto options = mount_options(line);
    EXPECT_TRUE(options.contains("nosuid") && options.contains("nodev")) << line;
}

// A host directory that is a shared mount, so that propagation options are observable.
class PropagationTest : public RootfsTest {
protected:
    void SetUp() override {
        RootfsTest::SetUp();
        if (IsSkipped())
            return;
        shared_dir_ = tmp_dir() / "shared";
        fs::create_directories(shared_dir_);
        ASSERT_EQ(mount("tmpfs", shared_dir_.c_str(), "tmpfs", 0, "size=1m"), 0);
        ASSERT_EQ(mount(nullptr, shared_dir_.c_str(), nullptr, MS_SHARED, nullptr), 0);
    }
    std::string mountinfo_with(const std::string& propagation) {
        bundle().config()["mounts"].push_back({{"destination", "/prop"},
                                               {"type", "bind"},
                                               {"source", shared_dir_.string()},
                                               {"options", {"rbind", propagation}}});
        bundle().set_args({"cat", "/proc/self/mountinfo"});
        auto result = run(new_id());
        EXPECT_TRUE(result.ok()) << result.describe();
        return mountinfo_line(result.out, "/prop");
    }
    fs::path shared_dir_;
};

TEST_F(PropagationTest, RslaveReceivesFromTheHost) {
    auto line = mountinfo_with("rslave");
    EXPECT_NE(line.find(" master:"), std::string::npos) << line;
    EXPECT_EQ(line.find(" shared:"), std::string::npos) << line;
}

TEST_F(PropagationTest, RprivateIsolatesFromTheHost) {
    auto line = mountinfo_with("rprivate");
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find(" master:"), std::string::npos) << line;
    EXPECT_EQ(line.find(" shared:"), std::string::npos) << line;
}

TEST_F(PropagationTest, RsharedStaysInAPeerGroup) {
    auto line = mountinfo_with("rshared");
    EXPECT_NE(line.find(" shared:"), std::string::npos) << line;
}

// The configured paths that this kernel has (masking a missing path is a no-op).
std::vector<std::string> existing(const Json& paths, bool directories) {
    std::vector<std::string> found;
    for (const auto& path : paths) {
        auto text = path.get<std::string>();
        std::error_code ec;
        if (fs::exists(text, ec) && fs::is_directory(text, ec) == directories)
            found.push_back(text);
    }
    return found;
}

// runtime-tools linux_rootfs_propagation: each rootfsPropagation value works and gives the
// container's "/" that propagation (mountinfo's optional fields), unbindable included.
class RootfsPropagationTest : public RuntimeTest,
                              public ::testing::WithParamInterface<const char*> {};

TEST_P(RootfsPropagationTest, RootHasThePropagationAsked) {
    const std::string value = GetParam();
    bundle().config()["linux"]["rootfsPropagation"] = value;
    bundle().set_args({"cat", "/proc/self/mountinfo"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    const std::string root = mountinfo_line(result.out, "/");
    ASSERT_FALSE(root.empty()) << result.out;
    // The optional fields sit between the options (field 6) and the " - " separator.
    const std::string tags = root.substr(0, root.find(" - "));
    auto has = [&](const char* tag) { return tags.find(tag) != std::string::npos; };
    // (A slave has a "master:" only where the host's mount is shared: not checked.)
    EXPECT_EQ(has(" shared:"), value == "shared") << root;
    EXPECT_EQ(has(" unbindable"), value == "unbindable") << root;
    if (value == "private") {
        EXPECT_FALSE(has(" master:")) << root;
    }
}

INSTANTIATE_TEST_SUITE_P(Values, RootfsPropagationTest,
                         ::testing::Values("shared", "slave", "private", "unbindable"));

TEST_F(RootfsTest, MaskedFilesReadEmpty) {
    auto files = existing(bundle().config()["linux"]["maskedPaths"], false);
    ASSERT_FALSE(files.empty());
    std::string script, expected;
    for (const auto& file : files) {
        script += "echo \"" + file + " $(wc -c < " + file + ")\"; ";
        expected += file + " 0\n";
    }
    bundle().set_script(script);
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, expected);
}

TEST_F(RootfsTest, MaskedDirectoriesAreEmptyAndReadonly) {
    auto directories = existing(bundle().config()["linux"]["maskedPaths"], true);
    ASSERT_FALSE(directories.empty());
    std::string script, expected;
    for (const auto& dir : directories) {
        script += "echo \"" + dir + " $(ls -A " + dir + " | wc -l)\"; touch " + dir +
                  "/x 2>/dev/null && echo wrote " + dir + "; ";
        expected += dir + " 0\n";
    }
    bundle().set_script(script);
    auto result = run(new_id());
    EXPECT_EQ(result.out, expected) << result.describe();
}

TEST_F(RootfsTest, ReadonlyPathsAreMountedReadonly) {
    auto paths = existing(bundle().config()["linux"]["readonlyPaths"], true);
    for (const auto& file : existing(bundle().config()["linux"]["readonlyPaths"], false))
        paths.push_back(file);
    ASSERT_FALSE(paths.empty());
    bundle().set_args({"cat", "/proc/self/mountinfo"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    for (const auto& path : paths) {
        auto line = mountinfo_line(result.out, path);
        ASSERT_FALSE(line.empty()) << path << " not mounted:\n" << result.out;
        EXPECT_TRUE(mount_options(line).contains("ro")) << line;
    }
    // /proc itself stays writable.
    EXPECT_TRUE(mount_options(mountinfo_line(result.out, "/proc")).contains("rw"));
}

TEST_F(RootfsTest, DevHasTheDefaultDevicesAndNothingElse) {
    bundle().set_args({"ls", "-A", "/dev"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    std::set<std::string> entries;
    for (const auto& name : split_lines(result.out))
        entries.insert(name);
    std::set<std::string> required{"null", "zero",  "full",   "random", "urandom",
                                   "tty",  "ptmx",  "pts",    "shm",    "mqueue",
                                   "fd",   "stdin", "stdout", "stderr"};
    // runc adds /dev/core -> /proc/kcore; allowed, not required.
    std::set<std::string> optional{"core"};
    for (const auto& name : required)
        EXPECT_TRUE(entries.contains(name)) << "missing " << name;
    for (const auto& name : entries)
        EXPECT_TRUE(required.contains(name) || optional.contains(name)) << "unexpected " << name;
}

TEST_F(RootfsTest, DefaultDevicesAreTheRightCharacterDevices) {
    bundle().set_script(
        "for d in null zero full random urandom tty; do stat -L -c \"$d %F %t:%T\" /dev/$d; done; "
        "echo x > /dev/null && head -c 4 /dev/zero | wc -c");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out,
              "null character special file 1:3\n"
              "zero character special file 1:5\n"
              "full character special file 1:7\n"
              "random character special file 1:8\n"
              "urandom character special file 1:9\n"
              "tty character special file 5:0\n"
              "4\n");
}

TEST_F(RootfsTest, LinuxDevicesCreatesTheNode) {
    bundle().config()["linux"]["devices"] = {{{"path", "/dev/mydev"},
                                              {"type", "c"},
                                              {"major", 1},
                                              {"minor", 5},
                                              {"fileMode", 0640},
                                              {"uid", 0},
                                              {"gid", 5}}};
    bundle().config()["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"access", "rwm"}});
    bundle().set_script("stat -c '%F %t:%T %a %g' /dev/mydev; head -c 3 /dev/mydev | wc -c");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "character special file 1:5 640 5\n3\n");
}

// runtime-tools linux_devices: major and minor are optional for a FIFO, not forbidden (and
// meaningless: the node is a plain FIFO).
TEST_F(RootfsTest, FifoDeviceWithMajorAndMinorIsAFifo) {
    bundle().config()["linux"]["devices"] = {
        {{"path", "/dev/myfifo"}, {"type", "p"}, {"major", 8}, {"minor", 666}}};
    bundle().set_script("stat -c '%F %t:%T' /dev/myfifo");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "fifo 0:0\n");
}

TEST_F(RootfsTest, DevPtsIsANewInstanceWithPtmx) {
    bundle().set_script(
        "cat /proc/self/mountinfo; readlink /dev/ptmx; test -c /dev/pts/ptmx && echo ok");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    auto line = mountinfo_line(result.out, "/dev/pts");
    EXPECT_NE(line.find(" - devpts "), std::string::npos) << line;
    EXPECT_NE(result.out.find("\npts/ptmx\nok\n"), std::string::npos) << result.out;
}

TEST_F(RootfsTest, DevShmIsAWritableTmpfs) {
    bundle().set_script("cat /proc/self/mountinfo; echo data > /dev/shm/f && cat /dev/shm/f");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_NE(mountinfo_line(result.out, "/dev/shm").find(" - tmpfs "), std::string::npos);
    EXPECT_EQ(result.out.substr(result.out.size() - 5), "data\n");
}

TEST_F(RootfsTest, DevMqueueIsMounted) {
    bundle().set_args({"cat", "/proc/self/mountinfo"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_NE(mountinfo_line(result.out, "/dev/mqueue").find(" - mqueue "), std::string::npos)
        << result.out;
}

TEST_F(RootfsTest, DevFdAndStdioLinksPointIntoProc) {
    bundle().set_script(
        "readlink /dev/fd; readlink /dev/stdin; readlink /dev/stdout; readlink /dev/stderr");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\n");
}

TEST_F(RootfsTest, SysctlInTheContainersNetworkNamespaceIsSet) {
    auto host_before = read_file("/proc/sys/net/ipv4/ip_forward");
    auto wanted = trim(host_before) == "1" ? "0" : "1";
    bundle().config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", wanted}};
    bundle().set_args({"cat", "/proc/sys/net/ipv4/ip_forward"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(trim(result.out), wanted);
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_before);
}

TEST_F(RootfsTest, SysctlOutsideTheContainersNamespacesIsRefused) {
    auto host_before = read_file("/proc/sys/kernel/core_pattern");
    bundle().config()["linux"]["sysctl"] = {{"kernel.core_pattern", "|/tmp/brig-pwned %p"}};
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_NE(result.err.find("kernel.core_pattern"), std::string::npos) << result.describe();
    EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), host_before);
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(RootfsTest, SysctlOfANetworkKeyWithoutANetworkNamespaceIsRefused) {
    auto host_before = read_file("/proc/sys/net/ipv4/ip_forward");
    auto& namespaces = bundle().config()["linux"]["namespaces"];
    namespaces.erase(std::remove(namespaces.begin(), namespaces.end(), Json{{"type", "network"}}),
                     namespaces.end());
    bundle().config()["linux"]["sysctl"] = {
        {"net.ipv4.ip_forward", trim(host_before) == "1" ? "0" : "1"}};
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_before);
}

}  // namespace
}  // namespace brig::test
