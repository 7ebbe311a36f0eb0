/* What brig's two BPF objects share: the pinned maps (same definitions, so the BPF-LSM object
 * reuses the maps the tracepoint object pinned: one policy encoding, one ring per container) and
 * the event/verdict helpers. */
#ifndef BRIG_MONITOR_COMMON_H
#define BRIG_MONITOR_COMMON_H

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "monitor_abi.h"

#define SIGKILL 9
#define EPERM 1
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17

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

/* Opens and path operations by path prefix; exact files end in a NUL. */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __type(key, struct brig_prefix_key);
    __type(value, struct brig_path_verdicts);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} open_path_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct brig_addr_key);
    __type(value, struct brig_verdict);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} addr_rules SEC(".maps");

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
    e->new_path[0] = 0;
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

/* The strongest verdict on a socket address: the exact address and port, the address on any
 * port, and (bind rules on a port alone) any address on the port. key->port is left at 0. */
static __always_inline void addr_verdict(struct brig_addr_key* key, struct brig_verdict* verdict) {
    merge(verdict, bpf_map_lookup_elem(&addr_rules, key));
    __u16 port = key->port;
    key->port = 0;
    merge(verdict, bpf_map_lookup_elem(&addr_rules, key));
    __u8 addr[16];
    __builtin_memcpy(addr, key->addr, sizeof(addr));
    __builtin_memset(key->addr, 0, sizeof(key->addr));
    key->port = port;
    merge(verdict, bpf_map_lookup_elem(&addr_rules, key));
    __builtin_memcpy(key->addr, addr, sizeof(addr));
    key->port = 0;
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

#endif
