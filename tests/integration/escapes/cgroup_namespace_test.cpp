// Escape class: the cgroup namespace. A container with a cgroup namespace of its own, in every
// capability set, tries what its namespace would give it were it rooted at the host: mounts
// cgroup2 (and a v1 hierarchy where the host has one), looks for a neighbour container's
// cgroup, and moves itself to the root of what it mounted. The host then sees it still in its
// own cgroup (its limits and the monitor's key hold), the neighbour unseen, and `delete
// --force` leaving nothing. A process of `brig exec` tries the same.
#include <string>
#include <vector>

#include "escapes/capability_sets.hpp"
#include "harness.hpp"

namespace brig::test {
namespace {

using EscapeCgroupNamespaceTest = CapabilitySetTest;

constexpr const char* kAttack =
    "mkdir -p /tmp/v2 /tmp/v1; "
    "mount -t cgroup2 none /tmp/v2 2>/dev/null && touch /mounted && echo $$ > "
    "/tmp/v2/cgroup.procs; "
    "mount -t cgroup -o memory none /tmp/v1 2>/dev/null && echo $$ > /tmp/v1/cgroup.procs; "
    "find /tmp/v2 /tmp/v1 /sys/fs/cgroup -maxdepth 3 -type d > /listing 2>/dev/null; "
    "cat /proc/self/cgroup > /seen; touch /done; exec sleep 1000";

// The host's view of a process's cgroups: "hierarchy:controllers:path" lines.
std::vector<std::string> host_cgroups_of(int pid) {
    return split_lines(read_file("/proc/" + std::to_string(pid) + "/cgroup"));
}

TEST_P(EscapeCgroupNamespaceTest, AContainerCannotLeaveOrLookPastItsOwnCgroup) {
    if (!fs::exists("/proc/self/ns/cgroup"))
        GTEST_SKIP() << "no cgroup namespaces here";
    auto neighbour_bundle = make_bundle("neighbour");
    neighbour_bundle.set_args({"sleep", "1000"});
    const std::string neighbour = new_id("neighbour");
    ASSERT_TRUE(create_in(neighbour_bundle, neighbour).ok());

    bundle().config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    bundle().set_script(kAttack);
    const std::string id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "done"); }))
        << "the attack did not finish";

    // Where it may mount (CAP_SYS_ADMIN) the attack was tried; with Docker's set it cannot.
    const bool may_mount = GetParam() != Caps::docker;
    EXPECT_EQ(fs::exists(bundle().rootfs() / "mounted"), may_mount);
    const std::string listing = read_file(bundle().rootfs() / "listing");
    EXPECT_TRUE(!may_mount || listing.find("/tmp/v2") != std::string::npos) << listing;
    // Inside: rooted, whatever was mounted; the neighbour's cgroup is nowhere to be seen.
    const auto seen = split_lines(read_file(bundle().rootfs() / "seen"));
    EXPECT_FALSE(seen.empty());
    for (const auto& line : seen)
        EXPECT_TRUE(line.ends_with(":/")) << "not rooted inside: " << line;
    EXPECT_EQ(listing.find(neighbour), std::string::npos) << listing;
    EXPECT_EQ(listing.find(id), std::string::npos) << "its own name shows: " << listing;

    // On the host: still in its own cgroup in every hierarchy brig placed it in.
    const int pid = state(id).value("pid", 0);
    ASSERT_GT(pid, 0);
    for (const auto& line : host_cgroups_of(pid)) {
        if (line.find("name=") != std::string::npos)
            continue;  // named hierarchies (name=systemd) are not brig's
        EXPECT_NE(line.find(id), std::string::npos) << "left its cgroup: " << line;
    }

    // The same attack from a process `brig exec` starts (it joins the container's namespace).
    auto exec_pid_file = tmp_dir() / "exec.pid";
    auto exec = runtime({"exec", "-d", "--pid-file", exec_pid_file.string(), id, "sh", "-c",
                         "mkdir -p /tmp/e2 && mount -t cgroup2 none /tmp/e2 2>/dev/null && "
                         "echo $$ > /tmp/e2/cgroup.procs; touch /exec-done; exec sleep 1000"});
    ASSERT_TRUE(exec.ok()) << exec.describe();
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "exec-done"); }));
    const int exec_pid = std::stoi(read_file(exec_pid_file));
    for (const auto& line : host_cgroups_of(exec_pid)) {
        if (line.find("name=") != std::string::npos)
            continue;
        EXPECT_NE(line.find(id), std::string::npos) << "the exec'd process left: " << line;
    }

    EXPECT_TRUE(delete_container(id, true).ok());
    EXPECT_TRUE(wait_until([&] { return !fs::exists("/proc/" + std::to_string(pid)); }))
        << "the container's init survived delete --force";
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

INSTANTIATE_TEST_SUITE_P(CapabilitySets, EscapeCgroupNamespaceTest,
                         testing::ValuesIn(kEveryCapabilitySet), capability_set_param_name);

}  // namespace
}  // namespace brig::test
