/* "New" code: the files a container's tasks wrote. Each inode a task of a started container opens
 * for writing (or makes with memfd_create) goes into `written_files`, recorded at the syscall's
 * exit from the file the returned fd holds (and, under BPF-LSM, from lsm/file_open before the fd
 * exists); an exec or an executable mapping of one of them is "new" (proc.exe_new). Files the
 * bundle or the engine put into the rootfs, before or after create, were never opened by a
 * container task: they are not new, however recent their ctime. When a container's share of the
 * map is used up, it falls back to the ctime, from that moment on: fail closed. */
#ifndef BRIG_WRITTEN_FILES_H
#define BRIG_WRITTEN_FILES_H

#include "monitor_common.h"

#define BRIG_WRITTEN_FILES_MAX 65536
/* One container cannot use up the map for the others. */
#define BRIG_WRITTEN_PER_CONTAINER 16384
/* Inode timestamps come from the coarse clock, up to a tick behind the TAI clock read here. */
#define BRIG_CTIME_SLACK_NS (100 * 1000000ULL)

#define S_IFMT 0170000
#define S_IFREG 0100000
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define CGROUP_SUPER_MAGIC 0x27e0eb
#define CGROUP2_SUPER_MAGIC 0x63677270
#define FMODE_BACKING (1u << 25) /* 6.6+: the file is an overlay's file on a lower fs */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, BRIG_WRITTEN_FILES_MAX);
    __type(key, struct brig_inode_key);
    __type(value, __u8);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} written_files SEC(".maps");

/* 6.8+ keeps the path the user opened (the overlay's) beside a backing file's real one. */
struct backing_file___brig {
    struct file file;
    struct path user_path;
} __attribute__((preserve_access_index));

/* The inode the container's tasks see for `file`: an overlay's, also where the kernel maps the
 * file of a lower layer (a backing file, 6.6+: mmap, the ELF interpreter). Up to 6.7 a backing
 * file's f_path is the overlay's already. */
static __always_inline struct inode* user_inode(struct file* file) {
    if (bpf_core_type_exists(struct backing_file___brig) &&
        bpf_core_field_exists(struct backing_file___brig, user_path) &&
        (BPF_CORE_READ(file, f_mode) & FMODE_BACKING)) {
        struct backing_file___brig* backing = (void*)file; /* the file is its first member */
        return BPF_CORE_READ(backing, user_path.dentry, d_inode);
    }
    return BPF_CORE_READ(file, f_path.dentry, d_inode);
}

static __always_inline void inode_key(struct brig_inode_key* key, __u64 cgid, struct inode* inode) {
    key->cgroup_id = cgid;
    key->ino = BPF_CORE_READ(inode, i_ino);
    key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
    key->generation = BPF_CORE_READ(inode, i_generation);
}

