// The rootfs library for real, as root: a forked child unshares its mount (and uts, ipc, net)
// namespaces, builds a busybox rootfs with RealSyscalls, pivots into it and checks from inside;
// the parent checks that nothing reached the host. Skipped when not root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <unistd.h>
#include <csignal>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rootfs_recording_syscalls.hpp"
#include "runtime/common/error.hpp"
#include "runtime/linux/rootfs.hpp"

namespace brig::linux {
namespace {

using testing::TempDir;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

config::Mount make_mount(std::string dest, std::string type, std::string source,
                         std::vector<std::string> options) {
    config::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
}

// Runs body in a forked child with fresh namespaces; returns what it reported ("" = all good).
template <typename Body>
std::string in_child(int unshare_flags, Body body) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
        throw_errno("pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(report[0]);
        std::string failures;
        try {
            if (::unshare(unshare_flags) != 0)
                throw_errno("unshare");
            failures = body();
        } catch (const std::exception& e) {
            failures = std::string("exception: ") + e.what();
        }
        (void)!::write(report[1], failures.data(), failures.size());
        ::_exit(0);
    }
    ::close(report[1]);
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(report[0], buf, sizeof buf)) > 0)
        text.append(buf, static_cast<size_t>(n));
    ::close(report[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        text += "child died";
    return text;
}

class RootfsLiveTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root (mount namespaces, mknod, pivot_root)";
        if (!std::filesystem::exists("/bin/busybox"))
            GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
        for (const char* dir : {"rootfs/bin", "rootfs/proc", "rootfs/sys", "rootfs/dev",
                                "rootfs/etc", "rootfs/tmp", "shared"})
            host.mkdirs(dir);
        std::filesystem::copy_file("/bin/busybox", host / "rootfs/bin/busybox");
        host.write("shared/hello", "hi");
        rootfs = host / "rootfs";
        spec.root.path = rootfs;
        spec.linux.emplace();
        for (auto t : {config::NamespaceType::mount, config::NamespaceType::uts,
                       config::NamespaceType::ipc, config::NamespaceType::network})
            spec.linux->namespaces.push_back({t, ""});
        host_mountinfo_before = mount_lines_about(host.path());
    }
    // Lines of the host's mount table that mention path: what a leak would add.
    std::string mount_lines_about(const std::string& path) {
        std::string lines, line;
        std::istringstream in(read_file("/proc/self/mountinfo"));
        while (std::getline(in, line))
            if (line.find(path) != std::string::npos)
                lines += line + "\n";
        return lines;
    }

    TempDir host;
    std::string rootfs;
    config::Spec spec;
    std::string host_mountinfo_before;
};

