// The container's /dev: device nodes (mknod, or a bind mount of the host's node where mknod is
// not permitted, as in a user namespace), the standard links and the /dev/console target.
#pragma once

#include <vector>

#include "runtime/config/spec.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "runtime/linux/syscalls.hpp"

namespace brig::linux {

// null, zero, full, random, urandom, tty: char devices, mode 0666, owned by root.
std::vector<config::Device> default_devices();

// Creates one device node inside root at device.path (parents created fd-based). Whatever
// non-directory is in its place (a symlink included) is replaced. When mknod is refused with
// EPERM, the host's node at the same path is bind-mounted onto an empty file instead.
void create_device(Syscalls& sys, const RootDir& root, const config::Device& device);

// In the directory dev_fd (the container's /dev): fd -> /proc/self/fd, stdin/stdout/stderr ->
// /proc/self/fd/{0,1,2}, ptmx -> pts/ptmx (replacing what was there), and core -> /proc/kcore
// when link_core (runc does so when the host has /proc/kcore). Existing links are kept.
void create_dev_links(Syscalls& sys, int dev_fd, bool link_core);

// Replaces whatever non-directory is at dev_fd/console with an empty regular file, onto which
// the terminal code bind-mounts the pty (escape class 6: never a symlink).
void create_console_target(Syscalls& sys, int dev_fd);

}  // namespace brig::linux
