#include "runtime/lifecycle/spawner.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "runtime/common/error.hpp"
#include "runtime/lifecycle/sync.hpp"
#include "runtime/linux/clone.hpp"
#include "runtime/security/capabilities.hpp"

namespace brig::lifecycle {
namespace {

void reap(pid_t pid) noexcept {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

// A child of brig's until released: killed and reaped on the way out of a failed spawn.
class ChildPid {
public:
    ChildPid() = default;
    explicit ChildPid(pid_t pid) : pid_(pid) {}
    ChildPid(const ChildPid&) = delete;
    ChildPid& operator=(const ChildPid&) = delete;
    ~ChildPid() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            reap(pid_);
        }
    }
    pid_t get() const { return pid_; }
    pid_t release() { return std::exchange(pid_, 0); }

private:
    pid_t pid_ = 0;
};

// The process joins its v1 hierarchies itself, first thing: writing "0" moves the calling
// thread alone, which the kernel does without its global threadgroup lock.
void join_v1_cgroups(const std::vector<UniqueFd>& tasks_files) {
    for (const auto& fd : tasks_files)
        if (::write(fd.get(), "0", 1) != 1)
            throw_errno("cannot join the container's cgroup (v1 tasks file)");
}

void apply_stdio(const Stdio& stdio) {
    std::array<UniqueFd, 3> copies;  // first out of the way: stdio may name 0-2 in any order
    for (int i = 0; i < 3; ++i) {
        if (stdio[i] == i)
            continue;
        copies[i].reset(fcntl(stdio[i], F_DUPFD_CLOEXEC, 3));
        if (!copies[i])
            throw_errno("stdio[" + std::to_string(i) + "]: fd " + std::to_string(stdio[i]));
    }
    for (int i = 0; i < 3; ++i)
        if (copies[i] && dup2(copies[i].get(), i) < 0)
            throw_errno("stdio[" + std::to_string(i) + "]: dup2");
}

void join_namespaces(const std::vector<linux::NamespaceToJoin>& joins) {
    for (const auto& j : joins)
        if (setns(j.fd.get(), config::namespace_clone_flag(j.type)) != 0)
            throw_errno(std::string("cannot join the ") + config::namespace_type_name(j.type) +
                        " namespace");
}

// The process that runs the body, in its cgroup and namespaces.
[[noreturn]] void run_process(const SpawnPlan& plan, int sync_fd, const SpawnBody& body) {
    const std::string go = sync_expect(sync_fd, SyncType::go).text;
    for (const auto& procs : plan.sub_cgroups)
        if (::write(procs.get(), "0", 1) != 1)
            throw_errno("exec --cgroup: joining the sub-cgroup");
    // Only now, in its cgroup: the namespace is rooted there (/proc/self/cgroup reads "0::/").
    if ((plan.clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) != 0)
        throw_errno("cannot create the cgroup namespace");
    // Again after joining a user namespace, whose new credentials reset it to suid_dumpable.
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        throw_errno("prctl(PR_SET_DUMPABLE)");
    body(sync_fd, go);
    throw Error("spawn: the process body returned");
}

// The first process of the clone: the process itself, or, when namespaces are joined, the one
// that joins them and clones it.
[[noreturn]] void run_first(const SpawnPlan& plan, const std::vector<UniqueFd>& v1_tasks,
                            int sync_fd, const SpawnBody& body) {
    try {
        // Until exec, other processes of the container must not reach brig's memory or
        // /proc/PID/exe (CVE-2019-5736).
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
            throw_errno("prctl(PR_SET_DUMPABLE)");
        join_v1_cgroups(v1_tasks);
        apply_stdio(plan.stdio);
        if (!plan.joins.empty()) {
            sync_expect(sync_fd, SyncType::go);  // brig has completed the cgroup join
            join_namespaces(plan.joins);
            pid_t pid =
                linux::clone_process({plan.clone_flags & ~uint64_t{CLONE_NEWCGROUP}, true, -1});
            if (pid == 0)
                run_process(plan, sync_fd, body);
            sync_send(sync_fd, SyncType::init_pid, std::to_string(pid));
            _exit(0);
        }
        run_process(plan, sync_fd, body);
    } catch (const std::exception& e) {
        sync_send_error(sync_fd, e);
    }
    _exit(255);
}

pid_t parse_pid(const std::string& text) {
    char* end = nullptr;
    long pid = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end || pid <= 0)
        throw Error("sync: bad pid \"" + text + "\" from the container process");
    return static_cast<pid_t>(pid);
}

}  // namespace

