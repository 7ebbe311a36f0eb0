// Test doubles for the rootfs code: a temporary directory tree, and a Syscalls that performs
// the harmless file operations for real inside it (openat2, mkdirat, symlinkat, unlinkat) and
// records everything that needs root (mount, mknod, pivot_root, sethostname, sysctl writes).
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/common/error.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "runtime/linux/syscalls.hpp"

namespace brig::linux::testing {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "brig-rootfs-XXXXXX");
        if (!::mkdtemp(pattern.data()))
            throw_errno("mkdtemp");
        path_ = std::filesystem::canonical(pattern).string();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

    void mkdirs(const std::string& relative) const {
        std::filesystem::create_directories(path_ + "/" + relative);
    }
    void symlink(const std::string& target, const std::string& relative) const {
        std::filesystem::create_directories(
            std::filesystem::path(path_ + "/" + relative).parent_path());
        std::filesystem::create_symlink(target, path_ + "/" + relative);
    }
    void write(const std::string& relative, const std::string& content) const {
        std::filesystem::create_directories(
            std::filesystem::path(path_ + "/" + relative).parent_path());
        std::ofstream(path_ + "/" + relative) << content;
    }
    bool exists(const std::string& relative) const {
        std::error_code ec;
        return std::filesystem::exists(std::filesystem::symlink_status(path_ + "/" + relative, ec));
    }

private:
    std::string path_;
};

struct Call {
    std::string op;      // "mount", "setattr", "mknod", "pivot_root", ...
    std::string source;  // paths inside the rootfs as "/x", others as "host:/x"
    std::string target;
    std::string fstype;
    unsigned long flags = 0;
    std::string data;
    MountAttrChange attr;
};

class RecordingSyscalls final : public Syscalls {
public:
    explicit RecordingSyscalls(std::string rootfs) : rootfs_(std::move(rootfs)) {}

    std::vector<Call> calls;
    static constexpr long kSomeFilesystem = 0xEF53;  // ext4: what other paths are on
    std::map<std::string, long> fs_types;            // statfs_type answers by path
    std::map<std::string, std::string> files;        // read_text_file answers by path
    std::set<std::string> missing_host_paths;        // statfs_type says 0 for these
    std::map<std::string, int> mount_errno;          // make mount(2) of a file system type fail
    int mknod_errno = 0;                             // make mknodat fail (EPERM: user namespace)
    int pivot_errno = 0;                             // make pivot_root fail

    std::vector<Call> of(const std::string& op) const {
        std::vector<Call> out;
        for (const Call& c : calls)
            if (c.op == op)
                out.push_back(c);
        return out;
    }

    // A device node the test puts in the tree, as mknod would.
    void fake_node(const std::string& inside, mode_t type, dev_t dev) {
        std::ofstream(rootfs_ + inside).put('\0');
        nodes_[rootfs_ + inside] = {type, dev};
    }

