// The id maps of a new user namespace, through the recording Syscalls: the text the kernel
// gets, and setgroups denied before gid_map (which the kernel requires).
#include <gtest/gtest.h>

#include "rootfs_recording_syscalls.hpp"
#include "runtime/linux/namespaces.hpp"

namespace brig::linux {
namespace {

using testing::RecordingSyscalls;
using testing::TempDir;

TEST(IdMappings, AreWrittenOneLinePerRangeSetgroupsFirst) {
    TempDir dir;
    RecordingSyscalls sys(dir.path());
    std::vector<config::IdMapping> uids{{0, 100000, 65536}, {65536, 1000, 1}};
    std::vector<config::IdMapping> gids{{0, 200000, 10}};
    write_id_mappings(sys, 42, uids, gids, true);
    auto writes = sys.of("proc_pid");
    ASSERT_EQ(writes.size(), 3u);
    EXPECT_EQ(writes[0].target, "42/setgroups");
    EXPECT_EQ(writes[0].data, "deny");
    EXPECT_EQ(writes[1].target, "42/uid_map");
    EXPECT_EQ(writes[1].data, "0 100000 65536\n65536 1000 1\n");
    EXPECT_EQ(writes[2].target, "42/gid_map");
    EXPECT_EQ(writes[2].data, "0 200000 10\n");
}

TEST(IdMappings, EmptyMapsAndAllowedSetgroupsWriteNothing) {
    TempDir dir;
    RecordingSyscalls sys(dir.path());
    write_id_mappings(sys, 7, {}, {}, false);
    EXPECT_TRUE(sys.of("proc_pid").empty());
    write_id_mappings(sys, 7, {}, {{0, 0, 1}}, false);
    ASSERT_EQ(sys.of("proc_pid").size(), 1u);
    EXPECT_EQ(sys.of("proc_pid")[0].target, "7/gid_map");
}

}  // namespace
}  // namespace brig::linux