/* Kernels before 6.6 kept ctime as a timespec64, 6.6 to 6.10 under another name. */
struct inode___timespec {
    struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___hidden_ctime {
    struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

#define CTIME_NSEC_MASK 0x3fffffff /* 6.13+ keeps a "queried" flag in the top bit */

static __always_inline __u64 inode_ctime_ns(struct inode* inode) {
    if (bpf_core_field_exists(inode->i_ctime_sec))
        return BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ULL +
               (BPF_CORE_READ(inode, i_ctime_nsec) & CTIME_NSEC_MASK);
    if (bpf_core_field_exists(struct inode___hidden_ctime, __i_ctime)) {
        struct inode___hidden_ctime* mid = (void*)inode;
        return BPF_CORE_READ(mid, __i_ctime.tv_sec) * 1000000000ULL +
               BPF_CORE_READ(mid, __i_ctime.tv_nsec);
    }
    struct inode___timespec* old = (void*)inode;
    return BPF_CORE_READ(old, i_ctime.tv_sec) * 1000000000ULL + BPF_CORE_READ(old, i_ctime.tv_nsec);
}

/* The map is full for this container: from now on a file counts as new by its ctime. Racing
 * writers store nearly the same time. */
static __always_inline void fall_back_to_ctime(struct brig_container* c) {
    if (!c->new_since_ns)
        c->new_since_ns = bpf_ktime_get_tai_ns() - c->tai_offset_ns - BRIG_CTIME_SLACK_NS;
}

/* Only regular files hold code; procfs, sysfs and cgroup files are written all the time and never
 * executed. */
static __always_inline bool holds_no_code(struct inode* inode) {
    if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG)
        return true;
    unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
    return magic == PROC_SUPER_MAGIC || magic == SYSFS_MAGIC || magic == CGROUP_SUPER_MAGIC ||
           magic == CGROUP2_SUPER_MAGIC;
}

/* Records `file` as written by the container if it is open for writing (or a memfd). */
static __always_inline void record_written(struct brig_container* c, __u64 cgid, struct file* file,
                                           bool memfd) {
    if (!c->started || c->new_since_ns)
        return; /* the init's own set-up; or past the map: ctime decides */
    if (!memfd && !(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
        return;
    struct inode* inode = user_inode(file);
    if (!inode || holds_no_code(inode))
        return;
    struct brig_inode_key key = {};
    inode_key(&key, cgid, inode);
    if (bpf_map_lookup_elem(&written_files, &key))
        return;
    if (c->written_files >= BRIG_WRITTEN_PER_CONTAINER) {
        fall_back_to_ctime(c);
        return;
    }
    __u8 yes = 1;
    long err = bpf_map_update_elem(&written_files, &key, &yes, BPF_NOEXIST);
    if (err == 0)
        __sync_fetch_and_add(&c->written_files, 1);
    else if (err != -EEXIST)
        fall_back_to_ctime(c); /* the map is full (E2BIG) or memory short: fail closed */
}

/* Whether `file` (an exec's, a mapping's) holds code the container wrote. */
static __always_inline bool written_by_container(const struct brig_container* c, __u64 cgid,
                                                 struct file* file) {
    struct inode* inode = file ? user_inode(file) : 0;
    if (!inode)
        return false;
    struct brig_inode_key key = {};
    inode_key(&key, cgid, inode);
    if (bpf_map_lookup_elem(&written_files, &key))
        return true;
    return c->new_since_ns && inode_ctime_ns(inode) >= c->new_since_ns;
}

/* The open family and memfd_create, whose returned fd may hold a file the container writes, and
 * io_uring_setup (whose opens no syscall exit sees). */
static __always_inline bool watched_at_exit(long nr) {
    return nr == NR_open || nr == NR_openat || nr == NR_openat2 || nr == NR_creat ||
           nr == NR_open_by_handle_at || nr == NR_memfd_create || nr == NR_io_uring_setup;
}

/* The same numbers in the ia32 ABI (open, creat, openat, open_by_handle_at, memfd_create; the
 * newer ones are shared): looked at before the task's ABI, which costs a read. */
static __always_inline bool watched_at_exit_ia32(long nr) {
    return nr == IA32_NR_open || nr == IA32_NR_creat || nr == IA32_NR_openat ||
           nr == IA32_NR_open_by_handle_at || nr == IA32_NR_memfd_create || watched_at_exit(nr);
}

/* Whether the open family call may have opened its file for writing, from its flags in the
 * registers (the same at exit as at entry): most opens read and leave here. openat2's flags are
 * in user memory, which the task may have changed since: its file decides. */
static __always_inline bool may_open_for_writing(struct pt_regs* regs, long nr, bool ia32) {
    unsigned long flags;
    if (nr == NR_open)
        flags = ia32 ? regs->cx : regs->si;
    else if (nr == NR_openat || nr == NR_open_by_handle_at)
        flags = regs->dx;
    else
        return true; /* creat, openat2, memfd_create, io_uring_setup */
    return (flags & O_ACCMODE) != 0;
}

/* At a syscall's exit (`nr` its x86-64 number, ia32 and x32 mapped): records the file of a
 * successful open for writing or memfd_create. Once the container has set up an io_uring, whose
 * opens pass no syscall, ctime decides from then on, unless `lsm_records` (lsm/file_open sees
 * those opens too). */
static __always_inline void record_written_fd(struct pt_regs* regs, long nr, bool ia32, long ret,
                                              bool lsm_records) {
    if (ret < 0 || !watched_at_exit(nr) || !may_open_for_writing(regs, nr, ia32))
        return;
    __u64 cgid;
    struct brig_container* c = current_container(&cgid);
    if (!c)
        return;
    if (nr == NR_io_uring_setup) {
        if (!lsm_records && c->started)
            fall_back_to_ctime(c);
        return;
    }
    struct file* file = fd_file(ret);
    if (file)
        record_written(c, cgid, file, nr == NR_memfd_create);
}

#endif
