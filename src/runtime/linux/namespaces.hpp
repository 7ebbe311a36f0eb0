// Namespaces: the clone flags for new ones, verified fds for the ones joined by path,
// and the uid/gid maps of a new user namespace.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"

namespace brig::linux {

struct NamespaceToJoin {
    config::NamespaceType type;
    UniqueFd fd;
};

struct NamespacePlan {
    int clone_flags = 0;                 // CLONE_NEW* for the namespaces to create
    std::vector<NamespaceToJoin> joins;  // user first, then the rest; pid handled by the caller
    bool new_user = false;
    bool join_pid = false;
    bool new_time = false;
};

// Opens every namespace path and checks with NS_GET_NSTYPE that it is of the declared type.
NamespacePlan plan_namespaces(const config::Linux& linux);

// Writes /proc/PID/{uid_map,gid_map} (and setgroups "deny" when asked) for a new user namespace.
void write_id_mappings(pid_t pid, const std::vector<config::IdMapping>& uid_mappings,
                       const std::vector<config::IdMapping>& gid_mappings, bool deny_setgroups);

// Creates a time namespace with the given clock offsets and moves the calling process into it
// (unshare, write /proc/self/timens_offsets, setns to time_for_children).
void enter_new_time_namespace(const std::map<std::string, std::pair<int64_t, uint32_t>>& offsets);

}  // namespace brig::linux
