/* The path a tracepoint reads from a syscall's argument, in the form rules match: made absolute
 * (from the working directory or a directory fd), `//`, `/./` and `..` folded, and the task's
 * own /proc magic links (/proc/self/root, /proc/self/cwd, /proc/self/fd/N; thread-self, the
 * task's pid and /proc/self/task/TID too; any pid's root) replaced by what they lead to. Other
 * symlinks stay as given: only the kernel's walk resolves them (sys_exit matches the opened file
 * itself). */
#ifndef BRIG_PATH_FORMS_H
#define BRIG_PATH_FORMS_H

#include "monitor_common.h"

#define BRIG_RAW_PATH_LEN 256 /* bytes of a path argument read (a longer one is cut) */
#define BRIG_FORM_LEN 512     /* a base path (128), '/', the argument (256), and room to mask */
#define BRIG_FORM_DEPTH 256   /* components of a folded path: more than 512 bytes can hold */
#define BRIG_NO_COMPONENT 0xffffffffu
#define BRIG_MAGIC_HOPS 8 /* magic links replaced in one path, at most */

/* Folding one input, the sequence base + "/" + raw (base may be empty). It lives in the map
 * value, not on the stack: the verifier then knows none of its values, and the states of
 * bpf_loop's iterations converge (exact values would make each iteration new). */
struct fold_state {
    __u32 base_len;  /* bytes of f->base in front; 0: raw is absolute */
    __u32 raw_at;    /* where raw's bytes begin in the sequence */
    __u32 raw_start; /* the first byte of f->raw that is used */
    __u32 raw_len;   /* bytes of f->raw used */
    __u32 len;       /* bytes in f->out */
    __u32 comp;      /* f->out offset of the open component's '/', BRIG_NO_COMPONENT */
    __u32 depth;     /* components committed to f->out */
    __u64 tail;      /* the open component's last 8 bytes, the last one lowest */
    __u64 head;      /* its first 8 bytes, the same way, once it has 8 */
    __u32 number;    /* the open component read as a number */
    bool numeric;
    bool find_magic; /* false after BRIG_MAGIC_HOPS replacements: the rest stays as named */
    bool overflow;   /* f->out is full: the path is cut */
    /* Byte d: the brig_magic_stage of the first d committed components, 0 when they start no
     * magic link (byte 0 is the root, where every match starts); the sixth component is the
     * last of a link (/proc/self/task/TID/fd/N). */
    __u64 stages;
    __u32 magic; /* brig_magic_link found, its fd, and the sequence index after it */
    __u32 magic_fd;
    __u32 rest;
};

struct path_form {
    char raw[BRIG_RAW_PATH_LEN];   /* the argument as the process gave it */
    char base[BRIG_PREFIX_LEN];    /* the directory it is relative to, or a magic link's target */
    char out[BRIG_FORM_LEN];       /* the folded path */
    __u16 starts[BRIG_FORM_DEPTH]; /* where each component of out begins (its '/') */
    char kept[BRIG_PREFIX_LEN];    /* the first path of a two-path operation */
    struct fold_state fold;
    /* sys_enter's lookup key: here, not on its stack, which with the calls below it would
     * pass the 512 bytes 6.1's verifier allows all frames together. */
    struct brig_prefix_key key;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct path_form);
} path_forms SEC(".maps");

static __always_inline struct path_form* path_form_scratch(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&path_forms, &zero);
}

/* f->key, set up for the container `cgid`. */
static __always_inline struct brig_prefix_key* scratch_key(struct path_form* f, __u64 cgid) {
    f->key.cgroup_id = cgid;
    f->key.prefixlen = 64 + 8 * BRIG_PREFIX_LEN;
    return &f->key;
}

/* What a leading /proc/<self>/<link> leads to. */
enum brig_magic_link {
    BRIG_MAGIC_NONE = 0,
    BRIG_MAGIC_ROOT, /* /proc/<any pid>/root: the container's processes share their root */
    BRIG_MAGIC_CWD,  /* /proc/<self>/cwd */
    BRIG_MAGIC_FD,   /* /proc/<self>/fd/N */
};

