#include "monitor/exec_verdicts.hpp"

#include "monitor/bpf/syscall_table.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "monitor/quiet_thread.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/linux/terminal.hpp"

namespace brig::monitor {

// ---- the decision -----------------------------------------------------------------------------

namespace {

uint32_t check_of_field(const std::string& field) {
    static const char* const parent_fields[] = {"proc.pname", "proc.ppid", "proc.pexe",
                                                "proc.pexepath", "proc.pcmdline"};
    for (const char* name : parent_fields)
        if (field == name)
            return BRIG_EXEC_CHECK_PARENT;
    for (const char* ancestors : {"proc.aname", "proc.aexe", "proc.apid"})
        if (field.starts_with(ancestors))
            return BRIG_EXEC_CHECK_PARENT;
    if (field.starts_with("user."))
        return BRIG_EXEC_CHECK_UID;
    if (field == "proc.tty")
        return BRIG_EXEC_CHECK_TTY;
    if (field == "proc.exe_new" || field == "proc.is_exe_upper_layer")
        return BRIG_EXEC_CHECK_EXE_NEW;
    return 0;
}

}  // namespace

uint32_t exec_checks_of(const Expr& condition) {
    uint32_t checks = BRIG_EXEC_CHECK_CALL;
    if (condition.kind == Expr::Kind::compare)
        checks |= check_of_field(condition.field);
    for (const auto& child : condition.children)
        checks |= exec_checks_of(*child);
    return checks;
}

std::string kernel_exec_filename(bool execveat, int dirfd, const std::string& path) {
    std::string name = path;
    if (execveat && dirfd != AT_FDCWD && !path.starts_with("/"))
        name = "/dev/fd/" + std::to_string(dirfd) + (path.empty() ? "" : "/" + path);
    if (name.size() > BRIG_PATH_LEN - 1)
        name.resize(BRIG_PATH_LEN - 1);
    return name;
}

std::string exec_args_area(const std::vector<std::string>& argv) {
    std::string area;
    for (const auto& arg : argv) {
        area += arg;
        area += '\0';
        if (area.size() >= BRIG_ARGS_LEN)
            break;
    }
    if (argv.empty())
        area = std::string(1, '\0');  // the kernel gives a program without argv one ""
    if (area.size() > BRIG_ARGS_LEN)
        area.resize(BRIG_ARGS_LEN);
    return area;
}

int tty_index_of(unsigned long tty_nr) {
    if (tty_nr == 0)
        return -1;
    unsigned major = (tty_nr >> 8) & 0xfff;
    unsigned minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    if (major >= 136 && major <= 143)  // /dev/pts/N
        return static_cast<int>((major - 136) * 256 + minor);
    return static_cast<int>(minor);
}

namespace {

struct Outcome {
    Action action = Action::alert;
    std::vector<Alert> alerts;
    bool refused() const { return action != Action::alert; }
};

Outcome outcome_of(const brig_event& exec, const ContainerPolicy& policy,
                   const ProcessTable& processes) {
    EventFields fields = event_fields(exec, policy);
    processes.describe_exec(exec, fields);
    Outcome outcome;
    outcome.alerts = match_judged_rules(exec, fields, policy);
    for (const Alert& alert : outcome.alerts)
        outcome.action = std::max(outcome.action, alert.action);
    return outcome;
}

// The outcome for an old file and for a new one: the same unless a rule names proc.exe_new.
std::array<Outcome, 2> outcomes_of(brig_event exec, const ContainerPolicy& policy,
                                   const ProcessTable& processes) {
    exec.exe_new = 0;
    Outcome old_file = outcome_of(exec, policy, processes);
    if (!(policy.exec_checks & BRIG_EXEC_CHECK_EXE_NEW))
        return {old_file, old_file};
    exec.exe_new = 1;
    return {old_file, outcome_of(exec, policy, processes)};
}

void copy_text(char* out, size_t size, const std::string& text) {
    std::memset(out, 0, size);
    std::memcpy(out, text.data(), std::min(text.size(), size - 1));
}

}  // namespace

ExecJudgement judge_exec(const brig_event& pending, const ContainerPolicy& policy,
                         const ProcessTable& processes, const std::optional<Reaper>& reaper) {
    auto own = outcomes_of(pending, policy, processes);
    ExecJudgement judgement;
    if (own[0].refused() && own[1].refused()) {
        judgement.action = std::max(own[0].action, own[1].action);
        judgement.alerts = std::move(own[0].alerts);
        return judgement;
    }
    if (own[0].refused() != own[1].refused())
        judgement.exe_new = own[0].refused();  // it may run only as the kind of file not refused
    bool by_parent = policy.exec_checks & BRIG_EXEC_CHECK_PARENT;
    if (by_parent && reaper && reaper->pid != pending.ppid) {
        brig_event adopted = pending;
        adopted.ppid = reaper->pid;
        copy_text(adopted.pcomm, sizeof(adopted.pcomm), reaper->comm);
        auto theirs = outcomes_of(adopted, policy, processes);
        judgement.reaper_too = (own[0].refused() || !theirs[0].refused()) &&
                               (own[1].refused() || !theirs[1].refused());
    }
    return judgement;
}

brig_exec_approval approval_of(const brig_event& pending, const ExecJudgement& judgement,
                               uint32_t checks, const std::optional<Reaper>& reaper) {
    brig_exec_approval approval{};
    approval.checks = checks & ~BRIG_EXEC_CHECK_EXE_NEW;
    if (judgement.exe_new) {
        approval.checks |= BRIG_EXEC_CHECK_EXE_NEW;
        approval.exe_new = *judgement.exe_new;
    }
    approval.uid = pending.uid;
    approval.tty = pending.tty;
    approval.ppid = pending.ppid;
    std::memcpy(approval.pcomm, pending.pcomm, sizeof(approval.pcomm));
    approval.pcomm[sizeof(approval.pcomm) - 1] = 0;
    if (judgement.reaper_too && reaper) {
        approval.alt_ppid = reaper->pid;
        copy_text(approval.alt_pcomm, sizeof(approval.alt_pcomm), reaper->comm);
    }
    approval.args_len = std::min<uint32_t>(pending.args_len, sizeof(approval.args));
    std::memcpy(approval.args, pending.args, approval.args_len);
    copy_text(approval.filename, sizeof(approval.filename),
              std::string(pending.path, strnlen(pending.path, sizeof(pending.path))));
    return approval;
}

namespace {

// brig's own rules, as compiled rules so that their alerts look like every other.
CompiledRule brig_rule(const std::string& name, const std::string& output) {
    CompiledRule rule;
    rule.name = name;
    rule.output = output;
    rule.priority = Priority::critical;
    rule.tags = {"brig", "process", "mitre_execution"};
    rule.action = Action::kill;
    return rule;
}

uint64_t boot_now_ns() {
    struct timespec now {};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + now.tv_nsec;
}

}  // namespace

Alert unapproved_exec_alert(const brig_event& exec, const ContainerPolicy& policy) {
    static const CompiledRule rule =
        brig_rule("brig exec not approved",
                  "Exec killed before it ran: it was not the exec the monitor approved "
                  "(container.id=%container.id proc.name=%proc.name proc.exe=%proc.exe "
                  "proc.cmdline=%proc.cmdline proc.pname=%proc.pname proc.pid=%proc.pid)");
    Alert alert = rule_alert(rule, event_fields(exec, policy), exec.boot_ns, policy);
    alert.enforced_in_kernel = true;
    return alert;
}

// ---- reading the pending exec -----------------------------------------------------------------

namespace {

constexpr uint32_t kX32Bit = 0x40000000;

struct ExecCall {
    bool execveat = false;
    int dirfd = AT_FDCWD;
    uint64_t path = 0;
    uint64_t argv = 0;
    unsigned pointer_size = 8;
};

// The arguments of the execve/execveat the filter held, by ABI: i386 and x32 pass 32-bit
// pointers.
std::optional<ExecCall> exec_call_of(const seccomp_data& data) {
    bool i386 = data.arch == AUDIT_ARCH_I386;
    bool narrow = i386 || (data.nr & kX32Bit);
    int nr = i386 ? data.nr : data.nr & ~kX32Bit;
    bool execve = i386 ? nr == IA32_NR_execve : nr == NR_execve || nr == X32_NR_execve;
    bool execveat = i386 ? nr == IA32_NR_execveat : nr == NR_execveat || nr == X32_NR_execveat;
    if (!execve && !execveat)
        return std::nullopt;
    auto arg = [&](int i) { return narrow ? uint64_t{uint32_t(data.args[i])} : data.args[i]; };
    ExecCall call;
    call.execveat = execveat;
    call.pointer_size = narrow ? 4 : 8;
    call.dirfd = execveat ? static_cast<int>(data.args[0]) : AT_FDCWD;
    call.path = arg(execveat ? 1 : 0);
    call.argv = arg(execveat ? 2 : 1);
    return call;
}

// The caller's memory through /proc/PID/mem, read page by page (a string may end just before an
// unmapped page).
class TaskMemory {
public:
    explicit TaskMemory(int fd) : fd_(fd) {}

