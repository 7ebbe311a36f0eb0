// SPDX-License-Identifier: GPL-2.0
/* brig's in-kernel monitor for kernels without usable BPF-LSM: tracepoints decide and kill
 * (bpf_send_signal(SIGKILL) from sched_process_exec stops a forbidden program before its first
 * instruction, from sys_exit a task that opened a forbidden file before its first read or
 * write), cgroup programs attached to each container's cgroup2 dir deny sockets and connects.
 * Every program first looks the current cgroup up in `containers`: host processes and other
 * runtimes' containers leave after one hash lookup. */
#include "code_exec_tracepoint.h"
#include "exec_verdicts.h"
#include "monitor_common.h"
#include "path_forms.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by brig before load when the BPF-LSM object is attached too: verdicts that deny are then
 * carried out (refused with EPERM and reported) by the LSM hooks, and skipped here so that nothing
 * is reported twice; opens and path operations are left to the hooks altogether. */
const volatile bool lsm_enforces = false;

SEC("raw_tracepoint/sched_process_exec")
int brig_exec(struct bpf_raw_tracepoint_args* ctx) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
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
        __builtin_memset(key.name, 0, sizeof(key.name));
        key.name[0] = 1;
        key.name[1] = 'n';
        key.name[2] = 'e';
        key.name[3] = 'w';
        merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
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
    bool approved = exec_approved(c, cgid, (__u32)ctx->args[1], bprm, exe_new);
    if (!approved)
        bpf_send_signal(SIGKILL);
    /* No rule can match this exec (exec_any reports every exec when one can); an exec that was
     * not approved is reported. */
    if (!verdict.action && approved)
        return 0;

    /* The new program's argv is in place: reserve_event reads it. */
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_EXEC);
    if (!e)
        return 0;
    bpf_probe_read_kernel_str(e->path, sizeof(e->path), filename);
    e->exe_new = exe_new;
    e->flags = approved ? 0 : BRIG_EXEC_UNAPPROVED;
    if (BPF_CORE_READ(bprm, interp) != filename)
        e->flags |= BRIG_EXEC_SCRIPT;
    e->rule_id = verdict.rule_id;
    e->action = verdict.action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    submit_event(c, e);
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

/* The open_path_rules entry of the path in key (`len` 0: no path) if the container's rules can
 * hold one: its first directory's bit is set in path_first_dirs. */
static __always_inline struct brig_path_verdicts* path_rules_of(const struct brig_container* c,
                                                                struct brig_prefix_key* key,
                                                                long len) {
    if (len <= 0 || !(c->path_first_dirs & (1ULL << brig_first_dir_bit(key->path))))
        return 0;
    return bpf_map_lookup_elem(&open_path_rules, key);
}

static __always_inline bool opens_for_writing(__u64 flags) {
    return (flags & O_ACCMODE) != 0 || (flags & (O_CREAT | O_TRUNC));
}

/* Reports an open's verdict on `path` (BRIG_PREFIX_LEN bytes), killing first if it says so.
 * `fd`: the fd the open returned (at sys_exit), -1 before it returns. */
static __always_inline int report_open(struct brig_container* c, __u64 cgid,
                                       const struct brig_verdict* verdict, const char* path,
                                       __u64 flags, __u32 nr, int fd) {
    /* A tracepoint cannot refuse: deny means the task dies before the syscall returns. */
    if (verdict->action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, verdict);
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_OPEN);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->flags = (__u32)flags;
    e->res = fd;
    e->has_res = fd >= 0;
    e->rule_id = verdict->rule_id;
    e->action = verdict->action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_probe_read_kernel(e->path, BRIG_PREFIX_LEN, path);
    submit_event(c, e);
    return 0;
}

/* An open at syscall entry, on the path as given in its normal form (path_forms.h): a deny or
 * kill verdict is carried out now, before the file is opened, and reported; every other verdict
 * waits for sys_exit, which matches the file the kernel opened (symlinks resolved) and reports
 * it there, so that nothing is reported twice. An O_PATH open reads and writes nothing (the
 * kernel runs no file_open hook for it): its reopening through /proc/self/fd/N is the open. */
