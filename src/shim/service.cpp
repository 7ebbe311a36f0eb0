#include "shim/service.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "events.pb.h"
#include "runtime/common/scope_guard.hpp"
#include "runtime/common/version.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/lifecycle/stats.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/state/state_store.hpp"
#include "shim/handler_options.hpp"
#include "shim/metrics.hpp"
#include "task.pb.h"
#include "wire.pb.h"

namespace brig::shim {
namespace {

namespace task = containerd::task::v2;
namespace ev = containerd::events;
using ttrpc::Code;
using ttrpc::RpcError;

template <typename M>
M parse(const std::string& payload, const char* name) {
    M m;
    if (!m.ParseFromString(payload))
        throw RpcError(Code::invalid_argument, std::string("malformed ") + name);
    return m;
}

std::string empty() {
    return brig::wire::Empty().SerializeAsString();
}

void set_time(brig::wire::Timestamp* out, int64_t seconds, int32_t nanos) {
    out->set_seconds(seconds);
    out->set_nanos(nanos);
}

// A listening socket in a private directory for the exec's --console-socket.
struct ConsoleListener {
    std::string dir;
    std::string path;
    UniqueFd fd;

    ConsoleListener() {
        char tmpl[] = "/tmp/brig-shim-XXXXXX";
        if (!mkdtemp(tmpl))
            throw_errno("console socket: mkdtemp");
        dir = tmpl;
        path = dir + "/console.sock";
        fd.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size());
        if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd.get(), 1) != 0)
            throw_errno("console socket " + path);
    }
    ~ConsoleListener() {
        fd.reset();
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
};

UniqueFd try_receive_pty(int socket) {
    int flags = fcntl(socket, F_GETFL);
    fcntl(socket, F_SETFL, flags | O_NONBLOCK);
    try {
        return linux::receive_fd(socket);
    } catch (const Error&) {
        return {};  // the config did not ask for a terminal after all
    }
}

void mount_rootfs(const task::Mount& m, const std::string& target) {
    auto options = linux::parse_mount_options({m.options().begin(), m.options().end()});
    unsigned long flags = options.flags;
    std::string type = m.type();
    if (type == "bind" || type == "rbind")
        flags |= MS_BIND | (type == "rbind" ? MS_REC : 0);
    if (::mount(m.source().c_str(), target.c_str(), type.c_str(), flags,
                options.data.empty() ? nullptr : options.data.c_str()) != 0)
        throw_errno("rootfs: cannot mount " + m.type() + " " + m.source() + " on " + target);
}

task::Status status_of(state::Status s) {
    switch (s) {
        case state::Status::creating:
        case state::Status::created:
            return task::CREATED;
        case state::Status::running:
            return task::RUNNING;
        case state::Status::paused:
            return task::PAUSED;
        case state::Status::stopped:
            return task::STOPPED;
    }
    return task::UNKNOWN;
}

}  // namespace

TaskService::TaskService(EventLoop& loop, EventSink& events, const Logger& log,
                         ServiceOptions options)
    : loop_(loop),
      events_(events),
      log_(log),
      options_(std::move(options)),
      runtime_(options_.state_root, log, false, options_.monitor) {
    std::filesystem::create_directories(options_.state_root);
}

lifecycle::Runtime TaskService::runtime_for(const Task& t) const {
    return lifecycle::Runtime(options_.state_root, log_, false,
                              t.monitor ? t.monitor : options_.monitor);
}

TaskService::~TaskService() {
    for (auto& [id, t] : tasks_) {
        if (t->init.pidfd_token)
            loop_.remove(t->init.pidfd_token);
        for (auto& [eid, p] : t->execs)
            if (p->pidfd_token)
                loop_.remove(p->pidfd_token);
        unwatch_oom(*t);
    }
}