/* How far the leading components match /proc/<pid>/{root,cwd,fd/N}. */
enum brig_magic_stage {
    BRIG_STAGE_ROOT = 1,  /* "" */
    BRIG_STAGE_PROC,      /* "/proc" */
    BRIG_STAGE_PID,       /* "/proc/<another pid>" */
    BRIG_STAGE_SELF,      /* "/proc/self", "/proc/thread-self", "/proc/<own pid or tid>",
                             "/proc/<self>/task/<own tid>" */
    BRIG_STAGE_PID_TASK,  /* "/proc/<another pid>/task" */
    BRIG_STAGE_SELF_TASK, /* "/proc/<self>/task" */
    BRIG_STAGE_FD,        /* "/proc/<self>/fd" */
};

/* The i-th byte of the sequence, 0 past its end. */
static __always_inline char fold_input(const struct path_form* f, __u32 i) {
    const struct fold_state* st = &f->fold;
    if (i < st->base_len)
        return f->base[i & (BRIG_PREFIX_LEN - 1)];
    if (i < st->raw_at)
        return '/';
    __u32 j = i - st->raw_at;
    if (j >= st->raw_len)
        return 0;
    return f->raw[(st->raw_start + j) & (BRIG_RAW_PATH_LEN - 1)];
}

/* The bytes of a component packed as fold_step packs them (the last one lowest): comparing
 * them takes no loop, whose branches the verifier would explore at every byte. */
#define BRIG_PACK2(a, b) (((__u64)(a) << 8) | (__u64)(b))
#define BRIG_PACK3(a, b, c) ((BRIG_PACK2(a, b) << 8) | (__u64)(c))
#define BRIG_PACK4(a, b, c, d) ((BRIG_PACK2(a, b) << 16) | BRIG_PACK2(c, d))
#define BRIG_PACK8(a, b, c, d, e, f, g, h) ((BRIG_PACK4(a, b, c, d) << 32) | BRIG_PACK4(e, f, g, h))

/* Whether the component just closed (`clen` bytes) is "self" or "thread-self". */
static __always_inline bool is_self(const struct fold_state* st, __u32 clen) {
    if (clen == 4)
        return st->tail == BRIG_PACK4('s', 'e', 'l', 'f');
    return clen == 11 && st->head == BRIG_PACK8('t', 'h', 'r', 'e', 'a', 'd', '-', 's') &&
           st->tail == BRIG_PACK8('e', 'a', 'd', '-', 's', 'e', 'l', 'f');
}

/* `task`'s number in its innermost pid namespace (the container's). */
static __always_inline __u32 ns_pid(struct task_struct* task) {
    struct pid* pid = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(pid, level);
    struct upid up = {};
    bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 31]);
    return up.nr;
}

static __always_inline bool is_own_pid(__u32 number) {
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    return number == ns_pid(task) || number == ns_pid(BPF_CORE_READ(task, group_leader));
}

/* A pid or tid component: the task itself, or another one (whose root is the container's too,
 * its working directory and fds unknown here). */
static __always_inline __u32 numbered_stage(const struct fold_state* st, __u32 clen) {
    if (!st->numeric || !clen)
        return 0;
    return is_own_pid(st->number) ? BRIG_STAGE_SELF : BRIG_STAGE_PID;
}

/* The stage that the component just committed (clen bytes) takes the match from stage `at` to,
 * 0 when it ends it; sets st->magic when it completes a magic link. */
static __always_inline __u32 next_stage(struct fold_state* st, __u32 at, __u32 clen) {
    switch (at) {
        case BRIG_STAGE_ROOT:
            return clen == 4 && st->tail == BRIG_PACK4('p', 'r', 'o', 'c') ? BRIG_STAGE_PROC : 0;
        case BRIG_STAGE_PROC:
            if (is_self(st, clen))
                return BRIG_STAGE_SELF;
            return numbered_stage(st, clen);
        case BRIG_STAGE_PID_TASK:
        case BRIG_STAGE_SELF_TASK:
            return numbered_stage(st, clen);
        case BRIG_STAGE_PID:
        case BRIG_STAGE_SELF:
            if (clen == 4 && st->tail == BRIG_PACK4('r', 'o', 'o', 't'))
                st->magic = BRIG_MAGIC_ROOT;
            else if (clen == 4 && st->tail == BRIG_PACK4('t', 'a', 's', 'k'))
                return at == BRIG_STAGE_SELF ? BRIG_STAGE_SELF_TASK : BRIG_STAGE_PID_TASK;
            else if (at != BRIG_STAGE_SELF)
                return 0;
            else if (clen == 3 && st->tail == BRIG_PACK3('c', 'w', 'd'))
                st->magic = BRIG_MAGIC_CWD;
            else if (clen == 2 && st->tail == BRIG_PACK2('f', 'd'))
                return BRIG_STAGE_FD;
            return 0;
        case BRIG_STAGE_FD:
            if (st->numeric && clen) {
                st->magic = BRIG_MAGIC_FD;
                st->magic_fd = st->number;
            }
            return 0;
        default:
            return 0;
    }
}

