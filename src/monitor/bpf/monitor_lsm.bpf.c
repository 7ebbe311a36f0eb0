// SPDX-License-Identifier: GPL-2.0
/* brig's BPF-LSM programs, loaded only where the kernel accepts `lsm` programs (brig tries at
 * start-up). They read the same pinned maps as the tracepoint object (monitor_common.h) and refuse
 * what a verdict denies with -EPERM before the operation happens: a denied exec never starts the
 * program, a denied open never opens. Kill verdicts also SIGKILL the task and condemn the
 * container. A kill verdict is refused too (deny AND kill: nothing of the operation lands). What
 * is refused is reported from here, and so is every verdict on a file (opens and path operations,
 * on the paths the kernel resolved); the tracepoint programs skip those (`lsm_enforces`) and
 * keep reporting everything else, so nothing is reported twice. */
#include "code_exec.h"
#include "monitor_common.h"

char LICENSE[] SEC("license") = "GPL";

#define READING_MODULE_ID 2 /* enum kernel_read_file_id: READING_MODULE */
#define LOADING_MODULE_ID 2 /* enum kernel_load_data_id: LOADING_MODULE */
#define PTRACE_MODE_ATTACH_BIT 0x02
/* Set on the files a file system opens for itself (overlayfs' file on its upper or lower layer
 * behind the one the task opened): 6.1's FMODE_NOACCOUNT, 6.5's FMODE_FAKE_PATH, and
 * FMODE_NOACCOUNT again on backing files from 6.6. */
#define FMODE_INTERNAL_OPEN 0x20000000

/* What an earlier BPF-LSM program on the hook answered, passed on within the range kernels from
 * 6.12 demand of an LSM program's return (an errno or 0). */
static __always_inline int earlier(int ret) {
    return ret <= 0 && ret >= -4095 ? ret : -EPERM;
}

/* Carries out a verdict's kill and starts its report: the event, for the caller to complete and
 * hand to submit_event (NULL when the ring is full, counted as a drop). */
static __always_inline struct brig_event* carry_out(struct brig_container* c, __u64 cgid,
                                                    const struct brig_verdict* v, __u32 type) {
    enforce_kill(c, v);
    struct brig_event* e = reserve_event(c, cgid, type);
    if (!e)
        return 0;
    e->rule_id = v->rule_id;
    e->action = v->action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    return e;
}

/* Refuses, kills if the verdict says so and reports. Returns the hook's answer. */
static __always_inline int refuse(struct brig_container* c, __u64 cgid,
                                  const struct brig_verdict* v, __u32 type, __u32 flags) {
    struct brig_event* e = carry_out(c, cgid, v, type);
    if (!e)
        return -EPERM;
    e->flags = flags;
    submit_event(c, e);
    return -EPERM;
}

/* The syscall the current task is in, as its x86-64 number (ia32 and x32 ones mapped): the LSM
 * hooks see an operation, rules name syscalls. */
static __always_inline long current_syscall(void) {
    struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    return regs ? native_syscall(BPF_CORE_READ(regs, orig_ax)) : -1;
}

struct argv_copy {
    const char* argv;
    __u32 pointer_size; /* 8, or 4 for an ia32 exec */
    char* buf;          /* BRIG_SCRATCH_LEN bytes: any offset below 256 takes a whole string */
    __u32 len;
};

/* Appends argv[i] and its NUL to the copy. */
static long copy_arg(__u32 i, void* data) {
    struct argv_copy* a = data;
    __u32 len = a->len;
    if (len >= BRIG_ARGS_LEN - 1)
        return 1;
    unsigned long arg = 0;
    if (a->pointer_size == 4)
        bpf_probe_read_user(&arg, 4, a->argv + i * 4);
    else
        bpf_probe_read_user(&arg, 8, a->argv + i * 8);
    if (!arg)
        return 1;
    long n = bpf_probe_read_user_str(a->buf + (len & (BRIG_ARGS_LEN - 1)), BRIG_ARGS_LEN,
                                     (const void*)arg);
    if (n <= 0)
        return 1;
    a->len = len + n;
    return 0;
}

