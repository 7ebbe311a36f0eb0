/* The tracepoint path's half of code_exec.h: what sched_process_exec cannot see by itself (the
 * script it ran, the ELF interpreter the kernel mapped) and mmap/mprotect at sys_enter, where a
 * SIGKILL lands before the task returns to the code it mapped. */
#ifndef BRIG_CODE_EXEC_TRACEPOINT_H
#define BRIG_CODE_EXEC_TRACEPOINT_H

#include "code_exec.h"

/* fput() defers the release of a task's file to its return to user space (task_work): at
 * sched_process_exec, the script an exec ran (or a binfmt_misc file) is still on current's
 * task_works, the first ____fput of this execve (nothing is pending at syscall entry). */
extern const void ____fput __ksym __weak;

/* struct file's callback_head for the deferred fput: f_task_work in recent kernels, f_rcuhead
 * from 6.0 (rcu_head is a macro for callback_head), f_u.fu_rcuhead before. */
struct file___task_work {
    struct callback_head f_task_work;
} __attribute__((preserve_access_index));

struct file___rcuhead {
    struct callback_head f_rcuhead;
} __attribute__((preserve_access_index));

struct file___f_u {
    union {
        struct llist_node fu_llist;
        struct callback_head fu_rcuhead;
    } f_u;
} __attribute__((preserve_access_index));

#define BRIG_TASK_WORK_STEPS 4096

struct fput_scan {
    struct callback_head* next;
    struct file* oldest_exec; /* the earliest file opened to be executed, released since */
    long work_offset;         /* of the callback_head in struct file */
};

/* Stops (returns 1) only at the end of the list: bpf_loop's count tells whether it got there.
 * (6.1's verifier follows one call of a callback only: a "done" flag set in a later call than
 * oldest_exec would look never set together with it, and the branch using both be cut.) */
static long scan_task_work(__u32 i, void* data) {
    struct fput_scan* scan = data;
    struct callback_head* work = scan->next;
    if (!work)
        return 1;
    if (BPF_CORE_READ(work, func) == (void*)&____fput) {
        struct file* file = (void*)((char*)work - scan->work_offset);
        if (opened_to_execute(file))
            scan->oldest_exec = file;
    }
    scan->next = BPF_CORE_READ(work, next);
    return 0;
}

/* The file of the script (or binfmt_misc binary) the current exec ran, whose interpreter is now
 * bprm->file; NULL when it cannot be found (the caller fails closed). */
static __always_inline struct file* script_file(void) {
    if (!&____fput)
        return 0;
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    struct fput_scan scan = {.next = BPF_CORE_READ(task, task_works)};
    if (bpf_core_field_exists(struct file___task_work, f_task_work))
        scan.work_offset = bpf_core_field_offset(struct file___task_work, f_task_work);
    else if (bpf_core_field_exists(struct file___rcuhead, f_rcuhead))
        scan.work_offset = bpf_core_field_offset(struct file___rcuhead, f_rcuhead);
    else
        scan.work_offset = bpf_core_field_offset(struct file___f_u, f_u.fu_rcuhead);
    long calls = bpf_loop(BRIG_TASK_WORK_STEPS, scan_task_work, &scan, 0);
    return calls > 0 && calls < BRIG_TASK_WORK_STEPS ? scan.oldest_exec : 0;
}

/* The code an exec runs besides bprm->file (its own rules are the caller's): the script the
 * interpreter was started for, and the ELF interpreter the first instruction belongs to. Merges
 * their verdicts; true when any of them is new. `lsm_checked`: lsm/mmap_file has judged the
 * interpreter (and bprm_check_security the script) already. */
/* Not inlined, as exec_approved: a frame of its own (6.1's 512-byte limit per call chain). */
static __noinline bool exec_code_verdict(const struct brig_container* c, __u64 cgid,
                                         struct linux_binprm* bprm, bool lsm_checked,
                                         struct brig_verdict* verdict) {
    struct file* program = BPF_CORE_READ(bprm, file);
    bool fresh = written_by_container(c, cgid, program);
    const char* interp = BPF_CORE_READ(bprm, interp);
    if (interp != BPF_CORE_READ(bprm, filename)) {
        struct file* script = script_file();
        if (!script)
            fresh = true; /* not found: fail closed */
        else
            fresh |= code_file_verdict(c, cgid, script, verdict);
        /* The interpreter as the #! line names it: Falco's proc.exe of a script. */
        struct brig_name_key key = {.cgroup_id = cgid};
        bpf_probe_read_kernel_str(key.name, sizeof(key.name), interp);
        merge(verdict, bpf_map_lookup_elem(&exec_rules, &key));
    }
    if (lsm_checked)
        return fresh;
    struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    if (!regs)
        return fresh;
    struct vma_at first = vma_at(BPF_CORE_READ(regs, ip));
    if (first.file && user_inode(first.file) != user_inode(program))
        fresh |= code_file_verdict(c, cgid, first.file, verdict);
    return fresh;
}

/* old_mmap's argument block (ia32). */
struct ia32_old_mmap_args {
    __u32 addr, len, prot, flags, fd, offset;
};

/* What an mmap or mprotect asks for: the mapped file (mmap) or the range (mprotect). */
struct code_map_call {
    long nr; /* x86-64 number */
    unsigned long addr, len, prot, flags;
    long fd;
};

/* The prot of mmap, mprotect or pkey_mprotect in any ABI (rdx, edx); -1 for other syscalls.
 * Read before anything else: most mappings of every process are not executable. */
