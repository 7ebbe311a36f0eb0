// SPDX-License-Identifier: GPL-2.0
/* The smallest BPF-LSM program: brig loads it at start-up to learn whether BPF-LSM is usable
 * (listed in /sys/kernel/security/lsm is not enough: some kernels refuse the program type). */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/bprm_check_security")
int BPF_PROG(brig_lsm_probe, struct linux_binprm* bprm, int ret) {
    return ret;
}
