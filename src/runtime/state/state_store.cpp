#include "runtime/state/state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "runtime/common/error.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::state {
namespace {

constexpr size_t state_file_limit = 1 << 20;
constexpr size_t config_file_limit = 8 << 20;

void remove_tree_at(int dirfd) {
    int dup = ::dup(dirfd);
    if (dup < 0)
        return;
    DIR* dir = fdopendir(dup);
    if (!dir) {
        ::close(dup);
        return;
    }
    while (dirent* e = readdir(dir)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_type == DT_DIR) {
            UniqueFd sub(openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub)
                remove_tree_at(sub.get());
            unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(dirfd, e->d_name, 0);
        }
    }
    closedir(dir);
}

const char* kind_of(const std::string&) {
    return "string";
}
const char* kind_of(bool) {
    return "boolean";
}
template <typename T>
requires std::is_arithmetic_v<T>
const char* kind_of(T) {
    return "number";
}
const char* kind_of(const std::map<std::string, std::string>&) {
    return "object of strings";
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
        case Status::creating:
            return "creating";
        case Status::created:
            return "created";
        case Status::running:
            return "running";
        case Status::paused:
            return "paused";
        case Status::stopped:
            return "stopped";
    }
    return "stopped";
}

static Status status_from_name(const std::string& n) {
    for (Status s :
         {Status::creating, Status::created, Status::running, Status::paused, Status::stopped})
        if (n == status_name(s))
            return s;
    throw Error("state.json: unknown status \"" + n + "\"");
}

nlohmann::json ContainerState::to_json() const {
    return {{"ociVersion", oci_version},
            {"id", id},
            {"status", status_name(recorded_status)},
            {"pid", pid},
            {"pidStartTime", pid_start_time},
            {"bundle", bundle},
            {"rootfs", rootfs},
            {"created", created},
            {"owner", owner},
            {"annotations", annotations},
            {"cgroupsPath", cgroups_path},
            {"cgroup2Id", cgroup2_id},
            {"monitored", monitored},
            {"killedByRule", killed_by_rule},
            {"systemdCgroup", use_systemd_cgroup}};
}

namespace {

// j[key] as a T, `fallback` when absent; a value of the wrong type names its key.
template <typename T>
T field(const nlohmann::json& j, const char* key, T fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return fallback;
    try {
        return it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(std::string("state.json: ") + key + ": not a " + kind_of(fallback) + " (" +
                    it->type_name() + ")");
    }
}

}  // namespace

ContainerState ContainerState::from_json(const nlohmann::json& j) {
    ContainerState s;
    s.oci_version = field(j, "ociVersion", std::string());
    s.id = field(j, "id", std::string());
    if (s.id.empty())
        throw Error("state.json: id: missing");
    s.recorded_status = status_from_name(field(j, "status", std::string("stopped")));
    s.pid = field(j, "pid", 0);
    s.pid_start_time = field(j, "pidStartTime", uint64_t{0});
    s.bundle = field(j, "bundle", std::string());
    s.rootfs = field(j, "rootfs", std::string());
    s.created = field(j, "created", std::string());
    s.owner = field(j, "owner", std::string());
    s.annotations = field(j, "annotations", std::map<std::string, std::string>{});
    s.cgroups_path = field(j, "cgroupsPath", std::string());
    s.cgroup2_id = field(j, "cgroup2Id", uint64_t{0});
    s.monitored = field(j, "monitored", false);
    s.killed_by_rule = field(j, "killedByRule", std::string());
    s.use_systemd_cgroup = field(j, "systemdCgroup", false);
    return s;
}

nlohmann::json ContainerState::to_oci_json(Status live) const {
    nlohmann::json j = {{"ociVersion", oci_version},
                        {"id", id},
                        {"status", status_name(live)},
                        {"pid", live == Status::stopped ? 0 : pid},
                        {"bundle", bundle},
                        {"rootfs", rootfs},
                        {"created", created},
                        {"owner", owner},
                        {"annotations", annotations}};
    if (!killed_by_rule.empty())
        j["killedByRule"] = killed_by_rule;
    return j;
}

uint64_t process_start_time(pid_t pid) {
    if (pid <= 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd)
        return 0;
    char buf[1024];
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    // comm may contain spaces and parentheses: parse after the last ')'.
    char* p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    char state = p[2];
    if (state == 'Z' || state == 'X')
        return 0;
    // Fields after ")": state(3) ... starttime(22): skip 19 spaces from field 3.
    p += 2;
    for (int field = 3; field < 22; ++field) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        ++p;
    }
    return strtoull(p, nullptr, 10);
}

