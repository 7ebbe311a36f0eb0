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
#define EEXIST 17
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define AT_FDCWD -100
#define O_ACCMODE 3
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_PATH 010000000
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define __FMODE_EXEC                                                            \
    040 /* the open flag of exec's own opens (recent kernels set no FMODE_EXEC) \
         */
#define PROT_EXEC 0x4
#define MAP_ANONYMOUS 0x20

#include "syscall_table.h" /* NR_<name>: x86-64 syscall numbers */

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

/* Events that did not reach user space, per container and CPU: no event is lost silently. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, struct brig_drops);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} drops SEC(".maps");

/* One ring per container so that each container's watcher reads only its own events: a pool
 * keyed by slot (brig_container.ring_slot), filled ahead of need and never emptied, so that no
 * container's create or delete updates this map-in-map (each update waits for a grace period). */
struct ring_inner {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, BRIG_RING_BYTES);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, BRIG_RING_SLOTS);
    __type(key, __u32);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
    __array(values, struct ring_inner);
} rings SEC(".maps");

/* Each slot's second ring, for the events of verdicts carried out in the kernel (deny, kill):
 * an alert flood in the first ring cannot crowd them out. Filled with `rings`, slot for slot. */
struct verdict_ring_inner {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, BRIG_VERDICT_RING_BYTES);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, BRIG_RING_SLOTS);
    __type(key, __u32);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
    __array(values, struct verdict_ring_inner);
} verdict_rings SEC(".maps");

/* Coalescing: the events of one rule, thread and object within the container's coalesce_ms of
 * the one last sent are counted here instead of being sent (the watcher reads the counts). LRU:
 * entries of deleted containers age out (cgroup ids are never reused within a boot). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct brig_repeat_key);
    __type(value, struct brig_repeat);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} repeats SEC(".maps");

/* Per rule of a container: its sends and sheds while its ring is more than half full. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct brig_shed_key);
    __type(value, struct brig_shed);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} shed_rules SEC(".maps");

/* Per-CPU room where an event is built before it is sent (too big for the BPF stack): whether
 * it is sent at all (coalescing, shedding) is decided on its content, before it takes ring
 * space. Each object has its own. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct brig_event);
} event_scratch SEC(".maps");

/* Which container holds each slot of `rings` (user space claims one with BPF_NOEXIST). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, BRIG_RING_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} ring_owners SEC(".maps");

/* Non-zero from the moment a container is condemned until the last container is unregistered:
 * while it is, sys_enter looks every syscall's task up (a condemned container's tasks die at
 * their next syscall, whichever it is); otherwise only the watched syscalls are looked up. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} any_condemned SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct brig_container_levels);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} container_levels SEC(".maps");

/* The container of the current task, and in *cgid the cgroup id its entries are keyed on: that
 * of the task's own cgroup, or of the registered container cgroup above it. A container with a
 * writable cgroupfs (privileged, systemd inside it) can make cgroups below its own and move
 * into them; it stays the same container. */
static __always_inline struct brig_container* current_container(__u64* cgid) {
    const __u64 own = bpf_get_current_cgroup_id();
    *cgid = own;
    struct brig_container* c = bpf_map_lookup_elem(&containers, cgid);
    if (c)
        return c;
    __u32 zero = 0;
    struct brig_container_levels* levels = bpf_map_lookup_elem(&container_levels, &zero);
    if (!levels)
        return NULL;
    for (__u32 i = 0; i < BRIG_CONTAINER_LEVELS && i < levels->count; i++) {
        __u64 id = bpf_get_current_ancestor_cgroup_id((int)levels->level[i]);
        if (!id || id == own)
            continue; /* the task is not below that level */
        *cgid = id;
        c = bpf_map_lookup_elem(&containers, cgid);
        if (c)
            return c;
    }
    *cgid = own;
    return NULL;
}

#define TS_COMPAT 0x0002 /* x86 thread_info.status: the task is in an ia32 syscall */

