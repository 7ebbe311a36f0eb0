// containerd.task.v2.Task served on brig's runtime library: the shim is the parent (and child
// subreaper) of every process it starts, so it reaps them and reports their exit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common/log.hpp"
#include "runtime/lifecycle/container.hpp"
#include "runtime/lifecycle/oom_watch.hpp"
#include "shim/event_loop.hpp"
#include "shim/events.hpp"
#include "shim/stdio.hpp"
#include "shim/ttrpc.hpp"

namespace brig::shim {

inline constexpr const char* task_service_name = "containerd.task.v2.Task";

struct ServiceOptions {
    std::string state_root;  // brig's state directory for this namespace
    std::string ns;
    lifecycle::ContainerMonitor* monitor = nullptr;  // brig's monitor, or null (unwatched)
    // What a runtime handler's config (its ConfigPath) gives its containers; null: `monitor`
    // for all, no systemd cgroups.
    struct Handler {
        lifecycle::ContainerMonitor* monitor = nullptr;
        bool systemd_cgroup = false;  // the config's "systemd_cgroup"
    };
    std::function<Handler(const std::string& config_path)> handler_for;
};

class TaskService {
public:
    TaskService(EventLoop& loop, EventSink& events, const Logger& log, ServiceOptions options);
    ~TaskService();

    // Answers are sent through this for calls that complete later (Wait).
    void set_replier(ttrpc::Server* server) { server_ = server; }
    // The ttrpc handler: the response payload, nullopt when deferred; throws for an error status.
    std::optional<std::string> handle(const ttrpc::Call& call);
    // Set when Shutdown asks the shim to exit.
    bool shutdown_requested() const { return shutdown_; }
    size_t task_count() const { return tasks_.size(); }

private:
    struct Timestamp {
        int64_t seconds = 0;
        int32_t nanos = 0;
    };
    enum class ProcessStatus { created, running, stopped };
    struct Process {
        std::string exec_id;  // empty for the init
        pid_t pid = 0;
        UniqueFd pidfd;
        EventLoop::Token pidfd_token = 0;
        StdioPaths stdio;
        std::unique_ptr<ProcessIo> io;
        ProcessStatus status = ProcessStatus::created;
        uint32_t exit_status = 0;
        Timestamp exited_at;
        std::vector<ttrpc::CallRef> waiters;
        config::Process spec;  // exec: the process from the Exec call, run by Start
    };
    struct Task {
        std::string id;
        std::string bundle;
        std::string rootfs_mount;  // <bundle>/rootfs when the shim mounted it
        // The monitor of the task's handler: it registered the container, it releases it.
        lifecycle::ContainerMonitor* monitor = nullptr;
        Process init;
        std::map<std::string, std::unique_ptr<Process>> execs;
        bool paused = false;
        // Readable when the cgroup's memory events change: OOM kills are reported as they happen.
        std::unique_ptr<lifecycle::OomWatch> oom_watch;
        EventLoop::Token oom_token = 0;
        // cgroup v1 notifies when the OOM starts, before its kill is counted: re-read the count
        // a few times on this timer.
        UniqueFd oom_recheck;
        EventLoop::Token oom_recheck_token = 0;
        int oom_rechecks_left = 0;
    };

    std::string create(const std::string& payload);
    // The runtime as the task's handler configured it (its monitor).
    lifecycle::Runtime runtime_for(const Task& t) const;
    std::string start(const std::string& payload);
    std::string remove(const std::string& payload);
    std::string state(const std::string& payload);
    std::string pids(const std::string& payload);
    std::string pause(const std::string& payload, bool pause);
    std::string kill(const std::string& payload);
    std::string exec(const std::string& payload);
    std::string resize_pty(const std::string& payload);
    std::string close_io(const std::string& payload);
    std::string update(const std::string& payload);
    std::optional<std::string> wait(const ttrpc::Call& call);
    std::string stats(const std::string& payload);
    std::string connect(const std::string& payload);
    std::string shutdown(const std::string& payload);

    Task& task(const std::string& id);
    Process& process(Task& t, const std::string& exec_id);
    void start_exec(Task& t, Process& p);
    void watch(Process& p);
    void watch_oom(Task& t);
    void unwatch_oom(Task& t);
    void recheck_oom_soon(Task& t);
    void reap();
    void exited(Task& t, Process& p, int wait_status);
    // After the init's exit, as the runc shim: a shared pid namespace keeps the rest alive.
    void kill_leftovers(Task& t);
    // Publishes /tasks/oom when the cgroup counted new OOM kills; whether it did.
    bool check_oom(Task& t);
    void publish(const std::string& topic, const std::string& type, const std::string& event);

    EventLoop& loop_;
    EventSink& events_;
    const Logger& log_;
    ServiceOptions options_;
    lifecycle::Runtime runtime_;
    ttrpc::Server* server_ = nullptr;
    std::map<std::string, std::unique_ptr<Task>> tasks_;
    bool shutdown_ = false;
};

}  // namespace brig::shim
