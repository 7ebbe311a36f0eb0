// cgroup2 has no devices.allow: access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE program
// attached to the cgroup. We assemble it by hand from linux.resources.devices.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "runtime/config/spec.hpp"

namespace brig::cgroups {

// The program for rules in spec order, where the last matching rule wins per access bit
// (as the v1 devices controller and runc behave); no match denies. field names errors.
std::vector<bpf_insn> build_device_program(const std::vector<config::DeviceRule>& rules,
                                           const std::string& field);

// Loads the program and attaches it to cgroup_dir (BPF_F_ALLOW_MULTI), then detaches the
// device programs that were attached before, so `update` replaces rather than stacks.
void install_device_program(const std::string& cgroup_dir,
                            const std::vector<config::DeviceRule>& rules, const std::string& field);

// Evaluates rules the way the program does (used by tests to check the program's intent).
bool device_rules_allow(const std::vector<config::DeviceRule>& rules, char type, int64_t major,
                        int64_t minor, const std::string& access);

}  // namespace brig::cgroups
