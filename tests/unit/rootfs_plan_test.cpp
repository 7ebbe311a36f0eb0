// The mount plan of prepare_rootfs / enter_rootfs / finalize_rootfs, seen through the
// recording Syscalls on a temporary rootfs: order, flags, data, and refusals of hostile trees.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "rootfs_recording_syscalls.hpp"
#include "runtime/common/error.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/rootfs.hpp"

namespace brig::linux {
namespace {

using testing::Call;
using testing::RecordingSyscalls;
using testing::TempDir;

config::Mount make_mount(std::string dest, std::string type, std::string source,
                         std::vector<std::string> options) {
    config::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
}

class RootfsPlanTest : public ::testing::Test {
protected:
    RootfsPlanTest() : rootfs(host / "rootfs"), sys(rootfs) {
        host.mkdirs("rootfs/proc");
        host.mkdirs("rootfs/sys");
        host.mkdirs("rootfs/dev");
        host.mkdirs("source/dir");
        host.write("source/file", "x");
        spec.root.path = rootfs;
        spec.linux.emplace();
        for (auto t : {config::NamespaceType::mount, config::NamespaceType::pid})
            spec.linux->namespaces.push_back({t, ""});
        sys.fs_types["/sys/fs/cgroup"] = CGROUP2_SUPER_MAGIC;
    }
    void add_namespace(config::NamespaceType t) { spec.linux->namespaces.push_back({t, ""}); }
    RootfsOptions options() const { return RootfsOptions{rootfs, false, false, {}, {}}; }
    std::string prepare_error() {
        try {
            prepare_rootfs(sys, spec, options());
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
    std::vector<Call> mounts_onto(const std::string& target) const {
        std::vector<Call> out;
        for (const Call& c : sys.calls)
            if ((c.op == "mount" || c.op == "setattr") && c.target == target)
                out.push_back(c);
        return out;
    }

    TempDir host;
    std::string rootfs;
    RecordingSyscalls sys;
    config::Spec spec;
};

TEST_F(RootfsPlanTest, PropagationThenRootfsBindThenMountsInOrder) {
    spec.linux->rootfs_propagation = "rslave";
    spec.mounts = {
        make_mount("/proc", "proc", "proc", {}),
        make_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        make_mount("/dev/pts", "devpts", "devpts",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        make_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"})};
    prepare_rootfs(sys, spec, options());
    auto mounts = sys.of("mount");
    ASSERT_GE(mounts.size(), 6u);
    EXPECT_EQ(mounts[0].target, "host:/");
    EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(mounts[1].source, "/");
    EXPECT_EQ(mounts[1].target, "/");
    EXPECT_EQ(mounts[1].flags, static_cast<unsigned long>(MS_BIND | MS_REC));

    EXPECT_EQ(mounts[2].target, "/proc");
    EXPECT_EQ(mounts[2].fstype, "proc");
    EXPECT_EQ(mounts[2].flags, 0u);

    EXPECT_EQ(mounts[3].target, "/dev");
    EXPECT_EQ(mounts[3].fstype, "tmpfs");
    EXPECT_EQ(mounts[3].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
    EXPECT_EQ(mounts[3].data, "mode=755,size=65536k");

    EXPECT_EQ(mounts[4].target, "/dev/pts");
    EXPECT_EQ(mounts[4].fstype, "devpts");
    EXPECT_EQ(mounts[4].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    EXPECT_TRUE(host.exists("rootfs/dev/pts"));

    EXPECT_EQ(mounts[5].target, "/sys");
    EXPECT_EQ(mounts[5].flags,
              static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
}

TEST_F(RootfsPlanTest, MountLabelGoesOnTmpfsDevptsAndMqueueOnly) {
    spec.mounts = {make_mount("/proc", "proc", "proc", {}),
                   make_mount("/dev", "tmpfs", "tmpfs", {"mode=755"}),
                   make_mount("/dev/pts", "devpts", "devpts", {}),
                   make_mount("/dev/mqueue", "mqueue", "mqueue", {}),
                   make_mount("/sys", "sysfs", "sysfs", {"ro"})};
    RootfsOptions opts = options();
    opts.mount_label_option = "context=\"system_u:object_r:container_file_t:s0\"";
    prepare_rootfs(sys, spec, opts);
    std::map<std::string, std::string> data;
    for (const Call& c : sys.of("mount"))
        data[c.target] = c.data;
    EXPECT_EQ(data["/dev"], "mode=755," + opts.mount_label_option);
    EXPECT_EQ(data["/dev/pts"], opts.mount_label_option);
    EXPECT_EQ(data["/dev/mqueue"], opts.mount_label_option);
    EXPECT_EQ(data["/proc"], "");
    EXPECT_EQ(data["/sys"], "");
}

TEST_F(RootfsPlanTest, DefaultPropagationIsRecursiveSlave) {
    prepare_rootfs(sys, spec, options());
    EXPECT_EQ(sys.of("mount").at(0).flags, static_cast<unsigned long>(MS_SLAVE | MS_REC));
}

TEST_F(RootfsPlanTest, SharedPropagationMakesTheRootfsParentPrivate) {
    spec.linux->rootfs_propagation = "rshared";
    sys.files["/proc/self/mountinfo"] =
        "1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n"
        "2 1 0:30 / " +
        host.path() +
        " rw shared:2 - tmpfs tmpfs rw\n"
        "3 1 0:31 / " +
        host.path() + "x rw shared:3 - tmpfs tmpfs rw\n";
    prepare_rootfs(sys, spec, options());
    auto mounts = sys.of("mount");
    ASSERT_GE(mounts.size(), 3u);
    EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_SHARED | MS_REC));
    EXPECT_EQ(mounts[1].target, "host:" + host.path());
    EXPECT_EQ(mounts[1].flags, static_cast<unsigned long>(MS_PRIVATE));
    EXPECT_EQ(mounts[2].flags, static_cast<unsigned long>(MS_BIND | MS_REC));

    sys.calls.clear();
    sys.pivot_root(".", ".");
    finalize_rootfs(sys, spec, options());
    ASSERT_FALSE(sys.of("mount").empty());
    EXPECT_EQ(sys.of("mount")[0].flags, static_cast<unsigned long>(MS_SHARED | MS_REC));
}

// runtime-tools linux_rootfs_propagation: the rootfs is bound while the tree is still bindable,
// and "/" is made unbindable once it is the container's root.
void expect_unbindable_after_pivot(RecordingSyscalls& sys, config::Spec& spec,
                                   const RootfsOptions& options, const char* value) {
    spec.linux->rootfs_propagation = value;
    prepare_rootfs(sys, spec, options);
    auto mounts = sys.of("mount");
    ASSERT_GE(mounts.size(), 2u);
    EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(mounts[1].flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    for (const Call& c : mounts)
        EXPECT_FALSE(c.flags & MS_UNBINDABLE) << "before pivot_root: " << c.target;

    sys.calls.clear();
    sys.pivot_root(".", ".");
    finalize_rootfs(sys, spec, options);
    ASSERT_FALSE(sys.of("mount").empty());
    EXPECT_EQ(sys.of("mount")[0].flags, parse_rootfs_propagation(value));
}

TEST_F(RootfsPlanTest, UnbindablePropagationIsAppliedAfterTheRootfsBind) {
    expect_unbindable_after_pivot(sys, spec, options(), "unbindable");
}

TEST_F(RootfsPlanTest, RecursiveUnbindablePropagationIsAppliedAfterTheRootfsBind) {
    expect_unbindable_after_pivot(sys, spec, options(), "runbindable");
}

TEST_F(RootfsPlanTest, SysfsRefusedFallsBackToTheHostsSys) {
    sys.mount_errno["sysfs"] = EPERM;
    spec.mounts = {make_mount("/sys", "sysfs", "sysfs", {"nosuid", "ro"})};
    prepare_rootfs(sys, spec, options());
    auto calls = mounts_onto("/sys");
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[1].source, "host:/sys");
    EXPECT_EQ(calls[1].flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    EXPECT_EQ(calls[2].attr.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
    EXPECT_EQ(calls[2].flags, static_cast<unsigned long>(AT_EMPTY_PATH | AT_RECURSIVE));
}

TEST_F(RootfsPlanTest, BindMountAppliesFlagsWithSetattrOnTheNewMount) {
    spec.mounts = {make_mount("/data", "bind", host / "source/dir",
                              {"rbind", "ro", "nosuid", "rnodev", "rslave"})};
    prepare_rootfs(sys, spec, options());
    auto calls = mounts_onto("/data");
    ASSERT_EQ(calls.size(), 4u);
    EXPECT_EQ(calls[0].op, "mount");
    EXPECT_EQ(calls[0].source, "host:" + host / "source/dir");
    EXPECT_EQ(calls[0].flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    EXPECT_EQ(calls[1].op, "setattr");  // per-mount flags, not recursive
    EXPECT_EQ(calls[1].flags, static_cast<unsigned long>(AT_EMPTY_PATH));
    EXPECT_EQ(calls[1].attr.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
    EXPECT_EQ(calls[2].attr.propagation, static_cast<uint64_t>(MS_SLAVE));  // rslave
    EXPECT_EQ(calls[2].flags, static_cast<unsigned long>(AT_EMPTY_PATH | AT_RECURSIVE));
    EXPECT_EQ(calls[3].attr.set, static_cast<uint64_t>(MOUNT_ATTR_NODEV));  // rnodev
    EXPECT_EQ(calls[3].flags, static_cast<unsigned long>(AT_EMPTY_PATH | AT_RECURSIVE));
    EXPECT_TRUE(host.exists("rootfs/data"));
}

TEST_F(RootfsPlanTest, IdmappedBindWithItsOwnMappings) {
    config::Mount m = make_mount("/data", "bind", host / "source/dir", {"rbind", "ridmap", "ro"});
    m.uid_mappings = {{0, 1000, 1}};
    m.gid_mappings = {{0, 2000, 1}};
    spec.mounts = {m};
    prepare_rootfs(sys, spec, options());
    std::vector<std::string> ops;
    for (const Call& c : sys.calls)
        if (c.op == "userns" || c.op == "open_tree" || c.op == "move_mount" ||
            (c.op == "setattr" && c.target != "/"))
            ops.push_back(c.op);
    EXPECT_EQ(
        ops, (std::vector<std::string>{"userns", "open_tree", "setattr", "move_mount", "setattr"}));
    EXPECT_EQ(sys.of("userns").at(0).data, "0:1000:1 / 0:2000:1 ");
    EXPECT_EQ(sys.of("open_tree").at(0).source, "host:" + host / "source/dir");
    EXPECT_EQ(sys.of("open_tree").at(0).flags,
              static_cast<unsigned long>(OPEN_TREE_CLONE | AT_EMPTY_PATH | AT_RECURSIVE));
    Call idmap = sys.of("setattr").at(0);
    EXPECT_EQ(idmap.attr.set, static_cast<uint64_t>(MOUNT_ATTR_IDMAP));
    EXPECT_GE(idmap.attr.userns_fd, 0);
    EXPECT_EQ(idmap.flags, static_cast<unsigned long>(AT_EMPTY_PATH | AT_RECURSIVE));
    EXPECT_EQ(sys.of("move_mount").at(0).target, "/data");
    EXPECT_EQ(sys.of("setattr").at(1).attr.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
    EXPECT_TRUE(sys.of("mount").size() == 2u);  // propagation and rootfs bind only
}

TEST_F(RootfsPlanTest, IdmapInAUserNamespace) {
    add_namespace(config::NamespaceType::user);
    spec.linux->uid_mappings = {{0, 100000, 65536}};
    spec.linux->gid_mappings = {{0, 100000, 65536}};
    config::Mount m = make_mount("/data", "bind", host / "source/dir", {"bind", "idmap"});
    spec.mounts = {m};
    prepare_rootfs(sys, spec, options());
    EXPECT_EQ(sys.of("own_userns").size(), 1u);  // no mappings: the container's own

    RecordingSyscalls mapped(rootfs);
    m.uid_mappings = {{0, 101000, 10}};
    m.gid_mappings = {{0, 100000, 1}};
    spec.mounts = {m};
    prepare_rootfs(mapped, spec, options());
    EXPECT_EQ(mapped.of("userns").at(0).data, "0:1000:10 / 0:0:1 ");  // host ids as seen inside

    RecordingSyscalls unmapped(rootfs);
    m.uid_mappings = {{0, 5, 1}};
    spec.mounts = {m};
    try {
        prepare_rootfs(unmapped, spec, options());
        FAIL() << "an id outside the container's mappings was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("idmap: uid 5 is not mapped"), std::string::npos)
            << e.what();
    }
}

TEST_F(RootfsPlanTest, IdmapNeedsABindMountAndMappings) {
    spec.mounts = {make_mount("/t", "tmpfs", "tmpfs", {"idmap"})};
    EXPECT_NE(prepare_error().find("bind mounts only"), std::string::npos);
    spec.mounts = {make_mount("/data", "bind", host / "source/dir", {"bind", "idmap"})};
    EXPECT_NE(prepare_error().find("idmap needs uidMappings"), std::string::npos);
}

TEST_F(RootfsPlanTest, FileBindSourceCreatesAFileTarget) {
    spec.mounts = {make_mount("/etc/resolv.conf", "none", host / "source/file", {"bind"})};
    prepare_rootfs(sys, spec, options());
    EXPECT_TRUE(std::filesystem::is_regular_file(host / "rootfs/etc/resolv.conf"));
    ASSERT_EQ(mounts_onto("/etc/resolv.conf").size(), 1u);
}

TEST_F(RootfsPlanTest, MissingBindSourceNamesTheMount) {
    spec.mounts = {make_mount("/proc", "proc", "proc", {}), make_mount("/tmp", "tmpfs", "", {}),
                   make_mount("/run", "tmpfs", "tmpfs", {}),
                   make_mount("/data", "none", "/nonexistent/x", {"bind"})};
    EXPECT_EQ(prepare_error(),
              "mounts[3] (/data): bind source /nonexistent/x: No such file or directory");
    EXPECT_FALSE(host.exists("rootfs/data"));
}

TEST_F(RootfsPlanTest, SymlinkedProcIsRefused) {  // escape class 3
    std::filesystem::remove(host / "rootfs/proc");
    host.symlink("/etc", "rootfs/proc");
    spec.mounts = {make_mount("/proc", "proc", "proc", {})};
    std::string error = prepare_error();
    EXPECT_NE(error.find("mounts[0] (/proc): proc must be mounted on ordinary directory: /proc is "
                         "or passes through a symlink, refusing"),
              std::string::npos)
        << error;
    EXPECT_TRUE(mounts_onto("/proc").empty());
    EXPECT_TRUE(mounts_onto("host:/etc").empty());
}

TEST_F(RootfsPlanTest, SymlinkedSysIsRefused) {  // escape class 3
    std::filesystem::remove(host / "rootfs/sys");
    host.symlink("../../../sys", "rootfs/sys");
    spec.mounts = {make_mount("/sys", "sysfs", "sysfs", {"ro"})};
    EXPECT_NE(prepare_error().find("symlink, refusing"), std::string::npos);
    EXPECT_EQ(sys.of("mount").size(), 2u);  // propagation and the rootfs bind only
}

TEST_F(RootfsPlanTest, ProcTypeOnlyOnProcAndNothingOverProcFiles) {
    spec.mounts = {make_mount("/elsewhere", "proc", "proc", {})};
    EXPECT_NE(prepare_error().find("proc may only be mounted on /proc"), std::string::npos);
    sys.calls.clear();
    spec.mounts = {
        make_mount("/proc/sys/kernel/core_pattern", "bind", host / "source/file", {"bind"})};
    EXPECT_NE(prepare_error().find("not allowed"), std::string::npos);
}

TEST_F(RootfsPlanTest, MountThroughSymlinkLandsInsideTheRoot) {  // escape class 4
    host.mkdirs("victim");
    host.symlink(host / "victim", "rootfs/escape");         // absolute host path
    host.symlink("../../../../../../victim", "rootfs/up");  // relative climb
    spec.mounts = {make_mount("/escape/a", "tmpfs", "tmpfs", {}),
                   make_mount("/up/b", "bind", host / "source/dir", {"bind"})};
    prepare_rootfs(sys, spec, options());
    EXPECT_FALSE(host.exists("victim/a"));
    EXPECT_FALSE(host.exists("victim/b"));
    EXPECT_EQ(mounts_onto(host.path() + "/victim/a").size(), 1u);  // inside: rootfs/<host>/victim/a
    EXPECT_EQ(mounts_onto("/victim/b").size(), 1u);
    for (const Call& c : sys.of("mount"))
        EXPECT_EQ(c.target.rfind("host:", 0) == 0, c.target == "host:/") << c.target;
}

TEST_F(RootfsPlanTest, SymlinkedDevIsRefused) {  // escape class 8
    std::filesystem::remove(host / "rootfs/dev");
    host.mkdirs("hostdev");
    host.symlink(host / "hostdev", "rootfs/dev");
    std::string error = prepare_error();
    EXPECT_NE(error.find("/dev is or passes through a symlink, refusing"), std::string::npos)
        << error;
    EXPECT_TRUE(sys.of("mknod").empty());
    EXPECT_TRUE(std::filesystem::is_empty(host / "hostdev"));

    spec.mounts = {make_mount("/dev/shm", "tmpfs", "shm", {})};
    EXPECT_NE(prepare_error().find("mounts[0] (/dev/shm): /dev is or passes through a symlink"),
              std::string::npos);
}

TEST_F(RootfsPlanTest, DefaultDevicesLinksAndConsole) {
    host.symlink("/proc/sys/kernel/core_pattern", "rootfs/dev/console");  // escape class 6
    host.symlink("/proc/sys/kernel/core_pattern", "rootfs/dev/null");     // escape class 5
    RootfsOptions opts = options();
    opts.terminal = true;
    prepare_rootfs(sys, spec, opts);
    std::map<std::string, Call> nodes;
    for (const Call& c : sys.of("mknod"))
        nodes[c.target] = c;
    ASSERT_EQ(nodes.size(), 6u);
    EXPECT_EQ(nodes["/dev/null"].data, "1:3");
    EXPECT_EQ(nodes["/dev/zero"].data, "1:5");
    EXPECT_EQ(nodes["/dev/full"].data, "1:7");
    EXPECT_EQ(nodes["/dev/random"].data, "1:8");
    EXPECT_EQ(nodes["/dev/urandom"].data, "1:9");
    EXPECT_EQ(nodes["/dev/tty"].data, "5:0");
    EXPECT_EQ(nodes["/dev/null"].flags & S_IFMT, static_cast<unsigned long>(S_IFCHR));
    for (const Call& c : sys.of("chmod"))
        EXPECT_EQ(c.flags, 0666u) << c.target;
    EXPECT_EQ(sys.of("chown").size(), 6u);

    std::map<std::string, std::string> links;
    for (const Call& c : sys.of("symlink"))
        links[c.target] = c.source;
    EXPECT_EQ(links["/dev/fd"], "/proc/self/fd");
    EXPECT_EQ(links["/dev/stdin"], "/proc/self/fd/0");
    EXPECT_EQ(links["/dev/stdout"], "/proc/self/fd/1");
    EXPECT_EQ(links["/dev/stderr"], "/proc/self/fd/2");
    EXPECT_EQ(links["/dev/ptmx"], "pts/ptmx");
    EXPECT_EQ(links["/dev/core"], "/proc/kcore");
    EXPECT_TRUE(std::filesystem::is_regular_file(
        std::filesystem::symlink_status(host / "rootfs/dev/console")));
}

TEST_F(RootfsPlanTest, NoCoreLinkWithoutHostKcoreAndNoConsoleWithoutTerminal) {
    sys.missing_host_paths.insert("/proc/kcore");
    prepare_rootfs(sys, spec, options());
    for (const Call& c : sys.of("symlink"))
        EXPECT_NE(c.target, "/dev/core");
    EXPECT_FALSE(host.exists("rootfs/dev/console"));
}

TEST_F(RootfsPlanTest, ConfiguredDevicesAndUserNamespaceFallback) {
    config::Device fuse;
    fuse.type = 'c';
    fuse.path = "/dev/fuse";
    fuse.major = 10;
    fuse.minor = 229;
    fuse.file_mode = 0600;
    fuse.uid = 1000;
    fuse.gid = 1000;
    spec.linux->devices = {fuse};
    prepare_rootfs(sys, spec, options());
    bool found = false;
    for (const Call& c : sys.of("mknod"))
        found |= c.target == "/dev/fuse" && c.data == "10:229" && (c.flags & 07777) == 0600;
    EXPECT_TRUE(found);
    bool owned = false;
    for (const Call& c : sys.of("chown"))
        owned |= c.target == "/dev/fuse" && c.data == "1000:1000";
    EXPECT_TRUE(owned);

    // Without CAP_MKNOD the host's node is bind-mounted onto an empty file.
    RecordingSyscalls userns(rootfs);
    userns.mknod_errno = EPERM;
    std::filesystem::remove_all(host / "rootfs/dev");
    host.mkdirs("rootfs/dev");
    spec.linux->devices.clear();
    prepare_rootfs(userns, spec, options());
    std::vector<std::string> bound;
    for (const Call& c : userns.of("mount"))
        if (c.flags == MS_BIND)
            bound.push_back(c.source + " -> " + c.target);
    EXPECT_NE(std::find(bound.begin(), bound.end(), "host:/dev/null -> /dev/null"), bound.end());
    EXPECT_EQ(bound.size(), 6u);
}

TEST_F(RootfsPlanTest, DevBindFromHostSkipsDeviceSetup) {
    spec.mounts = {make_mount("/dev", "bind", host / "source/dir", {"rbind"})};
    prepare_rootfs(sys, spec, options());
    EXPECT_TRUE(sys.of("mknod").empty());
}

TEST_F(RootfsPlanTest, Cgroup2HostMountsCgroup2) {
    spec.mounts = {make_mount("/sys", "sysfs", "sysfs", {"ro"}),
                   make_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid"})};
    host.mkdirs("rootfs/sys/fs/cgroup");
    prepare_rootfs(sys, spec, options());
    auto calls = mounts_onto("/sys/fs/cgroup");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].fstype, "cgroup2");
    EXPECT_EQ(calls[0].flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
}

TEST_F(RootfsPlanTest, CgroupV1HostBindsTheContainersHierarchies) {
    sys.fs_types["/sys/fs/cgroup"] = TMPFS_MAGIC;
    sys.files["/proc/self/mountinfo"] =
        "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
        "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n";
    sys.files["/proc/self/cgroup"] = "4:memory:/brig/c1\n3:cpu,cpuacct:/brig/c1\n0::/brig/c1\n";
    host.mkdirs("rootfs/sys/fs/cgroup");
    spec.mounts = {make_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid"})};
    std::string error = prepare_error();
    // The host paths /sys/fs/cgroup/<h>/brig/c1 do not exist here: each hierarchy is skipped.
    EXPECT_EQ(error, "");
    auto calls = mounts_onto("/sys/fs/cgroup");
    ASSERT_GE(calls.size(), 2u);
    EXPECT_EQ(calls[0].fstype, "tmpfs");
    EXPECT_EQ(calls[0].data, "mode=755");
    EXPECT_EQ(calls.back().op, "setattr");  // read-only once filled
    EXPECT_EQ(calls.back().attr.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));

    // With a cgroup namespace each hierarchy is mounted fresh, symlinks for joint controllers.
    RecordingSyscalls cgns(rootfs);
    cgns.fs_types = sys.fs_types;
    cgns.files = sys.files;
    add_namespace(config::NamespaceType::cgroup);
    prepare_rootfs(cgns, spec, options());
    std::map<std::string, Call> by_target;
    for (const Call& c : cgns.of("mount"))
        by_target[c.target] = c;
    EXPECT_EQ(by_target["/sys/fs/cgroup/memory"].data, "memory");
    EXPECT_EQ(by_target["/sys/fs/cgroup/cpu,cpuacct"].data, "cpu,cpuacct");
    EXPECT_EQ(by_target["/sys/fs/cgroup/cpu,cpuacct"].fstype, "cgroup");
    EXPECT_EQ(by_target["/sys/fs/cgroup/unified"].fstype, "cgroup2");
    std::map<std::string, std::string> links;
    for (const Call& c : cgns.of("symlink"))
        links[c.target] = c.source;
    EXPECT_EQ(links["/sys/fs/cgroup/cpu"], "cpu,cpuacct");
    EXPECT_EQ(links["/sys/fs/cgroup/cpuacct"], "cpu,cpuacct");
}

TEST_F(RootfsPlanTest, PivotRootSequence) {
    enter_rootfs(sys, options());
    std::vector<std::string> ops;
    for (const Call& c : sys.calls)
        ops.push_back(c.op + " " + c.target);
    EXPECT_EQ(ops, (std::vector<std::string>{"fchdir /", "pivot_root .", "fchdir host:/",
                                             "mount host:.", "umount2 host:.", "chdir host:/"}));
    EXPECT_EQ(sys.of("umount2").at(0).flags, static_cast<unsigned long>(MNT_DETACH));
}

TEST_F(RootfsPlanTest, FailingPivotRootNamesTheRootAndTheWayOut) {
    sys.pivot_errno = EBUSY;
    try {
        enter_rootfs(sys, options());
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "root.path: cannot make " + rootfs +
                      " the container's root with pivot_root (--no-pivot does without): " +
                      Error::errno_text(EBUSY));
        EXPECT_EQ(e.errnum(), EBUSY);
    }
}

// A destination too long for the kernel fails on one short line, not echoed whole (5 KB).
TEST_F(RootfsPlanTest, TooLongDestinationFailsOnAShortLine) {
    std::string dest;
    for (int i = 0; i < 20; ++i)
        dest += "/" + std::string(250, 'd');
    spec.mounts = {make_mount(dest, "tmpfs", "tmpfs", {})};
    const std::string error = prepare_error();
    EXPECT_EQ(error.rfind("mounts[0] (/ddd", 0), 0u) << error;
    EXPECT_LT(error.size(), 500u) << error;
    const std::string errno_text = Error::errno_text(ENAMETOOLONG);
    EXPECT_TRUE(error.ends_with(": " + errno_text)) << error;
    EXPECT_FALSE(error.ends_with(errno_text + ": " + errno_text)) << error;
}

TEST_F(RootfsPlanTest, NoPivotMovesAndChroots) {
    sys.files["/proc/self/mountinfo"] = "1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n";
    RootfsOptions opts = options();
    opts.no_pivot = true;
    enter_rootfs(sys, opts);
    auto mounts = sys.of("mount");
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_MOVE));
    EXPECT_EQ(sys.of("chroot").size(), 1u);
    EXPECT_TRUE(sys.of("umount2").empty());
}

// The host's full proc and sysfs mounts would let a user namespace inside mount an unmasked
// proc: detached first (the container's own, partial ones and other types stay).
TEST_F(RootfsPlanTest, NoPivotDetachesTheHostsProcAndSysfs) {
    sys.files["/proc/self/mountinfo"] =
        "1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n"
        "2 1 0:5 / /proc rw shared:2 - proc proc rw\n"
        "3 1 0:6 / /sys rw shared:3 - sysfs sysfs rw\n"
        "4 3 0:7 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw\n"
        "5 1 0:5 /sys /srv/procsys ro shared:5 - proc proc rw\n"
        "6 1 0:8 / " +
        rootfs + "/proc rw - proc proc rw\n";
    RootfsOptions opts = options();
    opts.no_pivot = true;
    enter_rootfs(sys, opts);
    std::vector<std::string> detached;
    for (const auto& call : sys.of("umount2")) {
        detached.push_back(call.target);
        EXPECT_EQ(call.flags, static_cast<unsigned long>(MNT_DETACH));
    }
    EXPECT_EQ(detached, (std::vector<std::string>{"host:/proc", "host:/sys"}));
    auto mounts = sys.of("mount");
    ASSERT_EQ(mounts.size(), 3u);
    EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(mounts[2].flags, static_cast<unsigned long>(MS_MOVE));
}

class FinalizeTest : public RootfsPlanTest {
protected:
    void pivot() {
        sys.pivot_root(".", ".");
        sys.calls.clear();
    }
    std::string finalize_error() {
        try {
            finalize_rootfs(sys, spec, options());
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
};

TEST_F(FinalizeTest, MasksFilesWithVerifiedNullAndDirsWithTmpfs) {
    host.write("rootfs/proc/kcore", "");
    host.mkdirs("rootfs/proc/acpi");
    sys.fake_node("/dev/null", S_IFCHR, makedev(1, 3));
    spec.linux->masked_paths = {"/proc/kcore", "/proc/acpi", "/proc/does-not-exist"};
    pivot();
    finalize_rootfs(sys, spec, options());
    auto kcore = mounts_onto("/proc/kcore");
    ASSERT_EQ(kcore.size(), 1u);
    EXPECT_EQ(kcore[0].source, "/dev/null");
    EXPECT_EQ(kcore[0].flags, static_cast<unsigned long>(MS_BIND));
    auto acpi = mounts_onto("/proc/acpi");
    ASSERT_EQ(acpi.size(), 1u);
    EXPECT_EQ(acpi[0].fstype, "tmpfs");
    EXPECT_EQ(acpi[0].flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(sys.of("mount").size(), 2u);
}

TEST_F(FinalizeTest, NullThatIsASymlinkIsRefused) {  // escape class 5
    host.write("rootfs/proc/sys/kernel/core_pattern", "");
    host.write("rootfs/proc/kcore", "");
    host.symlink("/proc/sys/kernel/core_pattern", "rootfs/dev/null");
    spec.linux->masked_paths = {"/proc/kcore"};
    pivot();
    EXPECT_NE(finalize_error().find(
                  "linux.maskedPaths[0] (/proc/kcore): /dev/null is or passes through a symlink"),
              std::string::npos);
    EXPECT_TRUE(sys.of("mount").empty());
}

TEST_F(FinalizeTest, NullThatIsNotCharOneThreeIsRefused) {  // escape class 5
    host.write("rootfs/proc/kcore", "");
    sys.fake_node("/dev/null", S_IFCHR, makedev(1, 5));
    spec.linux->masked_paths = {"/proc/kcore"};
    pivot();
    EXPECT_NE(finalize_error().find("not the null device (char 1:3)"), std::string::npos);
    EXPECT_TRUE(sys.of("mount").empty());
}

TEST_F(FinalizeTest, ReadonlyPathsRootReadonlyAndNames) {
    host.mkdirs("rootfs/proc/sys");
    spec.linux->readonly_paths = {"/proc/sys", "/proc/absent"};
    spec.root.readonly = true;
    spec.hostname = "box";
    spec.domainname = "example.org";
    add_namespace(config::NamespaceType::uts);
    pivot();
    finalize_rootfs(sys, spec, options());
    auto ro = mounts_onto("/proc/sys");
    ASSERT_EQ(ro.size(), 2u);
    EXPECT_EQ(ro[0].flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    EXPECT_EQ(ro[1].op, "setattr");
    EXPECT_EQ(ro[1].attr.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
    EXPECT_EQ(ro[1].flags, static_cast<unsigned long>(AT_EMPTY_PATH | AT_RECURSIVE));
    auto root = mounts_onto("/");
    ASSERT_EQ(root.size(), 1u);
    EXPECT_EQ(root[0].attr.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
    EXPECT_EQ(root[0].flags, static_cast<unsigned long>(AT_EMPTY_PATH));
    EXPECT_EQ(sys.of("sethostname").at(0).data, "box");
    EXPECT_EQ(sys.of("setdomainname").at(0).data, "example.org");
}

TEST_F(FinalizeTest, HostnameWithoutUtsNamespaceIsRefused) {
    spec.hostname = "box";
    pivot();
    EXPECT_NE(finalize_error().find("hostname: the container has no uts namespace"),
              std::string::npos);
    EXPECT_TRUE(sys.of("sethostname").empty());
}

TEST_F(FinalizeTest, SysctlsWrittenWhenNamespaced) {
    add_namespace(config::NamespaceType::network);
    add_namespace(config::NamespaceType::ipc);
    spec.linux->sysctl = {{"net.ipv4.ip_forward", "1"},
                          {"kernel.shmmax", "65536"},
                          {"fs.mqueue.queues_max", "64"},
                          {"net/ipv4/conf/eth0.1/rp_filter", "0"}};
    pivot();
    finalize_rootfs(sys, spec, options());
    std::map<std::string, std::string> written;
    for (const Call& c : sys.of("sysctl"))
        written[c.target] = c.data;
    EXPECT_EQ(written,
              (std::map<std::string, std::string>{{"net/ipv4/ip_forward", "1"},
                                                  {"kernel/shmmax", "65536"},
                                                  {"fs/mqueue/queues_max", "64"},
                                                  {"net/ipv4/conf/eth0.1/rp_filter", "0"}}));
}

TEST_F(FinalizeTest, SysctlRefusals) {  // escape class 7
    struct Case {
        const char* key;
        const char* error;
    };
    add_namespace(config::NamespaceType::uts);
    for (const Case& c : {
             Case{"kernel.core_pattern",
                  "linux.sysctl[\"kernel.core_pattern\"]: not namespaced, refusing"},
             Case{"net.ipv4.ip_forward",
                  "linux.sysctl[\"net.ipv4.ip_forward\"]: the container "
                  "has no network namespace of its own, refusing"},
             Case{"kernel.shmmax", "no ipc namespace"},
             Case{"net/../kernel/core_pattern", "invalid sysctl key"},
             Case{"net.ipv4..ip_forward", "invalid sysctl key"},
             Case{"/net/ipv4/ip_forward", "invalid sysctl key"},
             Case{"net.", "invalid sysctl key"},
             Case{"kernel.hostname.", "invalid sysctl key"},
         }) {
        spec.linux->sysctl = {{c.key, "1"}};
        sys.calls.clear();
        std::string error = finalize_error();
        EXPECT_NE(error.find(c.error), std::string::npos) << c.key << ": " << error;
        EXPECT_TRUE(sys.of("sysctl").empty()) << c.key;
    }
    spec.linux->sysctl = {{"kernel.hostname", "x"}};
    EXPECT_EQ(finalize_error(), "");
}

}  // namespace
}  // namespace brig::linux
