// SPDX-License-Identifier: GPL-2.0
/* The smallest BPF-LSM program: brig attaches it at start-up and opens a file to learn whether
 * BPF-LSM is in force. That the program loads is not enough (a kernel built with BPF-LSM runs
 * no hook unless "bpf" is among its active LSMs, yet loads and attaches the programs), nor is
 * the list in /sys/kernel/security/lsm (some kernels refuse the program type). */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 probe_tgid = 0; /* the probing process */
__u32 probe_runs = 0;                /* the hook ran for it */

SEC("lsm/file_open")
int BPF_PROG(brig_lsm_probe, struct file* file, int ret) {
    if (bpf_get_current_pid_tgid() >> 32 == probe_tgid)
        __sync_fetch_and_add(&probe_runs, 1);
    return ret;
}