    void mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override {
        Call c{"mount", name(source), name(target), fstype, flags, data, {}};
        calls.push_back(c);
        if (mount_errno.count(fstype))
            throw Error("mount " + target, mount_errno[fstype]);
        if (!(flags & (MS_REMOUNT | MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)))
            mounted_.insert(resolved(target));
    }
    void umount2(const std::string& target, int flags) override {
        calls.push_back(
            {"umount2", "", name(target), "", static_cast<unsigned long>(flags), "", {}});
    }
    void mount_setattr(int dirfd, const std::string& path, unsigned at_flags,
                       const MountAttrChange& change) override {
        std::string target = path.empty() ? name(fd_path(dirfd)) : name(path);
        calls.push_back({"setattr", "", target, "", at_flags, "", change});
    }
    UniqueFd open_tree(int dirfd, const std::string& path, unsigned flags) override {
        std::string what = path.empty() ? name(fd_path(dirfd)) : name(path);
        calls.push_back({"open_tree", what, "", "", flags, "", {}});
        // The detached tree stands in as an fd on its source.
        if (path.empty())
            return openat2(AT_FDCWD, fd_target(dirfd), O_PATH, 0, 0);
        return openat2(dirfd, path, O_PATH, 0, 0);
    }
    void move_mount(int tree_fd, int target_fd) override {
        calls.push_back(
            {"move_mount", name(fd_path(tree_fd)), name(fd_path(target_fd)), "", 0, "", {}});
        mounted_.insert(fd_target(target_fd));
    }
    UniqueFd create_user_namespace(const std::vector<config::IdMapping>& uid_mappings,
                                   const std::vector<config::IdMapping>& gid_mappings) override {
        auto text = [](const std::vector<config::IdMapping>& maps) {
            std::string t;
            for (const auto& m : maps)
                t += std::to_string(m.container_id) + ":" + std::to_string(m.host_id) + ":" +
                     std::to_string(m.size) + " ";
            return t;
        };
        calls.push_back(
            {"userns", "", "", "", 0, text(uid_mappings) + "/ " + text(gid_mappings), {}});
        return openat2(AT_FDCWD, "/", O_PATH, 0, 0);
    }
    UniqueFd open_own_user_namespace() override {
        calls.push_back({"own_userns", "", "", "", 0, "", {}});
        return openat2(AT_FDCWD, "/", O_PATH, 0, 0);
    }
    void pivot_root(const std::string& new_root, const std::string& put_old) override {
        calls.push_back({"pivot_root", new_root, put_old, "", 0, "", {}});
        if (pivot_errno)
            throw Error("pivot_root", pivot_errno);
        pivoted_ = true;
    }
    void chdir(const std::string& path) override {
        calls.push_back({"chdir", "", name(path), "", 0, "", {}});
    }
    void fchdir(int fd) override {
        calls.push_back({"fchdir", "", name(fd_path(fd)), "", 0, "", {}});
    }
    void chroot(const std::string& path) override {
        calls.push_back({"chroot", "", path, "", 0, "", {}});
        pivoted_ = true;
    }
    void mknodat(int dirfd, const std::string& node, mode_t mode, dev_t dev) override {
        std::string where = fd_target(dirfd) + "/" + node;
        calls.push_back({"mknod",
                         "",
                         name(where),
                         "",
                         mode,
                         std::to_string(major(dev)) + ":" + std::to_string(minor(dev)),
                         {}});
        if (mknod_errno)
            throw Error("mknod " + node, mknod_errno);
        int fd = ::openat(dirfd, node.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
            throw_errno("mknod " + node);
        ::close(fd);
        nodes_[where] = {mode & S_IFMT, dev};
    }
    void mkdirat(int dirfd, const std::string& dir, mode_t mode) override {
        check_syscall("mkdir " + dir, [&] { return ::mkdirat(dirfd, dir.c_str(), mode); });
    }
    void symlinkat(const std::string& target, int dirfd, const std::string& link) override {
        calls.push_back({"symlink", target, name(fd_target(dirfd) + "/" + link), "", 0, "", {}});
        check_syscall("symlink " + link,
                      [&] { return ::symlinkat(target.c_str(), dirfd, link.c_str()); });
    }
    void unlinkat(int dirfd, const std::string& entry, int flags) override {
        check_syscall("unlink " + entry, [&] { return ::unlinkat(dirfd, entry.c_str(), flags); });
    }
    UniqueFd openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t mode,
                     uint64_t resolve) override {
        // After pivot_root the container's "/" is the rootfs directory.
        std::string real = path;
        if (pivoted_ && dirfd == AT_FDCWD && !path.empty() && path[0] == '/')
            real = rootfs_ + (path == "/" ? "" : path);
        struct open_how how {};
        how.flags = flags | O_CLOEXEC;
        how.mode = mode;
        how.resolve = resolve;
        long fd = check_syscall("open " + path, [&] {
            return ::syscall(SYS_openat2, dirfd, real.c_str(), &how, sizeof how);
        });
        return UniqueFd(static_cast<int>(fd));
    }
    struct stat fstat(int fd) override {
        struct stat st {};
        check_syscall("fstat", [&] { return ::fstat(fd, &st); });
        auto node = nodes_.find(fd_target(fd));
        if (node != nodes_.end()) {
            st.st_mode = (st.st_mode & ~S_IFMT) | node->second.first;
            st.st_rdev = node->second.second;
        }
        return st;
    }
    bool is_mount_root(int fd) override { return mounted_.count(fd_target(fd)) != 0; }
    void chmod_fd(int fd, mode_t mode) override {
        calls.push_back({"chmod", "", name(fd_path(fd)), "", mode, "", {}});
    }
    void chown_fd(int fd, uid_t uid, gid_t gid) override {
        calls.push_back({"chown",
                         "",
                         name(fd_path(fd)),
                         "",
                         0,
                         std::to_string(uid) + ":" + std::to_string(gid),
                         {}});
    }
    void sethostname(const std::string& host) override {
        calls.push_back({"sethostname", "", "", "", 0, host, {}});
    }
    void setdomainname(const std::string& domain) override {
        calls.push_back({"setdomainname", "", "", "", 0, domain, {}});
    }
    void write_proc_sys(const std::string& relative_path, const std::string& value) override {
        calls.push_back({"sysctl", "", relative_path, "", 0, value, {}});
    }
    void write_proc_pid_file(pid_t pid, const std::string& file,
                             const std::string& content) override {
        calls.push_back({"proc_pid", "", std::to_string(pid) + "/" + file, "", 0, content, {}});
    }
    long statfs_type(const std::string& path) override {
        if (missing_host_paths.count(path))
            return 0;
        auto it = fs_types.find(path);
        return it == fs_types.end() ? kSomeFilesystem : it->second;
    }
    std::string read_text_file(const std::string& path) override {
        auto it = files.find(path);
        if (it == files.end())
            throw Error("read " + path, ENOENT);
        return it->second;
    }

private:
    // What a path names: /proc/self/fd/N is followed, the rootfs shown as the container sees it.
    std::string resolved(const std::string& path) const {
        if (path.rfind("/proc/self/fd/", 0) == 0)
            return fd_target(std::stoi(path.substr(14)));
        return path;
    }
    std::string name(const std::string& path) const {
        std::string real = resolved(path);
        if (real == rootfs_)
            return "/";
        if (real.rfind(rootfs_ + "/", 0) == 0)
            return real.substr(rootfs_.size());
        return "host:" + real;
    }

    std::string rootfs_;
    bool pivoted_ = false;
    std::set<std::string> mounted_;
    std::map<std::string, std::pair<mode_t, dev_t>> nodes_;
};

}  // namespace brig::linux::testing
