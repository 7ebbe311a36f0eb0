#include "monitor/runtime_monitor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/wait.h>
#include <cstdio>
#include <optional>

#include "monitor/metrics.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/security/exec_hold.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::monitor {
namespace {

constexpr const char* default_config_path = "/etc/brig/config.json";
constexpr const char* watcher_file = "monitor-watcher";

// The watcher leaves by itself once the cgroup is empty, after reporting the last events: wake
// it (SIGUSR1 interrupts its poll), give it a moment, then make sure it is gone.
void stop_watcher(const std::string& state_dir) {
    std::string record;
    try {
        record = state::read_file(state_dir + "/" + watcher_file, 128);
    } catch (const Error&) {
        return;
    }
    pid_t pid = 0;
    unsigned long long start = 0;
    if (sscanf(record.c_str(), "%d %llu", &pid, &start) != 2 || pid <= 0)
        return;
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd || state::process_start_time(pid) != start)
        return;
    syscall(SYS_pidfd_send_signal, pidfd.get(), SIGUSR1, nullptr, 0);
    pollfd p{pidfd.get(), POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0)
        syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
}

class Watch final : public lifecycle::ContainerWatch {
public:
    Watch(Monitor* monitor, const MonitorConfig& config, ContainerIdentity identity,
          ContainerPolicy policy, std::string state_dir)
        : monitor_(monitor),
          config_(config),
          identity_(std::move(identity)),
          policy_(std::move(policy)),
          state_dir_(std::move(state_dir)) {}

    security::DenyPolicy in_process_denies() const override {
        return {policy_.landlock_deny, policy_.seccomp_deny};
    }

    // Rules judged before exec: the socket the container's processes hand their exec
    // listeners to, made now (before the container's first process) and handed to the watcher.
    void listen_for_execs() {
        exec_socket_path_ = state_dir_ + "/" + lifecycle::kExecVerdictSocket;
        exec_socket_ = security::listen_exec_hold(exec_socket_path_);
    }
    std::string exec_verdict_socket() const override { return exec_socket_path_; }

    void activate(pid_t init_pid) override {
        identity_.pid = init_pid;
        keys_ = monitor_->register_container(identity_, policy_);
        registered_ = true;
        // delete finds the keys through this (without it, it walks every rule map).
        state::write_file_atomic(state_dir_ + "/" + kKeysFile, serialize_keys(keys_), 0600,
                                 state::Durability::atomic_only);
        watcher_ = start_watcher(*monitor_, config_, identity_, policy_, state_dir_,
                                 std::move(exec_socket_));
        // delete finds the watcher through this (pid and start time: pids get reused).
        state::write_file_atomic(
            state_dir_ + "/" + watcher_file,
            std::to_string(watcher_) + " " + std::to_string(state::process_start_time(watcher_)),
            0600, state::Durability::atomic_only);
    }

    void cancel() override {
        if (watcher_ > 0)
            ::kill(watcher_, SIGKILL);
        if (registered_)
            monitor_->unregister_container(identity_.cgroup2_id, &keys_);
        registered_ = false;
    }

private:
    Monitor* monitor_;
    const MonitorConfig& config_;
    ContainerIdentity identity_;
    ContainerPolicy policy_;
    std::string state_dir_;
    bool registered_ = false;
    RegisteredKeys keys_;
    pid_t watcher_ = -1;
    UniqueFd exec_socket_;
    std::string exec_socket_path_;
};

}  // namespace

RuntimeMonitor::RuntimeMonitor(const std::string& config_path, const Logger& log)
    : log_(log),
      config_(MonitorConfig::load(config_path.empty() ? default_config_path : config_path,
                                  config_path.empty())) {}

Monitor* RuntimeMonitor::kernel_side() {
    if (monitor_)
        return &*monitor_;
    if (unavailable_ || !config_.enabled)
        return nullptr;
    try {
        monitor_.emplace(Monitor::open(config_));
        if (log_.debug_enabled())  // probing loads test programs: only when asked
            log_.debug("monitor: " + probe_kernel().describe());
        return &*monitor_;
    } catch (const std::exception& e) {
        unavailable_ = true;
        log_.warn(std::string("monitor unavailable, containers run unwatched: ") + e.what() + " (" +
                  probe_kernel().describe() + ")");
        return nullptr;
    }
}

std::unique_ptr<lifecycle::ContainerWatch> RuntimeMonitor::prepare(
    const lifecycle::MonitoredContainer& c) {
    if (c.cgroup2_id == 0) {
        log_.warn("monitor: the host has no cgroup2 mount, container " + c.id + " runs unwatched");
        return nullptr;
    }
    ContainerIdentity identity{c.id,           c.rootfs, c.uid_mappings, c.cgroup2_id,
                               c.cgroup2_path, 0,        c.annotations,  c.env};
    // Rules are compiled (and their errors reported) even before the kernel side is loaded.
    ContainerPolicy policy = build_policy(config_, identity);
    for (const auto& w : policy.warnings)
        log_.warn("monitor: " + w);
    Monitor* monitor = kernel_side();
    if (!monitor)
        return nullptr;
    // The kernel side keys containers by cgroup: one sharing another's cgroup is watched by
    // that one's rules, and must not take the entry away when it goes.
    if (monitor->is_registered(c.cgroup2_id)) {
        log_.warn("monitor: container " + c.id +
                  " shares its cgroup with a watched container: it is watched by that one's rules");
        return nullptr;
    }
    // Under BPF-LSM the path hooks refuse what Landlock would, from the paths the kernel
    // resolved, and report it: behind a Landlock refusal (Landlock runs first) they never run.
    if (monitor->path() == EnforcementPath::bpf_lsm)
        policy.landlock_deny.clear();
    if (policy.exec_checks && c.own_seccomp_listener) {
        log_.warn(
            "monitor: linux.seccomp notifies a listener of its own, so execs cannot also wait "
            "for the monitor: rules decided in user space act on execs after they started");
        policy.exec_checks = 0;
    }
    bool judges_execs = policy.exec_checks != 0;
    auto watch = std::make_unique<Watch>(monitor, config_, std::move(identity), std::move(policy),
                                         c.state_dir);
    if (judges_execs)
        watch->listen_for_execs();
    return watch;
}

void RuntimeMonitor::release(uint64_t cgroup2_id, const std::string& state_dir) {
    stop_watcher(state_dir);
    Monitor* monitor = kernel_side();
    if (!monitor)
        return;
    std::optional<RegisteredKeys> keys;
    try {
        keys =
            parse_keys(state::read_file(state_dir + "/" + kKeysFile, kKeysFileLimit), cgroup2_id);
    } catch (const Error&) {
        // Killed before the keys were written (or no state dir): the maps are walked.
    }
    monitor->unregister_container(cgroup2_id, keys ? &*keys : nullptr);
}

std::string RuntimeMonitor::prometheus_metrics(const std::vector<Watched>& containers) {
    Monitor* monitor = kernel_side();
    NodeMetrics node;
    node.enforcement_path = !monitor                                      ? "unavailable"
                            : monitor->path() == EnforcementPath::bpf_lsm ? "bpf_lsm"
                                                                          : "tracepoint";
    for (const auto& c : containers)
        node.containers.push_back(
            {c.id, read_alerts(c.state_dir),
             monitor && c.cgroup2_id ? monitor->dropped_events(c.cgroup2_id).total() : 0});
    return prometheus_text(node);
}

std::optional<std::string> RuntimeMonitor::killed_by(const std::string& state_dir) {
    if (auto record = monitor::killed_by(state_dir))
        return record->rule;
    return std::nullopt;
}

}  // namespace brig::monitor