static __always_inline long code_map_prot(struct pt_regs* regs, long nr) {
    switch (nr & ~X32_SYSCALL_BIT) {
        case NR_mmap:
        case NR_mprotect:
        case NR_pkey_mprotect:
        case IA32_NR_mmap: /* mmap2 */
        case IA32_NR_mprotect:
        case IA32_NR_pkey_mprotect:
            return BPF_CORE_READ(regs, dx);
        case IA32_NR_old_mmap: /* or chmod */
            return PROT_EXEC;
        default:
            return -1;
    }
}

/* The call's arguments, false when it maps no file executable after all (another ABI's syscall of
 * that number, an anonymous mapping). */
static __always_inline bool read_code_map(struct pt_regs* regs, long raw_nr,
                                          struct code_map_call* call) {
    bool ia32 = in_ia32_syscall();
    unsigned long args[6];
    read_syscall_args(regs, ia32, args);
    call->nr = ia32                       ? ia32_to_x86_64(raw_nr)
               : raw_nr & X32_SYSCALL_BIT ? x32_to_x86_64(raw_nr)
                                          : raw_nr;
    if (ia32 && raw_nr == IA32_NR_old_mmap) {
        struct ia32_old_mmap_args old = {};
        bpf_probe_read_user(&old, sizeof(old), (const void*)args[0]);
        args[0] = old.addr;
        args[1] = old.len;
        args[2] = old.prot;
        args[3] = old.flags;
        args[4] = old.fd;
    }
    if (call->nr != NR_mmap && call->nr != NR_mprotect && call->nr != NR_pkey_mprotect)
        return false;
    call->addr = args[0];
    call->len = args[1];
    call->prot = args[2];
    call->flags = args[3];
    call->fd = ia32 ? (long)(__s32)args[4] : (long)args[4];
    if (!(call->prot & PROT_EXEC))
        return false;
    return call->nr != NR_mmap || !(call->flags & MAP_ANONYMOUS);
}

/* Kills and reports as `verdict` says for code mapped from `file` (NULL: mappings left unchecked,
 * judged as new code). */
static __always_inline void act_on_code_map(struct brig_container* c, __u64 cgid,
                                            struct brig_verdict* verdict, struct file* file,
                                            __u32 nr, bool fresh) {
    /* A tracepoint cannot refuse: the task dies before it returns to the mapped code. */
    if (verdict->action & BRIG_ACT_DENY)
        bpf_send_signal(SIGKILL);
    enforce_kill(c, verdict);
    struct brig_event* e = reserve_event(c, cgid, BRIG_EV_CODE_MAP);
    if (!e)
        return;
    e->rule_id = verdict->rule_id;
    e->action = verdict->action & (BRIG_ACT_DENY | BRIG_ACT_KILL);
    if (file) {
        submit_code_map(c, e, file, nr, fresh);
        return;
    }
    e->syscall_nr = nr;
    e->exe_new = 1;
    submit_event(c, e);
}

/* Judges one file about to be mapped executable; true when a rule matched. */
static __always_inline bool judge_code_map(struct brig_container* c, __u64 cgid, struct file* file,
                                           __u32 nr) {
    struct brig_verdict verdict = {};
    bool fresh = code_file_verdict(c, cgid, file, &verdict);
    if (!verdict.action)
        return false;
    act_on_code_map(c, cgid, &verdict, file, nr, fresh);
    return true;
}

#define BRIG_MPROTECT_VMAS 16

/* mprotect adding PROT_EXEC: each file mapping in the range that was not executable yet. A range
 * of more mappings than are looked at counts as new code (fail closed). */
static __always_inline void judge_mprotect(struct brig_container* c, __u64 cgid,
                                           const struct code_map_call* call) {
    unsigned long addr = call->addr, end = call->addr + call->len;
#pragma unroll
    for (int i = 0; i < BRIG_MPROTECT_VMAS; i++) {
        if (addr >= end)
            return;
        struct vma_at at = vma_at(addr);
        if (!at.found)
            return; /* a hole: mprotect fails with ENOMEM */
        if (at.file && !(at.flags & VM_EXEC) && judge_code_map(c, cgid, at.file, call->nr))
            return;
        addr = at.end;
    }
    if (addr >= end)
        return;
    struct brig_name_key key = {.cgroup_id = cgid, .name = {1, 'n', 'e', 'w'}};
    struct brig_verdict verdict = {};
    merge(&verdict, bpf_map_lookup_elem(&exec_rules, &key));
    if (verdict.action)
        act_on_code_map(c, cgid, &verdict, 0, call->nr, true);
}

/* sys_enter of mmap/mprotect/pkey_mprotect making a file mapping executable: judged here, true
 * when so (the caller has nothing left to do). Host processes and every other mapping leave
 * after the syscall number and the prot register, before the container lookup. `lsm_checks`:
 * lsm/mmap_file and file_mprotect judge (and report) them instead. */
static __always_inline bool handle_code_map(struct pt_regs* regs, long raw_nr, bool lsm_checks) {
    long prot = code_map_prot(regs, raw_nr);
    if (prot < 0 || !(prot & PROT_EXEC) || lsm_checks)
        return false;
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return true; /* the host maps libraries all the time: leave before the arguments */
    struct code_map_call call = {};
    if (!read_code_map(regs, raw_nr, &call))
        return false;
    if (c->flags & BRIG_CF_CONDEMNED) {
        bpf_send_signal(SIGKILL);
        return true;
    }
    if (call.nr != NR_mmap) {
        judge_mprotect(c, cgid, &call);
        return true;
    }
    struct file* file = fd_file(call.fd);
    if (file)
        judge_code_map(c, cgid, file, NR_mmap);
    return true;
}

#endif
