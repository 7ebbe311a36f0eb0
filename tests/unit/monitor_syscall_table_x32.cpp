// The host's x32 syscall numbers for monitor_syscall_table_test, by the table's names, without
// __X32_SYSCALL_BIT.
#include <asm/unistd_x32.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000  // <asm/unistd.h>, which includes the x86-64 numbers
#endif

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 (__X32_SYSCALL_BIT + 452)  // Linux 6.6; older uapi headers lack it
#endif

#include <map>
#include <string>

#include "monitor/bpf/syscall_table.h"

std::map<std::string, long> host_x32_syscalls() {
    std::map<std::string, long> numbers;
#define BRIG_HOST_X32(name, x86_64, ia32) numbers[#name] = __NR_##name - __X32_SYSCALL_BIT;
    BRIG_SYSCALLS(BRIG_HOST_X32)
#undef BRIG_HOST_X32
    return numbers;
}
