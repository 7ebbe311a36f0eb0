// `brig exec`: a new process in every namespace and the cgroup of a running container, confined
// like the container's own process (or as a process.json says), never more privileged, and
// never less confined by the monitor than the init (what create recorded for it).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/cgroups/manager.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/lifecycle/container.hpp"
#include "runtime/lifecycle/init.hpp"
#include "runtime/lifecycle/signal_forwarder.hpp"
#include "runtime/lifecycle/spawner.hpp"
#include "runtime/linux/process_setup.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/security/exec_hold.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::lifecycle {
namespace {

config::Process exec_process(const ExecOptions& o, const config::Spec& spec) {
    config::Process p;
    if (o.process) {
        p = *o.process;
        if (p.args.empty())
            throw Error("process.args: a command is required");
    } else if (!o.process_file.empty()) {
        auto doc = config::parse_json_text(
            config::read_capped_user_file(o.process_file, 1 << 20, "--process " + o.process_file),
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

// The namespaces of the container's init, opened now: the fds pin them even if the init
// exits meanwhile (user first: it gives the rights to join the others).
std::vector<linux::NamespaceToJoin> open_namespaces(const config::Spec& spec, pid_t init_pid) {
    std::vector<linux::NamespaceToJoin> joins;
    for (const auto& ns : spec.linux->namespaces) {
        std::string path =
            "/proc/" + std::to_string(init_pid) + "/ns/" + config::namespace_proc_name(ns.type);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd)
            throw_errno("exec: cannot open " + path);
        joins.push_back({ns.type, std::move(fd)});
    }
    std::stable_partition(joins.begin(), joins.end(), [](const linux::NamespaceToJoin& j) {
        return j.type == config::NamespaceType::user;
    });
    return joins;
}

// What create had the container's init apply to itself (the monitor's Landlock and seccomp
// denies), never recompiled here: without it the exec would get less than the init.
security::DenyPolicy recorded_denies(const std::string& path) {
    std::string text;
    try {
        text = state::read_file(path, 1 << 20);
    } catch (const Error& e) {
        throw ExecFailed(
            std::string("exec: no record of what create applied to the container's init, which "
                        "an exec may not get less of: ") +
            e.what());
    }
    return security::DenyPolicy::from_json_text(text, path);
}

// What the exec'd process does in the container, after joining its cgroup and namespaces.
struct ExecBody {
    const config::Spec& spec;
    const config::Process& process;
    const Confinement& confinement;
    const security::DenyPolicy& denies;
    int root_fd;     // the container's root, entered when it has no mount namespace
    int console_fd;  // with a terminal
    int exec_hold;   // the monitor's exec verdict socket, or -1
    int preserve_fds;
    std::string state_json;

    [[noreturn]] void operator()() const {
        if (!spec.linux->find_namespace(config::NamespaceType::mount) &&
            (fchdir(root_fd) != 0 || chroot(".") != 0))
            throw_errno("exec: cannot enter the container's root");
        if (process.terminal)
            linux::setup_console(console_fd, process.console_size, false, process.user);
        else if (setsid() < 0)
            throw_errno("setsid");
        linux::apply_rlimits(process.rlimits);
        if (process.oom_score_adj)
            linux::apply_oom_score_adj(*process.oom_score_adj);
        security::apply_exec_labels(confinement.lsm);
        // After the labels' procfs mount, as in the init: a domain of its own (README).
        security::apply_deny_policy(denies);
        if (exec_hold >= 0) {  // as the init: every exec of this process waits for the monitor
            security::hold_execs(exec_hold);
            ::close(exec_hold);
        }
        // On success the exec closes the sync socket (CLOEXEC): brig reads EOF.
        exec_user_process(process, spec.linux->seccomp, confinement.seccomp_program(),
                          confinement.seccomp_listener.get(), true, preserve_fds, 0, state_json);
    }
};

}  // namespace

ExecProcess Runtime::spawn_exec(const ExecOptions& o) {
    auto i = info(o.id);
    // runc's words: callers match them. With --ignore-paused the process joins the frozen
    // cgroup and runs once the container is resumed.
    const bool paused = i.status == state::Status::paused;
    if (paused && !o.ignore_paused)
        throw ExecFailed("cannot exec in a paused container (use --ignore-paused to override)");
    if (!paused && i.status != state::Status::running && i.status != state::Status::created)
        throw ExecFailed("cannot exec in container \"" + o.id + "\": it is " +
                         state::status_name(i.status));
    check_stdio(o.stdio, "stdio");
    const config::Spec spec =
        config::parse_spec(config::parse_json_text(store_.read_config(o.id), "config.json"));
    const config::Process process = exec_process(o, spec);
    const Confinement confinement = prepare_confinement(
        spec, process, "", security::detect_lsm_host(), seccomp_cache_dir(), log_);
    const security::DenyPolicy denies = recorded_denies(store_.confinement_path(o.id));
    // Without a console socket brig keeps the pty master and relays it while it waits, as runc.
    const bool own_pty = process.terminal && o.console_socket.empty();
    if (own_pty && o.detach)
        throw ExecFailed("exec: --tty with --detach needs --console-socket");
    std::vector<linux::NamespaceToJoin> joins = open_namespaces(spec, i.state.pid);
    if (!state::init_alive(i.state))
        throw ExecFailed("cannot exec in container \"" + o.id + "\": it has stopped");
    UniqueFd root(::open(("/proc/" + std::to_string(i.state.pid) + "/root").c_str(),
                         O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        throw_errno("exec: cannot open the container's root");
    auto cgroup = cgroups::open_manager(i.state.cgroups_path, o.id);
    UniqueFd console, pty_receiver;
    if (own_pty) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            throw_errno("exec: socketpair for the terminal");
        pty_receiver.reset(pair[0]);
        console.reset(pair[1]);
    } else if (process.terminal) {
        console = linux::connect_console_socket(o.console_socket);
    }
    // A profile with its own notify listener leaves no room for the hold (as at create).
    UniqueFd exec_hold;
    try {
        if (!confinement.seccomp || !confinement.seccomp->notify)
            exec_hold = security::connect_exec_hold(store_.dir(o.id) + "/" + kExecVerdictSocket);
    } catch (const Error& e) {
        throw ExecFailed(e);
    }

    const ExecBody body{.spec = spec,
                        .process = process,
                        .confinement = confinement,
                        .denies = denies,
                        .root_fd = root.get(),
                        .console_fd = console.get(),
                        .exec_hold = exec_hold.get(),
                        .preserve_fds = o.preserve_fds,
                        .state_json = i.state.to_oci_json(i.status).dump()};
    try {
        SpawnPlan plan{.joins = std::move(joins), .cgroup = cgroup.get(), .stdio = o.stdio};
        plan.sub_cgroups = cgroup->sub_cgroup_fds(cgroups::parse_sub_cgroups(o.sub_cgroups));
        Spawn spawn(std::move(plan), [&body](int, const std::string&) { body(); });
        console.reset();
        exec_hold.reset();
        spawn.go();
        spawn.wait_exec();
        if (!o.pid_file.empty())
            state::write_file_atomic(o.pid_file, std::to_string(spawn.pid()), 0644,
                                     state::Durability::atomic_only);
        UniqueFd pty_master;
        if (pty_receiver)
            pty_master = linux::receive_fd(pty_receiver.get());  // sent before the exec
        Spawn::Process p = spawn.release();
        return {p.pid, std::move(p.pidfd), std::move(pty_master)};
    } catch (const ExecFailed&) {
        throw;
    } catch (const Error& e) {
        throw ExecFailed(e);
    }
}

int Runtime::exec(const ExecOptions& o) {
    SignalForwarder forwarder;  // before the clone: no signal is lost meanwhile
    ExecProcess p = spawn_exec(o);
    if (o.detach)
        return 0;
    return forwarder.wait(p.pid, p.pidfd.get(), p.pty_master.get());
}

}  // namespace brig::lifecycle
