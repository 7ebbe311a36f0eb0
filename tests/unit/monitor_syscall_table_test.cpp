// The shared syscall table (src/monitor/bpf/syscall_table.h) against the host's own numbers: a
// wrong entry would make the BPF programs watch, and alerts name, another syscall.
#include <asm/unistd_64.h>

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452  // Linux 6.6; older uapi headers lack it (the same on every ABI)
#endif
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "monitor/bpf/syscall_table.h"

// The host's ia32 numbers, from <asm/unistd_32.h> (its own translation unit: the two headers
// define the same names).
std::map<std::string, long> host_ia32_syscalls();
// The host's x32 numbers (less __X32_SYSCALL_BIT), from <asm/unistd_x32.h>.
std::map<std::string, long> host_x32_syscalls();

TEST(MonitorSyscallTable, X86_64NumbersAreTheHosts) {
#define BRIG_CHECK_X86_64(name, x86_64, ia32) EXPECT_EQ(x86_64, __NR_##name) << #name;
    BRIG_SYSCALLS(BRIG_CHECK_X86_64)
#undef BRIG_CHECK_X86_64
}

TEST(MonitorSyscallTable, Ia32NumbersAreTheHosts) {
    auto host = host_ia32_syscalls();
#define BRIG_CHECK_IA32(name, x86_64, ia32) EXPECT_EQ(ia32, host.at(#name)) << #name;
    BRIG_SYSCALLS(BRIG_CHECK_IA32)
#undef BRIG_CHECK_IA32
    EXPECT_EQ(IA32_NR_old_mmap, host.at("old_mmap"));
    EXPECT_EQ(IA32_NR_socketcall, host.at("socketcall"));
}

// Every watched syscall's x32 number is its x86-64 one but those of the x32 table.
TEST(MonitorSyscallTable, X32NumbersAreTheHosts) {
    auto host = host_x32_syscalls();
    std::map<std::string, long> own;
#define BRIG_OWN_X32(name, x32) own[#name] = x32;
    BRIG_X32_SYSCALLS(BRIG_OWN_X32)
#undef BRIG_OWN_X32
#define BRIG_CHECK_X32(name, x86_64, ia32) \
    EXPECT_EQ(own.contains(#name) ? own[#name] : x86_64, host.at(#name)) << #name;
    BRIG_SYSCALLS(BRIG_CHECK_X32)
#undef BRIG_CHECK_X32
}

TEST(MonitorSyscallTable, EnumCarriesTheTable) {
    EXPECT_EQ(NR_openat, __NR_openat);
    EXPECT_EQ(NR_execveat, __NR_execveat);
    EXPECT_EQ(IA32_NR_openat, host_ia32_syscalls().at("openat"));
}
