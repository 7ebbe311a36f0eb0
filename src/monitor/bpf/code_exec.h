/* Every way code of a file comes to run gets the exec rules: a program the kernel loads, its ELF
 * interpreter, a `#!` script, and a file ld.so (or anything else) maps executable: a program run
 * as `ld.so /usr/bin/prog`, a library, LD_PRELOAD. The rules are exec_rules' (the file's real
 * name, its path where some rule names one) and "new" (written_files.h). */
#ifndef BRIG_CODE_EXEC_H
#define BRIG_CODE_EXEC_H

#include "written_files.h"

#define VM_EXEC 0x4

/* Room for a mapped file's path (too big for the stack beside the callers' keys). */
struct code_path_scratch {
    char path[BRIG_PREFIX_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct code_path_scratch);
} code_path_scratch SEC(".maps");

/* Merges into `verdict` the exec rules on running the code in `file` and says whether the
 * container wrote it. */
static __always_inline bool code_file_verdict(const struct brig_container* c, __u64 cgid,
                                              struct file* file, struct brig_verdict* verdict) {
    bool fresh = written_by_container(c, cgid, file);
    struct brig_name_key key = {.cgroup_id = cgid, .name = {1, 'n', 'e', 'w'}};
    if (fresh)
        merge(verdict, bpf_map_lookup_elem(&exec_rules, &key));
    __builtin_memset(key.name, 0, sizeof(key.name));
    bpf_probe_read_kernel_str(key.name, sizeof(key.name),
                              BPF_CORE_READ(file, f_path.dentry, d_name.name));
    merge(verdict, bpf_map_lookup_elem(&exec_rules, &key));
    __u32 zero = 0;
    struct code_path_scratch* s = bpf_map_lookup_elem(&code_path_scratch, &zero);
    if (!(c->flags & BRIG_CF_EXEC_PATHS) || !s)
        return fresh;
    /* Where the container sees it (a backing file's path is the layer's: the same names). */
    long len = build_path(s->path, BPF_CORE_READ(file, f_path.dentry),
                          BPF_CORE_READ(file, f_path.mnt), 0, 0, false);
    if (len <= 0 || len >= BRIG_NAME_LEN)
        return fresh;
    __builtin_memset(key.name, 0, sizeof(key.name));
    bpf_probe_read_kernel(key.name, BRIG_NAME_LEN - 1, s->path);
    merge(verdict, bpf_map_lookup_elem(&exec_rules, &key));
    return fresh;
}

/* Completes and submits the report of code mapped from `file` (the rule's verdict already in
 * e): its path in the container, the syscall, the process's command line. */
static __always_inline void submit_code_map(const struct brig_container* c, struct brig_event* e,
                                            struct file* file, __u32 nr, bool fresh) {
    e->syscall_nr = nr;
    e->exe_new = fresh;
    build_path(e->path, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt), 0, 0,
               false);
    submit_event(c, e);
}

/* The current mm's mapping at an address: its file and where it ends. */
struct vma_at {
    struct file* file;
    unsigned long end;
    unsigned long flags;
    bool found;
};

static long note_vma(struct task_struct* task, struct vm_area_struct* vma, void* data) {
    struct vma_at* at = data;
    at->file = vma->vm_file;
    at->end = vma->vm_end;
    at->flags = vma->vm_flags;
    at->found = true;
    return 0;
}

static __always_inline struct vma_at vma_at(unsigned long addr) {
    struct vma_at at = {};
    bpf_find_vma(bpf_get_current_task_btf(), addr, note_vma, &at, 0);
    return at;
}

#endif
