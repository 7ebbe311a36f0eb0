// `brig exec`: a new process in every namespace and the cgroup of a running container, confined
// like the container's own process (or as a process.json says), never more privileged.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/cgroups/manager.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/lifecycle/container.hpp"
#include "runtime/lifecycle/init.hpp"
#include "runtime/lifecycle/signal_forwarder.hpp"
#include "runtime/lifecycle/sync.hpp"
#include "runtime/linux/clone.hpp"
#include "runtime/linux/process_setup.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::lifecycle {
namespace {

config::Process exec_process(const ExecOptions& o, const config::Spec& spec) {
    config::Process p;
    if (!o.process_file.empty()) {
        auto doc = config::parse_json_text(
            config::read_capped_file(o.process_file, 1 << 20, "--process " + o.process_file),
            "--process " + o.process_file);
        p = config::parse_process(doc, "process");
    } else {
        p = *spec.process;
        p.terminal = o.tty;
        p.args = o.args;
        if (p.args.empty())
            throw Error("exec: a command is required");
        // The container's own terminal size and rlimits are not the new process's business.
        p.console_size.reset();
        p.oom_score_adj.reset();
    }
    if (!o.cwd.empty())
        p.cwd = o.cwd;
    for (const auto& e : o.env) {
        auto key = e.substr(0, e.find('='));
        std::erase_if(p.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
        p.env.push_back(e);
    }
    if (!o.user.empty()) {
        auto colon = o.user.find(':');
        char* end = nullptr;
        p.user.uid = static_cast<uint32_t>(strtoul(o.user.substr(0, colon).c_str(), &end, 10));
        if (*end)
            throw Error("--user: must be uid[:gid], not \"" + o.user + "\"");
        if (colon != std::string::npos) {
            p.user.gid = static_cast<uint32_t>(strtoul(o.user.substr(colon + 1).c_str(), &end, 10));
            if (*end)
                throw Error("--user: must be uid[:gid], not \"" + o.user + "\"");
        }
    }
    if (!o.additional_gids.empty())
        p.user.additional_gids = o.additional_gids;
    if (o.no_new_privs)
        p.no_new_privileges = true;
    if (!o.add_caps.empty()) {
        if (!p.capabilities)
            p.capabilities.emplace();
        // Added to bounding, effective, permitted and ambient; inheritable stays as configured
        // (CVE-2022-29162).
        for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective,
                          &p.capabilities->permitted, &p.capabilities->ambient})
            for (const auto& c : o.add_caps)
                if (std::find(set->begin(), set->end(), c) == set->end())
                    set->push_back(c);
    }
    return p;
}

}  // namespace

