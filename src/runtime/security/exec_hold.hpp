// Execs held for a monitor's verdict. A seccomp filter sends every execve/execveat of a process
// (and of everything it starts) to a listener (SECCOMP_RET_USER_NOTIF); the process hands that
// listener to the monitor over a unix socket the monitor listens on, and each exec waits there
// until the monitor answers. If the monitor is gone, the kernel fails the exec (ENOSYS): closed,
// never open. brig's monitor asks for it when a rule decided in user space refuses execs
// (src/monitor/exec_verdicts.hpp).
#pragma once

#include <string>

#include "runtime/common/unique_fd.hpp"

namespace brig::security {

// The monitor's side: a listening socket (non-blocking) at `path`, in a directory only root
// reaches. Paths longer than a socket address are bound through the directory's fd.
UniqueFd listen_exec_hold(const std::string& path);

// brig's side, before it starts a process in the container: a connection to the monitor's
// socket at `path`, invalid when there is no socket (the container's execs are not held).
// Throws when the socket exists but no one listens: the monitor is gone, and a process entering
// the container could run no program.
UniqueFd connect_exec_hold(const std::string& path);

// In the process, with CAP_SYS_ADMIN or no_new_privs (before privileges drop) and before any
// other notify filter (a task may have one listener): installs the filter and sends its
// listener over `connection`.
void hold_execs(int connection);

}  // namespace brig::security