    // Up to `max` bytes of the NUL-terminated string at addr (without the NUL).
    std::optional<std::string> string_at(uint64_t addr, size_t max) const {
        std::string out;
        while (out.size() < max) {
            size_t chunk = std::min<size_t>(max - out.size(), 4096 - (addr & 4095));
            char buf[4096];
            ssize_t n = ::pread(fd_, buf, chunk, static_cast<off_t>(addr));
            if (n <= 0)
                return std::nullopt;
            size_t len = strnlen(buf, static_cast<size_t>(n));
            out.append(buf, len);
            if (len < static_cast<size_t>(n))
                return out;
            addr += static_cast<uint64_t>(n);
        }
        return out;
    }

    std::optional<uint64_t> pointer_at(uint64_t addr, unsigned size) const {
        uint64_t value = 0;
        if (::pread(fd_, &value, size, static_cast<off_t>(addr)) != static_cast<ssize_t>(size))
            return std::nullopt;
        return value;
    }

private:
    int fd_;
};

// argv, each argument cut to what fits in BRIG_ARGS_LEN bytes with the ones before it.
std::optional<std::vector<std::string>> read_argv(const TaskMemory& memory, const ExecCall& call) {
    std::vector<std::string> argv;
    size_t used = 0;
    for (uint64_t i = 0; call.argv && used < BRIG_ARGS_LEN; ++i) {
        auto pointer = memory.pointer_at(call.argv + i * call.pointer_size, call.pointer_size);
        if (!pointer)
            return std::nullopt;
        if (*pointer == 0)
            break;
        auto arg = memory.string_at(*pointer, BRIG_ARGS_LEN - used);
        if (!arg)
            return std::nullopt;
        used += arg->size() + 1;
        argv.push_back(std::move(*arg));
    }
    return argv;
}

std::string read_proc(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    char buf[4096];
    ssize_t n = fd ? ::read(fd.get(), buf, sizeof(buf) - 1) : -1;
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// A "Name:\tvalue" line of /proc/PID/status: its first number.
std::optional<uint32_t> status_field(const std::string& status, const std::string& name) {
    auto at = status.find("\n" + name + ":");
    if (at == std::string::npos)
        return std::nullopt;
    return static_cast<uint32_t>(std::strtoul(status.c_str() + at + name.size() + 2, nullptr, 10));
}

std::string comm_of(uint32_t pid) {
    std::string comm = read_proc("/proc/" + std::to_string(pid) + "/comm");
    if (!comm.empty() && comm.back() == '\n')
        comm.pop_back();
    return comm;
}

// tty_nr, the 7th field of /proc/PID/stat (after the command in parentheses).
unsigned long tty_nr_of(const std::string& stat) {
    auto close = stat.rfind(')');
    if (close == std::string::npos)
        return 0;
    const char* p = stat.c_str() + close + 1;
    for (int field = 3; field < 7 && *p; ++field) {
        while (*p == ' ')
            ++p;
        while (*p && *p != ' ')
            ++p;
    }
    return std::strtoul(p, nullptr, 10);
}

// The task's cgroup2 path (the "0::" line of /proc/PID/cgroup), "" when it cannot be read.
std::string cgroup_of(uint32_t pid) {
    std::string text = read_proc("/proc/" + std::to_string(pid) + "/cgroup");
    auto at = text.starts_with("0::") ? 0 : text.find("\n0::");
    if (at == std::string::npos)
        return {};
    at += text[at] == '\n' ? 4 : 3;
    return text.substr(at, text.find('\n', at) - at);
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<brig_event> read_pending_exec(const seccomp_notif& notification, int listener,
                                            uint64_t cgroup_id) {
    auto call = exec_call_of(notification.data);
    if (!call)
        return std::nullopt;
    const std::string proc = "/proc/" + std::to_string(notification.pid);
    UniqueFd mem(::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
    // Still the same task in the same syscall: the pid was not reused since the notification.
    uint64_t id = notification.id;
    if (!mem || ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0)
        return std::nullopt;
    TaskMemory memory(mem.get());
    auto path = memory.string_at(call->path, BRIG_PATH_LEN - 1);
    auto argv = read_argv(memory, *call);
    std::string status = read_proc(proc + "/status");
    auto tgid = status_field(status, "Tgid");
    auto ppid = status_field(status, "PPid");
    auto uid = status_field(status, "Uid");
    if (!path || !argv || !tgid || !ppid || !uid)
        return std::nullopt;
    brig_event e{};
    e.cgroup_id = cgroup_id;
    e.boot_ns = boot_now_ns();
    e.type = BRIG_EV_EXEC;
    e.syscall_nr = call->execveat ? NR_execveat : NR_execve;
    e.pid = *tgid;
    e.tid = notification.pid;
    e.ppid = *ppid;
    e.uid = *uid;
    e.tty = tty_index_of(tty_nr_of(read_proc(proc + "/stat")));
    std::string filename = kernel_exec_filename(call->execveat, call->dirfd, *path);
    copy_text(e.path, sizeof(e.path), filename);
    copy_text(e.comm, sizeof(e.comm), basename_of(filename));
    copy_text(e.exe, sizeof(e.exe), basename_of(filename));
    copy_text(e.pcomm, sizeof(e.pcomm), comm_of(*ppid));
    std::string area = exec_args_area(*argv);
    std::memcpy(e.args, area.data(), area.size());
    e.args_len = static_cast<uint32_t>(area.size());
    return e;
}

namespace {

// A `#!` script's exec runs its interpreter with the argv the kernel makes of the #! line
// (binfmt_script): the interpreter, its one optional argument, the script's file name, then
// argv[1..]; that is what the exec program compares. The area for one (`args`: the exec's own
// argv area, `filename` as bprm->filename), nullopt for no script. The file is read in the
// container's root (RESOLVE_IN_ROOT); one the task changes meanwhile makes the kernel's argv
// differ and the exec is killed, never let through.
std::optional<std::string> script_args_area(uint32_t tid, const std::string& filename,
                                            const std::string& args) {
    const std::string proc = "/proc/" + std::to_string(tid);
    UniqueFd dir(::open((proc + (filename.starts_with("/") ? "/root" : "/cwd")).c_str(),
                        O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        return std::nullopt;
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd file(
        static_cast<int>(::syscall(SYS_openat2, dir.get(), filename.c_str(), &how, sizeof(how))));
    char head[256];
    ssize_t n = file ? ::pread(file.get(), head, sizeof(head), 0) : -1;
    if (n < 2 || head[0] != '#' || head[1] != '!')
        return std::nullopt;
    std::string line(head + 2, static_cast<size_t>(n) - 2);
    line = line.substr(0, line.find('\n'));
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    auto trim = [&](std::string text) {
        size_t from = 0, to = text.size();
        while (from < to && blank(text[from]))
            ++from;
        while (to > from && blank(text[to - 1]))
            --to;
        return text.substr(from, to - from);
    };
    line = trim(line);
    size_t end = 0;
    while (end < line.size() && !blank(line[end]))
        ++end;
    const std::string interpreter = line.substr(0, end), argument = trim(line.substr(end));
    if (interpreter.empty())
        return std::nullopt;
    std::string area = interpreter + '\0';
    if (!argument.empty())
        area += argument + '\0';
    area += filename + '\0';
    area += args.substr(std::min(args.find('\0'), args.size() - 1) + 1);  // argv[1..]
    if (area.size() > BRIG_ARGS_LEN)
        area.resize(BRIG_ARGS_LEN);
    return area;
}

}  // namespace

}  // namespace brig::monitor

// ---- the watcher's side -----------------------------------------------------------------------

namespace brig::monitor {

namespace {

// A read of the caller's memory gets this long; then the exec is refused and the container
// killed.
constexpr auto kReadLimit = std::chrono::milliseconds(2000);

struct NotifSizes {
    size_t notif = sizeof(seccomp_notif);
    size_t resp = sizeof(seccomp_notif_resp);
};

// The kernel's sizes of the notification structs (a newer kernel's may be larger).
const NotifSizes& notif_sizes() {
    static const NotifSizes sizes = [] {
        NotifSizes s;
        seccomp_notif_sizes kernel{};
        if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &kernel) == 0) {
            s.notif = std::max<size_t>(s.notif, kernel.seccomp_notif);
            s.resp = std::max<size_t>(s.resp, kernel.seccomp_notif_resp);
        }
        return s;
    }();
    return sizes;
}

// Lets the exec run, or fails it with `error`. ENOENT from the kernel: the task was interrupted
// by a signal and will ask again.
void respond(int listener, uint64_t id, int error) {
    std::vector<char> buf(notif_sizes().resp, 0);
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(buf.data());
    resp->id = id;
    resp->error = -error;
    resp->flags = error ? 0 : SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

}  // namespace

ReadWatchdog::ReadWatchdog(std::chrono::milliseconds limit)
    : limit_(limit), thread_(quiet_thread([this] { run(); })) {}

ReadWatchdog::~ReadWatchdog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

// Neither begin nor end wakes the watchdog while it is watching: during a burst of execs it
// wakes once per limit, not per exec.
void ReadWatchdog::begin(std::function<void()> expire) {
    std::lock_guard lock(mutex_);
    since_ = Clock::now();
    on_expiry_ = std::move(expire);
    fired_ = false;
    ++reads_;
    if (idle_)
        changed_.notify_all();
}

bool ReadWatchdog::end() {
    std::unique_lock lock(mutex_);
    since_.reset();
    changed_.wait(lock, [&] { return !expiring_; });
    return fired_;
}

void ReadWatchdog::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (!since_) {
            idle_ = true;
            changed_.wait(lock);
            idle_ = false;
            continue;
        }
        const uint64_t read = reads_;
        changed_.wait_until(lock, *since_ + limit_, [&] { return stopping_; });
        if (stopping_ || !since_ || reads_ != read)
            continue;  // that read ended in time (another may be under way: watched next)
        fired_ = true;
        expiring_ = true;
        since_.reset();
        auto expire = std::move(on_expiry_);
        lock.unlock();
        expire();
        lock.lock();
        expiring_ = false;
        changed_.notify_all();
    }
}

ExecVerdicts::ExecVerdicts(Context context, UniqueFd socket)
    : context_(std::move(context)),
      socket_(std::move(socket)),
      watchdog_(std::make_unique<ReadWatchdog>(kReadLimit)) {}

ExecVerdicts::~ExecVerdicts() = default;

void ExecVerdicts::add_pollfds(std::vector<pollfd>& fds) const {
    fds.push_back({socket_.get(), POLLIN, 0});
    for (const auto& c : connections_)
        fds.push_back({c.get(), POLLIN, 0});
    for (const auto& l : listeners_)
        fds.push_back({l.get(), POLLIN, 0});
}

void ExecVerdicts::serve(const pollfd* fds, size_t count) {
    const size_t n_connections = connections_.size(), n_listeners = listeners_.size();
    if (count != 1 + n_connections + n_listeners)
        return;
    const pollfd* listener_fds = fds + 1 + n_connections;
    std::vector<bool> gone(n_listeners, false);
    for (size_t i = 0; i < n_listeners; ++i) {
        if (listener_fds[i].revents & POLLIN)
            answer(listeners_[i].get());
        else if (listener_fds[i].revents & (POLLHUP | POLLERR | POLLNVAL))
            gone[i] = true;  // every task that held the filter has exited
    }
    for (size_t i = n_listeners; i-- > 0;)
        if (gone[i])
            listeners_.erase(listeners_.begin() + static_cast<long>(i));
    // A connection sends one listener, then it is done with.
    for (size_t i = n_connections; i-- > 0;) {
        if (!fds[1 + i].revents)
            continue;
        try {
            UniqueFd listener = linux::receive_fd(connections_[i].get());
            if (!armed_) {
                context_.monitor.arm_exec_verdicts(context_.cgroup_id);
                armed_ = true;
            }
            listeners_.push_back(std::move(listener));
        } catch (const Error&) {
            // closed without a listener (the process failed before it held its execs), or
            // arming failed: then nothing is approved, every exec is refused
        }
        connections_.erase(connections_.begin() + static_cast<long>(i));
    }
    if (fds[0].revents & POLLIN)
        for (int c; (c = ::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC)) >= 0;)
            connections_.emplace_back(c);
}

void ExecVerdicts::serve_for(long ns) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::nanoseconds(ns);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return;
        std::vector<pollfd> fds;
        add_pollfds(fds);
        // 0: the pause is over; -1 (EINTR): delete's SIGUSR1 cuts it short.
        if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0)
            return;
        serve(fds.data(), fds.size());
    }
}

