// path_in_root on a real temporary tree full of hostile symlinks: nothing resolves or gets
// created outside the root.
#include "runtime/linux/path_in_root.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "rootfs_recording_syscalls.hpp"
#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

using testing::TempDir;

class PathInRootTest : public ::testing::Test {
protected:
    void SetUp() override {
        host.mkdirs("rootfs/etc");
        host.mkdirs("outside");
        root = open_root_dir(sys, host / "rootfs");
    }
    std::string inside(int fd) { return path_inside_root(root, fd); }

    TempDir host;
    RealSyscalls sys;
    RootDir root;
};

TEST_F(PathInRootTest, ComponentsAreCleanedAndCannotClimb) {
    EXPECT_EQ(path_components("/a/./b//../c/"), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(path_components("../../x"), (std::vector<std::string>{"x"}));
    EXPECT_TRUE(path_components("/").empty());
}

TEST_F(PathInRootTest, AbsoluteSymlinkResolvesInsideTheRoot) {
    host.symlink(host / "outside", "rootfs/abs");  // the host path of a real directory
    host.mkdirs("rootfs" + host.path() + "/outside");
    UniqueFd fd = open_in_root(sys, root, "/abs", Symlinks::follow_in_root);
    EXPECT_EQ(inside(fd.get()), host.path() + "/outside");
}

TEST_F(PathInRootTest, DotDotSymlinkIsClampedAtTheRoot) {
    host.symlink("../../../../outside", "rootfs/etc/up");
    EXPECT_THROW(open_in_root(sys, root, "/etc/up", Symlinks::follow_in_root), Error);
    UniqueFd fd =
        create_in_root(sys, root, "/etc/up/new", Leaf::directory, Symlinks::follow_in_root);
    EXPECT_EQ(inside(fd.get()), "/outside/new");
    EXPECT_TRUE(host.exists("rootfs/outside/new"));
    EXPECT_FALSE(host.exists("outside/new"));
}

TEST_F(PathInRootTest, CreatingThroughAnAbsoluteSymlinkStaysInside) {
    host.symlink(host / "outside", "rootfs/data");
    UniqueFd fd = create_in_root(sys, root, "/data/x/y", Leaf::file, Symlinks::follow_in_root);
    EXPECT_EQ(inside(fd.get()), host.path() + "/outside/x/y");
    EXPECT_FALSE(host.exists("outside/x"));
    EXPECT_TRUE(host.exists("rootfs" + host.path() + "/outside/x/y"));
}

TEST_F(PathInRootTest, SymlinkLoopsFail) {
    host.symlink("b", "rootfs/a");
    host.symlink("a", "rootfs/b");
    try {
        create_in_root(sys, root, "/a/x", Leaf::directory, Symlinks::follow_in_root);
        FAIL() << "a symlink loop resolved";
    } catch (const Error& e) {
        EXPECT_EQ(e.errnum(), ELOOP) << e.what();
    }
}

TEST_F(PathInRootTest, RefuseModeRefusesAnySymlink) {
    host.mkdirs("rootfs/real");
    host.symlink("real", "rootfs/proc");
    try {
        create_in_root(sys, root, "/proc", Leaf::directory, Symlinks::refuse);
        FAIL() << "symlinked /proc accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/proc is or passes through a symlink"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(PathInRootTest, DanglingSymlinkTargetIsCreatedInside) {
    host.symlink("/nowhere", "rootfs/dangling");
    host.symlink("../../up/../far", "rootfs/etc/rel");
    EXPECT_THROW(create_in_root(sys, root, "/dangling", Leaf::file, Symlinks::refuse), Error);
    UniqueFd fd = create_in_root(sys, root, "/dangling/x", Leaf::file, Symlinks::follow_in_root);
    EXPECT_EQ(inside(fd.get()), "/nowhere/x");
    EXPECT_TRUE(std::filesystem::is_regular_file(host / "rootfs/nowhere/x"));
    fd = create_in_root(sys, root, "/etc/rel/y", Leaf::directory, Symlinks::follow_in_root);
    EXPECT_EQ(inside(fd.get()), "/far/y");
    EXPECT_FALSE(host.exists("far"));
}

TEST_F(PathInRootTest, ExistingKindMustMatch) {
    host.mkdirs("rootfs/dir");
    host.write("rootfs/file", "x");
    EXPECT_THROW(create_in_root(sys, root, "/dir", Leaf::file, Symlinks::refuse), Error);
    EXPECT_THROW(create_in_root(sys, root, "/file", Leaf::directory, Symlinks::refuse), Error);
    EXPECT_THROW(create_in_root(sys, root, "/file/below", Leaf::directory, Symlinks::refuse),
                 Error);
}

TEST_F(PathInRootTest, MagicLinksAreNotFollowed) {
    host.symlink("/proc/self/root", "rootfs/magic");
    // A plain symlink to a magic link: inside the root /proc/self/root does not exist.
    EXPECT_THROW(open_in_root(sys, root, "/magic/etc", Symlinks::follow_in_root), Error);
}

TEST_F(PathInRootTest, PathInsideRootRejectsOutsideFds) {
    UniqueFd outside(::open(host.path().c_str(), O_PATH | O_CLOEXEC));
    EXPECT_THROW(inside(outside.get()), Error);
    UniqueFd sibling(::open((host / "outside").c_str(), O_PATH | O_CLOEXEC));
    EXPECT_THROW(inside(sibling.get()), Error);
    EXPECT_EQ(inside(root.fd.get()), "/");
}

TEST_F(PathInRootTest, PrefixOfRootNameIsNotInside) {
    host.mkdirs("rootfs2");
    UniqueFd twin(::open((host / "rootfs2").c_str(), O_PATH | O_CLOEXEC));
    EXPECT_THROW(inside(twin.get()), Error);
}

}  // namespace
}  // namespace brig::linux
