// The container's file system view, built inside its fresh mount namespace: the rootfs and
// every spec.mounts entry (prepare_rootfs), the switch of root (enter_rootfs), then masks,
// read-only paths, names and sysctls (finalize_rootfs). All kernel calls go through Syscalls.
//
// Security by design (REFERENCE.md §4): every mount target is resolved inside the rootfs from
// its fd (openat2 RESOLVE_IN_ROOT), created component by component relative to the parent's
// fd, mounted onto through /proc/self/fd/N of the pinned target and checked again afterwards
// (classes 4, 8); /proc, /sys and /dev targets may not be or pass through symlinks (class 3);
// masking uses a /dev/null verified as char 1:3 (class 5); /dev/console is a fresh regular file
// (class 6); sysctls are checked against the container's namespaces and written through a
// verified procfs (class 7).
#pragma once

#include <map>
#include <string>

#include "runtime/config/spec.hpp"
#include "runtime/linux/syscalls.hpp"

namespace brig::linux {

struct RootfsOptions {
    std::string rootfs;  // absolute host path of the container root (bundle-resolved)
    bool no_pivot = false;
    bool terminal = false;
    // "context=\"LABEL\"" for linux.mountLabel when SELinux is active, else empty.
    std::string mount_label_option;
    // mounts[i] -> a detached copy of its bind source made by brig outside the container's user
    // namespace (source_trees_for_user_namespace): used where the container's root may not
    // reach the source (a 0700 host directory), as runc's mount fds.
    std::map<size_t, int> source_trees;
};

// For a container in a user namespace: a detached copy (open_tree OPEN_TREE_CLONE) of each bind
// source but idmapped ones, made by the caller with the host's credentials before the spawn,
// for prepare_rootfs (RootfsOptions::source_trees). Sources it cannot open are left out (the
// init reports them). Relative sources are relative to `bundle`.
std::map<size_t, UniqueFd> source_trees_for_user_namespace(Syscalls& sys, const config::Spec& spec,
                                                           const std::string& bundle);

// Before pivot_root, in the container's new mount namespace: rootfsPropagation on "/", the
// rootfs bound onto itself, spec.mounts in order, /dev (default devices, linux.devices, links,
// the /dev/console target when terminal). "idmap"/"ridmap" bind mounts get a user namespace
// from the mount's uid/gidMappings (containerID: the id on disk, hostID: the id shown), or the
// container's own when it has one and the mount has none. Relative bind sources are taken relative
// to the current directory (the bundle, as with runc).
void prepare_rootfs(Syscalls& sys, const config::Spec& spec, const RootfsOptions& options);

// pivot_root(".", ".") and a lazy unmount of the old root; with no_pivot, MS_MOVE + chroot.
void enter_rootfs(Syscalls& sys, const RootfsOptions& options);

// After enter_rootfs: hostname, domainname, sysctl, readonlyPaths, maskedPaths, root.readonly.
void finalize_rootfs(Syscalls& sys, const config::Spec& spec, const RootfsOptions& options);

// Checks a linux.sysctl key against the container's namespaces and returns its path below
// /proc/sys. Throws: linux.sysctl["kernel.core_pattern"]: not namespaced, refusing
std::string checked_sysctl_path(const config::Spec& spec, const std::string& key);

}  // namespace brig::linux