void ExecVerdicts::answer(int listener) {
    std::vector<char> buf(notif_sizes().notif, 0);
    auto* notification = reinterpret_cast<seccomp_notif*>(buf.data());
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notification) != 0)
        return;  // interrupted meanwhile: the task asks again
    const uint64_t id = notification->id;
    const uint32_t tid = notification->pid;
    watchdog_->begin([this, listener, id, tid] {
        refuse_unjudged(listener, id, tid, Action::kill, "brig exec verdict timed out",
                        "Exec refused and container killed: what it would run could not be read");
    });
    std::optional<brig_event> pending =
        read_pending_exec(*notification, listener, context_.cgroup_id);
    if (watchdog_->end())
        return;
    if (!pending) {
        respond(listener, id, EFAULT);  // gone, or an argument the kernel could not read either
        return;
    }
    answer_pending(listener, id, *pending);
}

void ExecVerdicts::answer_pending(int listener, uint64_t id, const brig_event& pending) {
    context_.catch_up();  // the execs of its ancestors, for proc.pname, proc.aname, ...
    // A parent outside the container (brig, for the init and `brig exec`'s processes) leaves
    // when brig does, which the container cannot make happen: the task then goes to a reaper
    // of the host, and the exec is still the one judged. Only a parent inside is compared.
    const bool parent_compared =
        (context_.policy.exec_checks & BRIG_EXEC_CHECK_PARENT) && parent_in_container(pending.ppid);
    const std::optional<Reaper> reaper = parent_compared ? reaper_of(pending) : std::nullopt;
    ExecJudgement judgement = judge_exec(pending, context_.policy, context_.processes, reaper);
    if (judgement.action != Action::alert) {
        // A shell tries each directory of PATH in turn: one alert for the tries of one command.
        std::string key = std::to_string(pending.tid) + '\0' +
                          std::string(pending.args, pending.args_len) + '\0' +
                          judgement.alerts.front().rule;
        if (key != last_refusal_)
            for (const Alert& alert : judgement.alerts)
                context_.refused(alert);
        last_refusal_ = std::move(key);
        respond(listener, id, EPERM);
        return;
    }
    brig_exec_approval approval =
        approval_of(pending, judgement, context_.policy.exec_checks, reaper);
    if (auto kernel_args = script_args_area(pending.tid, approval.filename,
                                            std::string(approval.args, approval.args_len))) {
        approval.args_len = static_cast<uint32_t>(kernel_args->size());
        std::memcpy(approval.args, kernel_args->data(), kernel_args->size());
    }
    if (!parent_compared)
        approval.checks &= ~BRIG_EXEC_CHECK_PARENT;
    if (!armed_ || !context_.monitor.approve_exec(context_.cgroup_id, pending.tid, approval)) {
        refuse_unjudged(listener, id, pending.tid, Action::deny, "brig exec verdict not recorded",
                        "Exec refused: its approval could not be recorded in the kernel");
        return;
    }
    respond(listener, id, 0);
}

