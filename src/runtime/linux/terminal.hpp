// process.terminal: a pty made inside the container's devpts, its master handed to the caller
// over --console-socket with SCM_RIGHTS (as runc does), its slave the container's stdio.
#pragma once

#include <string>

#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/linux/syscalls.hpp"

namespace brig::linux {

// Connects to the caller's --console-socket (a unix stream socket).
UniqueFd connect_console_socket(const std::string& path);

// In the container, after pivot_root: opens /dev/ptmx, sends the master over console_socket,
// bind-mounts the slave onto /dev/console (a file verified fd-based, never a symlink), makes it
// the controlling terminal and stdin/stdout/stderr, owned by `owner`'s uid (the process's user,
// as runc: a non-root process can reopen its tty by name and change its mode).
void setup_console(int console_socket, const std::optional<config::ConsoleSize>& size,
                   bool mount_dev_console, const config::User& owner);

// Bind-mounts the pty (an fd) onto the container's /dev/console, which must be the regular
// file brig made (reached with no symlink, not even a magic link). After pivot_root.
void bind_pty_onto_console(Syscalls& sys, int pty);

// Sends fd with SCM_RIGHTS, the payload naming it (runc sends the pty's path).
void send_fd(int socket, int fd, const std::string& name);
// Receives one fd sent by send_fd.
UniqueFd receive_fd(int socket);

}  // namespace brig::linux
