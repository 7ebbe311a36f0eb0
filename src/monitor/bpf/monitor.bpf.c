// SPDX-License-Identifier: GPL-2.0
/* brig's in-kernel monitor for kernels without usable BPF-LSM: raw tracepoints decide and kill
 * (bpf_send_signal(SIGKILL) from sched_process_exec stops a forbidden program before its first
 * instruction), cgroup programs attached to each container's cgroup2 dir deny sockets and
 * connects. Every program first looks the current cgroup up in `containers`: host processes and
 * other runtimes' containers leave after one hash lookup. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "monitor_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL 9
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define O_ACCMODE 3
#define O_CREAT 0100
#define O_TRUNC 01000

#define NR_open 2
#define NR_socket 41
#define NR_connect 42
#define NR_creat 85
#define NR_ptrace 101
#define NR_init_module 175
#define NR_openat 257
#define NR_finit_module 313
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_openat2 437

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, struct brig_container);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} containers SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct brig_name_key);
    __type(value, struct brig_verdict);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_rules SEC(".maps");

/* Opens by basename ("release_agent"), any access mode. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct brig_name_key);
    __type(value, struct brig_verdict);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} open_name_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __type(key, struct brig_prefix_key);
    __type(value, struct brig_verdict);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} open_write_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __type(key, struct brig_prefix_key);
    __type(value, struct brig_verdict);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} open_read_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct brig_addr_key);
    __type(value, struct brig_verdict);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} connect_rules SEC(".maps");

/* Ringbuf reserve failures per container and CPU: no event is lost silently. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} drops SEC(".maps");

/* One ring per container so that each container's watcher reads only its own events. */
struct ring_inner {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, BRIG_RING_BYTES);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
    __array(values, struct ring_inner);
} rings SEC(".maps");