/* A 32-bit program, or int $0x80 from a 64-bit one, makes ia32 syscalls: i386 numbers,
 * arguments in ebx, ecx, edx, esi, 32-bit pointers. */
static __always_inline bool in_ia32_syscall(void) {
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    return BPF_CORE_READ(task, thread_info.status) & TS_COMPAT;
}

/* The x86-64 number of a watched i386 syscall, -1 for the others (a case per row of
 * syscall_table.h). */
#define BRIG_IA32_CASE(name, x86_64, ia32) \
    case ia32:                             \
        return x86_64;
static __always_inline long ia32_to_x86_64(long nr) {
    switch (nr) {
        BRIG_SYSCALLS(BRIG_IA32_CASE)
        case IA32_NR_old_mmap: /* its arguments in a struct (ia32_old_mmap_args) */
            return NR_mmap;
        default:
            return -1;
    }
}
#undef BRIG_IA32_CASE

#define X32_SYSCALL_BIT 0x40000000

/* An x32 syscall (the x32 ABI, where the kernel enables it): the x86-64 number with a flag bit,
 * the same registers, and numbers of its own from 512 for calls whose arguments differ. */
static __always_inline long x32_to_x86_64(long nr) {
    nr &= ~X32_SYSCALL_BIT;
#define BRIG_X32_CASE(name, x32) \
    case X32_NR_##name:          \
        return NR_##name;
    switch (nr) {
        BRIG_X32_SYSCALLS(BRIG_X32_CASE)
        default:
            return nr < 512 ? nr : -1;
    }
#undef BRIG_X32_CASE
}

/* The x86-64 number of the syscall `nr` the current task makes, whatever its ABI. */
static __always_inline long native_syscall(long nr) {
    if (in_ia32_syscall())
        return ia32_to_x86_64(nr);
    return nr & X32_SYSCALL_BIT ? x32_to_x86_64(nr) : nr;
}

/* The six arguments of the syscall the task makes, from its registers: rdi, rsi, rdx, r10, r8,
 * r9 (r10 .. di lie together in pt_regs: one copy), or for an ia32 syscall ebx, ecx, edx, esi,
 * edi, ebp (32-bit values). */
_Static_assert(__builtin_offsetof(struct pt_regs, di) - __builtin_offsetof(struct pt_regs, r10) ==
                   7 * sizeof(unsigned long),
               "x86-64 pt_regs: r10 .. di");
static __always_inline void read_syscall_args(struct pt_regs* regs, bool ia32,
                                              unsigned long args[6]) {
    if (ia32) {
        args[0] = (__u32)BPF_CORE_READ(regs, bx);
        args[1] = (__u32)BPF_CORE_READ(regs, cx);
        args[2] = (__u32)BPF_CORE_READ(regs, dx);
        args[3] = (__u32)BPF_CORE_READ(regs, si);
        args[4] = (__u32)BPF_CORE_READ(regs, di);
        args[5] = (__u32)BPF_CORE_READ(regs, bp);
        return;
    }
    struct {
        unsigned long r10, r9, r8, ax, cx, dx, si, di;
    } tail = {};
    bpf_probe_read_kernel(&tail, sizeof(tail), &regs->r10);
    args[0] = tail.di;
    args[1] = tail.si;
    args[2] = tail.dx;
    args[3] = tail.r10;
    args[4] = tail.r8;
    args[5] = tail.r9;
}

/* The syscalls that open a file, open_by_handle_at (CAP_DAC_READ_SEARCH) by no path at all. */
static __always_inline bool is_open_syscall(long nr) {
    return nr == NR_open || nr == NR_openat || nr == NR_openat2 || nr == NR_creat ||
           nr == NR_open_by_handle_at;
}

/* The brig_path_op a syscall's path operation is ruled under, BRIG_PATH_OPS for none. */
#define BRIG_PATH_OP_CASE(name, slot) \
    case NR_##name:                   \
        return slot;