/* Before the container's first exec only brig's own init runs in it, setting up the rootfs
 * (hundreds of opens, mkdirs, mknods): the file rules judge the container's programs, from the
 * first instruction of the first one. */
static __always_inline bool setting_up(const struct brig_container* c) {
    return !c->started;
}

static __always_inline int handle_open(struct brig_container* c, __u64 cgid, int dirfd,
                                       const char* upath, __u64 flags, __u32 nr) {
    /* Under BPF-LSM, lsm/file_open decides and reports every verdict on the resolved path. */
    struct path_form* f = path_form_scratch();
    if (lsm_enforces || (flags & O_PATH) || !f || setting_up(c))
        return 0;
    struct brig_prefix_key* key = scratch_key(f, cgid);
    long len = brig_path_form(key, dirfd, (unsigned long)upath);
    if (len <= 0)
        return 0;
    struct brig_verdict verdict = {};
    struct brig_path_verdicts* by_path = path_rules_of(c, key, len);
    merge_op(&verdict, by_path, BRIG_PATH_OPEN);
    if (opens_for_writing(flags))
        merge_op(&verdict, by_path, BRIG_PATH_OPEN_WRITE);
    merge(&verdict, open_name_verdict(c, cgid, key->path, len));
    if (!(verdict.action & BRIG_ACT_ENFORCE))
        return 0;
    return report_open(c, cgid, &verdict, key->path, flags, nr, -1);
}

/* The strongest verdict of the rules on `op` for the path at `upath`; the path read into key. */
static __always_inline void path_verdict(const struct brig_container* c,
                                         struct brig_prefix_key* key, int dirfd, const char* upath,
                                         __u32 op, struct brig_verdict* verdict) {
    long len = brig_path_form(key, dirfd, (unsigned long)upath);
    merge_op(verdict, path_rules_of(c, key, len), op);
}

/* Reports a path operation's verdict on `path` (and `new_path`, the other end of a rename or
 * link; NULL for none), killing first if it says so. */
static __always_inline int report_path_op(struct brig_container* c, __u64 cgid,
                                          const struct brig_verdict* verdict, __u32 nr,
                                          const char* path, const char* new_path) {
    if (verdict->action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, verdict);
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_PATH);
    if (!e)
        return 0;
    e->syscall_nr = nr;
    e->rule_id = verdict->rule_id;
    e->action = verdict->action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    bpf_probe_read_kernel(e->path, BRIG_PREFIX_LEN, path);
    if (new_path)
        bpf_probe_read_kernel(e->new_path, BRIG_PREFIX_LEN, new_path);
    submit_event(c, e);
    return 0;
}

/* unlink, rmdir, rename and link (both paths), chmod, mkdir, mknod, truncate, on the paths in
 * their normal form (a symlinked directory on the way stays unresolved: path_forms.h). Landlock
 * refuses those among them that write, in advance, where a rule denies; here deny and kill stop
 * the task (BPF-LSM refuses all of them and reports every verdict itself). A rule on writing
 * below a directory reaches all but chmod: user space folds it into the verdicts of the others
 * (KernelPlan::folded_paths). */
static __always_inline int handle_path_op(struct brig_container* c, __u64 cgid, __u32 op, __u32 nr,
                                          int dirfd, const char* upath, int new_dirfd,
                                          const char* unew_path) {
    struct path_form* f = path_form_scratch();
    if (lsm_enforces || !f || setting_up(c))
        return 0;
    struct brig_prefix_key* key = scratch_key(f, cgid);
    struct brig_verdict verdict = {};
    path_verdict(c, key, dirfd, upath, op, &verdict);
    if (unew_path) {
        bpf_probe_read_kernel(f->kept, sizeof(f->kept), key->path);
        path_verdict(c, key, new_dirfd, unew_path, op, &verdict);
    }
    if (!verdict.action)
        return 0;
    if (unew_path)
        return report_path_op(c, cgid, &verdict, nr, f->kept, key->path);
    return report_path_op(c, cgid, &verdict, nr, key->path, 0);
}

/* symlink and symlinkat: ruled on the new entry at `ulinkpath`; the target is a string, not a
 * path the kernel resolves now, and goes to user space as given (evt.arg.target). */
