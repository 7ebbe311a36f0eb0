// SPDX-License-Identifier: GPL-2.0
/* The monitor's path walk (path_forms.h) on its own, run by BPF_PROG_TEST_RUN from
 * monitor_path_form_test.cpp in the test's own task: the arguments are (dirfd, user address of
 * a path), the result the form the rules would match. Never attached. */
/* The monitor's headers bring helpers this probe does not call. */
#pragma clang diagnostic ignored "-Wunused-function"
#include "path_forms.h"

char LICENSE[] SEC("license") = "GPL";

struct path_form_result {
    __s64 len;
    struct brig_prefix_key key;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct path_form_result);
} path_form_results SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int path_form_probe(struct bpf_raw_tracepoint_args* ctx) {
    __u32 zero = 0;
    struct path_form_result* result = bpf_map_lookup_elem(&path_form_results, &zero);
    if (!result)
        return 0;
    result->len = brig_path_form(&result->key, (int)ctx->args[0], ctx->args[1]);
    return 0;
}
