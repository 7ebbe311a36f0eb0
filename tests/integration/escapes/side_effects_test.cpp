// The runtime's defences must be invisible to the workload: what ordinary programs do in a
// container under runc (git's rename of objects/tmp/x to objects/ab/x, ln, reading a sibling's
// /proc/PID/exe and environ, mounting inside a nested user and mount namespace) works the same,
// as the container's init and as an exec'd process, with Docker's capabilities and privileged.
#include <string>
#include <vector>

#include "harness.hpp"

namespace brig::test {
namespace {

class EscapeSideEffectsTest : public RuntimeTest, public testing::WithParamInterface<bool> {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (GetParam()) {
            auto& caps = bundle().config()["process"]["capabilities"];
            for (const char* set : {"bounding", "effective", "permitted"})
                caps[set].push_back("CAP_SYS_ADMIN");
        }
        fs::create_directories(bundle().rootfs() / "mnt");
    }

    // Runs `script` as the container's init, then as an exec'd process beside a running init.
    void expect_both(const std::string& script, const std::string& expected) {
        auto ran = run_to_completion(script);
        EXPECT_EQ(trim(ran.out), expected) << "as init: " << ran.describe();
        bundle().set_args({"sleep", "1000"});
        auto id = new_id();
        ASSERT_TRUE(create(id).ok());
        ASSERT_TRUE(start(id).ok());
        auto exec = runtime({"exec", id, "sh", "-c", script});
        EXPECT_EQ(trim(exec.out), expected) << "as exec: " << exec.describe();
    }
};

// busybox mv copies when rename(2) fails with EXDEV: the inode tells a rename from a copy.
TEST_P(EscapeSideEffectsTest, RenameAcrossDirectoriesIsARename) {
    expect_both(
        "rm -rf /tmp/o; mkdir -p /tmp/o/tmp /tmp/o/ab /tmp/o/d/sub; echo x > /tmp/o/tmp/obj; "
        "a=$(stat -c %i /tmp/o/tmp/obj); b=$(stat -c %i /tmp/o/d/sub); "
        "mv /tmp/o/tmp/obj /tmp/o/ab/obj; mv /tmp/o/d/sub /tmp/o/ab/sub; "
        "[ \"$a\" = \"$(stat -c %i /tmp/o/ab/obj)\" ] && echo file-renamed; "
        "[ \"$b\" = \"$(stat -c %i /tmp/o/ab/sub)\" ] && echo dir-renamed",
        "file-renamed\ndir-renamed");
}

TEST_P(EscapeSideEffectsTest, HardLinkAcrossDirectories) {
    expect_both(
        "rm -rf /tmp/l; mkdir -p /tmp/l/a /tmp/l/b; echo x > /tmp/l/a/f; "
        "ln /tmp/l/a/f /tmp/l/b/f && stat -c %h /tmp/l/a/f",
        "2");
}

// pid 1 is `sleep`; a second process is exec'd beside it; a third reads both.
TEST_P(EscapeSideEffectsTest, SiblingsExeAndEnvironAreReadable) {
    bundle().set_args({"sleep", "1000"});
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    ASSERT_TRUE(runtime({"exec", "--detach", id, "sleep", "999"}).ok());
    std::string script =
        "for p in $(pidof sleep); do readlink /proc/$p/exe; "
        "tr '\\0' '\\n' < /proc/$p/environ | grep ^HOME=; done";
    std::string out;
    wait_until([&] {
        out = trim(runtime({"exec", id, "sh", "-c", script}).out);
        return split_lines(out).size() >= 4;
    });
    EXPECT_EQ(out, "/bin/busybox\nHOME=/root\n/bin/busybox\nHOME=/root");
}

TEST_P(EscapeSideEffectsTest, MountInANestedUserAndMountNamespace) {
    expect_both("unshare -rm sh -c 'mount -t tmpfs none /mnt && echo mounted'", "mounted");
}

INSTANTIATE_TEST_SUITE_P(Caps, EscapeSideEffectsTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                             return std::string(info.param ? "WithSysAdmin" : "DockerCaps");
                         });

}  // namespace
}  // namespace brig::test
