// Paths inside a container rootfs resolved through fds (escape classes 4 and 8): every lookup
// starts at the rootfs fd with openat2 RESOLVE_IN_ROOT, so a symlink, absolute or "../../",
// static or swapped in meanwhile, can never lead out; missing components are created one by
// one relative to their parent's fd.
#pragma once

#include <string>
#include <vector>

#include "runtime/common/unique_fd.hpp"
#include "runtime/linux/syscalls.hpp"

namespace brig::linux {

struct RootDir {
    UniqueFd fd;            // O_PATH directory fd of the root
    std::string host_path;  // its canonical path as the kernel names it (readlink of fd)
};

enum class Symlinks {
    follow_in_root,  // a symlink is resolved as if the root were "/"
    refuse,          // any symlink on the way is an error
};

enum class Leaf { directory, file };

// Opens a directory as a root for the functions below.
RootDir open_root_dir(Syscalls& sys, const std::string& path);

// "/a/./b//../c" -> {"a", "c"}: ".." cannot climb above the root.
std::vector<std::string> path_components(const std::string& path);
// The same as a path: "/a/./b//../c" -> "/a/c", "" -> "/".
std::string clean_path(const std::string& path);

// Opens `path` (taken as absolute inside root) with O_PATH. Throws brig::Error, errno kept.
UniqueFd open_in_root(Syscalls& sys, const RootDir& root, const std::string& path,
                      Symlinks symlinks);
// Same, but an invalid fd when the path does not exist.
UniqueFd open_in_root_if_exists(Syscalls& sys, const RootDir& root, const std::string& path,
                                Symlinks symlinks);

// Same, creating what is missing: directories (0755) on the way, the last one a directory or
// an empty regular file (0644). An existing last component must be of the kind asked for.
// A dangling symlink on the way (with Symlinks::follow_in_root) gets its target created
// inside the root, as the kernel would resolve it.
UniqueFd create_in_root(Syscalls& sys, const RootDir& root, const std::string& path, Leaf leaf,
                        Symlinks symlinks);

// The path of what fd pins relative to the root ("/" or "/a/b"); throws when it lies outside
// the root (the check made before and after mounting onto fd).
std::string path_inside_root(const RootDir& root, int fd);

// readlink of /proc/self/fd/N.
std::string fd_target(int fd);

}  // namespace brig::linux
