// The pty's bind onto /dev/console, through the recording Syscalls: fd-based, and refused
// when /dev/console is not the regular file brig made.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "rootfs_recording_syscalls.hpp"
#include "runtime/common/error.hpp"
#include "runtime/linux/terminal.hpp"

namespace brig::linux {
namespace {

using testing::RecordingSyscalls;
using testing::TempDir;

class ConsoleBindTest : public ::testing::Test {
protected:
    ConsoleBindTest() : sys(host / "rootfs") {
        host.mkdirs("rootfs/dev");
        host.write("pty", "");
        pty = UniqueFd(::open((host / "pty").c_str(), O_RDWR | O_CLOEXEC));
    }
    // The bind's error, "" when it succeeded; pivot_root first, as in the container.
    std::string bind_error() {
        sys.pivot_root(".", ".");
        try {
            bind_pty_onto_console(sys, pty.get());
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }

    TempDir host;
    RecordingSyscalls sys;
    UniqueFd pty;
};

TEST_F(ConsoleBindTest, BindsThePtyOntoTheConsoleFile) {
    host.write("rootfs/dev/console", "");
    EXPECT_EQ(bind_error(), "");
    auto mounts = sys.of("mount");
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].source, "host:" + (host / "pty"));
    EXPECT_EQ(mounts[0].target, "/dev/console");
    EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_BIND));
}

TEST_F(ConsoleBindTest, RefusesASymlinkedConsole) {
    host.write("outside", "");
    host.symlink(host / "outside", "rootfs/dev/console");
    EXPECT_EQ(bind_error(), "terminal: /dev/console is not a regular file made by brig, refusing");
    EXPECT_TRUE(sys.of("mount").empty());
}

TEST_F(ConsoleBindTest, RefusesADirectoryOrAMissingConsole) {
    EXPECT_EQ(bind_error(), "terminal: /dev/console is not a regular file made by brig, refusing");
    host.mkdirs("rootfs/dev/console");
    EXPECT_EQ(bind_error(), "terminal: /dev/console is not a regular file made by brig, refusing");
    EXPECT_TRUE(sys.of("mount").empty());
}

}  // namespace
}  // namespace brig::linux
