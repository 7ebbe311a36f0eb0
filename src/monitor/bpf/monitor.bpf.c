// SPDX-License-Identifier: GPL-2.0
/* brig's in-kernel monitor for kernels without usable BPF-LSM: raw tracepoints decide and kill
 * (bpf_send_signal(SIGKILL) from sched_process_exec stops a forbidden program before its first
 * instruction), cgroup programs attached to each container's cgroup2 dir deny sockets and
 * connects. Every program first looks the current cgroup up in `containers`: host processes and
 * other runtimes' containers leave after one hash lookup. */
#include "code_exec_tracepoint.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by brig before load when the BPF-LSM object is attached too: verdicts that deny are then
 * carried out (refused with EPERM and reported) by the LSM hooks, and skipped here so that nothing
 * is reported twice. */
const volatile bool lsm_enforces = false;

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
    if (!c->started)
        c->started = 1; /* its first program runs: what the container writes now is new */
    struct linux_binprm* bprm = (struct linux_binprm*)ctx->args[2];
    struct brig_verdict verdict = c->exec_any;
    struct brig_name_key key = {.cgroup_id = cgid};
    const char* filename = BPF_CORE_READ(bprm, filename);

    __u32 exe_new = exec_code_verdict(c, cgid, bprm, lsm_enforces, &verdict);
    if (exe_new) {
        /* "Drop and execute": one verdict under the reserved name "\x01new". */
        struct brig_name_key fresh = {.cgroup_id = cgid, .name = {1, 'n', 'e', 'w'}};
        merge(&verdict, bpf_map_lookup_elem(&exec_rules, &fresh));
    }
    /* The full path as given to execve, its basename, and the real file's name (symlinks,
     * fexecve and memfd execs show their true name there). */
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

    /* Reserved last and submitted on every path below: the verifier of older kernels (6.1) loses
     * track of a reservation held across the lookups above. */
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_EXEC);
    if (!e)
        return 0;
    bpf_probe_read_kernel_str(e->path, sizeof(e->path), filename);
    copy_mm_args(e);
    if (BPF_CORE_READ(bprm, interp) != filename)
        e->flags = BRIG_EXEC_SCRIPT;
    e->exe_new = exe_new;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* The open_name_rules verdict for the basename of `path` (`len` bytes, in a BRIG_PREFIX_LEN
 * buffer). Each of the container's name lengths L is one candidate: the last L bytes, if they
 * follow a '/' or are the whole path. A candidate holding a '/' is no basename and never matches a
 * name, so trying them all finds the basename's verdict without scanning the path. */
static __always_inline struct brig_verdict* open_name_verdict(struct brig_container* c, __u64 cgid,
                                                              const char* path, long len) {
    struct brig_name_key name = {.cgroup_id = cgid};
    if (c->flags & BRIG_CF_OPEN_NAME_SCAN) {
        basename_into(&name, path);
        return bpf_map_lookup_elem(&open_name_rules, &name);
    }
    for (int i = 0; i < BRIG_NAME_LENS; i++) {
        long l = c->open_name_lens[i];
        if (!l)
            return 0;
        if (l > len)
            continue;
        long start = len - l;
        if (start > 0 && path[(start - 1) & (BRIG_PREFIX_LEN - 1)] != '/')
            continue;
        __builtin_memset(name.name, 0, sizeof(name.name));
        bpf_probe_read_kernel(name.name, l & (BRIG_NAME_LEN - 1),
                              path + (start & (BRIG_PREFIX_LEN - 1)));
        struct brig_verdict* v = bpf_map_lookup_elem(&open_name_rules, &name);
        if (v)
            return v;
    }
    return 0;
}

/* The path of the current task's open file `fd` (dentry and mount), false when it has none. */
static __always_inline bool fd_path(int fd, struct dentry** dentry, struct vfsmount** mnt) {
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    struct fdtable* fdt = BPF_CORE_READ(task, files, fdt);
    unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
    if (fd < 0 || (unsigned int)fd >= max_fds)
        return false;
    struct file** fds = BPF_CORE_READ(fdt, fd);
    struct file* file = 0;
    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
    if (!file)
        return false;
    *dentry = BPF_CORE_READ(file, f_path.dentry);
    *mnt = BPF_CORE_READ(file, f_path.mnt);
    return true;
}