/* Closes the open component, which ends before sequence index i: drops it if it is empty or
 * `.`, drops it and the one before for `..`, keeps it otherwise. True when it completes a magic
 * link to be replaced. */
static __always_inline bool end_component(struct path_form* f, __u32 i) {
    struct fold_state* st = &f->fold;
    __u32 comp = st->comp;
    if (comp == BRIG_NO_COMPONENT)
        return false;
    st->comp = BRIG_NO_COMPONENT;
    __u32 clen = st->len - comp - 1;
    if (clen == 0 || (clen == 1 && st->tail == '.')) {
        st->len = comp;
        return false;
    }
    if (clen == 2 && st->tail == BRIG_PACK2('.', '.')) {
        st->len = comp;
        if (st->depth > 0) {
            st->depth--;
            st->len = f->starts[st->depth & (BRIG_FORM_DEPTH - 1)];
        }
        return false;
    }
    __u32 d = st->depth;
    f->starts[d & (BRIG_FORM_DEPTH - 1)] = comp;
    st->depth = d + 1;
    if (!st->find_magic || d > 5)
        return false;
    __u32 at = (st->stages >> (8 * d)) & 0xff;
    __u64 stage = at ? next_stage(st, at, clen) : 0;
    if (d < 5) {
        __u32 shift = 8 * (d + 1);
        st->stages = (st->stages & ~(0xffull << shift)) | (stage << shift);
    }
    /* Replaced only where the link is named in the argument, not in the base it was made
     * absolute from (the kernel's names, which hold no magic link). */
    if (!st->magic || i < st->raw_at) {
        st->magic = BRIG_MAGIC_NONE;
        return false;
    }
    st->rest = i;
    return true;
}

/* Appends `ch` to f->out; false (the path is cut) when it is full. */
static __always_inline bool append(struct path_form* f, char ch) {
    struct fold_state* st = &f->fold;
    __u32 len = st->len;
    if (len >= BRIG_FORM_LEN - 1) {
        st->overflow = true;
        return false;
    }
    barrier_var(len); /* keeps the mask, which the verifier needs to bound the offset */
    f->out[len & (BRIG_FORM_LEN - 1)] = ch;
    st->len = len + 1;
    return true;
}

/* One byte of the sequence into f->out. */
static long fold_step(__u32 i, void* data) {
    struct path_form* f = *(struct path_form**)data;
    struct fold_state* st = &f->fold;
    char ch = fold_input(f, i);
    if (ch == '/' || ch == 0) {
        if (end_component(f, i) || ch == 0)
            return 1;
    }
    if (ch == '/' || st->comp == BRIG_NO_COMPONENT) {
        /* A new component; a path that does not start with '/' is taken from the root. */
        st->comp = st->len;
        st->tail = 0;
        st->head = 0;
        st->number = 0;
        st->numeric = true;
        if (!append(f, '/'))
            return 1;
        if (ch == '/')
            return 0;
    }
    if (!append(f, ch))
        return 1;
    st->tail = (st->tail << 8) | (__u8)ch;
    if (st->len - st->comp == 9) /* the '/' and 8 bytes */
        st->head = st->tail;
    if (ch >= '0' && ch <= '9' && st->number < 100000000)
        st->number = st->number * 10 + (ch - '0');
    else
        st->numeric = false;
    return 0;
}

/* Folds base + "/" + raw[raw_start..] into f->out. */
static __always_inline void fold(struct path_form* f, __u32 base_len, __u32 raw_start,
                                 __u32 raw_len, bool find_magic) {
    struct fold_state* st = &f->fold;
    st->base_len = base_len;
    st->raw_at = base_len ? base_len + 1 : 0;
    st->raw_start = raw_start;
    st->raw_len = raw_len;
    st->len = 0;
    st->comp = BRIG_NO_COMPONENT;
    st->depth = 0;
    st->find_magic = find_magic;
    st->overflow = false;
    st->stages = BRIG_STAGE_ROOT;
    st->magic = BRIG_MAGIC_NONE;
    bpf_loop(BRIG_FORM_LEN, fold_step, &f, 0);
}

