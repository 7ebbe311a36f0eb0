// user.name as Falco gives it: from the container's own /etc/passwd.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <sstream>

#include "monitor/container_users.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/config/json_reader.hpp"

namespace brig::monitor {

namespace {

constexpr size_t kPasswdMax = 1 << 20;

// The regular file's text, found beneath root as if root were "/" (symlinks cannot lead out)
// and opened only once it is known to be a regular file: a FIFO would block, and a device's
// open alone can act (a watchdog starts). "" for anything else or anything over kPasswdMax.
std::string read_in_root(const std::string& root, const char* path) {
    UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        return {};
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd handle(static_cast<int>(::syscall(SYS_openat2, dir.get(), path, &how, sizeof(how))));
    struct stat st {};
    if (!handle || ::fstat(handle.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return {};
    try {  // the inode the handle names, reopened: never the path again
        return config::read_capped_file("/proc/self/fd/" + std::to_string(handle.get()), kPasswdMax,
                                        "the image's /etc/passwd");
    } catch (const Error&) {
        return {};
    }
}

std::optional<uint32_t> number(std::string_view text) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return n;
}

// Container uid -> host uid through linux.uidMappings (none: the same).
std::optional<uint32_t> host_uid(const std::vector<config::IdMapping>& mappings, uint32_t uid) {
    if (mappings.empty())
        return uid;
    for (const auto& m : mappings)
        if (uid >= m.container_id && uid - m.container_id < m.size)
            return m.host_id + (uid - m.container_id);
    return std::nullopt;
}

}  // namespace

std::map<uint32_t, std::string> container_user_names(
    const std::string& rootfs, const std::vector<config::IdMapping>& uid_mappings) {
    std::map<uint32_t, std::string> names;
    if (rootfs.empty())
        return names;
    std::istringstream passwd(read_in_root(rootfs, "etc/passwd"));
    for (std::string line; std::getline(passwd, line);) {
        auto first = line.find(':'), second = line.find(':', first + 1),
             third = line.find(':', second + 1);
        if (first == 0 || third == std::string::npos)
            continue;
        auto uid = number(std::string_view(line).substr(second + 1, third - second - 1));
        if (!uid)
            continue;
        if (auto host = host_uid(uid_mappings, *uid))
            names.emplace(*host, line.substr(0, first));
    }
    return names;
}

}  // namespace brig::monitor