/* Makes `path` (a BRIG_PREFIX_LEN buffer holding rel_len characters), relative to the task's
 * working directory or to the directory fd `dirfd`, absolute in the task's root, so that prefix
 * rules match `cd /etc && echo x > passwd`. Returns the new length, 0 when the path stays as it
 * was. */
static __always_inline long resolve_relative(char* path, long rel_len, int dirfd) {
    if (rel_len <= 0 || rel_len >= BRIG_PREFIX_LEN)
        return 0;
    const char* rel = path;
    if (rel_len >= 2 && rel[0] == '.' && rel[1] == '/') {
        rel += 2;
        rel_len -= 2;
    }
    struct dentry* dir = 0;
    struct vfsmount* mnt = 0;
    if (dirfd == AT_FDCWD) {
        struct task_struct* task = (struct task_struct*)bpf_get_current_task();
        struct fs_struct* fs = BPF_CORE_READ(task, fs);
        dir = BPF_CORE_READ(fs, pwd.dentry);
        mnt = BPF_CORE_READ(fs, pwd.mnt);
    } else if (!fd_path(dirfd, &dir, &mnt)) {
        return 0;
    }
    return build_path(path, dir, mnt, rel, rel_len, true);
}

/* Reads the path at `upath` into `path` (`size` bytes) as bpf_probe_read_user_str does (the
 * length with its NUL, <= 0 when unreadable), made absolute when it is relative. */
static __always_inline long read_path(char* path, __u32 size, int dirfd, const char* upath) {
    long n = bpf_probe_read_user_str(path, size, upath);
    if (n > 1 && path[0] != '/') {
        long resolved = resolve_relative(path, n - 1, dirfd);
        if (resolved)
            n = resolved + 1;
    }
    return n;
}

