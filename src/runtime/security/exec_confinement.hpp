// Keeps the runtime binary out of the container's reach (escape class 1, CVE-2019-5736).
//
// Until it execs, a container process is a clone of brig: /proc/self/exe is brig's binary on the
// host. A container that makes its entrypoint /proc/self/exe (directly or as a "#!" interpreter)
// would run brig inside the container and could then reopen the binary for writing. Instead of
// re-executing brig from a sealed copy on every create (a whole extra exec), the container's
// processes get a Landlock domain that allows execute only beneath the container's root: the brig
// binary, reached through the magic link or not, lies outside it and cannot be executed.
#pragma once

namespace brig::security {

enum class ExecConfinement { landlock, unavailable };

// Call in the container's mount namespace after pivot_root, while still holding CAP_SYS_ADMIN
// (Landlock then needs no no_new_privs). Everything else stays unrestricted.
ExecConfinement confine_exec_to_root();

}  // namespace brig::security