TEST_F(RootfsLiveTest, FullRootfsWorksAndNothingLeaks) {
    spec.hostname = "brigtest";
    spec.root.readonly = true;
    spec.mounts = {
        make_mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        make_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        make_mount("/dev/pts", "devpts", "devpts",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
        make_mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777"}),
        make_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        make_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        make_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "ro"}),
        make_mount("/data", "bind", host / "shared", {"rbind", "ro"}),
        make_mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "size=1m"}),
    };
    spec.linux->masked_paths = {"/proc/kcore", "/proc/acpi", "/proc/timer_list", "/proc/nothing"};
    spec.linux->readonly_paths = {"/proc/sys", "/proc/sysrq-trigger"};
    spec.linux->sysctl = {{"net.ipv4.ip_forward", "1"}};
    const std::string host_hostname = read_file("/proc/sys/kernel/hostname");
    const std::string host_forward = read_file("/proc/sys/net/ipv4/ip_forward");

    std::string failures = in_child(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET, [&] {
        RealSyscalls sys;
        RootfsOptions options{rootfs, false, true, {}, {}};
        prepare_rootfs(sys, spec, options);
        enter_rootfs(sys, options);
        finalize_rootfs(sys, spec, options);
        std::string f;
        auto expect = [&](bool ok, const std::string& what) {
            if (!ok)
                f += what + " (errno " + std::strerror(errno) + ")\n";
        };
        char name[64] = {};
        ::gethostname(name, sizeof name);
        expect(std::string(name) == "brigtest", "hostname");
        expect(::access("/bin/busybox", X_OK) == 0, "busybox inside");
        expect(!std::filesystem::exists(host.path()), "host tmp dir visible inside");
        struct stat st {};
        expect(::lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) &&
                   st.st_rdev == makedev(1, 3) && (st.st_mode & 0777) == 0666,
               "/dev/null");
        expect(::lstat("/dev/tty", &st) == 0 && st.st_rdev == makedev(5, 0), "/dev/tty");
        expect(std::filesystem::read_symlink("/dev/ptmx") == "pts/ptmx", "/dev/ptmx link");
        expect(std::filesystem::read_symlink("/dev/fd") == "/proc/self/fd", "/dev/fd link");
        expect(::lstat("/dev/console", &st) == 0 && S_ISREG(st.st_mode), "/dev/console file");
        int ptmx = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        expect(ptmx >= 0, "open /dev/ptmx (devpts newinstance)");
        ::close(ptmx);
        expect(read_file("/data/hello") == "hi", "bind mount content");
        expect(::open("/data/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0 && errno == EROFS,
               "bind mount read-only");
        expect(::open("/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0 && errno == EROFS,
               "root read-only");
        int tmp = ::open("/tmp/x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        expect(tmp >= 0, "tmpfs /tmp writable");
        ::close(tmp);
        expect(!std::filesystem::exists("/proc/kcore") || read_file("/proc/kcore").empty(),
               "/proc/kcore masked");
        expect(::lstat("/proc/timer_list", &st) == 0 && S_ISCHR(st.st_mode),
               "/proc/timer_list masked with /dev/null");
        expect(::open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS,
               "/proc/sys read-only");
        expect(read_file("/proc/sys/net/ipv4/ip_forward") == "1\n", "sysctl written");
        expect(::mkdir("/sys/x", 0755) < 0, "/sys read-only");
        expect(::access("/sys/fs/cgroup", F_OK) == 0, "/sys/fs/cgroup present");
        expect(::mkdir("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS, "/sys/fs/cgroup read-only");
        expect(::access("/dev/mqueue", F_OK) == 0 && ::access("/dev/shm", W_OK) == 0,
               "/dev/mqueue and /dev/shm");
        return f;
    });
    EXPECT_EQ(failures, "");
    EXPECT_EQ(mount_lines_about(host.path()), host_mountinfo_before);
    EXPECT_EQ(read_file("/proc/sys/kernel/hostname"), host_hostname);
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_forward);
    EXPECT_FALSE(host.exists("rootfs/new"));
}

TEST_F(RootfsLiveTest, SymlinkedProcPointingAtHostIsRefused) {  // escape class 3
    std::filesystem::remove(host / "rootfs/proc");
    host.mkdirs("victim");
    host.symlink(host / "victim", "rootfs/proc");
    spec.mounts = {make_mount("/proc", "proc", "proc", {})};
    std::string failures = in_child(CLONE_NEWNS, [&] {
        RealSyscalls sys;
        try {
            prepare_rootfs(sys, spec, RootfsOptions{rootfs, false, false, {}, {}});
        } catch (const Error& e) {
            return std::string(e.what()).find("symlink, refusing") == std::string::npos
                       ? std::string("wrong error: ") + e.what()
                       : std::string();
        }
        return std::string("accepted");
    });
    EXPECT_EQ(failures, "");
    EXPECT_TRUE(std::filesystem::is_empty(host / "victim"));
    EXPECT_EQ(mount_lines_about(host.path()), host_mountinfo_before);
}

TEST_F(RootfsLiveTest, MountDestinationsThroughSymlinksStayInside) {  // escape class 4
    host.mkdirs("victim");
    host.symlink(host / "victim", "rootfs/abs");
    host.symlink("../../../../../../../../" + host.path() + "/victim", "rootfs/rel");
    spec.mounts = {make_mount("/abs/x", "tmpfs", "tmpfs", {}),
                   make_mount("/rel/y", "bind", host / "shared", {"bind"})};
    std::string failures = in_child(CLONE_NEWNS, [&] {
        RealSyscalls sys;
        prepare_rootfs(sys, spec, RootfsOptions{rootfs, false, false, {}, {}});
        std::string f;
        if (!std::filesystem::exists(rootfs + host.path() + "/victim/x"))
            f += "tmpfs target not created inside\n";
        if (read_file(rootfs + host.path() + "/victim/y/hello") != "hi")
            f += "bind did not land inside\n";
        if (std::filesystem::exists(host / "victim/x") ||
            std::filesystem::exists(host / "victim/y"))
            f += "created outside the rootfs\n";
        return f;
    });
    EXPECT_EQ(failures, "");
    EXPECT_TRUE(std::filesystem::is_empty(host / "victim"));
    EXPECT_EQ(mount_lines_about(host.path()), host_mountinfo_before);
}

// CVE-2021-30465: a directory on the mount path swapped with a symlink to the host while the
// mounts are made. Whatever wins each race, no mount and no file may appear outside.
TEST_F(RootfsLiveTest, MountPathSwappedWithASymlinkNeverLeavesTheRoot) {  // escape class 4
    host.mkdirs("victim");
    host.mkdirs("rootfs/a");
    host.symlink(host / "victim", "rootfs/b");
    for (int i = 0; i < 16; ++i)
        spec.mounts.push_back(make_mount("/a/m" + std::to_string(i), "tmpfs", "tmpfs", {}));
    spec.mounts.push_back(make_mount("/a/file", "bind", host / "shared/hello", {"bind"}));

    pid_t swapper = ::fork();
    ASSERT_GE(swapper, 0);
    if (swapper == 0) {
        const std::string a = host / "rootfs/a", b = host / "rootfs/b";
        for (;;)
            ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE);
    }
    std::string failures;
    for (int round = 0; round < 30; ++round) {
        failures += in_child(CLONE_NEWNS, [&] {
            RealSyscalls sys;
            try {
                prepare_rootfs(sys, spec, RootfsOptions{rootfs, false, false, {}, {}});
            } catch (const Error&) {
                // Refusing is fine; landing outside is not.
            }
            std::string lines = read_file("/proc/self/mountinfo");
            std::string outside = " " + host.path() + "/victim";
            return lines.find(outside) == std::string::npos ? std::string()
                                                            : "a mount landed in the victim\n";
        });
    }
    ::kill(swapper, SIGKILL);
    ::waitpid(swapper, nullptr, 0);
    EXPECT_EQ(failures, "");
    EXPECT_TRUE(std::filesystem::is_empty(host / "victim"));
    EXPECT_EQ(mount_lines_about(host.path()), host_mountinfo_before);
}

TEST_F(RootfsLiveTest, DevNullSymlinkToCorePatternIsNotUsedForMasking) {  // escape class 5
    const std::string core_pattern = read_file("/proc/sys/kernel/core_pattern");
    spec.mounts = {make_mount("/proc", "proc", "proc", {})};
    spec.linux->masked_paths = {"/proc/timer_list"};
    std::string failures = in_child(CLONE_NEWNS, [&] {
        RealSyscalls sys;
        RootfsOptions options{rootfs, false, false, {}, {}};
        prepare_rootfs(sys, spec, options);
        // What a hostile image or a racing process would leave: /dev/null -> core_pattern.
        ::unlink((rootfs + "/dev/null").c_str());
        if (::symlink("/proc/sys/kernel/core_pattern", (rootfs + "/dev/null").c_str()) != 0)
            return std::string("cannot plant the symlink");
        enter_rootfs(sys, options);
        try {
            finalize_rootfs(sys, spec, options);
        } catch (const Error& e) {
            return std::string(e.what()).find("/dev/null is or passes through a symlink") ==
                           std::string::npos
                       ? std::string("wrong error: ") + e.what()
                       : std::string();
        }
        return std::string("masking accepted a symlinked /dev/null");
    });
    EXPECT_EQ(failures, "");
    EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), core_pattern);
}