static __always_inline int handle_open(struct brig_container* c, __u64 cgid, int dirfd,
                                       const char* upath, __u64 flags, __u32 nr) {
    struct brig_prefix_key key = {.cgroup_id = cgid};
    long n = read_path(key.path, sizeof(key.path), dirfd, upath);
    if (n <= 0)
        return 0;
    struct brig_verdict verdict = {};
    key.prefixlen = 64 + 8 * BRIG_PREFIX_LEN;
    struct brig_path_verdicts* by_path = 0;
    if (c->path_first_dirs & (1ULL << brig_first_dir_bit(key.path)))
        by_path = bpf_map_lookup_elem(&open_path_rules, &key);
    merge_op(&verdict, by_path, BRIG_PATH_OPEN);
    if ((flags & O_ACCMODE) != 0 || (flags & (O_CREAT | O_TRUNC)))
        merge_op(&verdict, by_path, BRIG_PATH_OPEN_WRITE);
    struct brig_verdict* by_name = open_name_verdict(c, cgid, key.path, n - 1);
    merge(&verdict, by_name);
    if (!verdict.action)
        return 0;
    /* Under BPF-LSM, lsm/file_open decides (and reports) from the path the kernel resolved. */
    if (lsm_enforces && (verdict.action & BRIG_ACT_ENFORCE))
        return 0;
    if (verdict.action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_OPEN);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->flags = (__u32)flags;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    read_path(e->path, sizeof(e->path), dirfd, upath);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* The strongest verdict of the rules on `op` for the path at `upath`; the path read into key. */
static __always_inline void path_verdict(const struct brig_container* c,
                                         struct brig_prefix_key* key, int dirfd, const char* upath,
                                         __u32 op, struct brig_verdict* verdict) {
    if (read_path(key->path, sizeof(key->path), dirfd, upath) <= 0)
        return;
    if (c->path_first_dirs & (1ULL << brig_first_dir_bit(key->path)))
        merge_op(verdict, bpf_map_lookup_elem(&open_path_rules, key), op);
}

/* unlink, rmdir, rename (both paths), chmod, mkdir. Landlock refuses the writes among them in
 * advance where a rule denies; here deny and kill stop the task (BPF-LSM refuses all of them).
 * A rule on writing below a directory reaches all but chmod: user space folds it into their
 * verdicts (KernelPlan::folded_paths). */
static __always_inline int handle_path_op(struct brig_container* c, __u64 cgid, __u32 op, __u32 nr,
                                          int dirfd, const char* upath, int new_dirfd,
                                          const char* unew_path) {
    struct brig_prefix_key key = {.cgroup_id = cgid, .prefixlen = 64 + 8 * BRIG_PREFIX_LEN};
    struct brig_verdict verdict = {};
    path_verdict(c, &key, dirfd, upath, op, &verdict);
    if (unew_path)
        path_verdict(c, &key, new_dirfd, unew_path, op, &verdict);
    if (!verdict.action)
        return 0;
    /* Under BPF-LSM, the path_* hooks decide (and report) from the paths the kernel resolved. */
    if (lsm_enforces && (verdict.action & BRIG_ACT_ENFORCE))
        return 0;
    if (verdict.action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_PATH);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    read_path(e->path, sizeof(e->path), dirfd, upath);
    if (unew_path)
        read_path(e->new_path, sizeof(e->new_path), new_dirfd, unew_path);
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
    /* The LSM hooks refuse and report every class but memfd_create (no hook) and module loads:
     * the kernel's own capability check refuses init_module before the hooks run, so those are
     * reported here and only refused (and killed) there. */
    bool lsm_reports = lsm_enforces && cls != BRIG_SC_MEMFD_CREATE && cls != BRIG_SC_INIT_MODULE;
    if (lsm_reports && (verdict.action & BRIG_ACT_ENFORCE))
        return 0;
    /* A tracepoint cannot refuse: deny means the task dies before the syscall returns (the
     * cgroup sock_create hook runs for inet sockets only, not AF_PACKET). */
    if ((verdict.action & BRIG_ACT_DENY) && !(lsm_enforces && cls == BRIG_SC_INIT_MODULE))
        bpf_send_signal(SIGKILL);
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(c, cgid, type);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->flags = flags;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* connect (destination) and bind (local address). */
static __always_inline int handle_sockaddr(struct brig_container* c, __u64 cgid, const void* uaddr,
                                           __u32 op, __u32 type, __u32 nr) {
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key)); /* padding is hashed too */
    key.cgroup_id = cgid;
    key.op = op;
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
    __u16 port = key.port;
    struct brig_verdict verdict = {};
    addr_verdict(&key, &verdict);
    if (!verdict.action)
        return 0;
    if (lsm_enforces && (verdict.action & BRIG_ACT_ENFORCE))
        return 0; /* lsm/socket_connect and socket_bind refuse and report it */
    /* Deny is done race-free by the cgroup connect/bind programs on the kernel's copy. */
    enforce_kill(c, &verdict);
    struct brig_event* e = reserve_event(c, cgid, type);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->family = family;
    e->port = port;
    __builtin_memcpy(e->addr, key.addr, sizeof(e->addr));
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline bool is_watched_x86_64(long nr) {
    switch (nr) {
        case NR_open:
        case NR_creat:
        case NR_openat:
        case NR_openat2:
        case NR_ptrace:
        case NR_memfd_create:
        case NR_init_module:
        case NR_finit_module:
        case NR_bpf:
        case NR_socket:
        case NR_connect:
        case NR_bind:
        case NR_unlink:
        case NR_rmdir:
        case NR_unlinkat:
        case NR_rename:
        case NR_renameat:
        case NR_renameat2:
        case NR_chmod:
        case NR_fchmodat:
        case NR_fchmodat2:
        case NR_mkdir:
        case NR_mkdirat:
            return true;
        default:
            return false;
    }
}

#define IA32_socketcall 102

static __always_inline bool is_watched_ia32(long nr) {
    return nr == IA32_socketcall || ia32_to_x86_64(nr) >= 0;
}

#define SYS_SOCKET 1 /* socketcall's calls */
#define SYS_BIND 2
#define SYS_CONNECT 3

/* The watched syscall the task is making as its x86-64 number (-1 for none) and its six
 * arguments. A 32-bit program, or int $0x80 from a 64-bit one, makes ia32 syscalls: i386
 * numbers, arguments in other registers, 32-bit pointers, and socketcall for the socket calls;
 * without this they would pass unseen (or be taken for the x86-64 syscall of the same number). */
static __always_inline long read_call(struct pt_regs* regs, long nr, unsigned long args[6]) {
    bool ia32 = in_ia32_syscall();
    if (!ia32 && !is_watched_x86_64(nr))
        return -1;
    read_syscall_args(regs, ia32, args);
    if (!ia32)
        return nr;
    if (nr != IA32_socketcall)
        return ia32_to_x86_64(nr);
    __u32 call_args[2] = {};
    bpf_probe_read_user(call_args, sizeof(call_args), (const void*)args[1]);
    __u32 call = args[0];
    args[0] = call_args[0];
    args[1] = call_args[1];
    if (call == SYS_SOCKET)
        return NR_socket;
    if (call == SYS_BIND)
        return NR_bind;
    if (call == SYS_CONNECT)
        return NR_connect;
    return -1;
}

static __always_inline bool someone_condemned(void) {
    __u32 zero = 0;
    __u32* condemned = bpf_map_lookup_elem(&any_condemned, &zero);
    return condemned && *condemned;
}

SEC("raw_tracepoint/sys_enter")
int brig_sys_enter(struct bpf_raw_tracepoint_args* ctx) {
    if (handle_code_map((struct pt_regs*)ctx->args[0], ctx->args[1], lsm_enforces))
        return 0;
    long nr = ctx->args[1];
    if (nr & X32_SYSCALL_BIT)
        nr = x32_to_x86_64(nr);
    /* The number alone first: most syscalls of every process leave here, before their task's
     * container is looked up (an ia32 number that an x86-64 syscall shares costs a read of the
     * task's ABI). Only while a container is condemned is every syscall looked up. */
    bool watched = is_watched_x86_64(nr) || (is_watched_ia32(nr) && in_ia32_syscall());
    if (!watched && !someone_condemned())
        return 0;
    __u64 cgid = bpf_get_current_cgroup_id();
    struct brig_container* c = bpf_map_lookup_elem(&containers, &cgid);
    if (!c)
        return 0;
    if (c->flags & BRIG_CF_CONDEMNED) {
        bpf_send_signal(SIGKILL);
        return 0;
    }
    if (!watched)
        return 0;
    unsigned long args[6];
    nr = read_call((struct pt_regs*)ctx->args[0], nr, args);
#define ARG(n) args[(n)-1]
#define PATH_ARG(n) ((const char*)args[(n)-1])
    switch (nr) {
        case NR_open:
            return handle_open(c, cgid, AT_FDCWD, PATH_ARG(1), ARG(2), nr);
        case NR_creat:
            return handle_open(c, cgid, AT_FDCWD, PATH_ARG(1), O_CREAT | O_TRUNC | 1, nr);
        case NR_openat:
            return handle_open(c, cgid, (int)ARG(1), PATH_ARG(2), ARG(3), nr);
        case NR_openat2: {
            __u64 flags = 0;
            bpf_probe_read_user(&flags, sizeof(flags), (void*)ARG(3));
            return handle_open(c, cgid, (int)ARG(1), PATH_ARG(2), flags, nr);
        }
        case NR_ptrace:
            return report_syscall(c, cgid, BRIG_SC_PTRACE, BRIG_EV_PTRACE, nr, ARG(1));
        case NR_memfd_create:
            return report_syscall(c, cgid, BRIG_SC_MEMFD_CREATE, BRIG_EV_MEMFD_CREATE, nr, 0);
        case NR_init_module:
        case NR_finit_module:
            return report_syscall(c, cgid, BRIG_SC_INIT_MODULE, BRIG_EV_INIT_MODULE, nr, 0);
        case NR_bpf:
            return report_syscall(c, cgid, BRIG_SC_BPF, BRIG_EV_BPF, nr, ARG(1));
        case NR_socket: {
            __u32 domain = ARG(1);
            if (domain != AF_PACKET)
                return 0;
            return report_syscall(c, cgid, BRIG_SC_PACKET_SOCKET, BRIG_EV_SOCKET, nr, domain);
        }
        case NR_connect:
            return handle_sockaddr(c, cgid, (const void*)ARG(2), BRIG_ADDR_CONNECT, BRIG_EV_CONNECT,
                                   nr);
        case NR_bind:
            return handle_sockaddr(c, cgid, (const void*)ARG(2), BRIG_ADDR_BIND, BRIG_EV_BIND, nr);
        case NR_unlink:
        case NR_rmdir:
        case NR_chmod:
        case NR_mkdir:
            return handle_path_op(c, cgid, path_op_of(nr), nr, AT_FDCWD, PATH_ARG(1), 0, 0);
        case NR_unlinkat:
        case NR_fchmodat:
        case NR_fchmodat2:
        case NR_mkdirat:
            return handle_path_op(c, cgid, path_op_of(nr), nr, (int)ARG(1), PATH_ARG(2), 0, 0);
        case NR_rename:
            return handle_path_op(c, cgid, BRIG_PATH_RENAME, nr, AT_FDCWD, PATH_ARG(1), AT_FDCWD,
                                  PATH_ARG(2));
        case NR_renameat:
        case NR_renameat2:
            return handle_path_op(c, cgid, path_op_of(nr), nr, (int)ARG(1), PATH_ARG(2),
                                  (int)ARG(3), PATH_ARG(4));
        default:
            return 0;
    }
#undef ARG
#undef PATH_ARG
}

/* At a syscall's exit: what the container wrote (written_files.h). The syscall number first:
 * every process on the host passes here while a container is registered. */
SEC("tp_btf/sys_exit")
int BPF_PROG(brig_sys_exit, struct pt_regs* regs, long ret) {
    long nr = regs->orig_ax;
    if (ret < 0 || !watched_at_exit_ia32(nr & ~X32_SYSCALL_BIT))
        return 0;
    bool ia32 = in_ia32_syscall();
    nr = ia32 ? ia32_to_x86_64(nr) : nr & X32_SYSCALL_BIT ? x32_to_x86_64(nr) : nr;
    record_written_fd(regs, nr, ia32, ret, lsm_enforces);
    return 0;
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

static __always_inline int addr_allowed(struct brig_addr_key* key) {
    if (!bpf_map_lookup_elem(&containers, &key->cgroup_id))
        return 1;
    struct brig_verdict verdict = {};
    addr_verdict(key, &verdict);
    return !(verdict.action & BRIG_ACT_DENY);
}

/* The kernel's copy of a connect's or bind's address: zeroed whole (the key's padding is hashed
 * too), then filled from constant ctx offsets (the verifier refuses a moved ctx pointer). */
static __always_inline int sock_addr4_allowed(struct bpf_sock_addr* ctx, __u32 op) {
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.cgroup_id = bpf_get_current_cgroup_id();
    key.op = op;
    key.family = AF_INET;
    key.port = __builtin_bswap16((__u16)ctx->user_port);
    __u32 ip = ctx->user_ip4;
    __builtin_memcpy(key.addr, &ip, 4);
    return addr_allowed(&key);
}

static __always_inline int sock_addr6_allowed(struct bpf_sock_addr* ctx, __u32 op) {
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.cgroup_id = bpf_get_current_cgroup_id();
    key.op = op;
    key.family = AF_INET6;
    key.port = __builtin_bswap16((__u16)ctx->user_port);
    __u32 words[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
    __builtin_memcpy(key.addr, words, sizeof(words));
    return addr_allowed(&key);
}

SEC("cgroup/connect4")
int brig_connect4(struct bpf_sock_addr* ctx) {
    return sock_addr4_allowed(ctx, BRIG_ADDR_CONNECT);
}

SEC("cgroup/connect6")
int brig_connect6(struct bpf_sock_addr* ctx) {
    return sock_addr6_allowed(ctx, BRIG_ADDR_CONNECT);
}

SEC("cgroup/bind4")
int brig_bind4(struct bpf_sock_addr* ctx) {
    return sock_addr4_allowed(ctx, BRIG_ADDR_BIND);
}

SEC("cgroup/bind6")
int brig_bind6(struct bpf_sock_addr* ctx) {
    return sock_addr6_allowed(ctx, BRIG_ADDR_BIND);
}
