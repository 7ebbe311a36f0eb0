#include "runtime/security/default_seccomp.hpp"

#include <sched.h>
#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <string_view>

namespace brig::security {
namespace {

// Ordinary syscalls a program needs, chosen from the kernel's syscall tables. 32-bit only names
// (stat64, socketcall, *_time64) cover the x86/arm compat ABIs; names libseccomp does not know for
// an architecture are skipped when the filter is built.
constexpr std::string_view kAllowed[] = {
    // files and directories
    "access",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "close",
    "close_range",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "arm_fadvise64_64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futimesat",
    "getcwd",
    "getdents",
    "getdents64",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "_llseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "name_to_handle_at",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pread64",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "sendfile",
    "sendfile64",
    "setxattr",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "sync_file_range2",
    "arm_sync_file_range",
    "syncfs",
    "tee",
    "truncate",
    "truncate64",
    "umask",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vmsplice",
    "write",
    "writev",
    "fanotify_mark",
    // polling, events, pipes
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "pipe",
    "pipe2",
    "poll",
    "ppoll",
    "ppoll_time64",
    "pselect6",
    "pselect6_time64",
    "select",
    "_newselect",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    // asynchronous I/O (io_uring is not here)
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioprio_get",
    "ioprio_set",
    // memory
    "brk",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mremap",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "remap_file_pages",
    "process_madvise",
    "process_mrelease",
    // processes, threads, scheduling
    "arch_prctl",
    "capget",
    "capset",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "futex",
    "futex_time64",
    "futex_waitv",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrlimit",
    "ugetrlimit",
    "getrusage",
    "getsid",
    "gettid",
    "kcmp",
    "pidfd_getfd",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "prlimit64",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "restart_syscall",
    "rseq",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setpgid",
    "setpriority",
    "setrlimit",
    "setsid",
    "vfork",
    "wait4",
    "waitid",
    "waitpid",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "set_tls",
    "cacheflush",
    "breakpoint",
    // credentials
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getuid",
    "getuid32",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setuid",
    "setuid32",
    // signals
    "alarm",
    "kill",
    "pause",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sigaction",
    "sigaltstack",
    "signal",
    "sigpending",
    "sigprocmask",
    "sigreturn",
    "sigsuspend",
    "tgkill",
    "tkill",
    // time (reading it; setting it is gated below)
    "adjtimex",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "getitimer",
    "gettimeofday",
    "nanosleep",
    "setitimer",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "times",
    // System V and POSIX IPC (the container has its own ipc namespace)
    "ipc",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    // sockets
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "send",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socket",
    "socketcall",
    "socketpair",
    // system information
    "getrandom",
    "sysinfo",
    "uname",
    "olduname",
    "oldolduname",
    "ioctl",
};

// Syscalls that are only useful with a capability: allowed when the bounding set keeps it.
struct Gated {
    std::string_view capability;
    std::string_view syscall;
};

constexpr Gated kGated[] = {
    {"CAP_SYS_ADMIN", "bpf"},
    {"CAP_SYS_ADMIN", "perf_event_open"},
    {"CAP_SYS_ADMIN", "mount"},
    {"CAP_SYS_ADMIN", "umount"},
    {"CAP_SYS_ADMIN", "umount2"},
    {"CAP_SYS_ADMIN", "unshare"},
    {"CAP_SYS_ADMIN", "setns"},
    {"CAP_SYS_ADMIN", "pivot_root"},
    {"CAP_SYS_ADMIN", "fanotify_init"},
    {"CAP_SYS_ADMIN", "lookup_dcookie"},
    {"CAP_SYS_ADMIN", "quotactl"},
    {"CAP_SYS_ADMIN", "quotactl_fd"},
    {"CAP_SYS_ADMIN", "open_tree"},
    {"CAP_SYS_ADMIN", "move_mount"},
    {"CAP_SYS_ADMIN", "fsopen"},
    {"CAP_SYS_ADMIN", "fsconfig"},
    {"CAP_SYS_ADMIN", "fsmount"},
    {"CAP_SYS_ADMIN", "fspick"},
    {"CAP_SYS_ADMIN", "mount_setattr"},
    {"CAP_SYS_ADMIN", "sethostname"},
    {"CAP_SYS_ADMIN", "setdomainname"},
    {"CAP_SYS_ADMIN", "clone3"},
    {"CAP_BPF", "bpf"},
    {"CAP_PERFMON", "perf_event_open"},
    {"CAP_SYS_BOOT", "reboot"},
    {"CAP_SYS_CHROOT", "chroot"},
    {"CAP_SYS_MODULE", "init_module"},
    {"CAP_SYS_MODULE", "finit_module"},
    {"CAP_SYS_MODULE", "delete_module"},
    {"CAP_SYS_PACCT", "acct"},
    {"CAP_SYS_RAWIO", "iopl"},
    {"CAP_SYS_RAWIO", "ioperm"},
    {"CAP_SYS_TIME", "settimeofday"},
    {"CAP_SYS_TIME", "stime"},
    {"CAP_SYS_TIME", "clock_settime"},
    {"CAP_SYS_TIME", "clock_settime64"},
    {"CAP_SYS_TIME", "clock_adjtime"},
    {"CAP_SYS_TIME", "clock_adjtime64"},
    {"CAP_SYS_NICE", "get_mempolicy"},
    {"CAP_SYS_NICE", "set_mempolicy"},
    {"CAP_SYS_NICE", "set_mempolicy_home_node"},
    {"CAP_SYS_NICE", "mbind"},
    {"CAP_SYS_NICE", "migrate_pages"},
    {"CAP_SYS_NICE", "move_pages"},
    {"CAP_SYS_TTY_CONFIG", "vhangup"},
    {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
    {"CAP_SYSLOG", "syslog"},
};

// clone flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
constexpr uint64_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNET;

// personality() values that only change how the program sees the kernel: PER_LINUX,
// PER_LINUX32, UNAME26 with each, and the 0xffffffff query.
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

bool has(const std::vector<std::string>& caps, std::string_view cap) {
    for (const auto& c : caps)
        if (c == cap)
            return true;
    return false;
}

std::vector<std::string> native_architectures() {
#if defined(__x86_64__)
    return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
    return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__i386__)
    return {"SCMP_ARCH_X86"};
#elif defined(__arm__)
    return {"SCMP_ARCH_ARM"};
#elif defined(__riscv) && __riscv_xlen == 64
    return {"SCMP_ARCH_RISCV64"};
#elif defined(__s390x__)
    return {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return {"SCMP_ARCH_PPC64LE"};
#else
    return {};
#endif
}

}  // namespace

config::Seccomp default_seccomp(const std::vector<std::string>& bounding) {
    config::Seccomp s;
    s.default_action = "SCMP_ACT_ERRNO";
    s.default_errno_ret = EPERM;
    s.architectures = native_architectures();

    config::SeccompSyscall allowed;
    allowed.action = "SCMP_ACT_ALLOW";
    for (auto name : kAllowed)
        allowed.names.emplace_back(name);
    for (const auto& g : kGated)
        if (has(bounding, g.capability) &&
            std::find(allowed.names.begin(), allowed.names.end(), g.syscall) == allowed.names.end())
            allowed.names.emplace_back(g.syscall);
    const bool sys_admin = has(bounding, "CAP_SYS_ADMIN");
    if (sys_admin)
        allowed.names.emplace_back("clone");
    s.syscalls.push_back(std::move(allowed));

    for (uint64_t persona : kPersonalities) {
        config::SeccompSyscall p;
        p.names = {"personality"};
        p.action = "SCMP_ACT_ALLOW";
        p.args.push_back({0, persona, 0, "SCMP_CMP_EQ"});
        s.syscalls.push_back(std::move(p));
    }

    if (!sys_admin) {
        // clone is allowed only when (flags & CLONE_NEW*) == 0: threads and fork, no namespaces.
        // (On s390 the flags are the second argument; not a target of this default.)
        config::SeccompSyscall clone;
        clone.names = {"clone"};
        clone.action = "SCMP_ACT_ALLOW";
        clone.args.push_back({0, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"});
        s.syscalls.push_back(std::move(clone));
        // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back
        // to clone, which the rule above checks.
        config::SeccompSyscall clone3;
        clone3.names = {"clone3"};
        clone3.action = "SCMP_ACT_ERRNO";
        clone3.errno_ret = ENOSYS;
        s.syscalls.push_back(std::move(clone3));
    }
    return s;
}

nlohmann::json seccomp_to_json(const config::Seccomp& s) {
    nlohmann::json doc = {{"defaultAction", s.default_action}};
    if (s.default_errno_ret)
        doc["defaultErrnoRet"] = *s.default_errno_ret;
    if (!s.architectures.empty())
        doc["architectures"] = s.architectures;
    if (!s.flags.empty())
        doc["flags"] = s.flags;
    if (!s.listener_path.empty())
        doc["listenerPath"] = s.listener_path;
    if (!s.listener_metadata.empty())
        doc["listenerMetadata"] = s.listener_metadata;
    nlohmann::json syscalls = nlohmann::json::array();
    for (const auto& sc : s.syscalls) {
        nlohmann::json entry = {{"names", sc.names}, {"action", sc.action}};
        if (sc.errno_ret)
            entry["errnoRet"] = *sc.errno_ret;
        if (!sc.args.empty()) {
            nlohmann::json args = nlohmann::json::array();
            for (const auto& a : sc.args) {
                nlohmann::json arg = {{"index", a.index}, {"value", a.value}, {"op", a.op}};
                if (a.value_two != 0 || a.op == "SCMP_CMP_MASKED_EQ")
                    arg["valueTwo"] = a.value_two;
                args.push_back(std::move(arg));
            }
            entry["args"] = std::move(args);
        }
        syscalls.push_back(std::move(entry));
    }
    doc["syscalls"] = std::move(syscalls);
    return doc;
}

nlohmann::json default_seccomp_json(const std::vector<std::string>& bounding) {
    return seccomp_to_json(default_seccomp(bounding));
}

}  // namespace brig::security
