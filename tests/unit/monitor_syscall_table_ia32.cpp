// The host's ia32 syscall numbers for monitor_syscall_table_test, by the table's names (mmap's
// ia32 form is mmap2).
#include <asm/unistd_32.h>

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452  // Linux 6.6; older uapi headers lack it (the same on every ABI)
#endif

#include <map>
#include <string>

#include "monitor/bpf/syscall_table.h"

std::map<std::string, long> host_ia32_syscalls() {
    std::map<std::string, long> numbers;
#define BRIG_HOST_IA32(name, x86_64, ia32) numbers[#name] = __NR_##name;
    BRIG_SYSCALLS(BRIG_HOST_IA32)
#undef BRIG_HOST_IA32
    numbers["mmap"] = __NR_mmap2;
    numbers["old_mmap"] = __NR_mmap;
    numbers["socketcall"] = __NR_socketcall;
    return numbers;
}
