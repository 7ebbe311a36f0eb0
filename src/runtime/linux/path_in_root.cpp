#include "runtime/linux/path_in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/common/elide.hpp"
#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

uint64_t resolve_flags(Symlinks symlinks) {
    uint64_t flags = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    if (symlinks == Symlinks::refuse)
        flags |= RESOLVE_NO_SYMLINKS;
    return flags;
}

std::string join(const std::vector<std::string>& components, size_t count) {
    std::string path;
    for (size_t i = 0; i < count; ++i)
        path += "/" + components[i];
    return path.empty() ? "/" : path;
}

// Opens one prefix of the path from the root; returns an invalid fd when it does not exist.
UniqueFd try_open(Syscalls& sys, const RootDir& root, const std::string& path, uint64_t flags,
                  Symlinks symlinks) {
    int error = 0;
    UniqueFd fd =
        sys.try_openat2(root.fd.get(), path, O_PATH | flags, 0, resolve_flags(symlinks), error);
    if (fd || error == ENOENT)
        return fd;
    if (error == ELOOP && symlinks == Symlinks::refuse)
        throw Error(elide(path) + " is or passes through a symlink, refusing", ELOOP);
    throw Error(elide(path), error);  // Error adds the errno text
}

// The target of the symlink dir_fd/name, or "" when it is not a symlink.
std::string symlink_target(int dir_fd, const std::string& name) {
    char buf[4096];
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf);
    if (n <= 0 || static_cast<size_t>(n) == sizeof buf)
        return {};
    return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

RootDir open_root_dir(Syscalls& sys, const std::string& path) {
    RootDir root;
    root.fd = sys.openat2(AT_FDCWD, path, O_PATH | O_DIRECTORY, 0, 0);
    root.host_path = fd_target(root.fd.get());
    return root;
}

std::string clean_path(const std::string& path) {
    std::vector<std::string> components = path_components(path);
    return join(components, components.size());
}

std::vector<std::string> path_components(const std::string& path) {
    std::vector<std::string> components;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos)
            end = path.size();
        std::string component = path.substr(start, end - start);
        if (component == "..") {
            if (!components.empty())
                components.pop_back();
        } else if (!component.empty() && component != ".") {
            components.push_back(std::move(component));
        }
        start = end + 1;
    }
    return components;
}

std::string fd_target(int fd) {
    std::string link = fd_path(fd);
    char buf[4096];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    if (n < 0 && errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0)
        throw Error(
            "mounts: the container has no procfs at /proc, which brig needs to set it up "
            "(add {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"})");
    if (n < 0)
        throw_errno("readlink " + link);
    if (static_cast<size_t>(n) == sizeof buf)
        throw Error("readlink " + link + ": path too long");
    return std::string(buf, static_cast<size_t>(n));
}

std::string path_inside_root(const RootDir& root, int fd) {
    std::string target = fd_target(fd);
    if (target == root.host_path)
        return "/";
    const std::string& prefix = root.host_path == "/" ? std::string() : root.host_path;
    if (target.size() > prefix.size() && target.compare(0, prefix.size(), prefix) == 0 &&
        target[prefix.size()] == '/')
        return target.substr(prefix.size());
    throw Error("possibly malicious path: " + elide(target) + " is outside the rootfs " +
                elide(root.host_path) + ", refusing");
}

UniqueFd open_in_root_if_exists(Syscalls& sys, const RootDir& root, const std::string& path,
                                Symlinks symlinks) {
    return try_open(sys, root, clean_path(path), 0, symlinks);
}

UniqueFd open_in_root(Syscalls& sys, const RootDir& root, const std::string& path,
                      Symlinks symlinks) {
    const std::string clean = clean_path(path);
    UniqueFd fd = try_open(sys, root, clean, 0, symlinks);
    if (!fd)
        throw Error(elide(clean), ENOENT);
    return fd;
}

UniqueFd create_in_root(Syscalls& sys, const RootDir& root, const std::string& path, Leaf leaf,
                        Symlinks symlinks) {
    std::vector<std::string> components = path_components(path);
    int dangling_links_followed = 0;
    UniqueFd parent = sys.openat2(root.fd.get(), ".", O_PATH | O_DIRECTORY, 0, 0);
    for (size_t i = 0; i < components.size(); ++i) {
        const bool last = i + 1 == components.size();
        const bool want_file = last && leaf == Leaf::file;
        const std::string prefix = join(components, i + 1);
        const uint64_t flags = want_file ? 0 : O_DIRECTORY;
        UniqueFd fd = try_open(sys, root, prefix, flags, symlinks);
        if (!fd) {
            // Create the component in the directory we hold, never by path from the top.
            try {
                if (want_file) {
                    sys.openat2(parent.get(), components[i], O_CREAT | O_EXCL | O_WRONLY, 0644,
                                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                } else {
                    sys.mkdirat(parent.get(), components[i], 0755);
                }
            } catch (const Error& e) {
                if (e.errnum() != EEXIST)
                    throw Error("cannot create " + elide(prefix), e.errnum());
            }
            fd = try_open(sys, root, prefix, flags, symlinks);
        }
        if (!fd) {
            // A symlink to something missing: create its target instead, inside the root, as
            // the kernel would resolve it (absolute targets from the root).
            const std::string target = symlink_target(parent.get(), components[i]);
            if (target.empty() || ++dangling_links_followed > 40)
                throw Error(elide(prefix) + ": cannot resolve it inside the rootfs", ELOOP);
            std::string rest = target[0] == '/' ? target : join(components, i) + "/" + target;
            for (size_t j = i + 1; j < components.size(); ++j)
                rest += "/" + components[j];
            components = path_components(rest);
            parent = sys.openat2(root.fd.get(), ".", O_PATH | O_DIRECTORY, 0, 0);
            i = static_cast<size_t>(-1);
            continue;
        }
        if (want_file && S_ISDIR(sys.fstat(fd.get()).st_mode))
            throw Error(elide(prefix) + " is a directory, a file is needed", EISDIR);
        parent = std::move(fd);
    }
    return parent;
}

}  // namespace brig::linux
