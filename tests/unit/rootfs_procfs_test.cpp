#include "runtime/linux/procfs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

TEST(ProcfsTest, SysctlKeysMapToPaths) {
    EXPECT_EQ(sysctl_relative_path("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
    EXPECT_EQ(sysctl_relative_path("net/ipv4/conf/eth0.1/rp_filter"),
              "net/ipv4/conf/eth0.1/rp_filter");
    EXPECT_EQ(sysctl_relative_path("kernel.shmmax"), "kernel/shmmax");
}

TEST(ProcfsTest, SysctlKeyTricksAreRefused) {
    for (const char* key : {"", ".", "..", "net..ipv4", "net/../kernel/core_pattern", "/etc/passwd",
                            "net/", ".net", "net.ipv4.", "net/./ipv4", "net/ipv4//x"}) {
        EXPECT_THROW(sysctl_relative_path(key), Error) << key;
    }
    EXPECT_THROW(sysctl_relative_path(std::string("net\0x", 5)), Error);
}

TEST(ProcfsTest, OpensAVerifiedProcfs) {
    UniqueFd proc = open_procfs_root();
    UniqueFd version = open_in_procfs(proc.get(), "sys/kernel/osrelease", O_RDONLY);
    char buf[64] = {};
    EXPECT_GT(::read(version.get(), buf, sizeof buf - 1), 0);
}

TEST(ProcfsTest, RefusesSymlinksEscapesAndNonProcfs) {
    UniqueFd proc = open_procfs_root();
    EXPECT_THROW(open_in_procfs(proc.get(), "self/status", O_RDONLY), Error);  // self is a link
    EXPECT_THROW(open_in_procfs(proc.get(), "../etc/passwd", O_RDONLY), Error);
    EXPECT_THROW(open_in_procfs(proc.get(), "/etc/passwd", O_RDONLY), Error);
    EXPECT_THROW(open_in_procfs(proc.get(), "thread-self/exe", O_RDONLY), Error);
    UniqueFd tmp(::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(tmp);
    EXPECT_THROW(open_in_procfs(tmp.get(), ".", O_RDONLY), Error);
}

}  // namespace
}  // namespace brig::linux
