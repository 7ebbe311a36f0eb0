#include "runtime/linux/syscalls.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/common/elide.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/linux/procfs.hpp"

namespace brig::linux {
namespace {

const char* or_null(const std::string& s) {
    return s.empty() ? nullptr : s.c_str();
}

}  // namespace

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

RealSyscalls::RealSyscalls() = default;
RealSyscalls::~RealSyscalls() = default;

void RealSyscalls::mount(const std::string& source, const std::string& target,
                         const std::string& fstype, unsigned long flags, const std::string& data) {
    // A target given as /proc/self/fd/N says nothing to the user: the type and options do (the
    // caller names the mount by its config path and destination).
    std::string what = "mount " + target;
    if (target.starts_with("/proc/self/fd/")) {
        what = fstype.empty() ? "mount" : "mount " + fstype;
        if (!data.empty())
            what += " with options \"" + elide(data) + "\"";
    }
    check_syscall(what, [&] {
        return ::mount(or_null(source), target.c_str(), or_null(fstype), flags, or_null(data));
    });
}

void RealSyscalls::umount2(const std::string& target, int flags) {
    check_syscall("umount " + target, [&] { return ::umount2(target.c_str(), flags); });
}

void RealSyscalls::mount_setattr(int dirfd, const std::string& path, unsigned at_flags,
                                 const MountAttrChange& change) {
    struct mount_attr attr {};
    attr.attr_set = change.set;
    attr.attr_clr = change.clear;
    attr.propagation = change.propagation;
    if (change.userns_fd >= 0)
        attr.userns_fd = static_cast<uint64_t>(change.userns_fd);
    check_syscall("mount_setattr " + path, [&] {
        return ::mount_setattr(dirfd, path.c_str(), at_flags, &attr, sizeof attr);
    });
}

UniqueFd RealSyscalls::open_tree(int dirfd, const std::string& path, unsigned flags) {
    int fd = check_syscall("open_tree " + path, [&] {
        return ::open_tree(dirfd, path.c_str(), flags | OPEN_TREE_CLOEXEC);
    });
    return UniqueFd(fd);
}

void RealSyscalls::move_mount(int tree_fd, int target_fd) {
    check_syscall("move_mount", [&] {
        return ::move_mount(tree_fd, "", target_fd, "",
                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    });
}

namespace {

std::string id_map_text(const std::vector<config::IdMapping>& mappings) {
    std::string text;
    for (const config::IdMapping& m : mappings)
        text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
                std::to_string(m.size) + "\n";
    return text;
}

}  // namespace

UniqueFd RealSyscalls::create_user_namespace(const std::vector<config::IdMapping>& uid_mappings,
                                             const std::vector<config::IdMapping>& gid_mappings) {
    // A child unshares a user namespace and waits; we map it, keep a handle, and let it go.
    int ready[2], done[2];
    check_syscall("pipe", [&] { return ::pipe2(ready, O_CLOEXEC); });
    UniqueFd ready_read(ready[0]), ready_write(ready[1]);
    check_syscall("pipe", [&] { return ::pipe2(done, O_CLOEXEC); });
    UniqueFd done_read(done[0]), done_write(done[1]);
    pid_t child = check_syscall("fork", [] { return ::fork(); });
    if (child == 0) {
        done_write.reset();  // so that our parent closing it is seen here
        ready_read.reset();
        char byte = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        (void)!::write(ready_write.get(), &byte, 1);
        (void)!::read(done_read.get(), &byte, 1);
        ::_exit(0);
    }
    ScopeGuard reap([&] {
        done_write.reset();  // lets the child exit; the namespace lives on through our fd
        ::waitpid(child, nullptr, 0);
    });
    ready_write.reset();
    done_read.reset();
    char byte = 'n';
    if (::read(ready_read.get(), &byte, 1) != 1 || byte != 'y')
        throw Error("cannot create a user namespace for an idmapped mount");
    UniqueFd proc = open_procfs_root();
    const std::string pid = std::to_string(child);
    UniqueFd uid_map = open_in_procfs(proc.get(), pid + "/uid_map", O_WRONLY);
    write_all(uid_map.get(), id_map_text(uid_mappings), "uid_map");
    UniqueFd gid_map = open_in_procfs(proc.get(), pid + "/gid_map", O_WRONLY);
    write_all(gid_map.get(), id_map_text(gid_mappings), "gid_map");
    // ns/user is a magic link, which open_in_procfs refuses; the pid is our own child.
    UniqueFd ns(::open(("/proc/" + pid + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::ioctl(ns.get(), NS_GET_NSTYPE) != CLONE_NEWUSER)
        throw Error("cannot open the user namespace made for an idmapped mount");
    return ns;
}

UniqueFd RealSyscalls::open_own_user_namespace() {
    UniqueFd ns(::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
    if (!ns)
        throw_errno("open /proc/self/ns/user");
    if (::ioctl(ns.get(), NS_GET_NSTYPE) != CLONE_NEWUSER)
        throw Error("/proc/self/ns/user is not a user namespace");
    return ns;
}

void RealSyscalls::pivot_root(const std::string& new_root, const std::string& put_old) {
    check_syscall("pivot_root",
                  [&] { return ::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()); });
}

void RealSyscalls::chdir(const std::string& path) {
    check_syscall("chdir " + path, [&] { return ::chdir(path.c_str()); });
}

void RealSyscalls::fchdir(int fd) {
    check_syscall("fchdir", [&] { return ::fchdir(fd); });
}

void RealSyscalls::chroot(const std::string& path) {
    check_syscall("chroot " + path, [&] { return ::chroot(path.c_str()); });
}

void RealSyscalls::mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) {
    check_syscall("mknod " + name, [&] { return ::mknodat(dirfd, name.c_str(), mode, dev); });
}

void RealSyscalls::mkdirat(int dirfd, const std::string& name, mode_t mode) {
    check_syscall("mkdir " + name, [&] { return ::mkdirat(dirfd, name.c_str(), mode); });
}

void RealSyscalls::symlinkat(const std::string& target, int dirfd, const std::string& name) {
    check_syscall("symlink " + name,
                  [&] { return ::symlinkat(target.c_str(), dirfd, name.c_str()); });
}

void RealSyscalls::unlinkat(int dirfd, const std::string& name, int flags) {
    if (int error = try_unlinkat(dirfd, name, flags))
        throw Error("unlink " + name, error);
}

UniqueFd Syscalls::try_openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                               uint64_t resolve, int& error) {
    try {
        error = 0;
        return openat2(dirfd, path, flags, mode, resolve);
    } catch (const Error& e) {
        error = e.errnum();
        return {};
    }
}

int Syscalls::try_unlinkat(int dirfd, const std::string& name, int flags) {
    try {
        unlinkat(dirfd, name, flags);
        return 0;
    } catch (const Error& e) {
        return e.errnum();
    }
}

int RealSyscalls::try_unlinkat(int dirfd, const std::string& name, int flags) {
    int ret;
    do
        ret = ::unlinkat(dirfd, name.c_str(), flags);
    while (ret != 0 && errno == EINTR);
    return ret == 0 ? 0 : errno;
}

UniqueFd RealSyscalls::try_openat2(int dirfd, const std::string& path, uint64_t flags,
                                   uint64_t mode, uint64_t resolve, int& error) {
    struct open_how how {};
    how.flags = flags | O_CLOEXEC;
    how.mode = mode;
    how.resolve = resolve;
    long fd;
    do
        fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    error = fd < 0 ? errno : 0;
    return UniqueFd(fd < 0 ? -1 : static_cast<int>(fd));
}

UniqueFd RealSyscalls::openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                               uint64_t resolve) {
    int error = 0;
    UniqueFd fd = try_openat2(dirfd, path, flags, mode, resolve, error);
    if (!fd)
        throw Error("open " + path, error);
    return fd;
}

struct stat RealSyscalls::fstat(int fd) {
    struct stat st {};
    check_syscall("fstat", [&] { return ::fstat(fd, &st); });
    return st;
}

bool RealSyscalls::is_mount_root(int fd) {
    struct statx stx {};
    check_syscall("statx", [&] {
        return ::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx);
    });
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

void RealSyscalls::chmod_fd(int fd, mode_t mode) {
    // fchmod refuses O_PATH fds; the magic link reaches exactly the pinned inode.
    check_syscall("chmod", [&] { return ::chmod(fd_path(fd).c_str(), mode); });
}

void RealSyscalls::chown_fd(int fd, uid_t uid, gid_t gid) {
    check_syscall("chown", [&] { return ::fchownat(fd, "", uid, gid, AT_EMPTY_PATH); });
}

void RealSyscalls::sethostname(const std::string& name) {
    check_syscall("sethostname", [&] { return ::sethostname(name.data(), name.size()); });
}

void RealSyscalls::setdomainname(const std::string& name) {
    check_syscall("setdomainname", [&] { return ::setdomainname(name.data(), name.size()); });
}

void RealSyscalls::write_proc_sys(const std::string& relative_path, const std::string& value) {
    if (!procfs_)
        procfs_ = open_procfs_root();
    UniqueFd file = open_in_procfs(procfs_.get(), "sys/" + relative_path, O_WRONLY | O_TRUNC);
    write_all(file.get(), value, "/proc/sys/" + relative_path);
}

void RealSyscalls::write_proc_pid_file(pid_t pid, const std::string& name,
                                       const std::string& content) {
    if (!procfs_)
        procfs_ = open_procfs_root();
    const std::string relative = std::to_string(pid) + "/" + name;
    UniqueFd file = open_in_procfs(procfs_.get(), relative, O_WRONLY);
    write_all(file.get(), content, "/proc/" + relative);
}

long RealSyscalls::statfs_type(const std::string& path) {
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) == 0)
        return static_cast<long>(fs.f_type);
    if (errno == ENOENT)
        return 0;
    throw_errno("statfs " + path);
}

std::string RealSyscalls::read_text_file(const std::string& path) {
    UniqueFd fd(static_cast<int>(
        check_syscall("open " + path, [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); })));
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("read " + path);
        if (n == 0)
            break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (16u << 20))
            throw Error("read " + path + ": too large");
    }
    return text;
}

}  // namespace brig::linux
