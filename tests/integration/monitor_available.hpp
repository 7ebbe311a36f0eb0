// Whether brig's monitor watches containers on this host: the first check of every monitor
// test that runs containers.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"

namespace brig::test {

// A kernel that refuses brig's programs (the verifier: too complex, a stack too deep) is a brig
// bug on any kernel the monitor supports, never a reason to skip.
inline void fail_if_programs_refused(const std::exception& e) {
    auto* error = dynamic_cast<const brig::Error*>(&e);
    if (error && (error->errnum() == E2BIG || error->errnum() == EACCES))
        ADD_FAILURE() << "the kernel's verifier refused brig's BPF programs: " << e.what();
}

// "" when containers are watched here (and *bpf_lsm, if given, says whether BPF-LSM is the
// enforcement path in force), else why not: the reason a test skips with.
inline std::string why_no_monitor(bool* bpf_lsm = nullptr) {
    if (runtime_kind() != RuntimeKind::brig)
        return "the monitor is brig's own";
    if (!fs::exists("/sys/fs/cgroup/unified/cgroup.procs") &&
        !fs::exists("/sys/fs/cgroup/cgroup.procs"))
        return "no cgroup2 hierarchy: containers run unwatched";
    try {
        bool lsm = monitor::Monitor::open(monitor::MonitorConfig{}).path() ==
                   monitor::EnforcementPath::bpf_lsm;
        if (bpf_lsm)
            *bpf_lsm = lsm;
    } catch (const std::exception& e) {
        // The VM test-bed is where the monitor must load (BPF-LSM, 6.1): never a silent skip.
        if (std::getenv("BRIG_IN_VM"))
            ADD_FAILURE() << "the eBPF monitor does not load in the VM: " << e.what();
        else
            fail_if_programs_refused(e);
        return std::string("the eBPF monitor cannot load here: ") + e.what();
    }
    return "";
}

}  // namespace brig::test
