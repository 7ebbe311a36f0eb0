// The seam between the container's setup and the kernel: every call that changes mounts,
// nodes, names, sysctls or id maps goes through Syscalls, so the mount plan, /dev, the console
// bind and the id maps are unit tested with a recording double and no root. RealSyscalls is
// the one used for real.
// Every method throws brig::Error (with errnum()) on failure.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"

namespace brig::linux {

// A mount_setattr(2) change: MOUNT_ATTR_* bits to set and clear, and an optional propagation
// (MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE; 0 leaves it).
struct MountAttrChange {
    uint64_t set = 0;
    uint64_t clear = 0;
    uint64_t propagation = 0;
    int userns_fd = -1;  // with MOUNT_ATTR_IDMAP in set
    bool empty() const { return set == 0 && clear == 0 && propagation == 0; }
};

class Syscalls {
public:
    virtual ~Syscalls() = default;

    // mount(2); empty strings are passed as NULL (but for target).
    virtual void mount(const std::string& source, const std::string& target,
                       const std::string& fstype, unsigned long flags, const std::string& data) = 0;
    virtual void umount2(const std::string& target, int flags) = 0;
    virtual void mount_setattr(int dirfd, const std::string& path, unsigned at_flags,
                               const MountAttrChange& change) = 0;
    // open_tree(2) (OPEN_TREE_CLOEXEC added) and move_mount(2) of that detached tree onto
    // exactly what target_fd pins (both with empty paths): idmapped bind mounts.
    virtual UniqueFd open_tree(int dirfd, const std::string& path, unsigned flags) = 0;
    virtual void move_mount(int tree_fd, int target_fd) = 0;
    // A user namespace with these mappings (relative to the caller's), held by an fd.
    virtual UniqueFd create_user_namespace(const std::vector<config::IdMapping>& uid_mappings,
                                           const std::vector<config::IdMapping>& gid_mappings) = 0;
    // The caller's own user namespace.
    virtual UniqueFd open_own_user_namespace() = 0;
    virtual void pivot_root(const std::string& new_root, const std::string& put_old) = 0;
    virtual void chdir(const std::string& path) = 0;
    virtual void fchdir(int fd) = 0;
    virtual void chroot(const std::string& path) = 0;

    virtual void mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) = 0;
    virtual void mkdirat(int dirfd, const std::string& name, mode_t mode) = 0;
    virtual void symlinkat(const std::string& target, int dirfd, const std::string& name) = 0;
    virtual void unlinkat(int dirfd, const std::string& name, int flags) = 0;
    // openat2(2) with O_CLOEXEC always added.
    virtual UniqueFd openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                             uint64_t resolve) = 0;
    // The probes whose failure is expected (a mount point or device node not there yet) return
    // the errno instead of throwing: in the static binary a throw costs tens of microseconds,
    // the first one milliseconds (the unwinder sorts the whole frame table). The defaults wrap
    // the throwing calls, for the fakes.
    virtual UniqueFd try_openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                                 uint64_t resolve, int& error);
    virtual int try_unlinkat(int dirfd, const std::string& name, int flags);
    virtual struct stat fstat(int fd) = 0;
    // Whether fd (O_PATH is fine) is the root of a mount (statx STATX_ATTR_MOUNT_ROOT).
    virtual bool is_mount_root(int fd) = 0;
    virtual void chmod_fd(int fd, mode_t mode) = 0;
    virtual void chown_fd(int fd, uid_t uid, gid_t gid) = 0;

    virtual void sethostname(const std::string& name) = 0;
    virtual void setdomainname(const std::string& name) = 0;
    // Writes value to /proc/sys/<relative_path> through a verified procfs handle (escape class 7).
    virtual void write_proc_sys(const std::string& relative_path, const std::string& value) = 0;
    // Writes content to /proc/<pid>/<name> (uid_map, gid_map, setgroups) the same way.
    virtual void write_proc_pid_file(pid_t pid, const std::string& name,
                                     const std::string& content) = 0;

    // Facts about the host, read before pivot_root: statfs(2) f_type, and small text files
    // such as /proc/self/mountinfo and /proc/self/cgroup. statfs_type is 0 for a missing path.
    virtual long statfs_type(const std::string& path) = 0;
    virtual std::string read_text_file(const std::string& path) = 0;
};

class RealSyscalls final : public Syscalls {
public:
    RealSyscalls();
    ~RealSyscalls() override;

    void mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override;
    void umount2(const std::string& target, int flags) override;
    void mount_setattr(int dirfd, const std::string& path, unsigned at_flags,
                       const MountAttrChange& change) override;
    UniqueFd open_tree(int dirfd, const std::string& path, unsigned flags) override;
    void move_mount(int tree_fd, int target_fd) override;
    UniqueFd create_user_namespace(const std::vector<config::IdMapping>& uid_mappings,
                                   const std::vector<config::IdMapping>& gid_mappings) override;
    UniqueFd open_own_user_namespace() override;
    void pivot_root(const std::string& new_root, const std::string& put_old) override;
    void chdir(const std::string& path) override;
    void fchdir(int fd) override;
    void chroot(const std::string& path) override;
    void mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev) override;
    void mkdirat(int dirfd, const std::string& name, mode_t mode) override;
    void symlinkat(const std::string& target, int dirfd, const std::string& name) override;
    void unlinkat(int dirfd, const std::string& name, int flags) override;
    UniqueFd openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                     uint64_t resolve) override;
    UniqueFd try_openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                         uint64_t resolve, int& error) override;
    int try_unlinkat(int dirfd, const std::string& name, int flags) override;
    struct stat fstat(int fd) override;
    bool is_mount_root(int fd) override;
    void chmod_fd(int fd, mode_t mode) override;
    void chown_fd(int fd, uid_t uid, gid_t gid) override;
    void sethostname(const std::string& name) override;
    void setdomainname(const std::string& name) override;
    void write_proc_sys(const std::string& relative_path, const std::string& value) override;
    void write_proc_pid_file(pid_t pid, const std::string& name,
                             const std::string& content) override;
    long statfs_type(const std::string& path) override;
    std::string read_text_file(const std::string& path) override;

private:
    UniqueFd procfs_;  // opened and verified on first use, after pivot_root
};

// "/proc/self/fd/N": the path through which mount(2) acts on exactly the object fd pins.
std::string fd_path(int fd);

}  // namespace brig::linux