/* The argv of the exec being checked, from the execve call's own arguments: the caller's memory
 * is still in place when bprm_check_security runs (the new program's replaces it later). */
static __always_inline void copy_argv(struct brig_event* e) {
    struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    long nr = current_syscall();
    __u32 zero = 0;
    struct path_scratch* s = bpf_map_lookup_elem(&path_scratch, &zero);
    if (!regs || !s || (nr != NR_execve && nr != NR_execveat))
        return;
    bool ia32 = in_ia32_syscall();
    unsigned long argv;
    if (ia32)
        argv = (__u32)(nr == NR_execve ? BPF_CORE_READ(regs, cx) : BPF_CORE_READ(regs, dx));
    else
        argv =
            nr == NR_execve ? PT_REGS_PARM2_CORE_SYSCALL(regs) : PT_REGS_PARM3_CORE_SYSCALL(regs);
    struct argv_copy copy = {
        .argv = (const char*)argv, .pointer_size = ia32 ? 4 : 8, .buf = s->buf};
    bpf_loop(BRIG_ARGS_LEN / 2, copy_arg, &copy, 0);
    bpf_probe_read_kernel(e->args, BRIG_ARGS_LEN, s->buf);
    e->args_len = copy.len < BRIG_ARGS_LEN ? copy.len : BRIG_ARGS_LEN;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(brig_lsm_exec, struct linux_binprm* bprm, int ret) {
    if (ret)
        return earlier(ret);
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return 0;
    if (c->flags & BRIG_CF_CONDEMNED) {
        bpf_send_signal(SIGKILL);
        return -EPERM;
    }
    struct brig_verdict verdict = {};
    /* Called for a script, then for its interpreter: the script's own file is judged here. */
    __u32 exe_new = written_by_container(c, cgid, BPF_CORE_READ(bprm, file));
    if (exe_new) {
        struct brig_name_key fresh = {.cgroup_id = cgid, .name = {1, 'n', 'e', 'w'}};
        merge(&verdict, bpf_map_lookup_elem(&exec_rules, &fresh));
    }
    /* The path as given to execve, its basename, and the real file's name. */
    const char* filename = BPF_CORE_READ(bprm, filename);
    char path[BRIG_PREFIX_LEN] = {};
    bpf_probe_read_kernel_str(path, sizeof(path), filename);
    struct brig_name_key key = {.cgroup_id = cgid};
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), filename);
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    basename_into(&key, path);
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    const unsigned char* real_name = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);
    __builtin_memset(key.name, 0, sizeof(key.name));
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), real_name);
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    /* A script's interpreter as its #! line names it: Falco's proc.exe of a script. */
    const char* interp = BPF_CORE_READ(bprm, interp);
    if (interp != filename) {
        __builtin_memset(key.name, 0, sizeof(key.name));
        bpf_probe_read_kernel_str(key.name, sizeof(key.name), interp);
        merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    }
    if (!(verdict.action & BRIG_ACT_ENFORCE))
        return 0; /* reported (and killed if so) by sched_process_exec */

    struct brig_event* e = carry_out(c, cgid, &verdict, BRIG_EV_EXEC);
    if (!e)
        return -EPERM;
    bpf_probe_read_kernel_str(e->path, sizeof(e->path), filename);
    e->exe_new = exe_new;
    copy_argv(e);
    submit_event(c, e);
    return -EPERM;
}

/* Where a file operation acts: `entry` in the directory `dir` on `mnt`, or `dir` itself. */
struct place {
    struct dentry* dir;
    struct vfsmount* mnt;
    struct dentry* entry;
};

static __always_inline struct place place_in(const struct path* dir, struct dentry* entry) {
    struct place p = {BPF_CORE_READ(dir, dentry), BPF_CORE_READ(dir, mnt), entry};
    return p;
}

/* The path of a place in the container (from its mount namespace's root, which a chroot does not
 * move), into `out` (BRIG_PREFIX_LEN bytes); 0 when it cannot be built. */
