// The container lifecycle as a library: what the CLI verbs, the shim and the tests call.
#pragma once

#include <sys/types.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/lifecycle/container_monitor.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::cgroups {
class CgroupManager;
}

namespace brig::lifecycle {

class Rollback;

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    int console_socket_fd = -1;  // instead of console_socket: a connected socket (the shim's)
    // A terminal asked for without any console socket: brig keeps the pty master itself
    // (StartedInit::pty_master) instead of failing (`run`).
    bool keep_pty_master = false;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    // Socket activation: fds 3 .. 3+listen_fds-1 are passed on with LISTEN_FDS (and LISTEN_PID
    // set to the container's process), as systemd hands them to brig.
    int listen_fds = 0;
    // The container process's fds 0, 1 and 2 (dup2'd onto them in the process; default: the
    // caller's own). A terminal replaces them.
    std::array<int, 3> stdio{0, 1, 2};
};

struct ContainerStats;  // stats.hpp
class OomWatch;         // oom_watch.hpp

struct ExecOptions {
    std::string id;
    // The process to run instead of the config's: parsed (the shim's), or a process.json
    // (--process). The fields below still override it.
    std::optional<config::Process> process;
    std::string process_file;
    std::vector<std::string> args;
    std::string cwd;
    std::vector<std::string> env;
    std::string user;  // uid[:gid]
    std::vector<std::string> add_caps;
    std::vector<uint32_t> additional_gids;
    bool tty = false;
    bool no_new_privs = false;
    bool detach = false;
    bool ignore_paused = false;  // runc's --ignore-paused: the process waits for resume
    std::string pid_file;
    std::string console_socket;
    int preserve_fds = 0;
    std::array<int, 3> stdio{0, 1, 2};  // as CreateOptions::stdio
    // runc's --cgroup: [CONTROLLER[,CONTROLLER]:]PATH, a cgroup below the container's to join.
    std::vector<std::string> sub_cgroups;
};

// A process spawn_exec started in a container: a child of the caller, not waited for.
struct ExecProcess {
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd pty_master;  // a terminal without a console socket: brig relays it (exec waits)
};

// A container process that brig itself started (and may wait for, as `run` does).
struct StartedInit {
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd pty_master;          // with keep_pty_master and a terminal
    state::ContainerState state;  // as written to state.json
    config::Hooks hooks;
};

struct ContainerInfo {
    state::ContainerState state;
    state::Status status;
    // Why state.json could not be read (list shows the container marked, delete --force
    // removes what it left); empty when it was read.
    std::string corrupt;
};

class Runtime {
public:
    Runtime(std::string root, const Logger& log, bool systemd_cgroup = false,
            ContainerMonitor* monitor = nullptr)
        : store_(std::move(root)), log_(log), systemd_cgroup_(systemd_cgroup), monitor_(monitor) {}

    // Sets up the container up to the user process, which waits for start().
    StartedInit create(const CreateOptions& options);
    // Lets the container's process exec its user program; runs poststart hooks.
    void start(const std::string& id);
    // create + start + wait; returns the container's exit status (128+N when killed by N).
    int run(const CreateOptions& options, bool detach, bool keep);
    void kill(const std::string& id, int signal, bool all);
    // Runs a new process in the container; returns its exit status (0 with detach).
    // Throws ExecFailed when the process could not be started (the CLI exits 255 then).
    int exec(const ExecOptions& options);
    // Starts a new process in the container and returns once it has exec'd its program
    // (options.detach is not looked at: nothing waits for it). Throws as exec() does.
    ExecProcess spawn_exec(const ExecOptions& options);
    // `delete`: a running container needs force.
    void remove(const std::string& id, bool force);

    void pause(const std::string& id);
    void resume(const std::string& id);
    // Applies a (partial) linux.resources to the running container's cgroup.
    void update(const std::string& id, const config::Resources& resources);
    // runc's stats object {"cpu","memory","pids","blkio","hugetlb"}.
    nlohmann::json stats(const std::string& id) const;
    // The same, typed as containerd's Metrics need it (stats.hpp).
    ContainerStats container_stats(const std::string& id) const;
    // OOM kills as they happen (oom_watch.hpp); the container must not be stopped.
    std::unique_ptr<OomWatch> watch_oom(const std::string& id) const;
    // Once the init has exited: SIGKILLs the processes left in the container's cgroup unless
    // the init had a pid namespace of its own (the kernel killed them then), as runc's shim
    // does. Whether there were any.
    bool kill_leftovers(const std::string& id);

    ContainerInfo info(const std::string& id) const;
    nlohmann::json state_json(const std::string& id) const;
    std::vector<ContainerInfo> list() const;
    std::vector<pid_t> pids(const std::string& id) const;

    const state::StateStore& store() const { return store_; }

private:
    struct CreatePlan;
    CreatePlan plan_create(const CreateOptions& options) const;
    StartedInit create_container(const CreateOptions& options, CreatePlan& plan,
                                 Rollback& rollback);
    // With hooks (those create parsed, for `run`), config.json is not read back.
    void start(const ContainerInfo& info, const config::Hooks* hooks);
    void remove(const std::string& id, bool force, const config::Hooks* hooks);
    state::Status live_status(const state::ContainerState& s) const;
    std::unique_ptr<cgroups::CgroupManager> open_cgroup(const state::ContainerState& s) const;
    void check_preexisting_cgroup(const cgroups::CgroupManager& cgroup) const;
    // The container's cgroup made (or a preexisting one checked), its resources applied, and
    // its removal armed in `rollback`.
    void set_up_cgroup(const std::string& id, CreatePlan& plan, state::ContainerState& st,
                       Rollback& rollback);
    // What delete --force knows of a container whose state.json is corrupt: its id, and its
    // cgroup from the config.json create saved (if that is readable), as "creating" (no pid).
    ContainerInfo recover_corrupt(const std::string& id, const state::CorruptState& e) const;
    std::string seccomp_cache_dir() const { return store_.root() + "/.seccomp-cache"; }

    state::StateStore store_;
    const Logger& log_;
    bool systemd_cgroup_;
    ContainerMonitor* monitor_;
};

struct ExecFailed : Error {
    using Error::Error;
    explicit ExecFailed(const Error& cause) : Error(cause) {}
};

// Parses a signal given as a name ("TERM", "SIGKILL") or a number; throws on anything else.
int parse_signal(const std::string& text);

}  // namespace brig::lifecycle