void check_stdio(const Stdio& stdio, const std::string& field) {
    for (int i = 0; i < 3; ++i)
        if (fcntl(stdio[i], F_GETFD) < 0)
            throw Error(field + "[" + std::to_string(i) + "]: fd " + std::to_string(stdio[i]) +
                            " is not open",
                        EBADF);
}

Confinement prepare_confinement(const config::Spec& spec, const config::Process& process,
                                const std::string& mount_label, const security::LsmHost& host,
                                const std::string& seccomp_cache_dir, const Logger& log) {
    Confinement c;
    if (spec.linux->seccomp)
        c.seccomp = security::compile_seccomp_cached(*spec.linux->seccomp, seccomp_cache_dir);
    c.lsm =
        security::plan_lsm(process, mount_label, host, security::lsm_optional(spec.annotations));
    if (!c.lsm.warning.empty())
        log.warn(c.lsm.warning);
    if (process.capabilities)
        for (const std::string& w :
             security::validate_capabilities(*process.capabilities, "process.capabilities"))
            log.warn(w);
    if (c.seccomp && c.seccomp->notify)
        c.seccomp_listener = security::connect_seccomp_listener(spec.linux->seccomp->listener_path);
    return c;
}

struct Spawn::Child : ChildPid {
    using ChildPid::ChildPid;
};

Spawn::Spawn(SpawnPlan plan, const SpawnBody& body) : plan_(std::move(plan)) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        throw_errno("socketpair");
    sync_.reset(fds[0]);
    UniqueFd child_end(fds[1]);
    std::vector<UniqueFd> v1_tasks;
    int cgroup_fd = -1;
    if (plan_.cgroup) {
        v1_tasks = plan_.cgroup->self_join_fds();
        cgroup_fd = plan_.cgroup->clone_into_fd();
    }
    const bool two_stage = !plan_.joins.empty();
    int pidfd = -1;
    bool in_cgroup = false;
    const uint64_t flags = two_stage ? 0 : plan_.clone_flags & ~uint64_t{CLONE_NEWCGROUP};
    pid_t first =
        linux::clone_process({flags, false, cgroup_fd, two_stage ? nullptr : &pidfd, &in_cgroup});
    if (first == 0) {
        sync_.reset();
        run_first(plan_, v1_tasks, child_end.get(), body);
    }
    ChildPid first_child(first);
    UniqueFd first_pidfd(pidfd);
    child_end.reset();
    // clone3 and the process itself have joined it, unless the kernel refused.
    const bool join_here = plan_.cgroup && (cgroup_fd >= 0 ? !in_cgroup : v1_tasks.empty());
    if (join_here)
        plan_.cgroup->add_process(first);
    if (two_stage) {
        sync_send(sync_.get(), SyncType::go);
        SyncMessage m = sync_receive(sync_.get());
        if (m.type == SyncType::error)
            throw m.error();
        if (m.type != SyncType::init_pid)
            throw Error("sync: unexpected message from the container process");
        process_ = std::make_unique<Child>(parse_pid(m.text));
        pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, process_->get(), 0)));
    } else {
        process_ = std::make_unique<Child>(first_child.release());
        pidfd_ = std::move(first_pidfd);
    }
    if (plan_.uid_mappings)
        linux::write_id_mappings(pid(), *plan_.uid_mappings, *plan_.gid_mappings, false);
}

Spawn::~Spawn() = default;

pid_t Spawn::pid() const {
    return process_ ? process_->get() : 0;
}

void Spawn::go(const std::string& text) {
    sync_send(sync_.get(), SyncType::go, text);
}

void Spawn::wait_ready(const std::function<void()>& on_hooks) {
    for (;;) {
        SyncMessage m = sync_receive(sync_.get());
        if (m.type == SyncType::error)
            throw m.error();
        if (m.type == SyncType::ready)
            return;
        if (m.type != SyncType::run_hooks)
            throw Error("sync: unexpected message from the container process");
        on_hooks();
        sync_send(sync_.get(), SyncType::hooks_done);
    }
}

void Spawn::wait_exec() {
    std::optional<SyncMessage> m = sync_receive_or_close(sync_.get());
    if (!m)
        return;
    if (m->type == SyncType::error)
        throw m->error();
    throw Error("sync: unexpected message from the container process");
}

Spawn::Process Spawn::release() {
    Process p{process_ ? process_->release() : 0, std::move(pidfd_)};
    process_.reset();
    return p;
}

}  // namespace brig::lifecycle