static __always_inline long path_of(char* out, const struct place* p) {
    /* Locals: a CO-RE read through p->entry would record place, no kernel type, in its chain. */
    struct dentry* dir = p->dir;
    struct vfsmount* mnt = p->mnt;
    struct dentry* entry = p->entry;
    if (!entry)
        return build_path(out, dir, mnt, 0, 0, false);
    return build_path(out, dir, mnt, (const char*)BPF_CORE_READ(entry, d_name.name),
                      BPF_CORE_READ(entry, d_name.len), false);
}

/* The open_path_rules entry of the path in key (`len` 0: no path), NULL for none. */
static __always_inline struct brig_path_verdicts* path_rules(struct brig_prefix_key* key,
                                                             long len) {
    return len > 0 ? bpf_map_lookup_elem(&open_path_rules, key) : 0;
}

/* An open: rules on its name and on its path, which the kernel has resolved (symlinks, `..`,
 * relative to any directory). Deny and kill refuse it; `report_all`: every verdict is reported
 * (false where file_open is still to come and reports it). */
static __always_inline int check_open(const struct place* p, bool write, __u32 flags,
                                      bool report_all) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return 0;
    struct brig_verdict verdict = {};
    struct brig_name_key name = {.cgroup_id = cgid};
    struct dentry* named = p->entry ? p->entry : p->dir;
    bpf_probe_read_kernel_str(name.name, sizeof(name.name), BPF_CORE_READ(named, d_name.name));
    merge(&verdict, bpf_map_lookup_elem(&open_name_rules, &name));
    struct brig_prefix_key key = {.cgroup_id = cgid, .prefixlen = 64 + 8 * BRIG_PREFIX_LEN};
    struct brig_path_verdicts* rules = path_rules(&key, path_of(key.path, p));
    merge_op(&verdict, rules, BRIG_PATH_OPEN);
    if (write)
        merge_op(&verdict, rules, BRIG_PATH_OPEN_WRITE);
    int answer = (verdict.action & BRIG_ACT_ENFORCE) ? -EPERM : 0;
    if (!verdict.action || (!answer && !report_all))
        return answer;
    struct brig_event* e = carry_out(c, cgid, &verdict, BRIG_EV_OPEN);
    if (!e)
        return answer;
    long nr = current_syscall();
    e->syscall_nr = is_open_syscall(nr) ? nr : NR_openat;
    e->flags = flags;
    path_of(e->path, p);
    submit_event(c, e);
    return answer;
}

SEC("lsm/file_open")
int BPF_PROG(brig_lsm_file_open, struct file* file, int ret) {
    if (ret)
        return earlier(ret);
    if (opened_to_execute(file))
        return 0; /* an exec opening its program: exec rules decide */
    unsigned int mode = BPF_CORE_READ(file, f_mode);
    if (mode & FMODE_INTERNAL_OPEN)
        return 0; /* a file system's own open of the file behind the one the task opened */
    unsigned int flags = BPF_CORE_READ(file, f_flags);
    bool write = (mode & FMODE_WRITE) || (flags & (O_CREAT | O_TRUNC));
    struct place p = {BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt), 0};
    /* An open syscall's other verdicts are reported at its sys_exit, with the fd it returns
     * (fd.num, evt.res); io_uring's and the kernel's own opens have no exit to wait for. */
    int refused = check_open(&p, write, flags, !is_open_syscall(current_syscall()));
    if (refused || !write)
        return refused;
    /* Before the fd exists, io_uring's opens too: exact where sys_exit comes after. */
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (c)
        record_written(c, cgid, file, false);
    return 0;
}

/* Code mapped executable from `file` (code_exec.h): refused (and killed) as a deny or kill
 * verdict says, reported whatever the verdict; the tracepoints leave these to the hooks. */