static __always_inline int handle_symlink(struct brig_container* c, __u64 cgid, __u32 nr,
                                          const char* utarget, int dirfd, const char* ulinkpath) {
    struct path_form* f = path_form_scratch();
    if (lsm_enforces || !f || setting_up(c))
        return 0;
    struct brig_prefix_key* key = scratch_key(f, cgid);
    struct brig_verdict verdict = {};
    path_verdict(c, key, dirfd, ulinkpath, path_op_of(nr), &verdict);
    if (!verdict.action)
        return 0;
    bpf_probe_read_user_str(f->kept, sizeof(f->kept), utarget);
    return report_path_op(c, cgid, &verdict, nr, f->kept, key->path);
}

/* ftruncate: the path of the file the fd holds (the kernel's own, as sys_exit takes it). */
static __always_inline int handle_fd_write(struct brig_container* c, __u64 cgid, __u32 nr, int fd) {
    struct file* file = fd_file(fd);
    struct path_form* f = path_form_scratch();
    if (lsm_enforces || !file || !f || setting_up(c))
        return 0;
    struct brig_prefix_key* key = scratch_key(f, cgid);
    long len = build_path(key->path, BPF_CORE_READ(file, f_path.dentry),
                          BPF_CORE_READ(file, f_path.mnt), 0, 0, false);
    struct brig_verdict verdict = {};
    merge_op(&verdict, path_rules_of(c, key, len), BRIG_PATH_OPEN_WRITE);
    if (!verdict.action)
        return 0;
    return report_path_op(c, cgid, &verdict, nr, key->path, 0);
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
    submit_event(c, e);
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
    submit_event(c, e);
    return 0;
}

static __always_inline bool is_watched_x86_64(long nr) {
    switch (nr) {
        case NR_open:
        case NR_creat:
        case NR_openat:
        case NR_openat2:
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
        case NR_link:
        case NR_linkat:
        case NR_symlink:
        case NR_symlinkat:
        case NR_mknod:
        case NR_mknodat:
        case NR_truncate:
        case NR_ftruncate:
            /* Under BPF-LSM the file hooks decide and report them all. */
            return !lsm_enforces;
        case NR_ptrace:
        case NR_memfd_create:
        case NR_init_module:
        case NR_finit_module:
        case NR_bpf:
        case NR_socket:
        case NR_connect:
        case NR_bind:
            return true;
        default:
            return false;
    }
}

static __always_inline bool is_watched_ia32(long nr) {
    return nr == IA32_NR_socketcall || ia32_to_x86_64(nr) >= 0;
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
    if (nr != IA32_NR_socketcall)
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

/* The path operations among the watched syscalls (sys_enter), `args` their arguments. */
static __always_inline int handle_path_syscall(struct brig_container* c, __u64 cgid, long nr,
                                               const unsigned long args[6]) {
#define ARG(n) args[(n)-1]
#define PATH_ARG(n) ((const char*)args[(n)-1])
    switch (nr) {
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
        case NR_link:
            return handle_path_op(c, cgid, BRIG_PATH_LINK, nr, AT_FDCWD, PATH_ARG(1), AT_FDCWD,
                                  PATH_ARG(2));
        case NR_linkat:
            return handle_path_op(c, cgid, BRIG_PATH_LINKAT, nr, (int)ARG(1), PATH_ARG(2),
                                  (int)ARG(3), PATH_ARG(4));
        case NR_symlink: /* (target, linkpath) */
            return handle_symlink(c, cgid, nr, PATH_ARG(1), AT_FDCWD, PATH_ARG(2));
        case NR_symlinkat: /* (target, newdirfd, linkpath) */
            return handle_symlink(c, cgid, nr, PATH_ARG(1), (int)ARG(2), PATH_ARG(3));
        case NR_mknod:
        case NR_truncate:
            return handle_path_op(c, cgid, path_op_of(nr), nr, AT_FDCWD, PATH_ARG(1), 0, 0);
        case NR_mknodat:
            return handle_path_op(c, cgid, BRIG_PATH_MKNODAT, nr, (int)ARG(1), PATH_ARG(2), 0, 0);
        case NR_ftruncate:
            return handle_fd_write(c, cgid, nr, (int)ARG(1));
        default:
            return 0;
    }
#undef ARG
#undef PATH_ARG
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
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
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
        default:
            return handle_path_syscall(c, cgid, nr, args);
    }
#undef ARG
#undef PATH_ARG
}

