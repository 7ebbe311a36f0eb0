// In-kernel deny of file writes on kernels without BPF-LSM: a Landlock domain that allows writes
// everywhere except, beneath each of the policy's denied directories, the rights its rules
// refuse (every write for "write below", removing for unlink, ... see the monitor's
// rules_compiler.cpp).
#include "runtime/security/deny_policy.hpp"

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
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3, newer than this system's headers
#endif

namespace brig::security {

namespace {

constexpr uint64_t kWriteAccess = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                                  LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                  LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                                  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                                  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
// Rights that make sense on a regular file (Landlock refuses directory rights on files).
constexpr uint64_t kFileAccess = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;

// The write rights the domain handles, by what this kernel's Landlock knows: REFER (ABI 2) must
// be handled and allowed, or every rename and link across directories is refused; TRUNCATE
// (ABI 3) closes truncate(2) of a file in a denied directory.
uint64_t handled_rights(long abi) {
    uint64_t rights = kWriteAccess;
    if (abi >= 2)
        rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
    return rights;
}

bool is_under(const std::string& path, const std::string& dir) {
    return path == dir || (path.starts_with(dir) && (dir == "/" || path[dir.size()] == '/'));
}

void allow_beneath(int ruleset, int fd, uint64_t rights) {
    landlock_path_beneath_attr attr{};
    attr.allowed_access = rights;
    attr.parent_fd = fd;
    ::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
}

// Landlock only allows, and what it allows on a directory holds beneath it. So each entry of
// `dir` is allowed what no denied directory at or above it refuses, less what one further down
// refuses; entries that hold a denied directory are walked into for the rest. `granted`: what
// an ancestor already allows.
void allow_entries(int ruleset, uint64_t handled, const std::string& dir, uint64_t granted,
                   const std::map<std::string, uint64_t>& denied) {
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
        uint64_t refused_here = 0, refused_below = 0;
        for (const auto& [denied_dir, rights] : denied) {
            if (is_under(path, denied_dir))
                refused_here |= rights;
            else if (is_under(denied_dir, path))
                refused_below |= rights;
        }
        struct stat st {};
        if (::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        bool is_dir = S_ISDIR(st.st_mode);
        uint64_t allowed =
            handled & ~refused_here & ~refused_below & (is_dir ? ~0ULL : kFileAccess);
        if (allowed & ~granted) {
            UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
            if (fd)
                allow_beneath(ruleset, fd.get(), allowed);
        }
        if (is_dir && refused_below)
            allow_entries(ruleset, handled, path, granted | allowed, denied);
    }
    ::closedir(listing);
}

void apply_landlock(const std::map<std::string, uint64_t>& denied_dirs) {
    long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        return;  // no Landlock: the tracepoint kill still applies
    const uint64_t handled = handled_rights(abi);
    std::map<std::string, uint64_t> denied;
    uint64_t refused_anywhere = 0;
    for (const auto& [dir, rights] : denied_dirs) {
        struct stat st {};
        // Symlinked dirs (/bin -> usr/bin on merged-/usr images) are covered by their target.
        if (::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (rights & handled)) {
            denied[dir] |= rights & handled;
            refused_anywhere |= rights & handled;
        }
    }
    if (denied.empty())
        return;
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = handled;
    UniqueFd ruleset(
        static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)));
    if (!ruleset)
        throw_errno("monitor: landlock_create_ruleset");
    // "/" itself: whatever no rule refuses anywhere (new entries at the top level).
    uint64_t at_root = handled & ~refused_anywhere;
    if (at_root) {
        UniqueFd root(::open("/", O_PATH | O_CLOEXEC | O_DIRECTORY));
        if (root)
            allow_beneath(ruleset.get(), root.get(), at_root);
    }
    allow_entries(ruleset.get(), handled, "/", at_root, denied);
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

std::string DenyPolicy::to_json_text() const {
    return nlohmann::json{{"landlockDeny", landlock_deny}, {"seccompDeny", seccomp_deny}}.dump();
}

DenyPolicy DenyPolicy::from_json_text(const std::string& text, const std::string& source) {
    try {
        auto j = nlohmann::json::parse(text);
        DenyPolicy policy;
        j.at("landlockDeny").get_to(policy.landlock_deny);
        j.at("seccompDeny").get_to(policy.seccomp_deny);
        return policy;
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": " + e.what());
    }
}

void apply_deny_policy(const DenyPolicy& policy) {
    apply_landlock(policy.landlock_deny);
    apply_seccomp(policy.seccomp_deny);
}

}  // namespace brig::security
