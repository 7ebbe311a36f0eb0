// The per-container watcher: a process forked by create that reads the container's ring, writes
// its alerts and finishes kills; it exits when the container's cgroup is empty. Enforcement does
// not depend on it: the kernel has already acted when an event reaches it.
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

#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
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
    AlertSink* sink;
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
    for (const Alert& alert : match_event(event, *state.policy, state.processes)) {
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

void emit_drop_alert(AlertSink& sink, const ContainerPolicy& policy, uint64_t dropped) {
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
                        const std::string& state_dir, UniqueFd ring, UniqueFd events) {
    AlertSink sink(config.outputs, state_dir, policy.container_id);
    WatcherState state{&policy, &sink, {}, container.cgroup2_path, container.cgroup2_id, state_dir};
    ring_buffer* rb = ring_buffer__new(ring.get(), on_event, &state, nullptr);
    if (!rb)
        _exit(1);
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
        pollfd fds[2] = {{ring_buffer__epoll_fd(rb), POLLIN, 0}, {events.get(), POLLPRI, 0}};
        if (::poll(fds, 2, trimmed ? -1 : 1000) == 0) {
            release_resident_text();  // a quiet second after events
            trimmed = true;
            continue;
        }
        trimmed = false;
        // A busy container's events are taken in batches: one wake-up per event would cost the
        // container a context switch per exec or open (the kernel has already acted on them).
        if (ring_buffer__consume(rb) > 0) {
            struct timespec batch {
                0, kBatchNs
            };
            ::nanosleep(&batch, nullptr);  // SIGUSR1 (delete) cuts it short
        }
        bool populated = cgroup_populated(events.get());
        if (!populated)
            ring_buffer__consume(rb);  // the last events
        uint64_t dropped = monitor.dropped_events(container.cgroup2_id);
        if (dropped > reported_drops) {
            emit_drop_alert(sink, policy, dropped - reported_drops);
            reported_drops = dropped;
        }
        if (!populated) {
            ring_buffer__free(rb);
            _exit(0);
        }
    }
}

}  // namespace

namespace {

// Closes every fd above stderr except keep_a and keep_b.
void close_all_but(int keep_a, int keep_b) {
    int lo = std::min(keep_a, keep_b), hi = std::max(keep_a, keep_b);
    auto close_range_of = [](unsigned first, unsigned last) {
        if (first <= last)
            syscall(SYS_close_range, first, last, 0);
    };
    close_range_of(3, static_cast<unsigned>(lo) - 1);
    close_range_of(static_cast<unsigned>(lo) + 1, static_cast<unsigned>(hi) - 1);
    close_range_of(static_cast<unsigned>(hi) + 1, ~0U);
}

}  // namespace

pid_t start_watcher(const MonitorConfig& config, const ContainerIdentity& container,
                    const ContainerPolicy& policy, const std::string& container_state_dir) {
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
        close_all_but(ring.get(), events.get());
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
                  std::move(events));
        } catch (...) {
            _exit(1);
        }
    }
    report_write.reset();
    pid_t watcher = -1;
    ssize_t n = ::read(report_read.get(), &watcher, sizeof(watcher));
    int status = 0;
    ::waitpid(child, &status, 0);
    if (n != sizeof(watcher) || watcher <= 0)
        throw Error("monitor: the watcher did not start");
    return watcher;
}

}  // namespace brig::monitor