static __always_inline int check_code_map(struct file* file) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return 0;
    struct brig_verdict verdict = {};
    bool fresh = code_file_verdict(c, cgid, file, &verdict);
    if (!verdict.action)
        return 0;
    long nr = current_syscall();
    if (verdict.action & BRIG_ACT_ENFORCE) {
        struct brig_event* e = carry_out(c, cgid, &verdict, BRIG_EV_CODE_MAP);
        if (e)
            submit_code_map(c, e, file, nr, fresh);
        return -EPERM;
    }
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_CODE_MAP);
    if (e)
        submit_code_map(c, e, file, nr, fresh);
    return 0;
}

/* mmap, and the kernel mapping an exec's ELF interpreter; the exec's own program (the mm's
 * exe_file by then) is bprm_check_security's. */
SEC("lsm/mmap_file")
int BPF_PROG(brig_lsm_mmap_file, struct file* file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret) {
    if (ret)
        return earlier(ret);
    if (!file || !(prot & PROT_EXEC))
        return 0;
    struct task_struct* task = bpf_get_current_task_btf();
    if (file == BPF_CORE_READ(task, mm, exe_file))
        return 0;
    return check_code_map(file);
}

/* mprotect adding PROT_EXEC to a file mapping. */
SEC("lsm/file_mprotect")
int BPF_PROG(brig_lsm_mprotect, struct vm_area_struct* vma, unsigned long reqprot,
             unsigned long prot, int ret) {
    if (ret)
        return earlier(ret);
    if (!(prot & PROT_EXEC) || (vma->vm_flags & VM_EXEC) || !vma->vm_file)
        return 0;
    return check_code_map(vma->vm_file);
}

/* A change to `a` (and `b`, the other end of a rename or link), on the paths the kernel resolved:
 * the rules on the syscall's operation, or on `fallback` where the syscall has none of its own
 * (an open's O_CREAT or O_TRUNC reaching mknod or truncate: BRIG_PATH_OPEN_WRITE, writing below
 * a directory, which user space also folds into every entry-changing operation, as Landlock's
 * write rights refuse them). `target`: a symlink's (reported first, its entry `a` second). */
static __always_inline int check_path_op(const struct place* a, const struct place* b,
                                         const char* target, __u32 fallback) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return 0;
    long nr = current_syscall();
    __u32 op = path_op_of(nr);
    if (op >= BRIG_PATH_OPS)
        op = fallback;
    struct brig_verdict verdict = {};
    struct brig_prefix_key key = {.cgroup_id = cgid, .prefixlen = 64 + 8 * BRIG_PREFIX_LEN};
    merge_op(&verdict, path_rules(&key, path_of(key.path, a)), op);
    if (b)
        merge_op(&verdict, path_rules(&key, path_of(key.path, b)), op);
    if (!verdict.action)
        return 0;
    int answer = (verdict.action & BRIG_ACT_ENFORCE) ? -EPERM : 0;
    struct brig_event* e = carry_out(c, cgid, &verdict, BRIG_EV_PATH);
    if (!e)
        return answer;
    e->syscall_nr = nr;
    if (target) {
        bpf_probe_read_kernel_str(e->path, BRIG_PREFIX_LEN, target);
        path_of(e->new_path, a);
    } else {
        path_of(e->path, a);
    }
    if (b)
        path_of(e->new_path, b);
    submit_event(c, e);
    return answer;
}

/* A new or removed entry `dentry` of `dir` (unless an earlier program refused it already). */
static __always_inline int check_entry_change(int ret, const struct path* dir,
                                              struct dentry* dentry) {
    if (ret)
        return earlier(ret);
    struct place p = place_in(dir, dentry);
    return check_path_op(&p, 0, 0, BRIG_PATH_OPEN_WRITE);
}

/* A new file: an open creating it (refused before it exists), or mknod/mkfifo. */
SEC("lsm/path_mknod")
int BPF_PROG(brig_lsm_mknod, const struct path* dir, struct dentry* dentry, umode_t mode,
             unsigned int dev, int ret) {
    if (ret)
        return earlier(ret);
    struct place p = place_in(dir, dentry);
    if (is_open_syscall(current_syscall()))
        return check_open(&p, true, O_CREAT, false);
    return check_path_op(&p, 0, 0, BRIG_PATH_OPEN_WRITE);
}

