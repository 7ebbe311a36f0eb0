// In-kernel deny of file writes on kernels without BPF-LSM: a Landlock domain that allows writes
// everywhere except beneath the policy's denied directories. Landlock only allows, so the domain
// allows write access beneath every sibling of each denied path, walking down from "/".
#include <dirent.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3, newer than this system's headers
#endif

namespace brig::monitor {

namespace {

constexpr uint64_t kWriteAccess = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                                  LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                  LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                                  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                                  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
// Rights that make sense on a regular file (Landlock refuses directory rights on files).
constexpr uint64_t kFileWriteAccess = LANDLOCK_ACCESS_FS_WRITE_FILE;

// The write rights the domain handles, by what this kernel's Landlock knows: REFER (ABI 2) must
// be handled and allowed, or every rename and link across directories is refused; TRUNCATE
// (ABI 3) closes truncate(2) of a file in a denied directory.
struct WriteRights {
    uint64_t dir = kWriteAccess;
    uint64_t file = kFileWriteAccess;
};

WriteRights write_rights(long abi) {
    WriteRights rights;
    if (abi >= 2)
        rights.dir |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) {
        rights.dir |= LANDLOCK_ACCESS_FS_TRUNCATE;
        rights.file |= LANDLOCK_ACCESS_FS_TRUNCATE;
    }
    return rights;
}

bool is_under(const std::string& path, const std::string& dir) {
    return path == dir || (path.starts_with(dir) && (dir == "/" || path[dir.size()] == '/'));
}

void allow_beneath(int ruleset, const WriteRights& rights, int parent_fd, const char* name,
                   bool is_dir) {
    UniqueFd fd(::openat(parent_fd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW));
    if (!fd)
        return;
    landlock_path_beneath_attr attr{};
    attr.allowed_access = is_dir ? rights.dir : rights.file;
    attr.parent_fd = fd.get();
    ::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
}

// Allows writes beneath every entry of `dir` except the denied ones; recurses into entries that
// hold a denied path further down.
void allow_siblings(int ruleset, const WriteRights& rights, const std::string& dir,
                    const std::vector<std::string>& denied) {
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!dir_fd)
        return;
    DIR* listing = ::fdopendir(::dup(dir_fd.get()));
    if (!listing)
        return;
    while (dirent* entry = ::readdir(listing)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        std::string path = dir == "/" ? "/" + name : dir + "/" + name;
        bool is_denied = std::any_of(denied.begin(), denied.end(),
                                     [&](const std::string& d) { return is_under(path, d); });
        if (is_denied)
            continue;
        bool holds_denied = std::any_of(denied.begin(), denied.end(),
                                        [&](const std::string& d) { return is_under(d, path); });
        struct stat st {};
        bool is_dir = ::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                      S_ISDIR(st.st_mode);
        if (holds_denied && is_dir)
            allow_siblings(ruleset, rights, path, denied);
        else
            allow_beneath(ruleset, rights, dir_fd.get(), name.c_str(), is_dir);
    }
    ::closedir(listing);
}

void apply_landlock(const std::vector<std::string>& denied_dirs) {
    std::vector<std::string> denied;
    for (const auto& dir : denied_dirs) {
        struct stat st {};
        // Symlinked dirs (/bin -> usr/bin on merged-/usr images) are covered by their target.
        if (::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            denied.push_back(dir);
    }
    if (denied.empty())
        return;
    long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        return;  // no Landlock: the tracepoint kill still applies
    const WriteRights rights = write_rights(abi);
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = rights.dir;
    UniqueFd ruleset(
        static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)));
    if (!ruleset)
        throw_errno("monitor: landlock_create_ruleset");
    allow_siblings(ruleset.get(), rights, "/", denied);
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0)
        throw_errno("monitor: landlock_restrict_self (needs CAP_SYS_ADMIN or no_new_privs)");
}

void apply_seccomp(const std::vector<std::string>& syscalls) {
    if (syscalls.empty())
        return;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        throw Error("monitor: seccomp_init failed");
    for (const auto& name : syscalls) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr != __NR_SCMP_ERROR)
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0)
        throw Error("monitor: seccomp_load of the monitor's denies", -rc);
}

}  // namespace

void apply_in_container(const ContainerPolicy& policy) {
    apply_landlock(policy.landlock_deny_write);
    apply_seccomp(policy.seccomp_deny);
}

}  // namespace brig::monitor