static __always_inline __u32 path_op_of(long nr) {
    switch (nr) {
        BRIG_PATH_SYSCALLS(BRIG_PATH_OP_CASE)
        default:
            return BRIG_PATH_OPS;
    }
}
#undef BRIG_PATH_OP_CASE

/* A file the kernel opened for an exec (its program, script or ELF interpreter). */
static __always_inline bool opened_to_execute(struct file* file) {
    return (BPF_CORE_READ(file, f_mode) & FMODE_EXEC) ||
           (BPF_CORE_READ(file, f_flags) & __FMODE_EXEC);
}

static __always_inline void count_drop(__u64 cgid, bool shed) {
    struct brig_drops* d = bpf_map_lookup_elem(&drops, &cgid);
    if (!d)
        return;
    if (shed)
        __sync_fetch_and_add(&d->shed, 1);
    else
        __sync_fetch_and_add(&d->ring_full, 1);
}

/* Starts the current task's event of `type` in the per-CPU scratch (NULL only if that map
 * fails): the header, the task's argv (an exec's program replaces it) and its names. The caller
 * completes it and hands it to submit_event. */
static __always_inline struct brig_event* reserve_event(const struct brig_container* c, __u64 cgid,
                                                        __u32 type) {
    __u32 zero = 0;
    struct brig_event* e = bpf_map_lookup_elem(&event_scratch, &zero);
    if (!e)
        return 0;
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
    e->repeats_follow = 0;
    e->repeat_what = 0;
    e->repeat_since_ns = 0;
    e->repeat_total = 0;
    e->res = 0;
    e->has_res = 0;
    e->path[0] = 0;
    e->new_path[0] = 0;
    /* Each event names its own command line: the watcher need not have seen the exec. */
    unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
    unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
    __u32 len = arg_end > arg_start ? arg_end - arg_start : 0;
    if (len > BRIG_ARGS_LEN)
        len = BRIG_ARGS_LEN;
    e->args_len = 0;
    e->args[0] = 0;
    if (len && bpf_probe_read_user(e->args, len & (BRIG_ARGS_LEN - 1) ?: BRIG_ARGS_LEN,
                                   (void*)arg_start) == 0)
        e->args_len = len;
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

/* One FNV-1a step over a 64-bit word. */
static __always_inline __u64 fnv_mix(__u64 hash, __u64 word) {
    return (hash ^ word) * 0x100000001b3ULL;
}

/* Mixes the NUL-terminated string in `s` (a BRIG_PATH_LEN buffer, 8-byte aligned) into `hash`
 * a word at a time. The bytes after its NUL are what earlier events left in the scratch: they
 * are masked off in the word of the NUL (its first zero byte, little-endian). */
static __always_inline __u64 hash_string(__u64 hash, const char* s) {
    for (int i = 0; i < BRIG_PATH_LEN; i += 8) {
        __u64 word;
        __builtin_memcpy(&word, s + i, sizeof(word));
        __u64 zeros = (word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL;
        if (zeros) {
            __u64 first = zeros & -zeros;
            return fnv_mix(hash, word & ((first >> 7) - 1));
        }
        hash = fnv_mix(hash, word);
    }
    return hash;
}

/* What an event is about, for coalescing: its type, syscall, flags, verdict, address, the
 * program (comm: an exec in between starts other repeats) and its paths. */
static __always_inline __u64 event_what(const struct brig_event* e) {
    __u64 words[4];
    __builtin_memcpy(words, e->addr, 16);
    __builtin_memcpy(&words[2], e->comm, 16);
    __u64 hash = 0xcbf29ce484222325ULL;
    hash = fnv_mix(hash, ((__u64)e->type << 32) | e->syscall_nr);
    hash = fnv_mix(hash, ((__u64)e->flags << 32) | ((__u64)e->family << 16) | e->port);
    hash = fnv_mix(hash, e->action);
    for (int i = 0; i < 4; i++)
        hash = fnv_mix(hash, words[i]);
    hash = hash_string(hash, e->path);
    if (e->new_path[0])
        hash = hash_string(hash, e->new_path);
    return hash;
}

#define BRIG_SHED_WINDOW_NS 1000000000ULL

/* While the ring is more than half full (its watcher is behind), each rule of the container may
 * send one event a second: the other half stays free for the rules that have not spoken, so one
 * rule's flood cannot crowd out another's first alert. True when the event is shed (counted). */
static __always_inline bool shed_under_pressure(void* ring, __u64 ring_bytes,
                                                const struct brig_event* e) {
    if (bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) <= ring_bytes / 2)
        return false;
    struct brig_shed_key key = {.cgroup_id = e->cgroup_id, .rule_id = e->rule_id};
    struct brig_shed* rule = bpf_map_lookup_elem(&shed_rules, &key);
    if (!rule) {
        struct brig_shed first = {.last_ns = e->boot_ns};
        bpf_map_update_elem(&shed_rules, &key, &first, BPF_NOEXIST);
        return false;
    }
    if (e->boot_ns - rule->last_ns >= BRIG_SHED_WINDOW_NS) {
        rule->last_ns = e->boot_ns;
        return false;
    }
    __sync_fetch_and_add(&rule->shed, 1);
    count_drop(e->cgroup_id, true);
    return true;
}

/* Copies the event into `ring` with its coalescing fields (`total`: the count of its repeats
 * entry once sent); false when it was shed or the ring is full (counted). A window's first
 * repeat is never shed: it is what lets the watcher alert the window's count. */
static __always_inline bool output_event(void* ring, __u64 ring_bytes, struct brig_event* e,
                                         __u64 total, __u64 since_ns) {
    if (!e->repeats_follow && shed_under_pressure(ring, ring_bytes, e))
        return false;
    struct brig_event* out = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
    if (!out) {
        count_drop(e->cgroup_id, false);
        return false;
    }
    e->repeat_total = total;
    e->repeat_since_ns = since_ns;
    bpf_probe_read_kernel(out, sizeof(*e), e);
    bpf_ringbuf_submit(out, 0);
    return true;
}

/* Sends an event started by reserve_event to the container's watcher. Events of one rule,
 * thread and object within the container's coalesce_ms of the window's first one are coalesced:
 * the first repeat is sent (repeats_follow) and kept by the watcher, the later ones are only
 * counted, and the watcher alerts their count once the window is over. Verdicts the kernel
 * carried out go to the slot's verdict ring. Returns 0. */
static __noinline int submit_event(const struct brig_container* c, struct brig_event* e) {
    __u64 now = e->boot_ns;
    bool coalesce = c->coalesce_ms && e->type != BRIG_EV_EXEC;
    struct brig_repeat_key key = {};
    struct brig_repeat* seen = 0;
    if (coalesce) {
        key.cgroup_id = e->cgroup_id;
        key.what = event_what(e);
        key.rule_id = e->rule_id;
        key.tid = e->tid;
        e->repeat_what = key.what;
        seen = bpf_map_lookup_elem(&repeats, &key);
        if (seen && now - seen->window_ns < (__u64)c->coalesce_ms * 1000000ULL) {
            seen->last_ns = now;
            if (seen->primed) {
                seen->total++;
                return 0;
            }
            e->repeats_follow = 1;
        }
    }
    __u64 total = coalesce ? (seen ? seen->total + 1 : 1) : 0;
    __u64 since_ns = seen ? seen->since_ns : now;
    __u32 slot = c->ring_slot;
    bool sent;
    if (e->action & (BRIG_ACT_DENY | BRIG_ACT_KILL)) {
        void* ring = bpf_map_lookup_elem(&verdict_rings, &slot);
        sent = ring && output_event(ring, BRIG_VERDICT_RING_BYTES, e, total, since_ns);
    } else {
        void* ring = bpf_map_lookup_elem(&rings, &slot);
        sent = ring && output_event(ring, BRIG_RING_BYTES, e, total, since_ns);
    }
    if (!sent || !coalesce)
        return 0;
    /* Only this thread writes its entries: the event already carries the total written here. */
    if (seen) {
        seen->total = total;
        seen->primed = e->repeats_follow;
        if (!e->repeats_follow)
            seen->window_ns = now;
    } else {
        struct brig_repeat first = {.since_ns = now, .window_ns = now, .last_ns = now, .total = 1};
        bpf_map_update_elem(&repeats, &key, &first, BPF_ANY);
    }
    return 0;
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
    __u32 zero = 0;
    __u32* condemned = bpf_map_lookup_elem(&any_condemned, &zero);
    if (condemned)
        *condemned = 1;
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

/* Merges the rules' verdict on `op` from a path's open_path_rules entry (NULL: no rule). */
static __always_inline void merge_op(struct brig_verdict* into,
                                     const struct brig_path_verdicts* rules, __u32 op) {
    if (rules && op < BRIG_PATH_OPS)
        merge(into, &rules->ops[op]);
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

#define BRIG_DIR_DEPTH 32    /* top directories of a path built from a dentry (a power of 2) */
#define BRIG_WALK_STEPS 256  /* directories and mount crossings walked up, at most */
#define BRIG_SCRATCH_LEN 512 /* room for a masked offset below 256 plus a 128-byte copy */

/* Per-CPU room to build a path from dentries (too big for the BPF stack); each object has its
 * own. */
struct path_scratch {
    const unsigned char* names[BRIG_DIR_DEPTH]; /* a ring: the last ones walked are the top */
    __u32 lens[BRIG_DIR_DEPTH];
    char buf[BRIG_SCRATCH_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct path_scratch);
} path_scratch SEC(".maps");

struct walk_state {
    struct path_scratch* s;
    struct dentry* dentry;
    struct mount* mnt;
    struct dentry* root_dentry; /* NULL: up to the mount namespace's root */
    struct vfsmount* root_mnt;
    __u32 depth;
    bool complete; /* reached the root */
};

/* One step from a dentry towards the root: records its name, or crosses from a mount's root to
 * where it is mounted. */
static long walk_up(__u32 i, void* data) {
    struct walk_state* w = data;
    /* Locals, not w->...: a CO-RE read records its whole access chain, and walk_state is no
     * kernel type. */
    struct dentry* dentry = w->dentry;
    struct mount* mnt = w->mnt;
    if (dentry == w->root_dentry && &mnt->mnt == w->root_mnt) {
        w->complete = true;
        return 1;
    }
    struct dentry* parent = BPF_CORE_READ(dentry, d_parent);
    struct dentry* mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
    if (dentry == parent && dentry != mnt_root)
        return 1; /* disconnected (opened by handle): no path, as d_path says too */
    if (dentry == mnt_root) {
        struct mount* up = BPF_CORE_READ(mnt, mnt_parent);
        if (up == mnt) {
            /* The namespace's top: the root asked for when no task root was given. */
            w->complete = !w->root_dentry;
            return 1;
        }
        w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
        w->mnt = up;
        return 0;
    }
    __u32 d = w->depth;
    w->s->names[d & (BRIG_DIR_DEPTH - 1)] = BPF_CORE_READ(dentry, d_name.name);
    w->s->lens[d & (BRIG_DIR_DEPTH - 1)] = BPF_CORE_READ(dentry, d_name.len);
    w->depth = d + 1;
    w->dentry = parent;
    return 0;
}

struct build_state {
    struct path_scratch* s;
    __u32 depth;
    __u32 len;
};

/* Appends "/name" of the i-th directory from the root. */
static long append_dir(__u32 i, void* data) {
    struct build_state* b = data;
    if (i >= b->depth || i >= BRIG_DIR_DEPTH || b->len >= BRIG_PREFIX_LEN)
        return 1;
    __u32 j = (b->depth - 1 - i) & (BRIG_DIR_DEPTH - 1);
    __u32 len = b->len;
    b->s->buf[len & 255] = '/';
    len++;
    __u32 name_len = b->s->lens[j];
    if (name_len > BRIG_PREFIX_LEN - 1)
        name_len = BRIG_PREFIX_LEN - 1;
    barrier_var(name_len); /* keeps the mask, which 6.1's verifier needs to bound the size */
    name_len &= BRIG_PREFIX_LEN - 1;
    bpf_probe_read_kernel(&b->s->buf[len & 255], name_len, b->s->names[j]);
    b->len = len + name_len;
    return 0;
}

/* Writes to `out` (BRIG_PREFIX_LEN bytes) the path of `dentry` on `vfsmnt` from the current
 * task's root (`task_root`) or from its mount namespace's root (a chroot inside the container
 * does not move that one), across mounts, then "/" and the `tail_len` bytes at `tail` (kernel
 * memory, may be `out` itself) if tail_len > 0. A path of more than BRIG_DIR_DEPTH directories or
 * BRIG_PREFIX_LEN - 1 bytes is cut there and ends in "/" (never a file's end): prefix rules still
 * match it. `..` never occurs: the names are the dentries' own. Returns the length, 0 when the
 * root is not above the dentry. */
static __always_inline long build_path(char* out, struct dentry* dentry, struct vfsmount* vfsmnt,
                                       const char* tail, long tail_len, bool task_root) {
    __u32 zero = 0;
    struct path_scratch* s = bpf_map_lookup_elem(&path_scratch, &zero);
    if (!s)
        return 0;
    struct walk_state w = {
        .s = s,
        .dentry = dentry,
        .mnt = (struct mount*)((char*)vfsmnt - bpf_core_field_offset(struct mount, mnt)),
    };
    if (task_root) {
        struct task_struct* task = (struct task_struct*)bpf_get_current_task();
        w.root_dentry = BPF_CORE_READ(task, fs, root.dentry);
        w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
    }
    bpf_loop(BRIG_WALK_STEPS, walk_up, &w, 0);
    if (!w.complete)
        return 0;
    struct build_state b = {.s = s, .depth = w.depth};
    bpf_loop(BRIG_DIR_DEPTH, append_dir, &b, 0);
    __u32 len = b.len;
    bool cut = w.depth > BRIG_DIR_DEPTH || len >= BRIG_PREFIX_LEN - 1;
    if (!cut && tail_len > 0) {
        s->buf[len & 255] = '/';
        len++;
        __u32 n = tail_len > BRIG_PREFIX_LEN - 1 ? BRIG_PREFIX_LEN - 1 : tail_len;
        barrier_var(n); /* keeps the mask, which 6.1's verifier needs to bound the size */
        n &= BRIG_PREFIX_LEN - 1;
        bpf_probe_read_kernel(&s->buf[len & 255], n, tail);
        len += n;
        cut = len >= BRIG_PREFIX_LEN - 1;
    }
    if (cut) {
        if (len > BRIG_PREFIX_LEN - 2)
            len = BRIG_PREFIX_LEN - 2;
        barrier_var(len); /* 6.1's verifier walks the impossible branches of a folded clamp */
        len &= 255;
        s->buf[len] = '/';
        len++;
    } else if (len == 0) {
        s->buf[0] = '/';
        len = 1;
    }
    barrier_var(len);
    len &= 255;
    s->buf[len] = 0;
    bpf_probe_read_kernel(out, BRIG_PREFIX_LEN, s->buf);
    return len;
}

/* The current task's file behind `fd`, NULL when there is none. */
static __always_inline struct file* fd_file(long fd) {
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    struct fdtable* fdt = BPF_CORE_READ(task, files, fdt);
    unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
    if (fd < 0 || (unsigned long)fd >= max_fds)
        return 0;
    struct file** fds = BPF_CORE_READ(fdt, fd);
    struct file* file = 0;
    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
    return file;
}

#endif