bool init_alive(const ContainerState& s) {
    return s.pid > 0 && s.pid_start_time != 0 && process_start_time(s.pid) == s.pid_start_time;
}

void StateStore::create_dir(const std::string& id) const {
    // Engines name a root whose parents may not exist yet (dockerd's runtime-runc/moby), as runc.
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(root_).parent_path(), ignored);
    if (mkdir(root_.c_str(), 0711) != 0 && errno != EEXIST)
        throw_errno("cannot create state root " + root_);
    if (mkdir(dir(id).c_str(), 0711) != 0) {
        if (errno == EEXIST)
            throw Error("container \"" + id + "\" already exists");
        throw_errno("cannot create state directory " + dir(id));
    }
}

bool StateStore::exists(const std::string& id) const {
    struct stat st {};
    return lstat(dir(id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void StateStore::write(const ContainerState& s) const {
    write_file_atomic(dir(s.id) + "/state.json", s.to_json().dump());
}

StagedFile StateStore::stage(const ContainerState& s) const {
    return StagedFile(dir(s.id) + "/state.json", s.to_json().dump());
}

void StateStore::write_breadcrumb(const ContainerState& s) const {
    write_file_atomic(dir(s.id) + "/state.json", s.to_json().dump(), 0644, Durability::atomic_only);
}

ContainerState StateStore::read(const std::string& id) const {
    if (!exists(id))
        throw Error("container \"" + id + "\" does not exist", ENOENT);
    std::string data;
    try {
        data = read_file(dir(id) + "/state.json", state_file_limit);
    } catch (const Error& e) {
        if (e.errnum() != ENOENT)
            throw;
        // The directory exists but create never finished writing: a crashed or running create.
        ContainerState s;
        s.id = id;
        s.recorded_status = Status::creating;
        return s;
    }
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw CorruptState("container \"" + id + "\": corrupt state.json: not a JSON object");
    try {
        return ContainerState::from_json(j);
    } catch (const Error& e) {
        throw CorruptState("container \"" + id + "\": corrupt " + e.what());
    }
}

void StateStore::write_config(const std::string& id, const std::string& config_json) const {
    // Read back only while the container exists; after a machine crash it does not.
    write_file_atomic(dir(id) + "/config.json", config_json, 0600, Durability::atomic_only);
}

std::string StateStore::read_config(const std::string& id) const {
    return read_file(dir(id) + "/config.json", config_file_limit);
}

void StateStore::remove(const std::string& id) const {
    UniqueFd d(::open(dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d)
        return;
    remove_tree_at(d.get());
    if (rmdir(dir(id).c_str()) != 0 && errno != ENOENT)
        throw_errno("cannot remove state directory " + dir(id));
}

std::vector<std::string> StateStore::list() const {
    std::vector<std::string> ids;
    DIR* d = opendir(root_.c_str());
    if (!d)
        return ids;
    while (dirent* e = readdir(d)) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.')
            ids.emplace_back(e->d_name);
    }
    closedir(d);
    std::sort(ids.begin(), ids.end());
    return ids;
}

StagedFile::StagedFile(std::string path, const std::string& data, mode_t mode,
                       Durability durability)
    : path_(std::move(path)), tmp_(path_ + ".tmp") {
    UniqueFd fd(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd)
        throw_errno("cannot write " + tmp_);
    ScopeGuard remove_tmp([&] { unlink(tmp_.c_str()); });
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd.get(), p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("cannot write " + tmp_);
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (durability == Durability::fsync && fsync(fd.get()) != 0)
        throw_errno("cannot write " + path_);
    remove_tmp.dismiss();
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)) {
    other.tmp_.clear();
}

StagedFile::~StagedFile() {
    if (!tmp_.empty())
        unlink(tmp_.c_str());
}

void StagedFile::commit() {
    if (rename(tmp_.c_str(), path_.c_str()) != 0)
        throw_errno("cannot write " + path_);
    tmp_.clear();
}

void write_file_atomic(const std::string& path, const std::string& data, mode_t mode,
                       Durability durability) {
    StagedFile(path, data, mode, durability).commit();
}

std::string read_file(const std::string& path, size_t limit) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw_errno(path);
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno(path);
        if (n == 0)
            break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > limit)
            throw Error(path + ": too large (limit " + std::to_string(limit) + " bytes)", EFBIG);
    }
    return out;
}

}  // namespace brig::state