/* Kernels before 6.6 kept ctime as a timespec64. */
struct inode___timespec {
    struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline __u64 inode_ctime_sec(struct inode* inode) {
    if (bpf_core_field_exists(inode->i_ctime_sec))
        return BPF_CORE_READ(inode, i_ctime_sec);
    struct inode___timespec* old = (void*)inode;
    return BPF_CORE_READ(old, i_ctime.tv_sec);
}

static __always_inline void count_drop(__u64 cgid) {
    __u64* n = bpf_map_lookup_elem(&drops, &cgid);
    if (n)
        __sync_fetch_and_add(n, 1);
}

static __always_inline struct brig_event* reserve_event(__u64 cgid, __u32 type) {
    void* ring = bpf_map_lookup_elem(&rings, &cgid);
    if (!ring) {
        count_drop(cgid);
        return 0;
    }
    struct brig_event* e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
    if (!e) {
        count_drop(cgid);
        return 0;
    }
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    e->cgroup_id = cgid;
    e->boot_ns = bpf_ktime_get_boot_ns();
    e->type = type;
    e->syscall_nr = 0;
    e->pid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->uid = (__u32)bpf_get_current_uid_gid();
    e->rule_id = 0;
    e->action = 0;
    struct tty_struct* tty = BPF_CORE_READ(task, signal, tty);
    e->tty = tty ? BPF_CORE_READ(tty, index) : -1;
    e->flags = 0;
    e->exe_new = 0;
    e->family = 0;
    e->port = 0;
    __builtin_memset(e->addr, 0, sizeof(e->addr));
    e->args_len = 0;
    e->args[0] = 0;
    e->path[0] = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    struct task_struct* parent = BPF_CORE_READ(task, real_parent);
    bpf_probe_read_kernel_str(e->pcomm, sizeof(e->pcomm), &parent->comm);
    const unsigned char* exe_name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
    if (exe_name)
        bpf_probe_read_kernel_str(e->exe, sizeof(e->exe), exe_name);
    else
        e->exe[0] = 0;
    return e;
}

/* Carries out a verdict's kill: the current task now, every other task of the container at its
 * next syscall (the container is condemned). */
static __always_inline void enforce_kill(struct brig_container* c, const struct brig_verdict* v) {
    if (!(v->action & BRIG_ACT_KILL))
        return;
    bpf_send_signal(SIGKILL);
    if (!(c->flags & BRIG_CF_CONDEMNED)) {
        c->killed_by_rule = v->rule_id;
        c->flags |= BRIG_CF_CONDEMNED; /* only ever set: a lost race sets it too */
    }
}

static __always_inline void merge(struct brig_verdict* into, const struct brig_verdict* v) {
    if (!v)
        return;
    /* The strongest action wins and names the rule. */
    if (v->action > into->action) {
        into->rule_id = v->rule_id;
        into->action = v->action;
    }
}

struct basename_scan {
    const char* path;
    __u32 start;
};

static long find_last_slash(__u32 i, void* ctx) {
    struct basename_scan* scan = ctx;
    if (i >= BRIG_PREFIX_LEN)
        return 1;
    char ch = scan->path[i];
    if (ch == 0)
        return 1;
    if (ch == '/')
        scan->start = i + 1;
    return 0;
}

/* Copies the basename of `path` (a BRIG_PREFIX_LEN buffer) into key->name. bpf_loop keeps the
 * verifier's work constant where an open-coded scan explodes its state count. */
static __always_inline void basename_into(struct brig_name_key* key, const char* path) {
    __builtin_memset(key->name, 0, sizeof(key->name));
    struct basename_scan scan = {.path = path, .start = 0};
    bpf_loop(BRIG_PREFIX_LEN, find_last_slash, &scan, 0);
    __u32 start = scan.start;
    if (start >= BRIG_PREFIX_LEN)
        return;
    bpf_probe_read_kernel_str(key->name, sizeof(key->name), path + (start & (BRIG_PREFIX_LEN - 1)));
}

SEC("raw_tracepoint/sched_process_exec")
int brig_exec(struct bpf_raw_tracepoint_args* ctx) {
    __u64 cgid = bpf_get_current_cgroup_id();
    struct brig_container* c = bpf_map_lookup_elem(&containers, &cgid);
    if (!c)
        return 0;
    if (c->flags & BRIG_CF_CONDEMNED) {
        bpf_send_signal(SIGKILL);
        return 0;
    }
    struct linux_binprm* bprm = (struct linux_binprm*)ctx->args[2];
    struct brig_event* e = reserve_event(cgid, BRIG_EV_EXEC);
    struct brig_verdict verdict = c->exec_any;
    struct brig_name_key key = {.cgroup_id = cgid};
    const char* filename = BPF_CORE_READ(bprm, filename);

    if (e) {
        bpf_probe_read_kernel_str(e->path, sizeof(e->path), filename);
        struct task_struct* task = (struct task_struct*)bpf_get_current_task();
        unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
        unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
        __u32 len = arg_end > arg_start ? arg_end - arg_start : 0;
        if (len > BRIG_ARGS_LEN)
            len = BRIG_ARGS_LEN;
        if (len && bpf_probe_read_user(e->args, len & (BRIG_ARGS_LEN - 1) ?: BRIG_ARGS_LEN,
                                       (void*)arg_start) == 0)
            e->args_len = len;
        struct inode* inode = BPF_CORE_READ(bprm, file, f_inode);
        e->exe_new = inode && inode_ctime_sec(inode) >= c->start_time_sec;
        if (e->exe_new) {
            /* "Drop and execute": one verdict under the reserved name "\x01new". */
            struct brig_name_key fresh = {.cgroup_id = cgid, .name = {1, 'n', 'e', 'w'}};
            merge(&verdict, bpf_map_lookup_elem(&exec_rules, &fresh));
        }
        /* The full path as given to execve, its basename, and the real file's name (symlinks,
         * fexecve and memfd execs show their true name there). */
    }
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), filename);
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    /* The kernel has just set comm to the basename of the filename (at most 15 bytes). */
    __builtin_memset(key.name, 0, sizeof(key.name));
    bpf_get_current_comm(key.name, BRIG_COMM_LEN);
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    const unsigned char* real_name = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);
    __builtin_memset(key.name, 0, sizeof(key.name));
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), real_name);
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));

    /* An exec cannot be refused from here; deny means the program never runs: kill it. */
    if (verdict.action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, &verdict);
    if (e) {
        e->rule_id = verdict.rule_id;
        e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
        bpf_ringbuf_submit(e, 0);
    }
    return 0;
}

