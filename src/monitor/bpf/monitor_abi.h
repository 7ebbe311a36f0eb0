/* The contract between the BPF programs and brig's user space: map keys, values and the event
 * record. Plain C with fixed-width types so both clang -target bpf and the C++ side include it. */
#ifndef BRIG_MONITOR_ABI_H
#define BRIG_MONITOR_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BRIG_COMM_LEN 16
#define BRIG_PATH_LEN 256
#define BRIG_ARGS_LEN 256
#define BRIG_NAME_LEN 64
#define BRIG_PREFIX_LEN 128
#define BRIG_RING_BYTES (256 * 1024)
#define BRIG_RING_SLOTS 8192 /* containers at once */

/* Action bits of a verdict. REPORT: send the event to user space even if nothing else happens
 * (user space evaluates the full rule). KILL: SIGKILL the task in-kernel and condemn the container.
 * DENY: refuse the operation where the hook can (cgroup programs return 0); on tracepoints, where
 * refusing is impossible, deny is carried out as a kill of the offending task. */
#define BRIG_ACT_REPORT 1u
#define BRIG_ACT_DENY 2u
#define BRIG_ACT_KILL 4u
/* What the BPF-LSM hooks carry out (refuse, and kill if KILL) instead of the tracepoints. */
#define BRIG_ACT_ENFORCE (BRIG_ACT_DENY | BRIG_ACT_KILL)

struct brig_verdict {
    __u32 rule_id; /* index into the container's compiled rule table, 0 = none */
    __u32 action;  /* BRIG_ACT_* bits */
};

/* Syscall classes decided from the syscall number (and one argument) alone. */
enum brig_syscall_class {
    BRIG_SC_PTRACE = 0,
    BRIG_SC_MEMFD_CREATE,
    BRIG_SC_INIT_MODULE,
    BRIG_SC_PACKET_SOCKET, /* socket(AF_PACKET, ...) */
    BRIG_SC_BPF,
    BRIG_SC_MAX,
};

#define BRIG_CF_CONDEMNED 1u /* a kill rule fired: every task is killed at its next syscall */
/* open_name_rules holds names of more distinct lengths than open_name_lens has room for: the
 * tracepoint scans each opened path for its basename instead. */
#define BRIG_CF_OPEN_NAME_SCAN 2u

/* Some exec_rules name an absolute path: code mapped executable has its path built and looked
 * up too (names alone are looked up for every mapping). */
#define BRIG_CF_EXEC_PATHS 4u

#define BRIG_NAME_LENS 8

/* Value of the `containers` map, keyed by the container's cgroup2 id. */
struct brig_container {
    __u32 flags;
    __u32 killed_by_rule;         /* rule id that condemned the container */
    struct brig_verdict exec_any; /* applies to every exec (reporting) */
    struct brig_verdict syscalls[BRIG_SC_MAX];
    /* The distinct lengths of the container's open_name_rules names, zero-terminated: a basename
     * rule can only match an opened path whose last L bytes follow a '/', so the tracepoint tries
     * those few lengths instead of scanning the path. */
    __u8 open_name_lens[BRIG_NAME_LENS];
    /* The container's ring: its slot in `rings`, a pool of rings made ahead of need (claimed in
     * `ring_owners`), so that registering a container changes no map-in-map (whose every update
     * and delete waits for an RCU grace period). */
    __u32 ring_slot;
    /* "New" files: how many the container has in `written_files` (see written_files.h). */
    __u32 written_files;
    /* A bit per first directory of the container's open_path_rules paths (brig_first_dir_bit),
     * all bits where a rule's path stops short of it ("/", "/e"): a path whose bit is clear
     * matches no rule, and skips the trie lookup. */
    __u64 path_first_dirs;
    /* Non-zero once the container's first program runs (its first exec): from then on what its
     * tasks write counts as new; the init's own set-up before it does not. */
    __u32 started;
    __u32 padding;
    /* 0 while `written_files` holds every file the container wrote; once it is full, the wall
     * clock (ns) from which any file whose ctime is later counts as new. */
    __u64 new_since_ns;
    /* CLOCK_TAI - CLOCK_REALTIME at registration: the BPF programs read TAI. */
    __s64 tai_offset_ns;
};

/* written_files key: an inode the container's tasks opened for writing, created or made with
 * memfd_create. generation tells a reused inode number apart. */
struct brig_inode_key {
    __u64 cgroup_id;
    __u64 ino;
    __u32 dev;
    __u32 generation;
};

/* The bytes of a path's first directory that brig_first_dir_bit hashes, at most. */
#define BRIG_FIRST_DIR_BYTES 16

/* The bit of `path`'s first directory: the bytes after the leading '/' up to the next '/' or
 * NUL, at most BRIG_FIRST_DIR_BYTES of them. The same code runs in the BPF programs and in brig
 * (which folds the rules' paths into path_first_dirs). */
