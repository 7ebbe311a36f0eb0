#include "runtime/linux/mount_options.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

struct FlagCase {
    const char* option;
    unsigned long set;
    unsigned long cleared;
};

class MountFlagOptionTest : public ::testing::TestWithParam<FlagCase> {};

TEST_P(MountFlagOptionTest, SetsOrClearsItsFlag) {
    const FlagCase& c = GetParam();
    MountOptions parsed = parse_mount_options({c.option});
    EXPECT_EQ(parsed.flags, c.set) << c.option;
    EXPECT_EQ(parsed.cleared, c.cleared) << c.option;
    EXPECT_EQ(parsed.data, "") << c.option;
}

INSTANTIATE_TEST_SUITE_P(
    Table, MountFlagOptionTest,
    ::testing::Values(FlagCase{"ro", MS_RDONLY, 0}, FlagCase{"rw", 0, MS_RDONLY},
                      FlagCase{"nosuid", MS_NOSUID, 0}, FlagCase{"suid", 0, MS_NOSUID},
                      FlagCase{"nodev", MS_NODEV, 0}, FlagCase{"dev", 0, MS_NODEV},
                      FlagCase{"noexec", MS_NOEXEC, 0}, FlagCase{"exec", 0, MS_NOEXEC},
                      FlagCase{"sync", MS_SYNCHRONOUS, 0}, FlagCase{"async", 0, MS_SYNCHRONOUS},
                      FlagCase{"dirsync", MS_DIRSYNC, 0}, FlagCase{"remount", MS_REMOUNT, 0},
                      FlagCase{"noatime", MS_NOATIME, 0}, FlagCase{"atime", 0, MS_NOATIME},
                      FlagCase{"nodiratime", MS_NODIRATIME, 0},
                      FlagCase{"relatime", MS_RELATIME, 0},
                      FlagCase{"strictatime", MS_STRICTATIME, 0},
                      FlagCase{"nosymfollow", MS_NOSYMFOLLOW, 0}, FlagCase{"bind", MS_BIND, 0},
                      FlagCase{"rbind", MS_BIND | MS_REC, 0}, FlagCase{"defaults", 0, 0}));

TEST(MountOptionsTest, LaterOptionWins) {
    MountOptions parsed = parse_mount_options({"ro", "rw"});
    EXPECT_EQ(parsed.flags & MS_RDONLY, 0u);
    EXPECT_EQ(parsed.cleared, static_cast<unsigned long>(MS_RDONLY));
    parsed = parse_mount_options({"rw", "ro"});
    EXPECT_EQ(parsed.flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(parsed.cleared, 0u);
}

TEST(MountOptionsTest, UnknownOptionsBecomeDataInOrder) {
    MountOptions parsed = parse_mount_options(
        {"nosuid", "newinstance", "ptmxmode=0666", "noexec", "mode=0620", "gid=5"});
    EXPECT_EQ(parsed.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
    EXPECT_EQ(parsed.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

TEST(MountOptionsTest, PropagationOptionsKeepTheirOrder) {
    MountOptions parsed = parse_mount_options({"rbind", "rslave", "shared", "runbindable"});
    ASSERT_EQ(parsed.propagations.size(), 3u);
    EXPECT_EQ(parsed.propagations[0], static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(parsed.propagations[1], static_cast<unsigned long>(MS_SHARED));
    EXPECT_EQ(parsed.propagations[2], static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
    EXPECT_TRUE(parsed.recursive_bind());
}

TEST(MountOptionsTest, RecursiveOptionsGoToMountSetattr) {
    MountOptions parsed = parse_mount_options({"rro", "rnosuid", "rnodev", "rnoexec"});
    EXPECT_EQ(parsed.flags, 0u);
    EXPECT_EQ(parsed.recursive.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                          MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
    EXPECT_EQ(parsed.recursive.clear, 0u);

    parsed = parse_mount_options({"rro", "rrw"});
    EXPECT_EQ(parsed.recursive.set, 0u);
    EXPECT_EQ(parsed.recursive.clear, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
}

TEST(MountOptionsTest, RecursiveAtimeClearsTheWholeAtimeField) {
    MountOptions parsed = parse_mount_options({"rnoatime"});
    EXPECT_EQ(parsed.recursive.set, static_cast<uint64_t>(MOUNT_ATTR_NOATIME));
    EXPECT_EQ(parsed.recursive.clear, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
    parsed = parse_mount_options({"rnoatime", "rstrictatime"});
    EXPECT_EQ(parsed.recursive.set, static_cast<uint64_t>(MOUNT_ATTR_STRICTATIME));
}

TEST(MountOptionsTest, UnsupportedOptionsAreNamed) {
    for (const char* option : {"tmpcopyup"}) {
        try {
            parse_mount_options({"bind", option});
            ADD_FAILURE() << option << " accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
        }
    }
}

TEST(MountOptionsTest, IdmapOptions) {
    EXPECT_FALSE(parse_mount_options({"bind"}).idmap);
    MountOptions parsed = parse_mount_options({"bind", "idmap"});
    EXPECT_TRUE(parsed.idmap);
    EXPECT_FALSE(parsed.idmap_recursive);
    EXPECT_EQ(parsed.data, "");
    parsed = parse_mount_options({"rbind", "ridmap"});
    EXPECT_TRUE(parsed.idmap && parsed.idmap_recursive);
}

TEST(MountOptionsTest, FlagsMapToMountAttributes) {
    MountAttrChange change = attr_change_for_flags(MS_RDONLY | MS_NOSUID | MS_NOATIME, MS_NODEV);
    EXPECT_EQ(change.set,
              static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
    EXPECT_EQ(change.clear, static_cast<uint64_t>(MOUNT_ATTR_NODEV | MOUNT_ATTR__ATIME));
    EXPECT_TRUE(attr_change_for_flags(0, 0).empty());
}

TEST(MountOptionsTest, RootfsPropagation) {
    EXPECT_EQ(parse_rootfs_propagation(""), static_cast<unsigned long>(MS_REC | MS_SLAVE));
    EXPECT_EQ(parse_rootfs_propagation("rslave"), static_cast<unsigned long>(MS_REC | MS_SLAVE));
    EXPECT_EQ(parse_rootfs_propagation("shared"), static_cast<unsigned long>(MS_SHARED));
    EXPECT_THROW(parse_rootfs_propagation("sideways"), Error);
}

}  // namespace
}  // namespace brig::linux