std::optional<std::string> TaskService::handle(const ttrpc::Call& call) {
    const auto& service = call.request.service();
    const auto& method = call.request.method();
    if (service != task_service_name)
        throw RpcError(Code::unimplemented, "service " + service + " not found");
    const std::string& p = call.request.payload();
    std::optional<std::string> out;
    if (method == "Create")
        out = create(p);
    else if (method == "Start")
        out = start(p);
    else if (method == "Delete")
        out = remove(p);
    else if (method == "State")
        out = state(p);
    else if (method == "Pids")
        out = pids(p);
    else if (method == "Pause")
        out = pause(p, true);
    else if (method == "Resume")
        out = pause(p, false);
    else if (method == "Kill")
        out = kill(p);
    else if (method == "Exec")
        out = exec(p);
    else if (method == "ResizePty")
        out = resize_pty(p);
    else if (method == "CloseIO")
        out = close_io(p);
    else if (method == "Update")
        out = update(p);
    else if (method == "Wait")
        out = wait(call);
    else if (method == "Stats")
        out = stats(p);
    else if (method == "Connect")
        out = connect(p);
    else if (method == "Shutdown")
        out = shutdown(p);
    else if (method == "Checkpoint")
        throw RpcError(Code::unimplemented, "checkpoint is not supported by brig");
    else
        throw RpcError(Code::unimplemented, "method " + service + "/" + method + " not found");
    // Runtime calls fork; a process may have exited meanwhile without its pidfd being polled yet.
    reap();
    return out;
}

TaskService::Task& TaskService::task(const std::string& id) {
    auto it = tasks_.find(id);
    if (it == tasks_.end())
        throw RpcError(Code::not_found, "task " + id + " does not exist");
    return *it->second;
}

TaskService::Process& TaskService::process(Task& t, const std::string& exec_id) {
    if (exec_id.empty())
        return t.init;
    auto it = t.execs.find(exec_id);
    if (it == t.execs.end())
        throw RpcError(Code::not_found, "process " + exec_id + " does not exist in task " + t.id);
    return *it->second;
}

void TaskService::publish(const std::string& topic, const std::string& type,
                          const std::string& event) {
    events_.publish(topic, type, event);
}

