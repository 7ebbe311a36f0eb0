#include "runtime/cgroups/manager.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/cgroups/fs_util.hpp"
#include "runtime/cgroups/hybrid.hpp"
#include "runtime/cgroups/systemd/systemd_manager.hpp"
#include "runtime/cgroups/v1.hpp"
#include "runtime/cgroups/v2.hpp"
#include "runtime/common/error.hpp"

namespace brig::cgroups {

SubCgroups parse_sub_cgroups(const std::vector<std::string>& flags) {
    SubCgroups subs;
    for (const auto& flag : flags) {
        const std::string shown = flag.substr(0, 256);
        const size_t colon = flag.find(':');
        if (colon == std::string::npos) {
            if (flags.size() != 1)
                throw Error("exec --cgroup: invalid argument " + shown +
                            " (missing CONTROLLER: prefix)");
            subs[""] = flag;
            continue;
        }
        const std::string names = flag.substr(0, colon);
        if (flag.find(':', colon + 1) != std::string::npos || names.empty() ||
            names.front() == ',' || names.back() == ',' || names.find(",,") != std::string::npos)
            throw Error("exec --cgroup: invalid argument " + shown);
        std::istringstream controllers(names);
        for (std::string controller; std::getline(controllers, controller, ',');)
            subs[controller] = flag.substr(colon + 1);
    }
    return subs;
}

UniqueFd open_sub_cgroup(const std::string& dir, const std::string& sub) {
    // Lexically below the container's cgroup: no component may climb out of it.
    std::vector<std::string> parts;
    std::istringstream in(sub);
    for (std::string part; std::getline(in, part, '/');) {
        if (part.empty() || part == ".")
            continue;
        if (part == "..") {
            if (parts.empty())
                throw Error("exec --cgroup: " + sub.substr(0, 256) + " is not a sub cgroup path");
            parts.pop_back();
        } else {
            parts.push_back(part);
        }
    }
    std::string path = dir;
    for (const auto& part : parts)
        path += "/" + part;
    path += "/cgroup.procs";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
        // Go's wording, which runc's callers match ("no such file or directory").
        std::string reason = std::strerror(errno);
        reason[0] = static_cast<char>(std::tolower(reason[0]));
        throw Error("exec --cgroup: adding pid to " + path + ": " + reason, errno);
    }
    return fd;
}

using namespace detail;

namespace {

constexpr const char* kDefaultParent = "/brig";

// systemd's "name-part.slice" lives at "/name.slice/name-part.slice".
std::string expand_slice(const std::string& slice, const std::string& field) {
    if (slice == "-.slice")
        return "";
    if (!slice.ends_with(".slice") || slice.find('/') != std::string::npos)
        throw Error(field + ": '" + slice + "' is not a systemd slice name");
    std::string name = slice.substr(0, slice.size() - 6);
    if (name.empty() || name.front() == '-' || name.back() == '-' ||
        name.find("--") != std::string::npos)
        throw Error(field + ": '" + slice + "' is not a systemd slice name");
    std::string out, prefix;
    std::istringstream in(name);
    std::string part;
    while (std::getline(in, part, '-')) {
        prefix += (prefix.empty() ? "" : "-") + part;
        out += "/" + prefix + ".slice";
    }
    return out;
}

}  // namespace

void OomWatch::drain() {
    // eventfd reads 8 bytes, inotify whole events: a large buffer serves both.
    alignas(inotify_event) char buffer[4096];
    while (::read(fd_.get(), buffer, kind_ == Kind::eventfd ? 8 : sizeof buffer) > 0) {
    }
}

nlohmann::json cgroup_features() {
    return {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}, {"rdma", true}};
}

const char* hierarchy_name(HierarchyKind kind) {
    switch (kind) {
        case HierarchyKind::unified:
            return "unified";
        case HierarchyKind::legacy:
            return "legacy";
        case HierarchyKind::hybrid:
            return "hybrid";
    }
    return "unknown";
}

HierarchyKind detect_hierarchy_at(const std::string& root) {
    if (path_exists(root + "/cgroup.controllers"))
        return HierarchyKind::unified;
    if (path_exists(root + "/unified/cgroup.controllers"))
        return HierarchyKind::hybrid;
    return HierarchyKind::legacy;
}

HierarchyKind detect_hierarchy() {
    return detect_hierarchy_at("/sys/fs/cgroup");
}

