// The harness's own checks must be able to fail: a live container is seen as left behind.
#include "harness.hpp"

namespace brig::test {
namespace {

using HarnessTest = RuntimeTest;

TEST_F(HarnessTest, LeftoversSeesStateCgroupAndProcessOfALiveContainer) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    auto left = join(leftovers(id));
    EXPECT_NE(left.find("state "), std::string::npos) << left;
    EXPECT_NE(left.find("cgroup "), std::string::npos) << left;
    EXPECT_NE(left.find("process "), std::string::npos) << left;
}

TEST_F(HarnessTest, LeftoversSeesAMountOfTheBundle) {
    auto target = bundle().rootfs() / "tmp";
    ASSERT_EQ(run_command({"mount", "-t", "tmpfs", "tmpfs", target.string()}).exit_code, 0);
    auto left = join(leftovers("no-such-container", bundle().dir()));
    EXPECT_NE(left.find("mount " + target.string()), std::string::npos) << left;
}

TEST_F(HarnessTest, RunCommandCapturesOutputAndStatus) {
    auto result = run_command({"/bin/busybox", "sh", "-c", "echo out; echo err >&2; exit 4"});
    EXPECT_EQ(result.exit_code, 4);
    EXPECT_EQ(result.out, "out\n");
    EXPECT_EQ(result.err, "err\n");
}

TEST_F(HarnessTest, RunCommandKillsOnTimeout) {
    CommandOptions options;
    options.timeout = std::chrono::milliseconds(200);
    auto result = run_command({"/bin/busybox", "sleep", "100"}, options);
    EXPECT_TRUE(result.timed_out);
    EXPECT_EQ(result.term_signal, SIGKILL);
}

TEST_F(HarnessTest, BundleRootfsRunsBusybox) {
    auto result =
        run_command({"chroot", bundle().rootfs().string(), "/bin/sh", "-c", "id -u; ls /bin/cat"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "0\n/bin/cat\n");
}

}  // namespace
}  // namespace brig::test
