// Verified procfs handles (escape class 7): writes to /proc/sys and other procfs files go
// through an fd known to be a procfs that nothing is mounted over, never through a path.
#pragma once

#include <string>

#include "runtime/common/unique_fd.hpp"

namespace brig::linux {

// Opens the root of a procfs nobody else can reach or overmount: a fresh detached instance
// (fsopen + fsmount), else a non-recursive clone of /proc (open_tree, which drops every mount
// on top of it), else /proc itself. Each candidate must be the root of a procfs mount.
UniqueFd open_procfs_root();

// Opens `relative` below a procfs root fd without following any symlink or crossing any
// mount, and checks the result is on procfs. flags get O_CLOEXEC|O_NOFOLLOW added.
UniqueFd open_in_procfs(int proc_root, const std::string& relative, int flags);

// Writes all of data to fd; errors name `what`.
void write_all(int fd, const std::string& data, const std::string& what);

// Maps a sysctl key to its path below /proc/sys: "net.ipv4.ip_forward" -> "net/ipv4/ip_forward";
// a key with '/' is taken as a path already (so "net/ipv4/conf/eth0.1/rp_filter" works).
// Refuses empty keys and components, ".", "..", leading or trailing separators and NUL.
std::string sysctl_relative_path(const std::string& key);

}  // namespace brig::linux