std::string TaskService::create(const std::string& payload) {
    auto req = parse<task::CreateTaskRequest>(payload, "CreateTaskRequest");
    if (tasks_.count(req.id()))
        throw RpcError(Code::already_exists, "task " + req.id() + " already exists");
    if (!req.checkpoint().empty())
        throw RpcError(Code::unimplemented, "restoring from a checkpoint is not supported");
    struct stat st {};
    if (req.bundle().empty() || stat(req.bundle().c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw RpcError(Code::not_found, "bundle \"" + req.bundle() + "\" does not exist");

    auto t = std::make_unique<Task>();
    t->id = req.id();
    t->bundle = req.bundle();
    const std::string rootfs = t->bundle + "/rootfs";
    ScopeGuard unmount([&] {
        if (!t->rootfs_mount.empty())
            umount2(t->rootfs_mount.c_str(), MNT_DETACH);
    });
    if (req.rootfs_size() > 0) {
        mkdir(rootfs.c_str(), 0711);
        // Several mounts stack in order, as the snapshotter lists them.
        for (const auto& m : req.rootfs()) {
            mount_rootfs(m, rootfs);
            t->rootfs_mount = rootfs;
        }
    }

    Process& init = t->init;
    init.stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
    init.io = std::make_unique<ProcessIo>(loop_, init.stdio);
    UniqueFd console_ours, console_theirs;
    if (req.terminal()) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            throw_errno("console socketpair");
        console_ours.reset(pair[0]);
        console_theirs.reset(pair[1]);
    }
    lifecycle::CreateOptions options;
    options.id = req.id();
    options.bundle = req.bundle();
    options.console_socket_fd = console_theirs ? console_theirs.get() : -1;
    options.stdio = {init.io->child_fd(0), init.io->child_fd(1), init.io->child_fd(2)};
    lifecycle::StartedInit started;
    try {
        const HandlerOptions handler =
            parse_handler_options(req.options().type_url(), req.options().value());
        options.no_pivot = handler.no_pivot_root;
        options.no_new_keyring = handler.no_new_keyring;
        ServiceOptions::Handler configured{options_.monitor, false};
        if (options_.handler_for)
            configured = options_.handler_for(handler.config_path);
        t->monitor = configured.monitor;
        lifecycle::Runtime runtime(options_.state_root, log_,
                                   handler.systemd_cgroup || configured.systemd_cgroup, t->monitor);
        started = runtime.create(options);
    } catch (const RpcError&) {
        throw;
    } catch (const Error& e) {
        Code code = e.errnum() == EEXIST ? Code::already_exists : Code::unknown;
        throw RpcError(code, std::string("create: ") + e.what());
    }
    init.io->release_child_fds();
    if (console_ours) {
        console_theirs.reset();
        if (UniqueFd master = try_receive_pty(console_ours.get()))
            init.io->attach_pty(std::move(master));
    }
    init.pid = started.pid;
    init.pidfd = std::move(started.pidfd);
    try {
        t->oom_watch = runtime_.watch_oom(t->id);
    } catch (const Error& e) {
        log_.warn(std::string("create: no OOM events: ") + e.what());
    }
    unmount.dismiss();
    Task& ref = *t;
    tasks_.emplace(req.id(), std::move(t));
    watch(ref.init);
    watch_oom(ref);

    ev::TaskCreate e;
    e.set_container_id(req.id());
    e.set_bundle(req.bundle());
    *e.mutable_rootfs() = req.rootfs();
    e.mutable_io()->set_stdin(req.stdin());
    e.mutable_io()->set_stdout(req.stdout());
    e.mutable_io()->set_stderr(req.stderr());
    e.mutable_io()->set_terminal(req.terminal());
    e.set_pid(static_cast<uint32_t>(init.pid));
    publish("/tasks/create", "containerd.events.TaskCreate", e.SerializeAsString());

    task::CreateTaskResponse r;
    r.set_pid(static_cast<uint32_t>(init.pid));
    return r.SerializeAsString();
}

void TaskService::watch(Process& p) {
    if (!p.pidfd)
        return;
    p.pidfd_token = loop_.add(p.pidfd.get(), EPOLLIN, [this](uint32_t) { reap(); });
}

void TaskService::watch_oom(Task& t) {
    if (!t.oom_watch || t.oom_watch->fd() < 0)
        return;
    t.oom_token = loop_.add(t.oom_watch->fd(), EPOLLIN, [this, id = t.id](uint32_t) {
        auto it = tasks_.find(id);
        if (it == tasks_.end())
            return;
        if (!check_oom(*it->second))
            recheck_oom_soon(*it->second);
    });
}

void TaskService::recheck_oom_soon(Task& t) {
    if (!t.oom_recheck) {
        t.oom_recheck.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
        if (!t.oom_recheck)
            return;  // the exit still reports it
        t.oom_recheck_token = loop_.add(t.oom_recheck.get(), EPOLLIN, [this, id = t.id](uint32_t) {
            auto it = tasks_.find(id);
            if (it == tasks_.end())
                return;
            Task& task = *it->second;
            uint64_t expirations;
            [[maybe_unused]] auto r =
                ::read(task.oom_recheck.get(), &expirations, sizeof expirations);
            if (check_oom(task) || --task.oom_rechecks_left <= 0) {
                itimerspec off{};
                timerfd_settime(task.oom_recheck.get(), 0, &off, nullptr);
            }
        });
    }
    t.oom_rechecks_left = 50;
    itimerspec every_10ms{};
    every_10ms.it_value.tv_nsec = every_10ms.it_interval.tv_nsec = 10'000'000;
    timerfd_settime(t.oom_recheck.get(), 0, &every_10ms, nullptr);
}

void TaskService::unwatch_oom(Task& t) {
    if (t.oom_token)
        loop_.remove(std::exchange(t.oom_token, 0));
    t.oom_watch.reset();
    if (t.oom_recheck_token)
        loop_.remove(std::exchange(t.oom_recheck_token, 0));
    t.oom_recheck.reset();
}

std::string TaskService::start(const std::string& payload) {
    auto req = parse<task::StartRequest>(payload, "StartRequest");
    Task& t = task(req.id());
    Process& p = process(t, req.exec_id());
    if (p.status != ProcessStatus::created)
        throw RpcError(
            Code::failed_precondition,
            "process " + (req.exec_id().empty() ? t.id : req.exec_id()) + " was already started");
    if (!req.exec_id().empty()) {
        start_exec(t, p);
        ev::TaskExecStarted e;
        e.set_container_id(t.id);
        e.set_exec_id(req.exec_id());
        e.set_pid(static_cast<uint32_t>(p.pid));
        publish("/tasks/exec-started", "containerd.events.TaskExecStarted", e.SerializeAsString());
    } else {
        try {
            runtime_for(t).start(t.id);
        } catch (const Error& e) {
            throw RpcError(Code::failed_precondition, std::string("start: ") + e.what());
        }
        if (p.status == ProcessStatus::created)
            p.status = ProcessStatus::running;
        ev::TaskStart e;
        e.set_container_id(t.id);
        e.set_pid(static_cast<uint32_t>(p.pid));
        publish("/tasks/start", "containerd.events.TaskStart", e.SerializeAsString());
    }
    task::StartResponse r;
    r.set_pid(static_cast<uint32_t>(p.pid));
    return r.SerializeAsString();
}

void TaskService::start_exec(Task& t, Process& p) {
    p.io = std::make_unique<ProcessIo>(loop_, p.stdio);
    std::unique_ptr<ConsoleListener> console;
    lifecycle::ExecOptions options;
    options.id = t.id;
    options.process = p.spec;
    options.stdio = {p.io->child_fd(0), p.io->child_fd(1), p.io->child_fd(2)};
    if (p.stdio.terminal) {
        console = std::make_unique<ConsoleListener>();
        options.console_socket = console->path;
    }
    lifecycle::ExecProcess started;
    try {
        started = runtime_for(t).spawn_exec(options);
    } catch (const Error& e) {
        p.io.reset();
        throw RpcError(Code::unknown, std::string("exec: ") + e.what());
    }
    p.io->release_child_fds();
    p.pid = started.pid;
    p.pidfd = std::move(started.pidfd);
    if (console) {
        UniqueFd conn(accept4(console->fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (conn)
            if (UniqueFd master = try_receive_pty(conn.get()))
                p.io->attach_pty(std::move(master));
    }
    p.status = ProcessStatus::running;
    watch(p);
}

void TaskService::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (auto& [id, t] : tasks_) {
            if (t->init.pid == pid && t->init.status != ProcessStatus::stopped) {
                exited(*t, t->init, status);
                break;
            }
            bool found = false;
            for (auto& [eid, p] : t->execs)
                if (p->pid == pid && p->status != ProcessStatus::stopped) {
                    exited(*t, *p, status);
                    found = true;
                    break;
                }
            if (found)
                break;
        }
        // Anything else was an orphan reparented to us (we are a subreaper): reaped, done.
    }
}

bool TaskService::check_oom(Task& t) {
    if (!t.oom_watch || t.oom_watch->new_kills() == 0)
        return false;
    ev::TaskOOM e;
    e.set_container_id(t.id);
    publish("/tasks/oom", "containerd.events.TaskOOM", e.SerializeAsString());
    return true;
}

void TaskService::kill_leftovers(Task& t) {
    try {
        if (runtime_.kill_leftovers(t.id))
            log_.debug("killed the processes left in " + t.id + " after its init exited");
    } catch (const Error& e) {
        log_.warn("cannot kill the processes left in " + t.id + ": " + e.what());
    }
}

void TaskService::exited(Task& t, Process& p, int wait_status) {
    p.status = ProcessStatus::stopped;
    p.exit_status = WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
                                             : static_cast<uint32_t>(WEXITSTATUS(wait_status));
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    p.exited_at = {now.tv_sec, static_cast<int32_t>(now.tv_nsec)};
    if (p.pidfd_token)
        loop_.remove(std::exchange(p.pidfd_token, 0));
    p.pidfd.reset();
    if (p.io)
        p.io->drain_output();
    check_oom(t);
    if (&p == &t.init) {
        unwatch_oom(t);  // the cgroup goes away with the init; nothing more to report
        kill_leftovers(t);
    }

    ev::TaskExit e;
    e.set_container_id(t.id);
    e.set_id(p.exec_id.empty() ? t.id : p.exec_id);
    e.set_pid(static_cast<uint32_t>(p.pid));
    e.set_exit_status(p.exit_status);
    set_time(e.mutable_exited_at(), p.exited_at.seconds, p.exited_at.nanos);
    publish("/tasks/exit", "containerd.events.TaskExit", e.SerializeAsString());

    task::WaitResponse r;
    r.set_exit_status(p.exit_status);
    set_time(r.mutable_exited_at(), p.exited_at.seconds, p.exited_at.nanos);
    const std::string answer = r.SerializeAsString();
    for (const auto& ref : p.waiters)
        if (server_)
            server_->reply(ref, answer);
    p.waiters.clear();
}

std::string TaskService::remove(const std::string& payload) {
    auto req = parse<task::DeleteRequest>(payload, "DeleteRequest");
    Task& t = task(req.id());
    task::DeleteResponse r;
    if (!req.exec_id().empty()) {
        Process& p = process(t, req.exec_id());
        if (p.status == ProcessStatus::running)
            throw RpcError(Code::failed_precondition,
                           "cannot delete exec " + req.exec_id() + ": it is running");
        r.set_pid(static_cast<uint32_t>(p.pid));
        r.set_exit_status(p.exit_status);
        set_time(r.mutable_exited_at(), p.exited_at.seconds, p.exited_at.nanos);
        t.execs.erase(req.exec_id());
        return r.SerializeAsString();
    }
    Process& init = t.init;
    if (init.status == ProcessStatus::running)
        throw RpcError(Code::failed_precondition,
                       "cannot delete task " + t.id + ": it is running (kill it first)");
    try {
        runtime_for(t).remove(t.id, true);
    } catch (const Error& e) {
        log_.warn(std::string("delete: ") + e.what());
    }
    reap();  // the init, if it was still created and has just been killed
    if (init.status != ProcessStatus::stopped) {
        init.status = ProcessStatus::stopped;
        init.exit_status = 128 + SIGKILL;
    }
    if (!t.rootfs_mount.empty())
        umount2(t.rootfs_mount.c_str(), MNT_DETACH);
    r.set_pid(static_cast<uint32_t>(init.pid));
    r.set_exit_status(init.exit_status);
    set_time(r.mutable_exited_at(), init.exited_at.seconds, init.exited_at.nanos);

    ev::TaskDelete e;
    e.set_container_id(t.id);
    e.set_pid(static_cast<uint32_t>(init.pid));
    e.set_exit_status(init.exit_status);
    set_time(e.mutable_exited_at(), init.exited_at.seconds, init.exited_at.nanos);
    e.set_id(t.id);
    for (auto& [eid, p] : t.execs)
        if (p->pidfd_token)
            loop_.remove(p->pidfd_token);
    if (init.pidfd_token)
        loop_.remove(init.pidfd_token);
    unwatch_oom(t);
    tasks_.erase(req.id());
    publish("/tasks/delete", "containerd.events.TaskDelete", e.SerializeAsString());
    return r.SerializeAsString();
}

std::string TaskService::state(const std::string& payload) {
    auto req = parse<task::StateRequest>(payload, "StateRequest");
    Task& t = task(req.id());
    Process& p = process(t, req.exec_id());
    task::StateResponse r;
    r.set_id(req.exec_id().empty() ? t.id : req.exec_id());
    r.set_exec_id(req.exec_id());
    r.set_bundle(t.bundle);
    r.set_pid(static_cast<uint32_t>(p.pid));
    r.set_stdin(p.stdio.stdin);
    r.set_stdout(p.stdio.stdout);
    r.set_stderr(p.stdio.stderr);
    r.set_terminal(p.stdio.terminal);
    if (p.status == ProcessStatus::stopped) {
        r.set_status(task::STOPPED);
        r.set_exit_status(p.exit_status);
        set_time(r.mutable_exited_at(), p.exited_at.seconds, p.exited_at.nanos);
    } else if (p.status == ProcessStatus::created) {
        r.set_status(task::CREATED);
    } else if (req.exec_id().empty()) {
        try {
            r.set_status(status_of(runtime_.info(t.id).status));
        } catch (const Error&) {
            r.set_status(task::UNKNOWN);
        }
    } else {
        r.set_status(t.paused ? task::PAUSED : task::RUNNING);
    }
    return r.SerializeAsString();
}

std::string TaskService::pids(const std::string& payload) {
    auto req = parse<task::PidsRequest>(payload, "PidsRequest");
    Task& t = task(req.id());
    task::PidsResponse r;
    std::vector<pid_t> list;
    try {
        list = runtime_.pids(t.id);
    } catch (const Error& e) {
        throw RpcError(Code::unknown, std::string("pids: ") + e.what());
    }
    for (pid_t pid : list)
        r.add_processes()->set_pid(static_cast<uint32_t>(pid));
    return r.SerializeAsString();
}

std::string TaskService::pause(const std::string& payload, bool freeze) {
    std::string id = freeze ? parse<task::PauseRequest>(payload, "PauseRequest").id()
                            : parse<task::ResumeRequest>(payload, "ResumeRequest").id();
    Task& t = task(id);
    try {
        freeze ? runtime_.pause(id) : runtime_.resume(id);
    } catch (const Error& e) {
        // Without an errno it is the runtime's status check (not running, not paused).
        throw RpcError(e.errnum() ? Code::unknown : Code::failed_precondition,
                       std::string(freeze ? "pause: " : "resume: ") + e.what());
    }
    t.paused = freeze;
    if (freeze) {
        ev::TaskPaused e;
        e.set_container_id(id);
        publish("/tasks/paused", "containerd.events.TaskPaused", e.SerializeAsString());
    } else {
        ev::TaskResumed e;
        e.set_container_id(id);
        publish("/tasks/resumed", "containerd.events.TaskResumed", e.SerializeAsString());
    }
    return empty();
}

std::string TaskService::kill(const std::string& payload) {
    auto req = parse<task::KillRequest>(payload, "KillRequest");
    Task& t = task(req.id());
    Process& p = process(t, req.exec_id());
    const int signal = static_cast<int>(req.signal());
    if (signal <= 0 || signal >= NSIG)
        throw RpcError(Code::invalid_argument, "kill: invalid signal " + std::to_string(signal));
    if (p.status == ProcessStatus::stopped && !req.all())
        throw RpcError(Code::not_found, "process already finished");
    if (!req.exec_id().empty()) {
        if (p.status == ProcessStatus::created)
            throw RpcError(Code::failed_precondition, "process " + req.exec_id() + " not started");
        if (syscall(SYS_pidfd_send_signal, p.pidfd.get(), signal, nullptr, 0) != 0)
            throw RpcError(Code::not_found, "process already finished");
        return empty();
    }
    try {
        runtime_.kill(t.id, signal, req.all());
    } catch (const Error& e) {
        throw RpcError(e.errnum() == ESRCH ? Code::not_found : Code::unknown,
                       std::string("kill: ") + e.what());
    }
    return empty();
}

std::string TaskService::exec(const std::string& payload) {
    auto req = parse<task::ExecProcessRequest>(payload, "ExecProcessRequest");
    Task& t = task(req.id());
    if (req.exec_id().empty() || req.exec_id().find('/') != std::string::npos ||
        req.exec_id().size() > 128)
        throw RpcError(Code::invalid_argument, "exec id \"" + req.exec_id() + "\" is invalid");
    if (t.execs.count(req.exec_id()))
        throw RpcError(Code::already_exists, "exec process " + req.exec_id() + " already exists");
    if (t.init.status != ProcessStatus::running)
        throw RpcError(Code::failed_precondition, "task " + t.id + " is not running");
    auto doc = nlohmann::json::parse(req.spec().value(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        throw RpcError(Code::invalid_argument, "exec spec: not a JSON process object");
    auto p = std::make_unique<Process>();
    p->exec_id = req.exec_id();
    p->stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
    try {
        p->spec = config::parse_process(doc, "process");
    } catch (const Error& e) {
        throw RpcError(Code::invalid_argument, std::string("exec spec: ") + e.what());
    }
    p->spec.terminal = req.terminal();
    t.execs.emplace(req.exec_id(), std::move(p));

    ev::TaskExecAdded e;
    e.set_container_id(t.id);
    e.set_exec_id(req.exec_id());
    publish("/tasks/exec-added", "containerd.events.TaskExecAdded", e.SerializeAsString());
    return empty();
}

std::string TaskService::resize_pty(const std::string& payload) {
    auto req = parse<task::ResizePtyRequest>(payload, "ResizePtyRequest");
    Process& p = process(task(req.id()), req.exec_id());
    if (!p.io || p.io->pty_master() < 0)
        return empty();  // no terminal: nothing to resize (as runc's shim)
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(req.width());
    ws.ws_row = static_cast<unsigned short>(req.height());
    if (ioctl(p.io->pty_master(), TIOCSWINSZ, &ws) != 0)
        throw RpcError(Code::unknown, std::string("resize pty: ") + strerror(errno));
    return empty();
}

std::string TaskService::close_io(const std::string& payload) {
    auto req = parse<task::CloseIORequest>(payload, "CloseIORequest");
    Process& p = process(task(req.id()), req.exec_id());
    if (req.stdin() && p.io)
        p.io->close_stdin();
    return empty();
}

std::string TaskService::update(const std::string& payload) {
    auto req = parse<task::UpdateTaskRequest>(payload, "UpdateTaskRequest");
    Task& t = task(req.id());
    auto doc = nlohmann::json::parse(req.resources().value(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        throw RpcError(Code::invalid_argument, "update: resources must be a LinuxResources JSON");
    try {
        runtime_.update(t.id, config::parse_resources(doc, "resources"));
    } catch (const Error& e) {
        throw RpcError(Code::invalid_argument, std::string("update: ") + e.what());
    }
    return empty();
}

std::optional<std::string> TaskService::wait(const ttrpc::Call& call) {
    auto req = parse<task::WaitRequest>(call.request.payload(), "WaitRequest");
    Process& p = process(task(req.id()), req.exec_id());
    if (p.status == ProcessStatus::stopped) {
        task::WaitResponse r;
        r.set_exit_status(p.exit_status);
        set_time(r.mutable_exited_at(), p.exited_at.seconds, p.exited_at.nanos);
        return r.SerializeAsString();
    }
    p.waiters.push_back(call.ref);
    return std::nullopt;
}

std::string TaskService::stats(const std::string& payload) {
    auto req = parse<task::StatsRequest>(payload, "StatsRequest");
    Task& t = task(req.id());
    MetricsAny metrics;
    try {
        metrics = metrics_of(runtime_.container_stats(t.id));
    } catch (const Error& e) {
        throw RpcError(e.errnum() == ESRCH ? Code::not_found : Code::unknown,
                       std::string("stats: ") + e.what());
    }
    task::StatsResponse r;
    r.mutable_stats()->set_type_url(metrics.type_url);
    r.mutable_stats()->set_value(metrics.value);
    return r.SerializeAsString();
}

std::string TaskService::connect(const std::string& payload) {
    auto req = parse<task::ConnectRequest>(payload, "ConnectRequest");
    task::ConnectResponse r;
    r.set_shim_pid(static_cast<uint32_t>(getpid()));
    if (auto it = tasks_.find(req.id()); it != tasks_.end())
        r.set_task_pid(static_cast<uint32_t>(it->second->init.pid));
    r.set_version(brig::kVersion);
    return r.SerializeAsString();
}

std::string TaskService::shutdown(const std::string& payload) {
    auto req = parse<task::ShutdownRequest>(payload, "ShutdownRequest");
    // With tasks left the shim stays (containerd asks again after their delete).
    if (tasks_.empty() || req.now()) {
        shutdown_ = true;
        loop_.stop();
    }
    return empty();
}

}  // namespace brig::shim
