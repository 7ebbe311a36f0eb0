// The per-container watcher: a process forked by create that reads the container's ring, writes
// its alerts and finishes kills; it exits when the container's cgroup is empty. Enforcement does
// not depend on it: the kernel has already acted when an event reaches it. The one exception is
// a container whose rules judge execs in user space: its execs wait for the watcher's verdict
// (exec_verdicts.hpp), and fail while there is no watcher.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "monitor/alert_queue.hpp"
#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/exec_verdicts.hpp"
#include "monitor/monitor.hpp"
#include "monitor/quiet_thread.hpp"
#include "monitor/rate_limit.hpp"
#include "monitor/repeats.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/resident.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {

namespace {

// ~256 KiB ring / ~1 KiB events: at 10 ms per batch the ring holds >20000 events/s.
constexpr long kBatchNs = 10'000'000;
// Drop and rate-limit alerts: at most one of each a second.
constexpr uint64_t kInternalAlertNs = 1'000'000'000;

uint64_t boot_now_ns() {
    struct timespec now {};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

struct WatcherState {
    WatcherState(const ContainerPolicy& policy, const MonitorConfig& config, AlertQueue& sink,
                 Monitor& monitor, const ContainerIdentity& container, std::string state_dir)
        : policy(&policy),
          outputs(&config.outputs),
          sink(&sink),
          monitor(&monitor),
          repeats(config.coalesce_ms),
          rate_limit(config.outputs.rate, double(config.outputs.max_burst), boot_now_ns()),
          cgroup_path(container.cgroup2_path),
          cgroup_id(container.cgroup2_id),
          state_dir(std::move(state_dir)) {}

    const ContainerPolicy* policy;
    const OutputConfig* outputs;
    AlertQueue* sink;
    Monitor* monitor;
    ProcessTable processes;
    RepeatTracker repeats;
    AlertRateLimit rate_limit;
    std::string cgroup_path;
    uint64_t cgroup_id;
    std::string state_dir;
    bool killed = false;
    EventDrops reported_drops;
    std::map<uint32_t, uint64_t> reported_shed;  // by rule id
    uint64_t last_internal_ns = 0;
    bool internal_due = false;  // a check for drops and suppressed alerts was put off
};

void kill_cgroup(const std::string& cgroup_path) {
    UniqueFd kill_file(::open((cgroup_path + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
    if (kill_file && ::write(kill_file.get(), "1", 1) == 1)
        return;
    std::ifstream procs(cgroup_path + "/cgroup.procs");  // kernels before 5.14
    for (pid_t pid; procs >> pid;)
        ::kill(pid, SIGKILL);
}

void record_kill(WatcherState& state, const Alert& alert) {
    if (state.killed)
        return;
    state.killed = true;
    nlohmann::json record = {{"rule", alert.rule}, {"time", alert.time}, {"output", alert.output}};
    std::string path = state.state_dir + "/" + kKilledFile;
    std::ofstream(path) << record.dump() << "\n";
}

// The alerts of an event standing for `count` events, through the rate limit; `act`: carry
// out the verdicts (false for the repeats of an event already acted on).
void alert_event(WatcherState& state, const brig_event& event, uint64_t count, bool act) {
    std::vector<Alert> alerts = match_event(event, *state.policy, state.processes, count);
    // Killed by the kernel: not the exec the watcher approved (the rules that match what it
    // really was are alerted and carried out as well).
    if (event.type == BRIG_EV_EXEC && (event.flags & BRIG_EXEC_UNAPPROVED))
        alerts.push_back(unapproved_exec_alert(event, *state.policy));
    for (const Alert& alert : alerts) {
        if (state.rate_limit.admit(alert.rule, alert.count, boot_now_ns()))
            state.sink->emit(alert);
        if (!act || alert.action == Action::alert)
            continue;
        if (alert.enforced_in_kernel) {
            if (event.action & BRIG_ACT_KILL) {
                record_kill(state, alert);
                kill_cgroup(state.cgroup_path);  // tasks blocked in a syscall go now too
            }
        } else if (alert.action == Action::kill) {
            record_kill(state, alert);
            kill_cgroup(state.cgroup_path);
        } else {
            ::kill(static_cast<pid_t>(event.pid), SIGKILL);  // too late to refuse: stop it
        }
    }
}

int on_event(void* ctx, void* data, size_t size) {
    auto& state = *static_cast<WatcherState*>(ctx);
    if (size < sizeof(brig_event))
        return 0;
    const auto& event = *static_cast<const brig_event*>(data);
    if (event.cgroup_id != state.cgroup_id)
        return 0;  // left in the pool's ring by its previous holder
    if (auto count = state.repeats.count_of(event))
        alert_event(state, event, *count, true);
    return 0;
}

// The repeats whose coalescing window is over (all of them once the container is gone).
void flush_repeats(WatcherState& state, bool all) {
    state.repeats.flush(
        boot_now_ns(), all,
        [&](const brig_repeat_key& key) { return state.monitor->repeat_of(key); },
        [&](const brig_event& event, uint64_t count) { alert_event(state, event, count, false); });
}

// Falco's internal alerts for what did not reach the watcher or was not alerted: at most one
// of each a second (`final`: now, the container is gone).
void emit_internal_alerts(WatcherState& state, bool final) {
    uint64_t now = boot_now_ns();
    state.internal_due = !final && now - state.last_internal_ns < kInternalAlertNs;
    if (state.internal_due)
        return;
    state.last_internal_ns = now;
    EventDrops drops = state.monitor->dropped_events(state.cgroup_id);
    if (drops.total() > state.reported_drops.total()) {
        auto shed = state.monitor->shed_by_rule(state.cgroup_id,
                                                static_cast<uint32_t>(state.policy->rules.size()));
        std::map<uint32_t, uint64_t> new_shed;
        for (const auto& [rule_id, count] : shed)
            if (count > state.reported_shed[rule_id])
                new_shed[rule_id] = count - state.reported_shed[rule_id];
        EventDrops delta{drops.ring_full - state.reported_drops.ring_full,
                         drops.shed - state.reported_drops.shed};
        state.sink->emit(drop_alert(*state.policy, delta, new_shed));
        state.reported_drops = drops;
        state.reported_shed = shed;
    }
    if (state.rate_limit.has_suppressed())
        state.sink->emit(
            rate_limit_alert(*state.policy, *state.outputs, state.rate_limit.take_suppressed()));
}

// What the watcher has to do even without events: kept repeats, put-off internal alerts.
bool work_left(const WatcherState& state) {
    return !state.repeats.empty() || state.internal_due || state.rate_limit.has_suppressed();
}

// How long poll may sleep: forever when idle and trimmed, else until the next kept repeat or
// internal alert is due (a second at most).
int poll_timeout_ms(const WatcherState& state, bool trimmed) {
    if (!work_left(state))
        return trimmed ? -1 : 1000;
    uint64_t now = boot_now_ns();
    uint64_t due = now + kInternalAlertNs;
    if (state.internal_due || state.rate_limit.has_suppressed())
        due = std::min(due, state.last_internal_ns + kInternalAlertNs);
    if (uint64_t repeat_due = state.repeats.next_due_ns())
        due = std::min(due, repeat_due);
    return due > now ? static_cast<int>((due - now) / 1'000'000) + 1 : 0;
}

bool cgroup_populated(int events_fd) {
    char buf[256] = {};
    ssize_t n = ::pread(events_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return false;  // cgroup removed
    return std::strstr(buf, "populated 1") != nullptr;
}

// An exec refused before it ran (exec_verdicts.hpp): kill also kills the container, before the
// exec is answered.
void on_refused_exec(WatcherState& state, const Alert& alert) {
    state.sink->emit(alert);
    if (alert.action == Action::kill) {
        record_kill(state, alert);
        kill_cgroup(state.cgroup_path);
    }
}

struct Rings {
    UniqueFd alerts;    // the slot's ring
    UniqueFd verdicts;  // its verdict ring: what the kernel refused or killed
};

// Both rings in one ring_buffer (verdicts first: they are consumed first).
ring_buffer* open_rings(const Rings& rings, WatcherState& state) {
    ring_buffer* rb = ring_buffer__new(rings.verdicts.get(), on_event, &state, nullptr);
    if (rb && ring_buffer__add(rb, rings.alerts.get(), on_event, &state) != 0) {
        ring_buffer__free(rb);
        return nullptr;
    }
    return rb;
}

[[noreturn]] void watch(Monitor& monitor, const MonitorConfig& config,
                        const ContainerIdentity& container, const ContainerPolicy& policy,
                        const std::string& state_dir, const Rings& rings, UniqueFd events,
                        UniqueFd exec_socket) {
    AlertSink sink(config.outputs, state_dir, policy);
    AlertQueue alerts(sink);
    WatcherState state(policy, config, alerts, monitor, container, state_dir);
    ring_buffer* rb = open_rings(rings, state);
    if (!rb)
        _exit(1);
    std::optional<ExecVerdicts> verdicts;
    if (exec_socket)
        verdicts.emplace(
            ExecVerdicts::Context{monitor, policy, container.cgroup2_id, container.pid,
                                  state.processes, [rb] { ring_buffer__consume(rb); },
                                  [&state](const Alert& a) { on_refused_exec(state, a); }},
            std::move(exec_socket));
    // A ring made ahead of the next create's need, on a thread of its own: each map-in-map
    // update waits for an RCU grace period, while a flood may be filling this container's ring.
    std::thread top_up = quiet_thread([&monitor] {
        try {
            monitor.top_up_rings();
        } catch (const Error&) {
            // the next create makes its own
        }
    });
    // One watcher per container: idle, it hands brig's read-only pages back to the page cache
    // (the code that set it up, or that wrote the last alerts) and sleeps in poll without a
    // timeout, touching none until the next event (the kernel maps 64 KiB around each page it
    // faults in, so a loop that woke every second would keep most of them resident).
    release_resident_text();
    bool trimmed = true;
    for (;;) {
        std::vector<pollfd> fds = {{ring_buffer__epoll_fd(rb), POLLIN, 0},
                                   {events.get(), POLLPRI, 0}};
        if (verdicts)
            verdicts->add_pollfds(fds);
        if (::poll(fds.data(), fds.size(), poll_timeout_ms(state, trimmed)) == 0 &&
            !work_left(state)) {
            release_resident_text();  // a quiet second after events
            trimmed = true;
            continue;
        }
        trimmed = false;
        if (verdicts)
            verdicts->serve(fds.data() + 2, fds.size() - 2);
        // A busy container's events are taken in batches: one wake-up per event would cost the
        // container a context switch per exec or open (the kernel has already acted on them).
        // Execs waiting for a verdict are answered meanwhile.
        if (ring_buffer__consume(rb) > 0) {
            if (verdicts) {
                verdicts->serve_for(kBatchNs);
            } else {
                struct timespec batch {
                    0, kBatchNs
                };
                ::nanosleep(&batch, nullptr);  // SIGUSR1 (delete) cuts it short
            }
        }
        bool populated = cgroup_populated(events.get());
        if (!populated)
            ring_buffer__consume(rb);  // the last events
        flush_repeats(state, !populated);
        emit_internal_alerts(state, !populated);
        if (!populated) {
            ring_buffer__free(rb);
            alerts.flush();
            top_up.join();
            _exit(0);
        }
    }
}

}  // namespace

namespace {

// Closes every fd above stderr except those in `keep` (-1 entries ignored).
void close_all_but(std::vector<int> keep) {
    std::erase(keep, -1);
    std::sort(keep.begin(), keep.end());
    unsigned first = 3;
    for (int fd : keep) {
        if (static_cast<unsigned>(fd) > first)
            syscall(SYS_close_range, first, static_cast<unsigned>(fd) - 1, 0);
        first = std::max(first, static_cast<unsigned>(fd) + 1);
    }
    syscall(SYS_close_range, first, ~0U, 0);
}

}  // namespace

pid_t start_watcher(Monitor& monitor, const MonitorConfig& config,
                    const ContainerIdentity& container, const ContainerPolicy& policy,
                    const std::string& container_state_dir, UniqueFd exec_socket) {
    Rings rings{UniqueFd(monitor.ring_fd(container.cgroup2_id)),
                UniqueFd(monitor.verdict_ring_fd(container.cgroup2_id))};
    UniqueFd events(
        ::open((container.cgroup2_path + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
    if (!events)
        throw_errno("open " + container.cgroup2_path + "/cgroup.events");
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
        throw_errno("pipe for the watcher's pid");
    UniqueFd report_read(report[0]), report_write(report[1]);
    pid_t child = ::fork();
    if (child < 0)
        throw_errno("fork the monitor watcher");
    if (child == 0) {
        // Double fork: the watcher is nobody's child and outlives `brig create`.
        ::setsid();
        pid_t watcher = ::fork();
        if (watcher != 0) {
            [[maybe_unused]] ssize_t n = ::write(report_write.get(), &watcher, sizeof(watcher));
            _exit(watcher > 0 ? 0 : 1);
        }
        report_write.reset();
        report_read.reset();
        ::prctl(PR_SET_NAME, "brig-monitor");
        int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        ::dup2(null_fd, STDIN_FILENO);
        if (!config.outputs.to_stdout)
            ::dup2(null_fd, STDOUT_FILENO);
        ::dup2(null_fd, STDERR_FILENO);
        if (null_fd > STDERR_FILENO)
            ::close(null_fd);
        // Nothing of brig's (its caller's pipes, the container's sync socket) stays open in the
        // long-lived watcher, and `run`'s blocked signals are not blocked here.
        // The monitor's map fds stay: opening the pinned maps again costs a syscall each.
        std::vector<int> keep = monitor.fds();
        keep.insert(keep.end(),
                    {rings.alerts.get(), rings.verdicts.get(), events.get(), exec_socket.get()});
        close_all_but(std::move(keep));
        // SIGUSR1 (from delete) only interrupts the poll: drain the ring and notice the end now.
        struct sigaction wake {};
        wake.sa_handler = [](int) {};
        sigaction(SIGUSR1, &wake, nullptr);
        ::signal(SIGPIPE, SIG_IGN);  // a closed output (program, stdout) is a counted failure
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        try {
            watch(monitor, config, container, policy, container_state_dir, rings, std::move(events),
                  std::move(exec_socket));
        } catch (...) {
            _exit(1);
        }
    }
    report_write.reset();
    exec_socket.reset();  // the watcher's now
    pid_t watcher = -1;
    ssize_t n = ::read(report_read.get(), &watcher, sizeof(watcher));
    int status = 0;
    ::waitpid(child, &status, 0);
    if (n != sizeof(watcher) || watcher <= 0)
        throw Error("monitor: the watcher did not start");
    return watcher;
}

}  // namespace brig::monitor
