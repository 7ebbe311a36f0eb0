/* The syscalls brig's monitor watches, in one table that the BPF C and the C++ both expand:
 * X(name, x86-64 number, ia32 number), name being the one alerts give (Falco's evt.type). An
 * ia32 number of -1: the call has no ia32 form of its own there. mmap's ia32 form is mmap2. */
#ifndef BRIG_SYSCALL_TABLE_H
#define BRIG_SYSCALL_TABLE_H

#define BRIG_SYSCALLS(X)           \
    X(open, 2, 5)                  \
    X(mmap, 9, 192)                \
    X(mprotect, 10, 125)           \
    X(socket, 41, 359)             \
    X(connect, 42, 362)            \
    X(bind, 49, 361)               \
    X(execve, 59, 11)              \
    X(truncate, 76, 92)            \
    X(ftruncate, 77, 93)           \
    X(rename, 82, 38)              \
    X(mkdir, 83, 39)               \
    X(rmdir, 84, 40)               \
    X(creat, 85, 8)                \
    X(link, 86, 9)                 \
    X(unlink, 87, 10)              \
    X(symlink, 88, 83)             \
    X(chmod, 90, 15)               \
    X(ptrace, 101, 26)             \
    X(mknod, 133, 14)              \
    X(init_module, 175, 128)       \
    X(openat, 257, 295)            \
    X(mkdirat, 258, 296)           \
    X(mknodat, 259, 297)           \
    X(unlinkat, 263, 301)          \
    X(renameat, 264, 302)          \
    X(linkat, 265, 303)            \
    X(symlinkat, 266, 304)         \
    X(fchmodat, 268, 306)          \
    X(open_by_handle_at, 304, 342) \
    X(finit_module, 313, 350)      \
    X(renameat2, 316, 353)         \
    X(memfd_create, 319, 356)      \
    X(bpf, 321, 357)               \
    X(execveat, 322, 358)          \
    X(pkey_mprotect, 329, 380)     \
    X(io_uring_setup, 425, 425)    \
    X(openat2, 437, 437)           \
    X(fchmodat2, 452, 452)

/* The path syscalls the kernel rules under a verdict slot of their own (enum brig_path_op in
 * monitor_abi.h): X(name, slot). The BPF C maps numbers to slots with it and the rules compiler
 * evt.type names. (ftruncate, by fd, is ruled as an open for writing of the fd's file.) */
#define BRIG_PATH_SYSCALLS(X)         \
    X(unlink, BRIG_PATH_UNLINK)       \
    X(unlinkat, BRIG_PATH_UNLINKAT)   \
    X(rmdir, BRIG_PATH_RMDIR)         \
    X(rename, BRIG_PATH_RENAME)       \
    X(renameat, BRIG_PATH_RENAMEAT)   \
    X(renameat2, BRIG_PATH_RENAMEAT2) \
    X(chmod, BRIG_PATH_CHMOD)         \
    X(fchmodat, BRIG_PATH_FCHMODAT)   \
    X(fchmodat2, BRIG_PATH_FCHMODAT2) \
    X(mkdir, BRIG_PATH_MKDIR)         \
    X(mkdirat, BRIG_PATH_MKDIRAT)     \
    X(link, BRIG_PATH_LINK)           \
    X(linkat, BRIG_PATH_LINKAT)       \
    X(symlink, BRIG_PATH_SYMLINK)     \
    X(symlinkat, BRIG_PATH_SYMLINKAT) \
    X(mknod, BRIG_PATH_MKNOD)         \
    X(mknodat, BRIG_PATH_MKNODAT)     \
    X(truncate, BRIG_PATH_TRUNCATE)

/* The watched syscalls whose x32 number (less __X32_SYSCALL_BIT) is not their x86-64 one: x32's
 * own entry points, from 512. X(name, x32 number). Every other watched syscall's x32 number is
 * its x86-64 one with the bit. */
#define BRIG_X32_SYSCALLS(X) \
    X(execve, 520)           \
    X(ptrace, 521)           \
    X(execveat, 545)

#define BRIG_X32_NR(name, x32) X32_NR_##name = x32,
enum brig_x32_syscall_nr { BRIG_X32_SYSCALLS(BRIG_X32_NR) };
#undef BRIG_X32_NR

/* NR_<name>: the x86-64 numbers; IA32_NR_<name>: the ia32 ones. Two ia32 calls without an
 * x86-64 row: old_mmap (mmap's arguments in a struct) and socketcall (socket, bind, connect). */
#define BRIG_SYSCALL_NR(name, x86_64, ia32) NR_##name = x86_64, IA32_NR_##name = ia32,
enum brig_syscall_nr {
    BRIG_SYSCALLS(BRIG_SYSCALL_NR) IA32_NR_old_mmap = 90,
    IA32_NR_socketcall = 102,
};
#undef BRIG_SYSCALL_NR

#endif
