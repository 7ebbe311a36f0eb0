// What the monitor refuses from inside the container's processes, where its kernel side can only
// report or kill after the fact (no BPF-LSM): a Landlock domain refusing write rights beneath
// directories, a seccomp filter refusing syscalls with EPERM. `create` compiles it once and
// records it in the state dir; the init and every exec'd process apply that same record.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace brig::security {

struct DenyPolicy {
    // Absolute dir inside the container's root -> the Landlock rights refused beneath it.
    std::map<std::string, uint64_t> landlock_deny;
    std::vector<std::string> seccomp_deny;  // syscall names refused with EPERM

    std::string to_json_text() const;
    // Throws naming `source` when the text is not what to_json_text() writes.
    static DenyPolicy from_json_text(const std::string& text, const std::string& source);
};

// In the process entering the container, in the container's root: after its last mount (a
// Landlock domain forbids mount(2)) and before its privileges drop (without no_new_privs both
// Landlock and seccomp need CAP_SYS_ADMIN). Each call makes a Landlock domain of its own.
void apply_deny_policy(const DenyPolicy& policy);

}  // namespace brig::security