bool ExecVerdicts::parent_in_container(uint32_t ppid) {
    if (container_cgroup_.empty() && context_.init_pid > 0)
        container_cgroup_ = cgroup_of(static_cast<uint32_t>(context_.init_pid));
    std::string cgroup = cgroup_of(ppid);
    // Unreadable (gone): judged as inside, the stricter.
    return cgroup.empty() || container_cgroup_.empty() || cgroup == container_cgroup_ ||
           cgroup.starts_with(container_cgroup_ + "/");
}

std::optional<Reaper> ExecVerdicts::reaper_of(const brig_event& pending) const {
    if (context_.init_pid <= 0 || pending.ppid == static_cast<uint32_t>(context_.init_pid))
        return std::nullopt;
    std::string comm = comm_of(static_cast<uint32_t>(context_.init_pid));
    if (comm.empty())
        return std::nullopt;
    return Reaper{static_cast<uint32_t>(context_.init_pid), comm};
}

void ExecVerdicts::refuse_unjudged(int listener, uint64_t id, uint32_t tid, Action action,
                                   const std::string& rule, const std::string& why) {
    CompiledRule brig = brig_rule(rule, why + " (container.id=%container.id proc.pid=%proc.pid)");
    brig.action = action;
    EventFields fields;
    fields.values["container.id"] = context_.policy.container_id;
    fields.values["proc.pid"] = std::to_string(tid);
    Alert alert = rule_alert(brig, fields, boot_now_ns(), context_.policy);
    alert.before_exec = true;
    context_.refused(alert);
    respond(listener, id, EPERM);
}

}  // namespace brig::monitor
