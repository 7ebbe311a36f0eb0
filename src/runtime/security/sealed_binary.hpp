// Keeps the runtime binary out of the container's reach (escape class 1, CVE-2019-5736).
//
// Until it execs, a container process is a clone of brig, and brig's hooks in the container are
// forks of it: "/proc/self/exe" (as the program, as a "#!" interpreter, as a hook path) is brig's
// own executable. A container that runs it holds that file open and could write over it once
// nothing executes it. So brig never runs from a file a container could write: the verbs that
// make container processes (create, run, exec) and the shim re-execute brig first from a
// read-only, detached bind mount of its binary (no copy; the mount is in no namespace, so no
// container can remount it) or, where brig may not mount (rootless), from a sealed memfd copy.
// Nothing in the container is restricted: the file it can reach is simply not writable.
#pragma once

#include <string>

namespace brig::security {

// This process's executable cannot be written through /proc/self/exe: it lies on a read-only
// mount or is a memfd sealed against writing.
bool running_from_sealed_binary();

// Re-executes this program with the same arguments and environment from a sealed view of its
// binary, unless it already runs from one (then it only returns; the process's name, which an
// exec through an fd sets to the fd's number, is set back to argv[0]'s).
void reexec_from_sealed_binary(char** argv);

// execve(path, argv, envp) through a sealed view of `path`. Returns only on failure (errno set).
void exec_sealed(const std::string& path, char* const* argv, char* const* envp);

}  // namespace brig::security