/* Writes into f->base the path of the directory a relative path starts from (the working
 * directory, or the directory `dirfd` holds), from the task's root. Its length, 0 for none. */
static __always_inline long base_of(struct path_form* f, int dirfd) {
    struct dentry* dir = 0;
    struct vfsmount* mnt = 0;
    if (dirfd == AT_FDCWD) {
        struct task_struct* task = (struct task_struct*)bpf_get_current_task();
        dir = BPF_CORE_READ(task, fs, pwd.dentry);
        mnt = BPF_CORE_READ(task, fs, pwd.mnt);
    } else {
        struct file* file = fd_file(dirfd);
        if (!file)
            return 0;
        dir = BPF_CORE_READ(file, f_path.dentry);
        mnt = BPF_CORE_READ(file, f_path.mnt);
    }
    return build_path(f->base, dir, mnt, 0, 0, true);
}

/* base_of as a global function (checked once, as each of those below). */
__noinline int brig_base_of(struct path_form* f, int dirfd) {
    return f ? base_of(f, dirfd) : 0;
}

/* The path of a magic link's target into f->base: its length, -1 when it has none. A global
 * function: inlined at each of read_path's hops, the walks it makes pass the million
 * instructions the verifier takes (6.18). */
__noinline int brig_magic_target(struct path_form* f) {
    if (!f)
        return -1;
    const struct fold_state* st = &f->fold;
    if (st->magic == BRIG_MAGIC_ROOT)
        return 0;
    struct file* file = fd_file((int)st->magic_fd);
    if (!file)
        return -1;
    long len = build_path(f->base, BPF_CORE_READ(file, f_path.dentry),
                          BPF_CORE_READ(file, f_path.mnt), 0, 0, true);
    return len > 0 ? len : -1;
}

/* fold as a global function: the verifier checks it once, not again at each magic link
 * read_path replaces (which exceeds 6.1's limits). */
__noinline int brig_fold(struct path_form* f, __u32 base_len, __u32 raw_start, __u32 raw_len,
                         int find_magic) {
    if (f)
        fold(f, base_len, raw_start, raw_len, find_magic);
    return 0;
}

/* Copies the folded path into `path` (BRIG_PREFIX_LEN bytes): cut as build_path cuts (at most
 * BRIG_PREFIX_LEN - 1 bytes ending in '/') when longer or when its argument was cut. Returns its
 * length. */
static __always_inline long form_result(char* path, struct path_form* f, __u32 len, bool cut) {
    if (len == 0) {
        f->out[0] = '/';
        len = 1;
    }
    if (cut || len > BRIG_PREFIX_LEN - 1) {
        if (len > BRIG_PREFIX_LEN - 2)
            len = BRIG_PREFIX_LEN - 2;
        barrier_var(len); /* 6.1's verifier walks the impossible branches of a folded clamp */
        len &= BRIG_PREFIX_LEN - 1;
        f->out[len] = '/';
        len++;
    }
    barrier_var(len);
    len &= BRIG_PREFIX_LEN - 1;
    f->out[len] = 0;
    bpf_probe_read_kernel(path, BRIG_PREFIX_LEN, f->out);
    return len;
}

/* A base path that build_path cut (it ends in '/'): nothing can be appended to it, it is the
 * result as it is. */
static __always_inline long cut_base(char* path, struct path_form* f, long len) {
    bpf_probe_read_kernel(path, BRIG_PREFIX_LEN, f->base);
    return len;
}

/* The bytes of x equal to b, as 0x80 in each (exact: no carry crosses a byte). */
static __always_inline __u64 bytes_equal(__u64 x, __u8 b) {
    const __u64 low7 = 0x7f7f7f7f7f7f7f7fULL;
    __u64 t = x ^ (0x0101010101010101ULL * b);
    return ~(((t & low7) + low7) | t | low7);
}

#define BRIG_CLEAN_LEN 120 /* arguments the quick check looks at, at most (15 words) */

struct clean_scan {
    struct path_form* f;
    __u32 len;
    bool folds; /* a '/' followed by '.' or '/' */
};