std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& container_id) {
    const std::string field = "linux.cgroupsPath";
    if (cgroups_path.empty()) {
        if (container_id.empty() || container_id.find('/') != std::string::npos ||
            container_id == "." || container_id == "..")
            throw Error("container id '" + container_id + "' cannot name a cgroup");
        return std::string(kDefaultParent) + "/" + container_id;
    }
    if (cgroups_path.find('\0') != std::string::npos ||
        cgroups_path.find('\n') != std::string::npos)
        throw Error(field + ": contains a NUL or newline");
    // systemd driver syntax "slice:prefix:name"; brig drives cgroupfs, so map it to the path
    // systemd would have used.
    if (cgroups_path.front() != '/' &&
        std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2) {
        auto first = cgroups_path.find(':');
        auto second = cgroups_path.find(':', first + 1);
        std::string slice = cgroups_path.substr(0, first);
        std::string prefix = cgroups_path.substr(first + 1, second - first - 1);
        std::string name = cgroups_path.substr(second + 1);
        if (name.empty())
            name = container_id;
        for (const auto& part : {prefix, name})
            if (part.find('/') != std::string::npos || part == "." || part == "..")
                throw Error(field + ": '" + cgroups_path + "' has a bad systemd unit name");
        if (name.ends_with(".slice"))
            throw Error(field + ": '" + cgroups_path + "': a container cannot be a slice");
        std::string unit = name.ends_with(".scope") ? name
                           : prefix.empty()         ? name + ".scope"
                                                    : prefix + "-" + name + ".scope";
        return expand_slice(slice.empty() ? "system.slice" : slice, field) + "/" + unit;
    }
    std::string out;
    std::string body = cgroups_path.front() == '/' ? cgroups_path.substr(1) : cgroups_path;
    if (body.empty())
        throw Error(field + ": '/' is the host's root cgroup");
    std::istringstream in(body);
    std::string segment;
    while (std::getline(in, segment, '/')) {
        if (segment.empty())
            throw Error(field + ": '" + cgroups_path + "' has an empty path segment");
        if (segment == "." || segment == "..")
            throw Error(field + ": '" + cgroups_path + "' may not contain '" + segment + "'");
        out += "/" + segment;
    }
    if (body.back() == '/')
        throw Error(field + ": '" + cgroups_path + "' has an empty path segment");
    return cgroups_path.front() == '/' ? out : kDefaultParent + out;
}

std::vector<config::DeviceRule> default_device_rules() {
    auto rule = [](char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
        return config::DeviceRule{true, type, major, minor, access};
    };
    return {
        rule('c', std::nullopt, std::nullopt, "m"),  // mknod of any char device
        rule('b', std::nullopt, std::nullopt, "m"),  // mknod of any block device
        rule('c', 1, 3, "rwm"),                      // /dev/null
        rule('c', 1, 5, "rwm"),                      // /dev/zero
        rule('c', 1, 7, "rwm"),                      // /dev/full
        rule('c', 1, 8, "rwm"),                      // /dev/random
        rule('c', 1, 9, "rwm"),                      // /dev/urandom
        rule('c', 5, 0, "rwm"),                      // /dev/tty
        rule('c', 5, 1, "rwm"),                      // /dev/console
        rule('c', 5, 2, "rwm"),                      // /dev/ptmx
        rule('c', 136, std::nullopt, "rwm"),         // /dev/pts/*
    };
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + ((weight - 10) * 9999) / 990;
}

int64_t memory_swap_to_v2(int64_t swap, std::optional<int64_t> limit) {
    const std::string field = "linux.resources.memory.swap";
    int64_t memory = limit.value_or(0);
    // An unlimited memory with no swap given means both unlimited, as on v1.
    if (memory == -1 && swap == 0)
        return -1;
    if (swap == -1 || swap == 0)
        return swap;
    if (swap < -1)
        throw Error(field + ": " + std::to_string(swap) + " is invalid (use -1 for no limit)");
    if (memory == 0 || memory == -1)
        throw Error(field + ": a swap limit needs a memory limit (linux.resources.memory.limit)");
    if (memory < 0)
        throw Error("linux.resources.memory.limit: " + std::to_string(memory) + " is invalid");
    if (swap < memory)
        throw Error(field + ": memory+swap " + std::to_string(swap) +
                    " is below the memory limit " + std::to_string(memory));
    return swap - memory;
}

namespace {

std::unique_ptr<CgroupManager> open_files_manager(const std::string& path,
                                                  const ManagerOptions& options) {
    switch (detect_hierarchy_at(options.root)) {
        case HierarchyKind::unified:
            return std::make_unique<CgroupV2>(options.root, path, options.warn, options.oom_group);
        case HierarchyKind::hybrid:
            return std::make_unique<HybridManager>(options.root, path, options.warn,
                                                   options.oom_group);
        case HierarchyKind::legacy:
            break;
    }
    return std::make_unique<CgroupV1>(options.root, path, options.warn);
}

}  // namespace

std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id,
                                            const ManagerOptions& options) {
    if (options.systemd == ManagerOptions::Systemd::off)
        return open_files_manager(resolve_cgroups_path(cgroups_path, container_id), options);
    SystemdUnit unit = options.systemd == ManagerOptions::Systemd::new_scope
                           ? systemd_unit_for(cgroups_path, container_id)
                           : systemd_unit_at(cgroups_path);
    auto files = open_files_manager(unit.path, options);
    return std::make_unique<SystemdManager>(std::move(unit), std::move(files), connect_systemd,
                                            options.warn);
}

std::unique_ptr<CgroupManager> open_manager(const std::string& cgroups_path,
                                            const std::string& container_id) {
    return open_manager(cgroups_path, container_id, ManagerOptions{});
}

}  // namespace brig::cgroups
