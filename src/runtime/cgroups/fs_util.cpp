#include "runtime/cgroups/fs_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <sstream>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cgroups::detail {

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> read_optional(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return std::nullopt;
        throw_errno("reading " + path);
    }
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("reading " + path);
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const std::string& path) {
    auto text = read_optional(path);
    if (!text)
        throw Error("reading " + path, ENOENT);
    return *text;
}

std::optional<std::string> read_line(const std::string& path) {
    auto text = read_optional(path);
    if (!text)
        return std::nullopt;
    std::string line = text->substr(0, text->find('\n'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r'))
        line.pop_back();
    return line;
}

int try_write_file(const std::string& path, const std::string& value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
    if (!fd)
        return errno;
    for (;;) {
        ssize_t n = ::write(fd.get(), value.data(), value.size());
        if (n >= 0)
            return 0;
        if (errno != EINTR)
            return errno;
    }
}

void write_file(const std::string& path, const std::string& value, const std::string& field) {
    if (int err = try_write_file(path, value))
        throw Error(field + ": writing '" + value + "' to " + path, err);
}

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
    std::map<std::string, uint64_t> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto space = line.find(' ');
        if (space == std::string::npos)
            continue;
        std::string value = line.substr(space + 1);
        uint64_t number = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec == std::errc())
            out[line.substr(0, space)] = number;
    }
    return out;
}

std::optional<uint64_t> read_u64(const std::string& path) {
    auto line = read_line(path);
    if (!line)
        return std::nullopt;
    if (*line == "max")
        return UINT64_MAX;
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(line->data(), line->data() + line->size(), number);
    if (ec != std::errc()) {
        // v1 reports "-1" for unlimited in some files.
        if (*line == "-1")
            return UINT64_MAX;
        return std::nullopt;
    }
    return number;
}

std::optional<uint64_t> flat_keyed_value(const std::string& path, const std::string& key) {
    auto text = read_optional(path);
    if (!text)
        return std::nullopt;
    auto values = parse_flat_keyed(*text);
    auto it = values.find(key);
    if (it == values.end())
        return std::nullopt;
    return it->second;
}

namespace {

std::vector<std::string> child_dirs(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* entry = ::readdir(d)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        if (entry->d_type == DT_DIR)
            out.push_back(dir + "/" + name);
    }
    ::closedir(d);
    return out;
}

void collect_procs(const std::string& dir, std::vector<pid_t>& out) {
    if (auto text = read_optional(dir + "/cgroup.procs")) {
        std::istringstream in(*text);
        pid_t pid = 0;
        while (in >> pid)
            out.push_back(pid);
    }
    for (const auto& child : child_dirs(dir))
        collect_procs(child, out);
}

}  // namespace

std::vector<pid_t> read_procs_recursive(const std::string& dir) {
    std::vector<pid_t> out;
    collect_procs(dir, out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void make_cgroup_dirs(const std::string& root, const std::string& rel,
                      std::vector<std::string>& created) {
    std::string current = root;
    std::istringstream in(rel);
    std::string segment;
    while (std::getline(in, segment, '/')) {
        if (segment.empty())
            continue;
        current += "/" + segment;
        if (::mkdir(current.c_str(), 0755) == 0)
            created.push_back(current);
        else if (errno != EEXIST)
            throw_errno("creating cgroup " + current);
    }
}

int remove_cgroup_tree(const std::string& dir) {
    int first_error = 0;
    for (const auto& child : child_dirs(dir)) {
        int err = remove_cgroup_tree(child);
        if (err && !first_error)
            first_error = err;
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && !first_error)
        first_error = errno;
    return first_error;
}

void sleep_ms(unsigned ms) {
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void warn(const WarningSink& sink, const std::string& message) {
    if (sink)
        sink(message);
}

std::string device_key(int64_t major, int64_t minor) {
    return std::to_string(major) + ":" + std::to_string(minor);
}

void check_limit(int64_t value, const std::string& field) {
    if (value < -1)
        throw Error(field + ": " + std::to_string(value) + " is invalid (use -1 for no limit)");
}

}  // namespace brig::cgroups::detail
