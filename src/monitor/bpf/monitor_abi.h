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
/* The second ring of each slot: only events of verdicts the kernel carried out (deny, kill), so
 * that no flood of alerts crowds them out. */
#define BRIG_VERDICT_RING_BYTES (64 * 1024)
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
#define BRIG_CF_EXEC_PATHS 16u

#define BRIG_NAME_LENS 8
/* A rule decided in user space refuses or kills some exec: the container's tasks hand every exec
 * to its watcher (a seccomp user notification) and the exec program kills what the watcher did
 * not approve (exec_approvals), once the watcher is armed. */
#define BRIG_CF_EXEC_VERDICTS 4u
/* Some open_path_rules entry that is a prefix, not an exact file, carries a verdict on opens in
 * any mode: every open's path is looked up, not only those open_file_names lets through. */
#define BRIG_CF_OPEN_PREFIXES 8u

/* The cgroup levels (depth below the cgroup2 root) at which containers are registered, the one
 * entry of `container_levels`: a task whose own cgroup is no container's is looked up at its
 * ancestors of these levels (a container may make cgroups below its own and move into them).
 * User space adds a container's level when it registers one; cleared with the last container. */
#define BRIG_CONTAINER_LEVELS 4u
struct brig_container_levels {
    __u32 count;
    __u32 level[BRIG_CONTAINER_LEVELS];
};

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
    /* Repeats of an event (same rule, thread and object) within this many ms of the one last sent
     * are counted in `repeats`, not sent; 0 sends every event. */
    __u32 coalesce_ms;
    /* A bit per first directory of the container's open_path_rules paths (brig_first_dir_bit),
     * all bits where a rule's path stops short of it ("/", "/e"): a path whose bit is clear
     * matches no rule, and skips the trie lookup. */
    __u64 path_first_dirs;
    /* A bit per name (brig_name_bit) of the exact files whose open_path_rules entries carry a
     * verdict on opens in any mode: without BRIG_CF_OPEN_PREFIXES, a file opened for reading
     * only whose name's bit is clear matches no path rule (sys_exit builds no path for it). */
    __u64 open_file_names;
    /* "New" files: how many the container has in `written_files` (see written_files.h). */
    __u32 written_files;
    /* Non-zero once the container's first program runs (its first exec): from then on what its
     * tasks write counts as new; the init's own set-up before it does not. */
    __u32 started;
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

/* The bit of a file name of `len` bytes whose first and last (at most) 8 bytes, read as
 * little-endian words zero past the name, are `head` and `tail`. The same code runs in the BPF
 * programs and in brig (which folds the exact files' names into open_file_names). */
