// AppArmor and SELinux labels for the container's processes, written through verified procfs
// handles (escape class 7), never through a path the container could redirect.
#pragma once

#include <map>
#include <string>

#include "runtime/config/spec.hpp"

namespace brig::security {

// Annotation that lets a container run when the profile or label it asks for cannot be
// applied because that LSM is not active on the host ("true": warn and run without it).
inline constexpr const char* kLsmOptionalAnnotation = "org.brig.lsm.optional";

// What the host's kernel has active.
struct LsmHost {
    bool apparmor = false;
    bool selinux = false;
};
LsmHost detect_lsm_host();

// The labels to apply for one process, decided before anything of the container exists.
struct LsmPlan {
    std::string apparmor_profile;  // empty: leave as is
    std::string selinux_label;     // exec and keyring label; empty: leave as is
    std::string warning;           // set when an optional label was dropped
};

// Decides what to apply: a profile or label asked for on a host without that LSM is an Error
// naming the field, unless `optional` (then dropped with a warning).
LsmPlan plan_lsm(const config::Process& process, const std::string& mount_label,
                 const LsmHost& host, bool optional);

// True when the annotations carry org.brig.lsm.optional=true.
bool lsm_optional(const std::map<std::string, std::string>& annotations);

// The mount data option for linux.mountLabel ("context=\"LABEL\""), or "" without a label.
// Refuses labels that would break out of the option string.
std::string mount_label_option(const std::string& mount_label);

// In the container, before the session keyring is joined: the keyring gets the SELinux label.
void apply_keyring_label(const LsmPlan& plan);

// In the container, before exec: the next execve enters the AppArmor profile and the SELinux
// label. Must run while the process may still mount a fresh procfs (before capabilities drop
// and before any Landlock domain).
void apply_exec_labels(const LsmPlan& plan);

}  // namespace brig::security
