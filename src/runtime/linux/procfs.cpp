#include "runtime/linux/procfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

bool is_procfs(int fd) {
    struct statfs fs {};
    return ::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

bool is_mount_root(int fd) {
    struct statx stx {};
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0)
        return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

UniqueFd fresh_procfs() {
    UniqueFd context(::fsopen("proc", FSOPEN_CLOEXEC));
    if (!context)
        return {};
    if (::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        return {};
    UniqueFd mount(::fsmount(context.get(), FSMOUNT_CLOEXEC,
                             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
    return mount;
}

}  // namespace

UniqueFd open_procfs_root() {
    // A detached mount is unreachable from any path, so nothing can be mounted over its files.
    UniqueFd root = fresh_procfs();
    if (!root)
        root.reset(::open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!root)
        root.reset(::open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root)
        throw_errno("cannot open procfs");
    if (!is_procfs(root.get()) || !is_mount_root(root.get()))
        throw Error("/proc is not the root of a procfs mount, refusing to use it");
    return root;
}

UniqueFd open_in_procfs(int proc_root, const std::string& relative, int flags) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    int fd =
        static_cast<int>(::syscall(SYS_openat2, proc_root, relative.c_str(), &how, sizeof how));
    if (fd < 0)
        throw_errno("cannot open /proc/" + relative);
    UniqueFd file(fd);
    if (!is_procfs(file.get()))
        throw Error("/proc/" + relative + " is not on procfs, refusing");
    return file;
}

void write_all(int fd, const std::string& data, const std::string& what) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("cannot write " + what);
        if (n == 0)
            throw Error("cannot write " + what + ": short write");
        done += static_cast<size_t>(n);
    }
}

std::string sysctl_relative_path(const std::string& key) {
    if (key.empty())
        throw Error("empty sysctl key");
    if (key.find('\0') != std::string::npos)
        throw Error("sysctl key contains NUL");
    const bool slash_form = key.find('/') != std::string::npos;
    const char separator = slash_form ? '/' : '.';
    std::string path;
    size_t start = 0;
    for (;;) {
        size_t end = key.find(separator, start);
        std::string component = key.substr(start, end == std::string::npos ? end : end - start);
        if (component.empty() || component == "." || component == "..")
            throw Error("invalid sysctl key \"" + key + "\"");
        if (!path.empty())
            path += '/';
        path += component;
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return path;
}

}  // namespace brig::linux