SEC("lsm/path_unlink")
int BPF_PROG(brig_lsm_unlink, const struct path* dir, struct dentry* dentry, int ret) {
    return check_entry_change(ret, dir, dentry);
}

SEC("lsm/path_rmdir")
int BPF_PROG(brig_lsm_rmdir, const struct path* dir, struct dentry* dentry, int ret) {
    return check_entry_change(ret, dir, dentry);
}

SEC("lsm/path_mkdir")
int BPF_PROG(brig_lsm_mkdir, const struct path* dir, struct dentry* dentry, umode_t mode, int ret) {
    return check_entry_change(ret, dir, dentry);
}

SEC("lsm/path_symlink")
int BPF_PROG(brig_lsm_symlink, const struct path* dir, struct dentry* dentry, const char* old_name,
             int ret) {
    if (ret)
        return earlier(ret);
    struct place p = place_in(dir, dentry);
    return check_path_op(&p, 0, old_name, BRIG_PATH_OPEN_WRITE);
}

/* A hard link: a new entry, and a way to write the old file from elsewhere later. */
SEC("lsm/path_link")
int BPF_PROG(brig_lsm_link, struct dentry* old_dentry, const struct path* new_dir,
             struct dentry* new_dentry, int ret) {
    if (ret)
        return earlier(ret);
    struct place to = place_in(new_dir, new_dentry);
    struct place from = {old_dentry, to.mnt, 0};
    return check_path_op(&from, &to, 0, BRIG_PATH_OPEN_WRITE);
}

SEC("lsm/path_truncate")
int BPF_PROG(brig_lsm_truncate, const struct path* path, int ret) {
    /* An open with O_TRUNC: file_open has decided it as an open for writing, before this. */
    if (ret || is_open_syscall(current_syscall()))
        return earlier(ret);
    struct place p = place_in(path, 0);
    return check_path_op(&p, 0, 0, BRIG_PATH_OPEN_WRITE);
}

SEC("lsm/path_chmod")
int BPF_PROG(brig_lsm_chmod, const struct path* path, umode_t mode, int ret) {
    if (ret)
        return earlier(ret);
    struct place p = place_in(path, 0);
    return check_path_op(&p, 0, 0, BRIG_PATH_OPS);
}

SEC("lsm/path_rename")
int BPF_PROG(brig_lsm_rename, const struct path* old_dir, struct dentry* old_dentry,
             const struct path* new_dir, struct dentry* new_dentry, unsigned int flags, int ret) {
    if (ret)
        return earlier(ret);
    struct place from = place_in(old_dir, old_dentry);
    struct place to = place_in(new_dir, new_dentry);
    return check_path_op(&from, &to, 0, BRIG_PATH_OPEN_WRITE);
}

/* `report`: false where the sys_enter tracepoint reports the syscall itself. */
static __always_inline int check_class(__u32 cls, __u32 type, __u32 flags, bool report) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c || cls >= BRIG_SC_MAX)
        return 0;
    struct brig_verdict verdict = c->syscalls[cls];
    if (!(verdict.action & BRIG_ACT_ENFORCE))
        return 0;
    if (!report) {
        enforce_kill(c, &verdict);
        return -EPERM;
    }
    return refuse(c, cgid, &verdict, type, flags);
}

SEC("lsm/socket_create")
int BPF_PROG(brig_lsm_socket_create, int family, int type, int protocol, int kern, int ret) {
    if (ret || kern || family != AF_PACKET)
        return earlier(ret);
    return check_class(BRIG_SC_PACKET_SOCKET, BRIG_EV_SOCKET, family, true);
}