/* The argument's bytes 8k to 8k + 7: whether one is a '/' that a '.' or a '/' follows. */
static long scan_word(__u32 k, void* data) {
    struct clean_scan* c = data;
    __u32 off = k * 8;
    if (off >= c->len)
        return 1;
    __u64 x = 0, next = 0;
    __builtin_memcpy(&x, &c->f->raw[off & (BRIG_PREFIX_LEN - 1)], sizeof(x));
    __builtin_memcpy(&next, &c->f->raw[(off + 1) & (BRIG_PREFIX_LEN - 1)], sizeof(next));
    if (bytes_equal(x, '/') & (bytes_equal(next, '.') | bytes_equal(next, '/'))) {
        c->folds = true;
        return 1;
    }
    return 0;
}

/* Whether the argument in f->raw (`len` bytes) is already in its normal form: absolute, no
 * `//`, no component that starts with '.', no trailing '/', not below /proc. Most are: this
 * looks at a word at a time, where folding takes a byte at a time. */
static __always_inline bool already_normal(struct path_form* f, __u32 len) {
    if (len > BRIG_CLEAN_LEN || f->raw[0] != '/' || (len > 1 && f->raw[(len - 1) & 127] == '/'))
        return false;
    __u64 head = 0;
    __builtin_memcpy(&head, f->raw, sizeof(head));
    const __u64 proc = BRIG_PACK8(0, 0, 0, 'c', 'o', 'r', 'p', '/'); /* "/proc", little-endian */
    __u8 after = head >> 40;
    if ((head & 0xffffffffffULL) == proc && (after == '/' || after == 0))
        return false;
    struct clean_scan c = {.f = f, .len = len};
    bpf_loop(BRIG_CLEAN_LEN / 8, scan_word, &c, 0);
    return !c.folds;
}

/* Reads the path argument at `upath` (relative to `dirfd` or the working directory) into
 * `path` (BRIG_PREFIX_LEN bytes) in the form rules match. Returns its length, 0 when the
 * argument is unreadable. */
static __always_inline long read_path(char* path, int dirfd, const char* upath) {
    struct path_form* f = path_form_scratch();
    if (!f)
        return 0;
    long n = bpf_probe_read_user_str(f->raw, sizeof(f->raw), upath);
    if (n <= 0)
        return 0;
    __u32 raw_len = n - 1;
    if (already_normal(f, raw_len)) {
        bpf_probe_read_kernel(path, BRIG_PREFIX_LEN, f->raw);
        return raw_len;
    }
    bool cut = n == sizeof(f->raw); /* perhaps longer: its last component is not whole */
    long base_len = 0;
    if (f->raw[0] != '/') {
        base_len = brig_base_of(f, dirfd);
        if (base_len <= 0)
            return 0;
        if (base_len > 1 && f->base[(base_len - 1) & (BRIG_PREFIX_LEN - 1)] == '/')
            return cut_base(path, f, base_len);
    }
    /* The window of f->raw still to fold, after the magic links replaced so far. */
    __u32 start = 0, left = raw_len;
    brig_fold(f, base_len, start, left, true);
    for (int hop = 0; hop < BRIG_MAGIC_HOPS && f->fold.magic; hop++) {
        __u32 used = f->fold.rest - f->fold.raw_at;
        long target =
            f->fold.magic == BRIG_MAGIC_CWD ? brig_base_of(f, AT_FDCWD) : brig_magic_target(f);
        if (target < 0 || used > left) {
            brig_fold(f, base_len, start, left, false); /* no target known: the link as named */
            break;
        }
        if (target > 1 && f->base[(target - 1) & (BRIG_PREFIX_LEN - 1)] == '/')
            return cut_base(path, f, target);
        start += used;
        left -= used;
        base_len = target;
        brig_fold(f, base_len, start, left, hop + 1 < BRIG_MAGIC_HOPS);
    }
    return form_result(path, f, f->fold.len, cut || f->fold.overflow);
}

/* read_path into key->path, as a global function: the verifier checks it once, not again at
 * each syscall that reads a path (which exceeds its limits). Its length, 0 when unreadable. */
__noinline int brig_path_form(struct brig_prefix_key* key, int dirfd, unsigned long upath) {
    if (!key)
        return 0;
    return read_path(key->path, dirfd, (const char*)upath);
}

#endif