static inline __u32 brig_name_bit(__u64 len, __u64 head, __u64 tail) {
    __u64 hash =
        len * 0x9e3779b97f4a7c15ULL ^ head * 0xc2b2ae3d27d4eb4fULL ^ tail * 0x165667b19e3779f9ULL;
    return hash >> 58;
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
    BRIG_PATH_LINK, /* hard links: either path */
    BRIG_PATH_LINKAT,
    BRIG_PATH_SYMLINK, /* the new entry (its target is reported, not matched) */
    BRIG_PATH_SYMLINKAT,
    BRIG_PATH_MKNOD,
    BRIG_PATH_MKNODAT,
    BRIG_PATH_TRUNCATE,
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

/* exec_approvals key: the watcher's approval of one task's exec (tid before the exec, as the
 * seccomp notification named it); tid 0 marks the container armed (a task holds the filter). */
struct brig_exec_key {
    __u64 cgroup_id;
    __u32 tid;
    __u32 reserved;
};

/* What the exec program compares, by what the rules judged: always the file name and argv. */
#define BRIG_EXEC_CHECK_CALL 1u   /* file name and argv (always compared) */
#define BRIG_EXEC_CHECK_PARENT 2u /* ppid and parent comm (one of the two parents given) */
#define BRIG_EXEC_CHECK_UID 4u
#define BRIG_EXEC_CHECK_TTY 8u
#define BRIG_EXEC_CHECK_EXE_NEW 16u /* the verdict holds for one value of "written after start" */

/* exec_approvals value: the exec the watcher let run, as the exec program will see it. Buffers
 * are zero past their contents, as the program reads its own. */
struct brig_exec_approval {
    __u32 checks; /* BRIG_EXEC_CHECK_* */
    __u32 uid;
    __s32 tty;
    __u32 exe_new;
    __u32 ppid;
    __u32 alt_ppid; /* 0 = none: the reaper the task goes to if its parent exits meanwhile */
    char pcomm[BRIG_COMM_LEN];
    char alt_pcomm[BRIG_COMM_LEN];
    __u32 args_len;
    __u32 reserved;
    char filename[BRIG_PATH_LEN];
    char args[BRIG_ARGS_LEN];
};

/* brig_event.flags of an exec: the task was killed, the exec was not what its watcher approved
 * (changed after the verdict, or never shown to the watcher). */
#define BRIG_EXEC_UNAPPROVED 1u

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

/* `repeats` key: the events coalesced into one. `what` hashes the event's object (type, syscall,
 * flags, paths, address); a thread runs on one CPU at a time, so its entries need no atomics. */
struct brig_repeat_key {
    __u64 cgroup_id;
    __u64 what;
    __u32 rule_id;
    __u32 tid;
};

struct brig_repeat {
    __u64 since_ns;  /* boot time the entry was made: tells an evicted and remade entry apart */
    __u64 window_ns; /* boot time of the window's first event, sent: the window starts there */
    __u64 last_ns;   /* boot time of the last event */
    __u64 total;     /* events under this key, sent or counted */
    /* The window's first repeat was sent (marked repeats_follow): the watcher keeps it to alert
     * the repeats counted after it once the window is over. */
    __u32 primed;
    __u32 pad;
};

/* Per container and CPU (`drops`): events that did not reach user space. */
struct brig_drops {
    __u64 ring_full; /* the ring had no room */
    __u64 shed;      /* the ring was more than half full and the rule had sent within a second */
};

/* `shed_rules` key and value: per rule of a container, when it last sent while its ring was
 * more than half full, and how many of its events were shed. */
struct brig_shed_key {
    __u64 cgroup_id;
    __u32 rule_id;
    __u32 pad;
};

struct brig_shed {
    __u64 last_ns;
    __u64 shed;
};
/* An exec event's flags: the program ran is a `#!` script (or binfmt_misc file), its
 * interpreter running now with argv[0] naming it (Falco's proc.exe). */
#define BRIG_EXEC_SCRIPT 2u

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
    __u32 repeats_follow; /* the first repeat in its window: the repeats after it are counted */
    /* The `repeats` entry the event was sent under: its `what`, since_ns and total once sent
     * (total 0: not coalesced). */
    __u64 repeat_what;
    __u64 repeat_since_ns;
    __u64 repeat_total;
    /* The syscall's return value where the event was taken at its exit (has_res; an open's fd:
     * Falco's evt.res, evt.rawres, fd.num). */
    __s64 res;
    __u32 has_res;
    __u32 reserved;
    char comm[BRIG_COMM_LEN];
    char pcomm[BRIG_COMM_LEN];
    char exe[BRIG_NAME_LEN]; /* basename of the running executable */
    char path[BRIG_PATH_LEN];
    char new_path[BRIG_PATH_LEN]; /* rename, link: the destination; symlink: the new entry */
    char args[BRIG_ARGS_LEN];     /* argv, NUL separated, truncated */
};

/* The layouts both compilers must agree on (clang -target bpf and the host's C++ compiler): a
 * field added, moved or padded differently fails the build on either side, not at run time. */
#ifdef __cplusplus
#define BRIG_ABI_ASSERT(cond, what) static_assert(cond, what)
#else
#define BRIG_ABI_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#define BRIG_ABI_SIZE(type, bytes) \
    BRIG_ABI_ASSERT(sizeof(struct type) == (bytes), "the size of struct " #type " changed")
BRIG_ABI_SIZE(brig_verdict, 8);
BRIG_ABI_SIZE(brig_container, 112);
BRIG_ABI_SIZE(brig_container_levels, 4 + 4 * BRIG_CONTAINER_LEVELS);
BRIG_ABI_SIZE(brig_inode_key, 24);
BRIG_ABI_SIZE(brig_name_key, 72);
BRIG_ABI_SIZE(brig_prefix_key, 140);
BRIG_ABI_SIZE(brig_path_verdicts, 8 * BRIG_PATH_OPS);
BRIG_ABI_SIZE(brig_addr_key, 32);
BRIG_ABI_SIZE(brig_exec_key, 16);
BRIG_ABI_SIZE(brig_exec_approval, 576);
BRIG_ABI_SIZE(brig_repeat_key, 24);
BRIG_ABI_SIZE(brig_repeat, 40);
BRIG_ABI_SIZE(brig_drops, 16);
BRIG_ABI_SIZE(brig_shed_key, 16);
BRIG_ABI_SIZE(brig_shed, 16);
BRIG_ABI_SIZE(brig_event, 992);
/* Where user space finds a key's cgroup when it walks a map for one container's entries. */
BRIG_ABI_ASSERT(__builtin_offsetof(struct brig_prefix_key, cgroup_id) == 4,
                "brig_prefix_key.cgroup_id moved");
BRIG_ABI_ASSERT(__builtin_offsetof(struct brig_name_key, cgroup_id) == 0 &&
                    __builtin_offsetof(struct brig_addr_key, cgroup_id) == 0 &&
                    __builtin_offsetof(struct brig_exec_key, cgroup_id) == 0 &&
                    __builtin_offsetof(struct brig_inode_key, cgroup_id) == 0,
                "a key's cgroup_id moved");
#undef BRIG_ABI_SIZE
#undef BRIG_ABI_ASSERT

#endif