static __always_inline int check_sockaddr(struct sockaddr* address, __u32 op, __u32 type) {
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return 0;
    struct brig_addr_key key;
    __builtin_memset(&key, 0, sizeof(key)); /* padding is hashed too */
    key.cgroup_id = cgid;
    key.op = op;
    __u16 family = BPF_CORE_READ(address, sa_family);
    if (family == AF_INET) {
        struct sockaddr_in* in = (struct sockaddr_in*)address;
        key.port = __builtin_bswap16(BPF_CORE_READ(in, sin_port));
        bpf_probe_read_kernel(key.addr, 4, &in->sin_addr);
    } else if (family == AF_INET6) {
        struct sockaddr_in6* in6 = (struct sockaddr_in6*)address;
        key.port = __builtin_bswap16(BPF_CORE_READ(in6, sin6_port));
        bpf_probe_read_kernel(key.addr, 16, &in6->sin6_addr);
    } else {
        return 0;
    }
    key.family = family;
    __u16 port = key.port;
    struct brig_verdict verdict = {};
    addr_verdict(&key, &verdict);
    if (!(verdict.action & BRIG_ACT_ENFORCE))
        return 0;
    struct brig_event* e = carry_out(c, cgid, &verdict, type);
    if (!e)
        return -EPERM;
    e->family = family;
    e->port = port;
    __builtin_memcpy(e->addr, key.addr, sizeof(e->addr));
    submit_event(c, e);
    return -EPERM;
}

SEC("lsm/socket_connect")
int BPF_PROG(brig_lsm_socket_connect, struct socket* sock, struct sockaddr* address, int addrlen,
             int ret) {
    if (ret)
        return earlier(ret);
    return check_sockaddr(address, BRIG_ADDR_CONNECT, BRIG_EV_CONNECT);
}

SEC("lsm/socket_bind")
int BPF_PROG(brig_lsm_socket_bind, struct socket* sock, struct sockaddr* address, int addrlen,
             int ret) {
    if (ret)
        return earlier(ret);
    return check_sockaddr(address, BRIG_ADDR_BIND, BRIG_EV_BIND);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(brig_lsm_ptrace, struct task_struct* child, unsigned int mode, int ret) {
    /* Only attaching: /proc reads (ps, top) pass PTRACE_MODE_READ through this hook too. */
    if (ret || !(mode & PTRACE_MODE_ATTACH_BIT))
        return earlier(ret);
    /* Reported like sys_enter does: the ptrace request, when a ptrace call is what attaches. */
    struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    __u32 request = mode;
    if (regs && current_syscall() == NR_ptrace) {
        unsigned long args[6];
        read_syscall_args(regs, in_ia32_syscall(), args);
        request = args[0];
    }
    return check_class(BRIG_SC_PTRACE, BRIG_EV_PTRACE, request, true);
}

/* PTRACE_TRACEME: the child asks to be traced, no attach check runs. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(brig_lsm_traceme, struct task_struct* parent, int ret) {
    if (ret)
        return earlier(ret);
    return check_class(BRIG_SC_PTRACE, BRIG_EV_PTRACE, 0 /* PTRACE_TRACEME */, true);
}

SEC("lsm/kernel_module_request")
int BPF_PROG(brig_lsm_module_request, char* kmod_name, int ret) {
    if (ret)
        return earlier(ret);
    return check_class(BRIG_SC_INIT_MODULE, BRIG_EV_INIT_MODULE, 0, true);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(brig_lsm_read_module, struct file* file, int id, bool contents, int ret) {
    if (ret || id != READING_MODULE_ID)
        return earlier(ret);
    return check_class(BRIG_SC_INIT_MODULE, BRIG_EV_INIT_MODULE, 0, false);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(brig_lsm_load_module, int id, bool contents, int ret) {
    if (ret || id != LOADING_MODULE_ID)
        return earlier(ret);
    return check_class(BRIG_SC_INIT_MODULE, BRIG_EV_INIT_MODULE, 0, false);
}

/* No `ret` here: 6.16 gave the hook a fourth argument (`bool kernel`), where ret would be read. */
SEC("lsm/bpf")
int BPF_PROG(brig_lsm_bpf, int cmd, union bpf_attr* attr, unsigned int size) {
    return check_class(BRIG_SC_BPF, BRIG_EV_BPF, cmd, true);
}
