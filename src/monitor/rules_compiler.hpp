// The kernel side of one rule: which map entries its condition asks for and whether the kernel's
// match is exactly the condition (then the kernel acts; otherwise it only reports and user space
// decides). One pure function per event class; compile_policy gives the keys their verdicts.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "monitor/bpf/monitor_abi.h"
#include "monitor/monitor.hpp"

namespace brig::monitor {

enum class EventClass { exec, open, path, socket, connect, bind, ptrace, memfd, module, bpf };
std::optional<EventClass> class_of(const std::string& evt_type);

// The map keys a rule asks for, before its verdict is known.
struct KernelKeys {
    std::set<std::string> exec_names;                        // basename or absolute path
    std::array<std::set<std::string>, BRIG_PATH_OPS> paths;  // prefix; exact files end in '\0'
    std::set<std::string> open_names;
    std::set<SocketAddress> connects;
    std::set<SocketAddress> binds;
    std::set<uint32_t> syscalls;  // brig_syscall_class
    bool exec_new_binary = false;
    bool every_exec = false;  // an exec class with no key: every exec must be reported
    std::vector<std::string> seccomp_deny;  // syscalls seccomp refuses when the rule denies

    void add(const KernelKeys& other);
};

// One conjunction's terms for one event class.
struct ClassTerms {
    const std::set<std::string>& types;     // the evt.type values of this class
    const std::vector<const Expr*>& terms;  // the conjunction's terms
};

struct ClassMatch {
    KernelKeys keys;
    std::vector<bool> used;  // per term: the keys match it exactly
    bool exact = false;      // the keys match exactly the used terms (and the types)
    std::vector<std::string> warnings;
};

ClassMatch compile_exec(const ClassTerms& in);
ClassMatch compile_open(const ClassTerms& in);
ClassMatch compile_path(const ClassTerms& in);
ClassMatch compile_socket(const ClassTerms& in);
ClassMatch compile_connect(const ClassTerms& in);
ClassMatch compile_bind(const ClassTerms& in);
ClassMatch compile_syscall(EventClass cls, const ClassTerms& in);  // ptrace, memfd, module, bpf
ClassMatch compile_class(EventClass cls, const ClassTerms& in);

// A whole condition (container fields already decided): an or of conjunctions, each split by
// evt.type into classes. exact: every term of every conjunction is consumed by a map key.
struct RuleKeys {
    KernelKeys keys;
    bool exact = false;
    bool beyond_exec = false;     // some conjunction is about other events than execs
    bool observes_execs = false;  // some conjunction is evaluated on exec events
    std::vector<std::string> warnings;
};
RuleKeys compile_condition(const Expr& condition);

// Writes the keys into the policy's plan with the rule's verdict: its action when exact, report
// only otherwise; Landlock and seccomp refusals only for exact rules that deny or kill.
void apply_keys(const RuleKeys& keys, uint32_t rule_id, Action action, ContainerPolicy& policy);

}  // namespace brig::monitor