static inline __u32 brig_first_dir_bit(const char* path) {
    __u32 hash = 0;
#ifdef __bpf__
#pragma unroll
#endif
    for (int i = 1; i <= BRIG_FIRST_DIR_BYTES; i++) {
        char ch = path[i];
        if (ch == '/' || ch == 0)
            break;
        hash = hash * 31 + (__u8)ch;
    }
    return hash & 63;
}

/* exec_rules key: an absolute path ("/bin/sh") or a basename ("sh"). */
struct brig_name_key {
    __u64 cgroup_id;
    char name[BRIG_NAME_LEN];
};

/* LPM trie key for path prefixes: prefixlen counts bits of cgroup_id + path bytes. An exact file
 * match includes the terminating NUL in the prefix. */
struct brig_prefix_key {
    __u32 prefixlen;
    __u64 cgroup_id;
    char path[BRIG_PREFIX_LEN];
} __attribute__((packed));

/* What is done to a path: one verdict each in open_path_rules. Opens by access mode, the other
 * operations by syscall, so that a rule's evt.type list maps onto them exactly. */
enum brig_path_op {
    BRIG_PATH_OPEN = 0,   /* open in any access mode */
    BRIG_PATH_OPEN_WRITE, /* open for writing (also creat, O_CREAT, O_TRUNC) */
    BRIG_PATH_UNLINK,
    BRIG_PATH_UNLINKAT,
    BRIG_PATH_RMDIR,
    BRIG_PATH_RENAME, /* renames: either path */
    BRIG_PATH_RENAMEAT,
    BRIG_PATH_RENAMEAT2,
    BRIG_PATH_CHMOD,
    BRIG_PATH_FCHMODAT,
    BRIG_PATH_FCHMODAT2,
    BRIG_PATH_MKDIR,
    BRIG_PATH_MKDIRAT,
    BRIG_PATH_OPS,
};

/* open_path_rules value. User space folds every shorter matching prefix into each entry, so the
 * longest match alone carries the strongest verdict of all the rules on the path. */
struct brig_path_verdicts {
    struct brig_verdict ops[BRIG_PATH_OPS];
};

enum brig_addr_op {
    BRIG_ADDR_CONNECT = 0, /* the destination of a connect */
    BRIG_ADDR_BIND,        /* the local address of a bind */
};

/* addr_rules key. An all-zero addr is any address (bind rules on a port), port 0 any port. */
struct brig_addr_key {
    __u64 cgroup_id;
    __u16 family; /* AF_INET / AF_INET6 */
    __u16 port;   /* host order; 0 = any port */
    __u8 addr[16];
    __u32 op; /* brig_addr_op */
};

enum brig_event_type {
    BRIG_EV_EXEC = 1,
    BRIG_EV_OPEN,
    BRIG_EV_SOCKET,
    BRIG_EV_CONNECT,
    BRIG_EV_PTRACE,
    BRIG_EV_MEMFD_CREATE,
    BRIG_EV_INIT_MODULE,
    BRIG_EV_BPF,
    BRIG_EV_CONDEMNED_KILL, /* a task of a condemned container was killed at syscall entry */
    BRIG_EV_PATH,           /* unlink, rmdir, rename, chmod, mkdir: syscall_nr says which */
    BRIG_EV_BIND,
    /* A file mapped executable (mmap, mprotect; the ELF interpreter under BPF-LSM): syscall_nr
     * says how, path is the file's. */
    BRIG_EV_CODE_MAP,
};

/* An exec event's flags: the program ran is a `#!` script (or binfmt_misc file), its
 * interpreter running now with argv[0] naming it (Falco's proc.exe). */
#define BRIG_EXEC_SCRIPT 1u

struct brig_event {
    __u64 cgroup_id;
    __u64 boot_ns;
    __u32 type;
    __u32 syscall_nr;
    __u32 pid;
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 rule_id; /* rule decided in-kernel, 0 = only reported */
    __u32 action;  /* BRIG_ACT_* carried out in-kernel */
    __s32 tty;     /* controlling tty index, -1 = none */
    __u32 flags;   /* open flags, socket domain, ptrace request, BRIG_EXEC_* */
    __u32
        exe_new; /* the program (or its script, or ELF interpreter) was written by the container */
    __u16 family;
    __u16 port;
    __u8 addr[16];
    __u32 args_len;
    char comm[BRIG_COMM_LEN];
    char pcomm[BRIG_COMM_LEN];
    char exe[BRIG_NAME_LEN]; /* basename of the running executable */
    char path[BRIG_PATH_LEN];
    char new_path[BRIG_PATH_LEN]; /* rename: the destination */
    char args[BRIG_ARGS_LEN];     /* argv, NUL separated, truncated */
};

#endif