#define FMODE_WRITE 0x2
#define FMODE_PATH 0x4000

/* The task is going to die before it is back in user space: sys_enter killed it (and reported
 * why), or its container is condemned. */
static __always_inline bool fatal_signal_pending(void) {
    struct task_struct* task = bpf_get_current_task_btf();
    return task->pending.signal.sig[0] & (1UL << (SIGKILL - 1));
}

/* Whether the current task is in an ia32 syscall, read directly (tp_btf: no helper call). */
static __always_inline bool exit_in_ia32(void) {
    return bpf_get_current_task_btf()->thread_info.status & TS_COMPAT;
}

/* The open flags of the open-family syscall `nr` the task leaves, from its registers (openat2:
 * from its open_how): the third argument but for open's second, in edx/rdx or ecx/rsi. */
static __always_inline __u64 exit_open_flags(struct pt_regs* regs, long nr, bool ia32) {
    __u64 third = ia32 ? (__u32)regs->dx : regs->dx;
    __u64 flags = 0;
    switch (nr) {
        case NR_open:
            return ia32 ? (__u32)regs->cx : regs->si;
        case NR_creat:
            return O_CREAT | O_TRUNC | 1 /* O_WRONLY */;
        case NR_openat:
        case NR_open_by_handle_at:
            return third;
        default: /* openat2 */
            bpf_probe_read_user(&flags, sizeof(flags), (void*)third);
            return flags;
    }
}

/* Whether the container's name rules can hold the name of `len` bytes (as open_name_verdict
 * tries only the container's name lengths). */
static __always_inline bool name_can_match(const struct brig_container* c, __u32 len) {
    if (c->flags & BRIG_CF_OPEN_NAME_SCAN)
        return true;
    for (int i = 0; i < BRIG_NAME_LENS; i++)
        if (c->open_name_lens[i] == len)
            return len != 0;
    return false;
}

/* The brig_name_bit of a dentry's name. */
static __always_inline __u32 dentry_name_bit(struct dentry* dentry) {
    const unsigned char* name = BPF_CORE_READ(dentry, d_name.name);
    __u32 len = BPF_CORE_READ(dentry, d_name.len);
    __u64 head = 0, tail = 0;
    /* A name shorter than 8 bytes lies within the dentry (d_iname): reading 8 is safe. */
    bpf_probe_read_kernel(&head, sizeof(head), name);
    if (len < 8) {
        head &= (1ULL << (8 * len)) - 1;
        tail = head;
    } else {
        bpf_probe_read_kernel(&tail, sizeof(tail), name + (len - 8));
    }
    return brig_name_bit(len, head, tail);
}

/* Whether the rules on paths can hold a verdict on this open: any open for writing; one for
 * reading only where some prefix rules on opens in any mode, or an exact file's rule has the
 * name's bit. The others skip building the path, which most of a container's opens are. */
static __always_inline bool path_can_match(const struct brig_container* c, struct dentry* dentry,
                                           bool write) {
    return write || (c->flags & BRIG_CF_OPEN_PREFIXES) ||
           (c->open_file_names & (1ULL << dentry_name_bit(dentry)));
}

/* An open that succeeded, at syscall exit: the rules on the file the returned fd holds, on its
 * path from the container's mount-namespace root (build_path walks the dentries the kernel
 * resolved: symlinks, `..`, /proc magic links, bind mounts, as the BPF-LSM hooks see them) and on
 * its name. Every verdict is reported here but those sys_enter carried out already (the task has
 * SIGKILL pending then); deny and kill kill the task before it is back in user space, so before
 * its first read or write. A sibling thread that uses the fd between its install and this is not
 * stopped (src/monitor/README.md, Known limits). */
