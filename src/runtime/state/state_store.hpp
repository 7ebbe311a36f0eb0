// Per-container state under --root: <root>/<id>/{state.json, config.json, exec.fifo,
// started.fifo, confinement.json}.
// Every write is atomic (temp file, fsync, rename).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/common/error.hpp"

namespace brig::state {

enum class Status { creating, created, running, paused, stopped };
const char* status_name(Status s);

// What brig records about a container. `status` here is what was last written; the live status
// is derived by ContainerState::live_status() from the process and the cgroup.
struct ContainerState {
    std::string oci_version;
    std::string id;
    Status recorded_status = Status::creating;
    pid_t pid = 0;
    uint64_t pid_start_time = 0;  // field 22 of /proc/PID/stat, guards against pid reuse
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC 3339
    std::string owner;
    std::map<std::string, std::string> annotations;
    std::string cgroups_path;  // as resolved by the cgroup manager
    // The monitor's key (the cgroup2 directory's inode), kept so that delete finds the
    // monitor's entries even when someone else removed the cgroup; 0 when unknown.
    uint64_t cgroup2_id = 0;
    // Registered with the monitor (delete unregisters it): not when the monitor is off or the
    // container shares a watched container's cgroup.
    bool monitored = false;
    std::string killed_by_rule;  // set when the monitor killed the container
    bool use_systemd_cgroup = false;

    nlohmann::json to_json() const;  // everything, for state.json
    static ContainerState from_json(const nlohmann::json& j);
    // The OCI state object as `brig state` prints it, with the live status.
    nlohmann::json to_oci_json(Status live) const;
};

// /proc/PID/stat start time, or 0 when the process does not exist (or is a zombie).
uint64_t process_start_time(pid_t pid);
// True while the recorded init process still runs (same start time, not a zombie).
bool init_alive(const ContainerState& s);

// state.json is there but unreadable (truncated, not JSON, a field of the wrong type): the
// container is still listed, and delete --force still removes what it left.
class CorruptState : public Error {
public:
    using Error::Error;
};

class StateStore {
public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}

    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }
    // `start` writes a byte here to let the container's process go on.
    std::string fifo_path(const std::string& id) const { return dir(id) + "/exec.fifo"; }
    // Held open by the container's process until it execs: `start` reads EOF then.
    std::string started_fifo_path(const std::string& id) const { return dir(id) + "/started.fifo"; }
    // What create had the init apply to itself before exec, which every exec'd process applies.
    std::string confinement_path(const std::string& id) const {
        return dir(id) + "/confinement.json";
    }

    // Creates <root>/<id> (and root itself); fails with "container \"id\" already exists".
    void create_dir(const std::string& id) const;
    bool exists(const std::string& id) const;
    // Atomic and durable (fsync before rename).
    void write(const ContainerState& s) const;
    // write() in two steps: state.json's new content fsync'd now under a temporary name, put in
    // place by StagedFile::commit() (create overlaps the fsync with the container's setup).
    class StagedFile stage(const ContainerState& s) const;
    // Atomic but not fsync'd: the "creating" breadcrumb that only helps delete --force clean up
    // after a crashed create, which a machine crash makes moot (the container died with it).
    void write_breadcrumb(const ContainerState& s) const;
    // Throws "container \"id\" does not exist" when there is no such container, CorruptState
    // (naming the field) when its state.json cannot be read.
    ContainerState read(const std::string& id) const;
    void write_config(const std::string& id, const std::string& config_json) const;
    std::string read_config(const std::string& id) const;
    // Removes the container's directory and everything in it.
    void remove(const std::string& id) const;
    std::vector<std::string> list() const;

private:
    std::string root_;
};

enum class Durability { fsync, atomic_only };

// A file's new content written (and fsync'd) under a temporary name in the same directory;
// commit() renames it into place. Not committed, the temporary file is removed.
class StagedFile {
public:
    StagedFile(std::string path, const std::string& data, mode_t mode = 0644,
               Durability durability = Durability::fsync);
    StagedFile(StagedFile&& other) noexcept;
    StagedFile& operator=(StagedFile&&) = delete;
    ~StagedFile();
    void commit();

private:
    std::string path_, tmp_;
};

// Writes data to path atomically: temp file in the same dir, (fsync), rename.
void write_file_atomic(const std::string& path, const std::string& data, mode_t mode = 0644,
                       Durability durability = Durability::fsync);
std::string read_file(const std::string& path, size_t limit);

}  // namespace brig::state