TEST_F(RootfsLiveTest, IdmappedBindMountShowsMappedOwners) {
    host.write("shared/owned", "x");
    ASSERT_EQ(::chown((host / "shared/owned").c_str(), 1000, 2000), 0);
    config::Mount m = make_mount("/data", "bind", host / "shared", {"bind", "idmap"});
    // containerID is the id on disk, hostID the id the mount shows (runc's reading).
    m.uid_mappings = {{1000, 0, 1}};
    m.gid_mappings = {{2000, 0, 1}};
    spec.mounts = {m};
    std::string failures = in_child(CLONE_NEWNS, [&] {
        RealSyscalls sys;
        try {
            prepare_rootfs(sys, spec, RootfsOptions{rootfs, false, false, {}, {}});
        } catch (const Error& e) {
            if (e.errnum() == EINVAL ||
                std::string(e.what()).find("Invalid argument") != std::string::npos)
                return std::string("SKIP: ") + e.what();
            throw;
        }
        struct stat st {};
        if (::stat((rootfs + "/data/owned").c_str(), &st) != 0)
            return std::string("cannot stat the file through the idmapped mount");
        if (st.st_uid != 0 || st.st_gid != 0)
            return "owner " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
                   " instead of 0:0";
        return std::string();
    });
    if (failures.rfind("SKIP: ", 0) == 0)
        GTEST_SKIP() << "the file system of " << host.path()
                     << " has no idmapped mounts: " << failures;
    EXPECT_EQ(failures, "");
    EXPECT_EQ(mount_lines_about(host.path()), host_mountinfo_before);
}

TEST_F(RootfsLiveTest, NoPivotChrootsIntoTheRootfs) {
    spec.mounts = {make_mount("/proc", "proc", "proc", {})};
    std::string failures = in_child(CLONE_NEWNS, [&] {
        RealSyscalls sys;
        RootfsOptions options{rootfs, true, false, {}, {}};
        prepare_rootfs(sys, spec, options);
        enter_rootfs(sys, options);
        std::string f;
        if (::access("/bin/busybox", X_OK) != 0)
            f += "busybox not at /bin/busybox\n";
        if (std::filesystem::exists(host.path()))
            f += "host visible\n";
        return f;
    });
    EXPECT_EQ(failures, "");
    EXPECT_EQ(mount_lines_about(host.path()), host_mountinfo_before);
}

}  // namespace
}  // namespace brig::linux