static __always_inline int handle_open(struct brig_container* c, __u64 cgid, const char* upath,
                                       __u64 flags, __u32 nr) {
    struct brig_prefix_key key = {.cgroup_id = cgid};
    long n = bpf_probe_read_user_str(key.path, sizeof(key.path), upath);
    if (n <= 0)
        return 0;
    struct brig_verdict verdict = {};
    key.prefixlen = 64 + 8 * BRIG_PREFIX_LEN;
    if ((flags & O_ACCMODE) != 0 || (flags & (O_CREAT | O_TRUNC)))
        merge(&verdict, bpf_map_lookup_elem(&open_write_rules, &key));
    merge(&verdict, bpf_map_lookup_elem(&open_read_rules, &key));
    struct brig_name_key name = {.cgroup_id = cgid};
    basename_into(&name, key.path);
    merge(&verdict, bpf_map_lookup_elem(&open_name_rules, &name));
    if (!verdict.action)
        return 0;
    if (verdict.action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(cgid, BRIG_EV_OPEN);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->flags = (__u32)flags;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_probe_read_user_str(e->path, sizeof(e->path), upath);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int report_syscall(struct brig_container* c, __u64 cgid, __u32 cls,
                                          __u32 type, __u32 nr, __u32 flags) {
    if (cls >= BRIG_SC_MAX)
        return 0;
    struct brig_verdict verdict = c->syscalls[cls];
    if (!verdict.action)
        return 0;
    /* A tracepoint cannot refuse: deny means the task dies before the syscall returns (the
     * cgroup sock_create hook runs for inet sockets only, not AF_PACKET). */
    if (verdict.action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(cgid, type);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->flags = flags;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int handle_connect(struct brig_container* c, __u64 cgid,
                                          const void* uaddr) {
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key)); /* padding is hashed too */
    key.cgroup_id = cgid;
    __u16 family = 0;
    if (bpf_probe_read_user(&family, sizeof(family), uaddr))
        return 0;
    __u16 port_be = 0;
    bpf_probe_read_user(&port_be, sizeof(port_be), (const char*)uaddr + 2);
    key.family = family;
    key.port = __builtin_bswap16(port_be);
    if (family == AF_INET)
        bpf_probe_read_user(key.addr, 4, (const char*)uaddr + 4);
    else if (family == AF_INET6)
        bpf_probe_read_user(key.addr, 16, (const char*)uaddr + 8);
    else
        return 0;
    struct brig_verdict verdict = {};
    merge(&verdict, bpf_map_lookup_elem(&connect_rules, &key));
    __u16 port = key.port;
    key.port = 0;
    merge(&verdict, bpf_map_lookup_elem(&connect_rules, &key));
    if (!verdict.action)
        return 0;
    /* Deny is done race-free by the cgroup connect programs on the kernel's copy. */
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(cgid, BRIG_EV_CONNECT);
    if (!e)
        return 0;
    e->syscall_nr = NR_connect;
    e->family = family;
    e->port = port;
    __builtin_memcpy(e->addr, key.addr, sizeof(e->addr));
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("raw_tracepoint/sys_enter")
int brig_sys_enter(struct bpf_raw_tracepoint_args* ctx) {
    __u64 cgid = bpf_get_current_cgroup_id();
    struct brig_container* c = bpf_map_lookup_elem(&containers, &cgid);
    if (!c)
        return 0;
    if (c->flags & BRIG_CF_CONDEMNED) {
        bpf_send_signal(SIGKILL);
        return 0;
    }
    struct pt_regs* regs = (struct pt_regs*)ctx->args[0];
    long nr = ctx->args[1];
    switch (nr) {
    case NR_open:
        return handle_open(c, cgid, (const char*)PT_REGS_PARM1_CORE_SYSCALL(regs),
                           PT_REGS_PARM2_CORE_SYSCALL(regs), nr);
    case NR_creat:
        return handle_open(c, cgid, (const char*)PT_REGS_PARM1_CORE_SYSCALL(regs),
                           O_CREAT | O_TRUNC | 1, nr);
    case NR_openat:
        return handle_open(c, cgid, (const char*)PT_REGS_PARM2_CORE_SYSCALL(regs),
                           PT_REGS_PARM3_CORE_SYSCALL(regs), nr);
    case NR_openat2: {
        __u64 flags = 0;
        bpf_probe_read_user(&flags, sizeof(flags), (void*)PT_REGS_PARM3_CORE_SYSCALL(regs));
        return handle_open(c, cgid, (const char*)PT_REGS_PARM2_CORE_SYSCALL(regs), flags, nr);
    }
    case NR_ptrace:
        return report_syscall(c, cgid, BRIG_SC_PTRACE, BRIG_EV_PTRACE, nr,
                              PT_REGS_PARM1_CORE_SYSCALL(regs));
    case NR_memfd_create:
        return report_syscall(c, cgid, BRIG_SC_MEMFD_CREATE, BRIG_EV_MEMFD_CREATE, nr, 0);
    case NR_init_module:
    case NR_finit_module:
        return report_syscall(c, cgid, BRIG_SC_INIT_MODULE, BRIG_EV_INIT_MODULE, nr, 0);
    case NR_bpf:
        return report_syscall(c, cgid, BRIG_SC_BPF, BRIG_EV_BPF, nr,
                              PT_REGS_PARM1_CORE_SYSCALL(regs));
    case NR_socket: {
        __u32 domain = PT_REGS_PARM1_CORE_SYSCALL(regs);
        if (domain != AF_PACKET)
            return 0;
        return report_syscall(c, cgid, BRIG_SC_PACKET_SOCKET, BRIG_EV_SOCKET, nr, domain);
    }
    case NR_connect:
        return handle_connect(c, cgid, (const void*)PT_REGS_PARM2_CORE_SYSCALL(regs));
    default:
        return 0;
    }
}

/* cgroup programs: attached to each container's cgroup2 dir; return 0 refuses with EPERM. */
SEC("cgroup/sock_create")
int brig_sock_create(struct bpf_sock* sk) {
    __u64 cgid = bpf_get_current_cgroup_id();
    struct brig_container* c = bpf_map_lookup_elem(&containers, &cgid);
    if (!c)
        return 1;
    if (sk->family == AF_PACKET && (c->syscalls[BRIG_SC_PACKET_SOCKET].action & BRIG_ACT_DENY))
        return 0;
    return 1;
}

static __always_inline int connect_allowed(__u64 cgid, struct brig_addr_key* key) {
    if (!bpf_map_lookup_elem(&containers, &cgid))
        return 1;
    struct brig_verdict* v = bpf_map_lookup_elem(&connect_rules, key);
    if (v && (v->action & BRIG_ACT_DENY))
        return 0;
    key->port = 0;
    v = bpf_map_lookup_elem(&connect_rules, key);
    if (v && (v->action & BRIG_ACT_DENY))
        return 0;
    return 1;
}

SEC("cgroup/connect4")
int brig_connect4(struct bpf_sock_addr* ctx) {
    __u64 cgid = bpf_get_current_cgroup_id();
    /* Zeroed whole: the key's tail padding is hashed too. */
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.cgroup_id = cgid;
    key.family = AF_INET;
    key.port = __builtin_bswap16((__u16)ctx->user_port);
    __u32 ip = ctx->user_ip4;
    __builtin_memcpy(key.addr, &ip, 4);
    return connect_allowed(cgid, &key);
}

SEC("cgroup/connect6")
int brig_connect6(struct bpf_sock_addr* ctx) {
    __u64 cgid = bpf_get_current_cgroup_id();
    /* Zeroed whole: the key's tail padding is hashed too. */
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.cgroup_id = cgid;
    key.family = AF_INET6;
    key.port = __builtin_bswap16((__u16)ctx->user_port);
    /* Constant offsets only: the verifier refuses ctx accesses through a moved pointer. */
    __u32 words[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
    __builtin_memcpy(key.addr, words, sizeof(words));
    return connect_allowed(cgid, &key);
}