int Runtime::exec(const ExecOptions& o) {
    auto i = info(o.id);
    if (i.status != state::Status::running && i.status != state::Status::created)
        throw ExecFailed("cannot exec in container \"" + o.id + "\": it is " +
                         state::status_name(i.status));
    const config::Spec spec =
        config::parse_spec(config::parse_json_text(store_.read_config(o.id), "config.json"));
    config::Process process = exec_process(o, spec);
    std::optional<security::SeccompProgram> seccomp;
    if (spec.linux->seccomp)
        seccomp = security::compile_seccomp_cached(*spec.linux->seccomp, seccomp_cache_dir());
    const security::LsmPlan lsm = security::plan_lsm(process, "", security::detect_lsm_host(),
                                                     security::lsm_optional(spec.annotations));
    if (!lsm.warning.empty())
        log_.warn(lsm.warning);
    UniqueFd seccomp_listener;
    if (seccomp && seccomp->notify)
        seccomp_listener = security::connect_seccomp_listener(spec.linux->seccomp->listener_path);
    if (process.terminal && o.console_socket.empty())
        throw ExecFailed("exec: --tty needs --console-socket");

    // Open every namespace of the init now: the fds pin them even if the init exits meanwhile.
    std::vector<std::pair<config::NamespaceType, UniqueFd>> namespaces;
    for (const auto& ns : spec.linux->namespaces) {
        std::string path =
            "/proc/" + std::to_string(i.state.pid) + "/ns/" + config::namespace_proc_name(ns.type);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd)
            throw_errno("exec: cannot open " + path);
        namespaces.emplace_back(ns.type, std::move(fd));
    }
    std::stable_partition(namespaces.begin(), namespaces.end(),
                          [](const auto& n) { return n.first == config::NamespaceType::user; });
    if (!state::init_alive(i.state))
        throw ExecFailed("cannot exec in container \"" + o.id + "\": it has stopped");
    UniqueFd root(::open(("/proc/" + std::to_string(i.state.pid) + "/root").c_str(),
                         O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        throw_errno("exec: cannot open the container's root");
    auto cgroup = cgroups::open_manager(i.state.cgroups_path, o.id);

    UniqueFd console;
    if (process.terminal)
        console = linux::connect_console_socket(o.console_socket);
    int sync_fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) != 0)
        throw_errno("socketpair");
    UniqueFd parent_end(sync_fds[0]), child_end(sync_fds[1]);
    const std::string state_json = i.state.to_oci_json(i.status).dump();
    const bool has_mount_ns = spec.linux->find_namespace(config::NamespaceType::mount) != nullptr;

    SignalForwarder forwarder;
    pid_t stage1 = linux::clone_process({});
    if (stage1 == 0) {
        parent_end.reset();
        try {
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
            sync_expect(child_end.get(), SyncType::go);  // in the cgroup now
            for (const auto& [type, fd] : namespaces)
                if (setns(fd.get(), config::namespace_clone_flag(type)) != 0)
                    throw_errno(std::string("exec: cannot join ") +
                                config::namespace_type_name(type) + " namespace");
            if (!has_mount_ns && (fchdir(root.get()) != 0 || chroot(".") != 0))
                throw_errno("exec: cannot enter the container's root");
            pid_t pid = linux::clone_process({0, true, -1, nullptr});
            if (pid == 0) {
                prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                if (process.terminal)
                    linux::setup_console(console.get(), process.console_size, false);
                else if (setsid() < 0)
                    throw_errno("setsid");
                linux::apply_rlimits(process.rlimits);
                if (process.oom_score_adj)
                    linux::apply_oom_score_adj(*process.oom_score_adj);
                security::apply_exec_labels(lsm);
                // On success the exec closes child_end (CLOEXEC): the parent reads EOF.
                exec_user_process(process, spec.linux->seccomp, seccomp ? &*seccomp : nullptr,
                                  seccomp_listener.get(), true, o.preserve_fds, 0, state_json);
            }
            sync_send(child_end.get(), SyncType::init_pid, std::to_string(pid));
        } catch (const std::exception& e) {
            sync_send(child_end.get(), SyncType::error, e.what());
        }
        _exit(0);
    }
    ScopeGuard reap_stage1([&] { waitpid(stage1, nullptr, 0); });
    child_end.reset();
    console.reset();
    cgroup->add_process(stage1);
    sync_send(parent_end.get(), SyncType::go);
    SyncMessage m = sync_receive(parent_end.get());
    if (m.type == SyncType::error)
        throw ExecFailed(m.text);
    pid_t pid = std::atoi(m.text.c_str());
    // The process reports an error before exec, or the socket closes when exec succeeds.
    char buf[4096];
    ssize_t n;
    do {
        n = recv(parent_end.get(), buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        waitpid(pid, nullptr, 0);
        throw ExecFailed(std::string(buf + 1, static_cast<size_t>(n - 1)));
    }
    if (!o.pid_file.empty())
        state::write_file_atomic(o.pid_file, std::to_string(pid), 0644,
                                 state::Durability::atomic_only);
    if (o.detach)
        return 0;

    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    return forwarder.wait(pid, pidfd.get());
}

}  // namespace brig::lifecycle
