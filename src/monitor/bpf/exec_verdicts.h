/* User-space verdicts before the fact, the exec program's half (the watcher's half is
 * src/monitor/exec_verdicts.cpp). In a container whose rules need user space to refuse or kill
 * an exec, every exec waits at a seccomp user notification until the container's watcher has
 * judged it. The watcher reads the file name and argv from the caller's memory, which the caller
 * can change before the kernel copies them: so the exec it lets run must be, here, exactly the
 * one it judged, or the task dies before the program's first instruction. */
#ifndef BRIG_EXEC_VERDICTS_H
#define BRIG_EXEC_VERDICTS_H

#include "monitor_common.h"

#define BRIG_EXEC_APPROVALS 16384

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, BRIG_EXEC_APPROVALS);
    __uint(map_flags, BPF_F_NO_PREALLOC); /* only containers with such rules use it */
    __type(key, struct brig_exec_key);
    __type(value, struct brig_exec_approval);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_approvals SEC(".maps");

/* The exec as the kernel has it, laid out as an approval to compare with (too big for the
 * stack). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct brig_exec_approval);
} exec_seen SEC(".maps");

_Static_assert(__builtin_offsetof(struct brig_exec_approval, pcomm) % 8 == 0 &&
                   __builtin_offsetof(struct brig_exec_approval, alt_pcomm) % 8 == 0 &&
                   __builtin_offsetof(struct brig_exec_approval, filename) % 8 == 0 &&
                   __builtin_offsetof(struct brig_exec_approval, args) % 8 == 0,
               "brig_exec_approval: buffers compared as 8-byte words");

static __always_inline bool same_comm(const char* a, const char* b) {
    const __u64* x = (const __u64*)a;
    const __u64* y = (const __u64*)b;
    return x[0] == y[0] && x[1] == y[1];
}

/* Equal 256-byte buffers (zero past their strings on both sides). */
static __always_inline bool same_256(const char* a, const char* b) {
    const __u64* x = (const __u64*)a;
    const __u64* y = (const __u64*)b;
    __u64 diff = 0;
#pragma unroll
    for (int i = 0; i < 256 / 8; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

/* What the current task is about to run, from the kernel's own copies: bprm's file name, argv
 * in the new program's memory, and the task's parent, uid and terminal. */
static __always_inline void read_exec(struct brig_exec_approval* seen, struct linux_binprm* bprm) {
    __builtin_memset(seen, 0, sizeof(*seen));
    bpf_probe_read_kernel_str(seen->filename, sizeof(seen->filename),
                              BPF_CORE_READ(bprm, filename));
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
    unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
    __u32 len = arg_end > arg_start ? arg_end - arg_start : 0;
    if (len > BRIG_ARGS_LEN)
        len = BRIG_ARGS_LEN;
    if (len && bpf_probe_read_user(seen->args, len & (BRIG_ARGS_LEN - 1) ?: BRIG_ARGS_LEN,
                                   (void*)arg_start) == 0)
        seen->args_len = len;
    struct task_struct* parent = BPF_CORE_READ(task, real_parent);
    seen->ppid = BPF_CORE_READ(parent, tgid);
    bpf_probe_read_kernel_str(seen->pcomm, sizeof(seen->pcomm), &parent->comm);
    seen->uid = (__u32)bpf_get_current_uid_gid();
    struct tty_struct* tty = BPF_CORE_READ(task, signal, tty);
    seen->tty = tty ? BPF_CORE_READ(tty, index) : -1;
}

static __always_inline bool same_exec(const struct brig_exec_approval* approved,
                                      const struct brig_exec_approval* seen) {
    __u32 checks = approved->checks;
    if (approved->args_len != seen->args_len || !same_256(approved->filename, seen->filename) ||
        !same_256(approved->args, seen->args))
        return false;
    if ((checks & BRIG_EXEC_CHECK_UID) && approved->uid != seen->uid)
        return false;
    if ((checks & BRIG_EXEC_CHECK_TTY) && approved->tty != seen->tty)
        return false;
    if ((checks & BRIG_EXEC_CHECK_EXE_NEW) && approved->exe_new != seen->exe_new)
        return false;
    if (!(checks & BRIG_EXEC_CHECK_PARENT))
        return true;
    if (seen->ppid == approved->ppid && same_comm(seen->pcomm, approved->pcomm))
        return true;
    return approved->alt_ppid && seen->ppid == approved->alt_ppid &&
           same_comm(seen->pcomm, approved->alt_pcomm);
}

/* Whether the exec the current task is completing (`old_pid`: its tid before the exec) may run:
 * always, unless its container's watcher judges execs and is armed (a task of the container
 * holds the notification filter), and then only if it is the exec the watcher approved for this
 * task. An approval is used once. */
/* Not inlined: its locals get a frame of their own, which 6.1's verifier counts apart from the
 * exec program's (512 bytes for the frames of one call chain together). */
static __noinline bool exec_approved(const struct brig_container* c, __u64 cgid, __u32 old_pid,
                                     struct linux_binprm* bprm, __u32 exe_new) {
    if (!(c->flags & BRIG_CF_EXEC_VERDICTS))
        return true;
    struct brig_exec_key key = {.cgroup_id = cgid};
    if (!bpf_map_lookup_elem(&exec_approvals, &key))
        return true; /* not armed: the execs before the filter (createContainer hooks) */
    key.tid = old_pid;
    struct brig_exec_approval* approved = bpf_map_lookup_elem(&exec_approvals, &key);
    __u32 zero = 0;
    struct brig_exec_approval* seen = bpf_map_lookup_elem(&exec_seen, &zero);
    if (!approved || !seen)
        return false;
    read_exec(seen, bprm);
    seen->exe_new = exe_new;
    bool same = same_exec(approved, seen);
    bpf_map_delete_elem(&exec_approvals, &key);
    return same;
}

#endif
