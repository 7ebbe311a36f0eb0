// Smoke tests of the VM test-bed (tests/vm): the host is cgroup2-only and its controllers work.
//
// They skip on a hybrid or v1 host (this project's dev machine) and must pass inside the VM
// (BRIG_IN_VM=1), where a missing cgroup2 mount is a failure, not a skip.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "harness.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::test {
namespace {

bool in_vm() {
    return getenv("BRIG_IN_VM") != nullptr;
}

// What this host lacks is a skip; inside the VM it is a failure.
#define BRIG_VM_REQUIRE(condition, reason)         \
    do {                                           \
        if (!(condition)) {                        \
            if (in_vm())                           \
                FAIL() << "in the VM: " << reason; \
            GTEST_SKIP() << reason;                \
        }                                          \
    } while (0)

const fs::path cgroup_root = "/sys/fs/cgroup";

bool cgroup2_at_root() {
    struct statfs info {};
    return statfs(cgroup_root.c_str(), &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

// Filesystem types of every mount, one per line of /proc/self/mountinfo (after the " - ").
std::vector<std::string> mounted_types() {
    std::vector<std::string> types;
    for (const auto& line : split_lines(read_file("/proc/self/mountinfo"))) {
        const auto separator = line.find(" - ");
        if (separator == std::string::npos)
            continue;
        std::istringstream rest(line.substr(separator + 3));
        std::string type;
        rest >> type;
        types.push_back(type);
    }
    return types;
}

bool has_word(const std::string& list, const std::string& word) {
    std::istringstream words(list);
    std::string each;
    while (words >> each)
        if (each == word)
            return true;
    return false;
}

TEST(VmCgroup2Only, HostMountsOnlyCgroup2WithTheUsualControllers) {
    BRIG_VM_REQUIRE(cgroup2_at_root(), "/sys/fs/cgroup is not a cgroup2 mount (hybrid or v1 host)");
    for (const auto& type : mounted_types())
        EXPECT_NE(type, "cgroup") << "a cgroup v1 hierarchy is mounted on a cgroup2-only host";
    const auto controllers = read_file(cgroup_root / "cgroup.controllers");
    for (const char* wanted : {"cpu", "memory", "pids", "io", "cpuset"})
        EXPECT_TRUE(has_word(controllers, wanted))
            << "controller " << wanted << " missing from cgroup.controllers: " << controllers;
}

TEST(VmCgroup2Only, PidsMaxStopsForkInAChildCgroup) {
    if (geteuid() != 0)
        GTEST_SKIP() << "creating cgroups needs root";
    BRIG_VM_REQUIRE(cgroup2_at_root(), "/sys/fs/cgroup is not a cgroup2 mount (hybrid or v1 host)");
    const auto root_controllers = read_file(cgroup_root / "cgroup.subtree_control");
    if (!has_word(root_controllers, "pids"))
        write_file(cgroup_root / "cgroup.subtree_control", "+pids");

    const fs::path cgroup = cgroup_root / ("brig-vm-smoke-" + std::to_string(getpid()));
    ASSERT_EQ(mkdir(cgroup.c_str(), 0755), 0) << cgroup << ": " << strerror(errno);
    ScopeGuard remove_cgroup([&cgroup] { rmdir(cgroup.c_str()); });
    write_file(cgroup / "pids.max", "1");

    // The child waits until it is in the cgroup, then tries to fork and reports the errno.
    int go[2];
    ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
    UniqueFd go_read(go[0]);
    UniqueFd go_write(go[1]);
    const pid_t child = fork();
    ASSERT_GE(child, 0) << strerror(errno);
    if (child == 0) {
        char byte = 0;
        if (read(go_read.get(), &byte, 1) != 1)
            _exit(100);
        const pid_t grandchild = fork();
        if (grandchild == 0)
            _exit(0);
        if (grandchild > 0) {
            waitpid(grandchild, nullptr, 0);
            _exit(0);
        }
        _exit(errno == EAGAIN ? 42 : 101);
    }
    go_read.reset();
    write_file(cgroup / "cgroup.procs", std::to_string(child));
    const auto membership = read_file("/proc/" + std::to_string(child) + "/cgroup");
    EXPECT_NE(membership.find("0::/" + cgroup.filename().string()), std::string::npos)
        << "the child is not in the new cgroup: " << membership;
    ASSERT_EQ(write(go_write.get(), "x", 1), 1);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 42)
        << "pids.max=1 did not stop fork with EAGAIN (0: fork succeeded)";
    EXPECT_EQ(trim(read_file(cgroup / "pids.max")), "1");
}

}  // namespace
}  // namespace brig::test
