// User-space verdicts before the fact, the watcher's half (the kernel's half, and why it is
// needed: bpf/exec_verdicts.h). In a container with a rule judged_before_exec, every process
// brig starts holds its execs at a seccomp user notification (security::hold_execs) whose
// listener it hands to the container's watcher over <state dir>/exec-verdicts.sock. For each
// exec the watcher builds the event the kernel will report (the file name and argv from the
// caller's memory, the rest from /proc), judges it with those rules and answers: refused with
// EPERM (and, for kill, the container killed first), or let run (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
// once the kernel holds the approval it compares with what actually runs.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/monitor.hpp"
#include "runtime/common/unique_fd.hpp"

struct seccomp_notif;

namespace brig::monitor {

// ---- the decision (no I/O) --------------------------------------------------------------------

// The BRIG_EXEC_CHECK_* the kernel must compare for a judged condition: the call (file name
// and argv) always; the parent, uid, tty and "written after start" when it names them.
uint32_t exec_checks_of(const Expr& condition);

// bprm->filename of an exec: execveat of a relative or empty path from a directory fd names it
// /dev/fd/N/path (/dev/fd/N). Cut to BRIG_PATH_LEN - 1 bytes, as the exec program reads it.
std::string kernel_exec_filename(bool execveat, int dirfd, const std::string& path);
// The new program's argument area as the kernel lays it out (each argument and its NUL; no
// argument at all becomes one empty one), its first BRIG_ARGS_LEN bytes.
std::string exec_args_area(const std::vector<std::string>& argv);
// brig_event.tty (the terminal's index, -1 for none) from /proc/PID/stat's tty_nr.
int tty_index_of(unsigned long tty_nr);

// The process an exec's task goes to if its parent exits before the exec completes (the
// container's init).
struct Reaper {
    uint32_t pid = 0;
    std::string comm;
};

struct ExecJudgement {
    Action action = Action::alert;  // deny or kill: refused; alert: it may run
    std::vector<Alert> alerts;      // of the rules that refuse it
    std::optional<bool> exe_new;    // it may run only if proc.exe_new is this
    bool reaper_too = false;        // it may also run with the reaper as its parent
};

// Judges a pending exec (the exec event the kernel will report; proc.exe_new unknown) with the
// rules judged before exec: refused when one matches whatever proc.exe_new turns out to be.
ExecJudgement judge_exec(const brig_event& pending, const ContainerPolicy& policy,
                         const ProcessTable& processes, const std::optional<Reaper>& reaper);
// What the kernel must see at the exec for it to run.
brig_exec_approval approval_of(const brig_event& pending, const ExecJudgement& judgement,
                               uint32_t checks, const std::optional<Reaper>& reaper);
// brig's alert for an exec the kernel killed as not the one approved.
Alert unapproved_exec_alert(const brig_event& exec, const ContainerPolicy& policy);

// ---- the watcher's side -----------------------------------------------------------------------

// The exec a notification holds, read from the caller (nullopt when its memory or /proc entry
// cannot be read: it is gone, or gave a bad pointer).
std::optional<brig_event> read_pending_exec(const seccomp_notif& notification, int listener,
                                            uint64_t cgroup_id);

// Reading the caller's memory can block: a page that never comes (a file of a FUSE mount the
// container serves). The watchdog bounds each read: past `limit` it runs the read's `expire`
// (which refuses the exec and kills the container, ending the read) on a thread of its own,
// asleep the rest of the time. (A thread per read would cost every exec two more wake-ups.)
class ReadWatchdog {
public:
    explicit ReadWatchdog(std::chrono::milliseconds limit);
    ~ReadWatchdog();
    ReadWatchdog(const ReadWatchdog&) = delete;
    ReadWatchdog& operator=(const ReadWatchdog&) = delete;

    void begin(std::function<void()> expire);
    // The read is over; true when `expire` ran (then it has returned).
    bool end();

private:
    using Clock = std::chrono::steady_clock;
    void run();

    const std::chrono::milliseconds limit_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<Clock::time_point> since_;
    std::function<void()> on_expiry_;
    uint64_t reads_ = 0;
    bool fired_ = false, expiring_ = false, idle_ = false, stopping_ = false;
    std::thread thread_;
};

class ExecVerdicts {
public:
    struct Context {
        Monitor& monitor;
        const ContainerPolicy& policy;
        uint64_t cgroup_id;
        pid_t init_pid;  // the container's init: the reaper of orphans
        ProcessTable& processes;
        std::function<void()> catch_up;  // reads the ring: the ancestors' execs
        // Each refusing alert, before the exec is answered: kill kills the container here.
        std::function<void(const Alert&)> refused;
    };
    // `socket`: listen_exec_hold's, where processes hand their listeners.
    ExecVerdicts(Context context, UniqueFd socket);
    ~ExecVerdicts();

    // What to poll (POLLIN): the socket, connections that have not sent a listener yet, and
    // the listeners.
    void add_pollfds(std::vector<pollfd>& fds) const;
    // Serves what poll reported in the entries add_pollfds added (in the same order).
    void serve(const pollfd* fds, size_t count);
    // Waits `ns`, answering execs meanwhile (the watcher's batching pause).
    void serve_for(long ns);

private:
    void answer(int listener);
    void answer_pending(int listener, uint64_t id, const brig_event& pending);
    std::optional<Reaper> reaper_of(const brig_event& pending) const;
    bool parent_in_container(uint32_t ppid);
    void refuse_unjudged(int listener, uint64_t id, uint32_t tid, Action action,
                         const std::string& rule, const std::string& why);

    Context context_;
    UniqueFd socket_;
    std::vector<UniqueFd> connections_;
    std::vector<UniqueFd> listeners_;
    std::unique_ptr<ReadWatchdog> watchdog_;
    bool armed_ = false;
    std::string container_cgroup_;  // as /proc/PID/cgroup names it
    std::string last_refusal_;      // task, argv and rule of the last refused exec
};

}  // namespace brig::monitor
