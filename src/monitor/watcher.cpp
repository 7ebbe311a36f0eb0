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
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "monitor/alert_queue.hpp"
#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/exec_verdicts.hpp"
#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/resident.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {

namespace {

// ~256 KiB ring / ~1 KiB events: at 10 ms per batch the ring holds >20000 events/s.
constexpr long kBatchNs = 10'000'000;

struct WatcherState {
    const ContainerPolicy* policy;
    AlertQueue* sink;
    ProcessTable processes;
    std::string cgroup_path;
    uint64_t cgroup_id;
    std::string state_dir;
    bool killed = false;
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

int on_event(void* ctx, void* data, size_t size) {
    auto& state = *static_cast<WatcherState*>(ctx);
    if (size < sizeof(brig_event))
        return 0;
    const auto& event = *static_cast<const brig_event*>(data);
    if (event.cgroup_id != state.cgroup_id)
        return 0;  // left in the pool's ring by its previous holder
    std::vector<Alert> alerts = match_event(event, *state.policy, state.processes);
    // Killed by the kernel: not the exec the watcher approved (the rules that match what it
    // really was are alerted and carried out as well).
    if (event.type == BRIG_EV_EXEC && (event.flags & BRIG_EXEC_UNAPPROVED))
        alerts.push_back(unapproved_exec_alert(event, *state.policy));
    for (const Alert& alert : alerts) {
        state.sink->emit(alert);
        if (alert.action == Action::alert)
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
    return 0;
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

void emit_drop_alert(AlertQueue& sink, const ContainerPolicy& policy, uint64_t dropped) {
    Alert alert;
    struct timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    alert.time = rfc3339(now);
    alert.rule = "brig dropped events";
    alert.priority = Priority::critical;
    alert.output = alert.time + ": Critical " + std::to_string(dropped) + " events of container " +
                   policy.container_id + " were dropped (ring buffer full)";
    alert.output_fields = {{"container.id", policy.container_id},
                           {"brig.dropped", std::to_string(dropped)}};
    alert.tags = {"brig", "drops"};
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    alert.hostname = host;
    sink.emit(alert);
}

[[noreturn]] void watch(Monitor& monitor, const MonitorConfig& config,
                        const ContainerIdentity& container, const ContainerPolicy& policy,
                        const std::string& state_dir, UniqueFd ring, UniqueFd events,
                        UniqueFd exec_socket) {
    AlertSink sink(config.outputs, state_dir, policy.container_id);
    AlertQueue alerts(sink);
    WatcherState state{&policy,  &alerts, {}, container.cgroup2_path, container.cgroup2_id,
                       state_dir};
    ring_buffer* rb = ring_buffer__new(ring.get(), on_event, &state, nullptr);
    if (!rb)
        _exit(1);
    std::optional<ExecVerdicts> verdicts;
    if (exec_socket)
        verdicts.emplace(
            ExecVerdicts::Context{monitor, policy, container.cgroup2_id, container.pid,
                                  state.processes, [rb] { ring_buffer__consume(rb); },
                                  [&state](const Alert& a) { on_refused_exec(state, a); }},
            std::move(exec_socket));
    try {
        monitor.top_up_rings();  // a ring made ahead of the next create's need
    } catch (const Error&) {
        // the next create makes its own
    }
    uint64_t reported_drops = 0;
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
        if (::poll(fds.data(), fds.size(), trimmed ? -1 : 1000) == 0) {
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
        uint64_t dropped = monitor.dropped_events(container.cgroup2_id);
        if (dropped > reported_drops) {
            emit_drop_alert(alerts, policy, dropped - reported_drops);
            reported_drops = dropped;
        }
        if (!populated) {
            ring_buffer__free(rb);
            alerts.flush();
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

pid_t start_watcher(const MonitorConfig& config, const ContainerIdentity& container,
                    const ContainerPolicy& policy, const std::string& container_state_dir,
                    UniqueFd exec_socket) {
    Monitor monitor = Monitor::open(config);
    UniqueFd ring(monitor.ring_fd(container.cgroup2_id));
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
        close_all_but({ring.get(), events.get(), exec_socket.get()});
        // SIGUSR1 (from delete) only interrupts the poll: drain the ring and notice the end now.
        struct sigaction wake {};
        wake.sa_handler = [](int) {};
        sigaction(SIGUSR1, &wake, nullptr);
        ::signal(SIGPIPE, SIG_IGN);  // a closed output (program, stdout) is a counted failure
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        try {
            // brig's own fds, the parent's map fds among them, are closed: open the pinned maps
            // again for the drop counters.
            Monitor own = Monitor::open(config);
            watch(own, config, container, policy, container_state_dir, std::move(ring),
                  std::move(events), std::move(exec_socket));
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
