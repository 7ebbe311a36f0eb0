#include "monitor/annotation_rules.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {
namespace {

std::string allowed_list(const std::vector<std::string>& dirs) {
    std::string list;
    for (const auto& d : dirs)
        list += (list.empty() ? "" : ", ") + d;
    return list.empty() ? "none configured" : list;
}

// The file name when `path` is "<dir>/<name>" for an allowed dir, "" otherwise.
std::string name_in(const std::string& path, const std::string& dir) {
    std::string prefix = dir.ends_with('/') ? dir : dir + "/";
    if (!path.starts_with(prefix))
        return {};
    std::string name = path.substr(prefix.size());
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
        return {};
    return name;
}

UniqueFd open_in(const std::string& dir, const std::string& name) {
    UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd)
        return {};
    open_how how{};
    how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    return UniqueFd(
        static_cast<int>(syscall(SYS_openat2, dir_fd.get(), name.c_str(), &how, sizeof how)));
}

}  // namespace

std::string read_annotation_rules(const std::string& path,
                                  const std::vector<std::string>& allowed_dirs) {
    const std::string field = std::string("annotation ") + kRulesAnnotation;
    std::string dir, name;
    for (const auto& d : allowed_dirs)
        if (name = name_in(path, d); !name.empty()) {
            dir = d;
            break;
        }
    if (name.empty())
        throw Error(field + ": must name a file directly in an allowed rules directory (" +
                    allowed_list(allowed_dirs) + ")");
    // One message for every way the open or the checks fail: what is in the directory is the
    // administrator's, and nothing else is reached.
    const Error unusable(field + ": no regular rules file " + name + " in " + dir);
    UniqueFd fd = open_in(dir, name);
    struct stat st {};
    if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw unusable;
    const Error too_large(field + ": " + path + " is larger than " +
                          std::to_string(kAnnotationRulesLimit) + " bytes");
    if (static_cast<std::size_t>(st.st_size) > kAnnotationRulesLimit)
        throw too_large;
    // To the limit whatever fstat said (the file may grow), in a buffer sized from it.
    std::string text(static_cast<std::size_t>(st.st_size) + 1, '\0');
    std::size_t used = 0;
    while (used <= kAnnotationRulesLimit) {
        if (used == text.size())
            text.resize(std::min(text.size() * 2, kAnnotationRulesLimit + 1));
        ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw unusable;
        if (n == 0)
            break;
        used += static_cast<std::size_t>(n);
    }
    if (used > kAnnotationRulesLimit)
        throw too_large;
    text.resize(used);
    return text;
}

}  // namespace brig::monitor