static __always_inline int check_opened_file(struct brig_container* c, __u64 cgid,
                                             struct pt_regs* regs, long nr, bool ia32, int fd) {
    /* Under BPF-LSM, file_open refused what a deny or kill verdict forbids (no fd comes back)
     * and left the other verdicts of an open syscall to this, which knows the fd. */
    if (fatal_signal_pending())
        return 0;
    struct file* file = fd_file(fd);
    if (!file)
        return 0;
    unsigned int mode = BPF_CORE_READ(file, f_mode);
    if (mode & FMODE_PATH)
        return 0;
    __u64 flags = exit_open_flags(regs, nr, ia32);
    bool write = (mode & FMODE_WRITE) || opens_for_writing(flags);
    struct dentry* dentry = BPF_CORE_READ(file, f_path.dentry);
    struct vfsmount* mnt = BPF_CORE_READ(file, f_path.mnt);
    struct brig_prefix_key key = {.cgroup_id = cgid, .prefixlen = 64 + 8 * BRIG_PREFIX_LEN};
    long len = 0;
    struct brig_verdict verdict = {};
    if (path_can_match(c, dentry, write)) {
        len = build_path(key.path, dentry, mnt, 0, 0, false);
        struct brig_path_verdicts* by_path = path_rules_of(c, &key, len);
        merge_op(&verdict, by_path, BRIG_PATH_OPEN);
        if (write)
            merge_op(&verdict, by_path, BRIG_PATH_OPEN_WRITE);
    }
    if (name_can_match(c, BPF_CORE_READ(dentry, d_name.len))) {
        struct brig_name_key name = {.cgroup_id = cgid};
        bpf_probe_read_kernel_str(name.name, sizeof(name.name), BPF_CORE_READ(dentry, d_name.name));
        merge(&verdict, bpf_map_lookup_elem(&open_name_rules, &name));
    }
    if (!verdict.action)
        return 0;
    if (!len) /* a name rule's: the report names the file's path too */
        build_path(key.path, dentry, mnt, 0, 0, false);
    return report_open(c, cgid, &verdict, key.path, flags, nr, fd);
}

/* x86-64, x32 and ia32 numbers of open, creat, openat, openat2 and open_by_handle_at (openat2's
 * number is the same in every ABI). */
static __always_inline bool maybe_open(long nr) {
    switch (nr & ~X32_SYSCALL_BIT) {
        case NR_open:
        case NR_creat:
        case NR_openat:
        case NR_openat2:
        case NR_open_by_handle_at:
        case IA32_NR_open:
        case IA32_NR_creat:
        case IA32_NR_openat:
        case IA32_NR_open_by_handle_at:
            return true;
        default:
            return false;
    }
}

/* Every syscall of every process passes here while a container is registered: a failed one, and
 * one that is no open nor makes a file, leave on the return value and the number. What the
 * container wrote is recorded on both paths (written_files.h); the opened file's rules are
 * matched on the tracepoint path only (BPF-LSM's file_open sees every open itself). */
SEC("tp_btf/sys_exit")
int BPF_PROG(brig_sys_exit, struct pt_regs* regs, long ret) {
    long nr = regs->orig_ax;
    if (ret < 0 || (!maybe_open(nr) && !watched_at_exit_ia32(nr & ~X32_SYSCALL_BIT)))
        return 0;
    bool ia32 = exit_in_ia32();
    nr = ia32 ? ia32_to_x86_64(nr) : nr & X32_SYSCALL_BIT ? x32_to_x86_64(nr) : nr;
    record_written_fd(regs, nr, ia32, ret, lsm_enforces);
    if (!is_open_syscall(nr))
        return 0;
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c || setting_up(c)) /* brig's init, before the first exec (as at sys_enter) */
        return 0;
    return check_opened_file(c, cgid, regs, nr, ia32, (int)ret);
}

/* cgroup programs: attached to each container's cgroup2 dir; return 0 refuses with EPERM. */
SEC("cgroup/sock_create")
int brig_sock_create(struct bpf_sock* sk) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return 1;
    if (sk->family == AF_PACKET && (c->syscalls[BRIG_SC_PACKET_SOCKET].action & BRIG_ACT_DENY))
        return 0;
    return 1;
}

static __always_inline int addr_allowed(struct brig_addr_key* key) {
    if (!current_container(&key->cgroup_id))
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
