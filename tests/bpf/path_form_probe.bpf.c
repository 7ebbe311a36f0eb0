// SPDX-License-Identifier: GPL-2.0
/* The monitor's path walk (path_forms.h) and its verdict lookup on their own, run by
 * BPF_PROG_TEST_RUN from monitor_path_form_test.cpp in the test's own task. Never attached. */
/* The monitor's headers bring helpers this probe does not call. */
#pragma clang diagnostic ignored "-Wunused-function"
#include "path_forms.h"

char LICENSE[] SEC("license") = "GPL";

/* The form of the path and the verdict found for it, as sys_enter takes them. */
struct path_form_result {
    __s64 len;
    struct brig_prefix_key key;
    struct brig_verdict verdict;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct path_form_result);
} path_form_results SEC(".maps");

/* (dirfd, user address of a path, brig_path_op, cgroup id): the form the rules would match and
 * the verdict on the operation this object's open_path_rules gives it (none for an op past
 * BRIG_PATH_OPS). */
SEC("raw_tracepoint/sys_enter")
int path_form_probe(struct bpf_raw_tracepoint_args* ctx) {
    __u32 zero = 0;
    struct path_form_result* result = bpf_map_lookup_elem(&path_form_results, &zero);
    if (!result)
        return 0;
    struct brig_prefix_key* key = &result->key;
    key->cgroup_id = ctx->args[3];
    key->prefixlen = 64 + 8 * BRIG_PREFIX_LEN;
    result->len = brig_path_form(key, (int)ctx->args[0], ctx->args[1]);
    struct brig_verdict verdict = {};
    if (result->len > 0)
        merge_op(&verdict, bpf_map_lookup_elem(&open_path_rules, key), (__u32)ctx->args[2]);
    result->verdict = verdict;
    return 0;
}
