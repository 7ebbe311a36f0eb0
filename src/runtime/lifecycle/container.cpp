#include "runtime/lifecycle/container.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/cgroups/manager.hpp"
#include "runtime/common/clock.hpp"
#include "runtime/common/error.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/lifecycle/hooks.hpp"
#include "runtime/lifecycle/init.hpp"
#include "runtime/lifecycle/rollback.hpp"
#include "runtime/lifecycle/signal_forwarder.hpp"
#include "runtime/lifecycle/spawner.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/signal_delivery.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/security/exec_hold.hpp"
#include "runtime/security/lsm.hpp"
#include "runtime/security/seccomp.hpp"
#include "runtime/state/container_id.hpp"

namespace brig::lifecycle {
namespace {

using state::Status;

std::string absolute_directory(const std::string& path, const std::string& what) {
    char resolved[PATH_MAX];
    if (!realpath(path.c_str(), resolved))
        throw_errno(what + " " + path);
    struct stat st {};
    if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode))
        throw Error(what + " " + path + ": not a directory", ENOTDIR);
    return resolved;
}

config::Spec parse_config_text(const std::string& text) {
    return config::parse_spec(config::parse_json_text(text, "config.json"));
}

UniqueFd open_pidfd(const state::ContainerState& s) {
    UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, s.pid, 0)));
    // Checked after opening: the pidfd then refers to the very process whose start time matched.
    if (!fd || !state::init_alive(s))
        return {};
    return fd;
}

// Waits up to timeout_ms for the process behind pidfd to exit.
bool wait_pidfd_exit(int pidfd, int timeout_ms) {
    pollfd p{pidfd, POLLIN, 0};
    int n;
    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n > 0;
}

// linux.resources plus the device rules every container gets: the config's rules, then the
// default devices (null, zero, tty, pts ...), as runc orders them. A linux.devices node only
// gets what linux.resources.devices allows it (Docker's --device X:X:r stays read-only).
config::Resources cgroup_resources(const config::Linux& linux) {
    config::Resources r = linux.resources.value_or(config::Resources{});
    for (auto& rule : cgroups::default_device_rules())
        r.devices.push_back(rule);
    return r;
}

// The container's cgroup2 directory on the host (where the monitor's cgroup programs attach).
std::string cgroup2_dir(const cgroups::CgroupManager& cgroup) {
    switch (cgroup.kind()) {
        case cgroups::HierarchyKind::unified:
            return "/sys/fs/cgroup" + cgroup.path();
        case cgroups::HierarchyKind::hybrid:
            return "/sys/fs/cgroup/unified" + cgroup.path();
        case cgroups::HierarchyKind::legacy:
            return "";
    }
    return "";
}

UniqueFd make_fifo(const std::string& path) {
    if (mkfifo(path.c_str(), 0600) != 0)
        throw_errno("cannot create " + path);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd)
        throw_errno("cannot open " + path);
    return fd;
}

}  // namespace

int parse_signal(const std::string& text) {
    if (text.empty())
        throw Error("invalid signal: empty");
    if (std::all_of(text.begin(), text.end(), ::isdigit)) {
        int sig = std::atoi(text.c_str());
        if (sig <= 0 || sig > SIGRTMAX || text.size() > 3)
            throw Error("invalid signal \"" + text + "\"");
        return sig;
    }
    std::string name = text;
    for (auto& c : name)
        c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    if (name.rfind("SIG", 0) == 0)
        name = name.substr(3);
    for (int sig = 1; sig < NSIG; ++sig) {
        const char* abbrev = sigabbrev_np(sig);
        if (abbrev && name == abbrev)
            return sig;
    }
    if (name.rfind("RTMIN+", 0) == 0 || name.rfind("RTMAX-", 0) == 0) {
        int n = std::atoi(name.c_str() + 6);
        int sig = name[2] == 'M' && name[3] == 'I' ? SIGRTMIN + n : SIGRTMAX - n;
        if (sig >= SIGRTMIN && sig <= SIGRTMAX)
            return sig;
    }
    throw Error("invalid signal \"" + text + "\"");
}

// What create decides before anything exists (parse, validation, confinement), and what it
// makes that a failure must undo.
struct Runtime::CreatePlan {
    std::string bundle;
    std::string config_text;
    config::Spec spec;
    std::string rootfs;
    bool own_pty = false;  // a terminal without console socket: brig keeps the master
    linux::NamespacePlan ns;
    security::LsmHost lsm_host;
    Confinement confinement;

    std::unique_ptr<cgroups::CgroupManager> cgroup;
    std::unique_ptr<ContainerWatch> watch;
    security::DenyPolicy denies;  // the watch's, applied by the init and every exec

    // All but the fds, which the caller opens.
    InitContext init_context(const CreateOptions& o) const;
};

InitContext Runtime::CreatePlan::init_context(const CreateOptions& o) const {
    InitContext ctx;
    ctx.spec = &spec;
    ctx.seccomp = confinement.seccomp_program();
    ctx.denies = &denies;
    ctx.lsm = confinement.lsm;
    ctx.seccomp_listener = confinement.seccomp_listener.get();
    if (lsm_host.selinux)
        ctx.mount_label_option = security::mount_label_option(spec.linux->mount_label);
    ctx.bundle = bundle;
    ctx.rootfs = rootfs;
    ctx.preserve_fds = o.preserve_fds + o.listen_fds;
    ctx.listen_fds = o.listen_fds;
    ctx.no_pivot = o.no_pivot;
    ctx.no_new_keyring = o.no_new_keyring;
    ctx.new_user_namespace = ns.new_user;
    ctx.new_time_namespace = ns.new_time;
    return ctx;
}

namespace {

// The container's side of its terminal: a console socket connection (or our socketpair, whose
// other end receives the master when brig keeps it).
struct ConsoleEnds {
    UniqueFd console;
    UniqueFd pty_receiver;
};

ConsoleEnds open_console(const CreateOptions& o, const config::Process& process, bool own_pty) {
    ConsoleEnds ends;
    if (own_pty) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            throw_errno("socketpair");
        ends.pty_receiver.reset(pair[0]);
        ends.console.reset(pair[1]);
    } else if (o.console_socket_fd >= 0) {
        ends.console.reset(fcntl(o.console_socket_fd, F_DUPFD_CLOEXEC, 3));
        if (!ends.console)
            throw_errno("console socket fd " + std::to_string(o.console_socket_fd));
    } else if (process.terminal) {
        ends.console = linux::connect_console_socket(o.console_socket);
    }
    return ends;
}

state::ContainerState initial_state(const CreateOptions& o, const config::Spec& spec,
                                    const std::string& bundle, const std::string& rootfs,
                                    bool systemd_cgroup) {
    state::ContainerState st;
    st.oci_version = spec.oci_version;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.created = rfc3339_now();
    st.owner = "root";
    st.annotations = spec.annotations;
    st.use_systemd_cgroup = systemd_cgroup;
    return st;
}

}  // namespace

Runtime::CreatePlan Runtime::plan_create(const CreateOptions& o) const {
    state::validate_container_id(o.id);
    check_stdio(o.stdio, "stdio");
    CreatePlan p;
    p.bundle = absolute_directory(o.bundle, "bundle");
    p.config_text = config::read_capped_file(p.bundle + "/config.json",
                                             config::config_json_size_limit, "config.json");
    p.spec = parse_config_text(p.config_text);
    const config::Spec& spec = p.spec;
    if (!spec.process)
        throw Error("process: required to create a container");
    if (!spec.linux)
        throw Error("linux: required to create a container on Linux");
    const std::string root_path =
        spec.root.path.front() == '/' ? spec.root.path : p.bundle + "/" + spec.root.path;
    p.rootfs = absolute_directory(root_path, "root.path:");
    p.own_pty = spec.process->terminal && o.console_socket.empty() && o.console_socket_fd < 0;
    if (p.own_pty && !o.keep_pty_master)
        throw Error("process.terminal: true needs --console-socket");
    p.ns = linux::plan_namespaces(*spec.linux);
    // Refused here, before anything exists, when a label cannot be applied.
    p.lsm_host = security::detect_lsm_host();
    p.confinement = prepare_confinement(spec, *spec.process, spec.linux->mount_label, p.lsm_host,
                                        seccomp_cache_dir(), log_);
    return p;
}

StartedInit Runtime::create(const CreateOptions& o) {
    CreatePlan plan = plan_create(o);  // nothing exists yet
    Rollback rollback(log_);
    try {
        StartedInit init = create_container(o, plan, rollback);
        rollback.dismiss();
        return init;
    } catch (const std::exception& e) {
        throw rollback.fail(e);
    }
}

// A cgroup that was there before create (made by someone else, or another container's: runc
// lets containers share one): a frozen one would hold the container forever, and a failed
// create must not remove it.
void Runtime::check_preexisting_cgroup(const cgroups::CgroupManager& cgroup) const {
    if (cgroup.frozen())
        throw Error("container's cgroup unexpectedly frozen: " + cgroup.path());
    if (!cgroup.pids().empty())
        log_.warn("container's cgroup is not empty: " + cgroup.path() +
                  " (its processes are killed with the container's on delete)");
}

void Runtime::set_up_cgroup(const std::string& id, CreatePlan& plan, state::ContainerState& st,
                            Rollback& rollback) {
    cgroups::ManagerOptions options;
    options.warn = [this](const std::string& message) { log_.warn(message); };
    if (systemd_cgroup_)
        options.systemd = cgroups::ManagerOptions::Systemd::new_scope;
    plan.cgroup = cgroups::open_manager(plan.spec.linux->cgroups_path, id, options);
    st.cgroups_path = plan.cgroup->path();
    store_.write_breadcrumb(st);  // "creating": delete --force finds the cgroup to remove
    store_.write_config(id, plan.config_text);
    const bool preexisting = plan.cgroup->exists();
    plan.cgroup->create();
    if (preexisting) {
        rollback.add("removing the cgroup dirs create made",
                     [&plan] { plan.cgroup->remove_created(); });
        check_preexisting_cgroup(*plan.cgroup);
    } else {
        rollback.add("removing the cgroup", [&plan] { plan.cgroup->destroy(); });
    }
    plan.cgroup->apply(cgroup_resources(*plan.spec.linux));
    st.cgroup2_id = plan.cgroup->cgroup2_id();
}

StartedInit Runtime::create_container(const CreateOptions& o, CreatePlan& plan,
                                      Rollback& rollback) {
    const config::Spec& spec = plan.spec;
    store_.create_dir(o.id);
    rollback.add("removing the state directory", [this, id = o.id] { store_.remove(id); });
    state::ContainerState st = initial_state(o, spec, plan.bundle, plan.rootfs, systemd_cgroup_);
    set_up_cgroup(o.id, plan, st, rollback);
    if (monitor_)
        plan.watch = monitor_->prepare(
            {o.id, plan.rootfs, spec.linux->uid_mappings, store_.dir(o.id), st.cgroup2_id,
             cgroup2_dir(*plan.cgroup), spec.annotations, spec.process->env,
             plan.confinement.seccomp && plan.confinement.seccomp->notify});
    st.monitored = plan.watch != nullptr;
    if (plan.watch)
        plan.denies = plan.watch->in_process_denies();
    // Before the init exists: no exec can find the container without it.
    state::write_file_atomic(store_.confinement_path(o.id), plan.denies.to_json_text(), 0600,
                             state::Durability::atomic_only);
    UniqueFd exec_hold;
    if (plan.watch && !plan.watch->exec_verdict_socket().empty())
        exec_hold = security::connect_exec_hold(plan.watch->exec_verdict_socket());

    // O_RDWR opens never block; exec.fifo keeps a reader for `start`, started.fifo a writer
    // that only the container's exec (or death) removes.
    UniqueFd start_fifo = make_fifo(store_.fifo_path(o.id));
    UniqueFd started_fifo = make_fifo(store_.started_fifo_path(o.id));
    ConsoleEnds console = open_console(o, *spec.process, plan.own_pty);

    // Copied with the host's credentials: the init, in the user namespace, may not reach them.
    linux::RealSyscalls host_sys;
    std::map<size_t, UniqueFd> source_trees =
        linux::source_trees_for_user_namespace(host_sys, spec, plan.bundle);

    InitContext ctx = plan.init_context(o);
    for (const auto& [index, tree] : source_trees)
        ctx.source_trees[index] = tree.get();
    ctx.start_fifo_fd = start_fifo.get();
    ctx.started_fifo_fd = started_fifo.get();
    ctx.console_fd = console.console.get();
    ctx.exec_hold = exec_hold.get();

    SpawnPlan spawn_plan{.clone_flags = static_cast<uint64_t>(plan.ns.clone_flags),
                         .joins = std::move(plan.ns.joins),
                         .cgroup = plan.cgroup.get()};
    if (plan.ns.new_user) {
        spawn_plan.uid_mappings = &spec.linux->uid_mappings;
        spawn_plan.gid_mappings = &spec.linux->gid_mappings;
    }
    spawn_plan.stdio = o.stdio;
    Spawn spawn(std::move(spawn_plan), [&ctx](int sync_fd, const std::string& state_json) {
        InitContext own = ctx;
        own.sync_fd = sync_fd;
        container_init(own, state_json);
    });
    start_fifo.reset();
    started_fifo.reset();
    console.console.reset();
    exec_hold.reset();
    source_trees.clear();

    // Armed before activate: a watcher that fails to start must not leave map entries behind.
    rollback.add("cancelling the monitor's watch", [&plan] {
        if (plan.watch)
            plan.watch->cancel();
    });
    // The watch is activated while the init builds its rootfs (nothing of the user's runs
    // before `ready`, awaited below), except where createContainer hooks run in the
    // container's namespaces during that set-up: they are watched as the process is.
    const bool activate_first = plan.watch && !spec.hooks.create_container.empty();
    if (activate_first)
        plan.watch->activate(spawn.pid());
    st.pid = spawn.pid();
    st.pid_start_time = state::process_start_time(st.pid);
    // "created" from the prestart hooks on: the runtime-spec's "creating" is its step 2 (building
    // the environment), the hooks are steps 3-5 (runtime-tools' hooks_stdin checks it).
    const std::string hook_state = st.to_oci_json(Status::created).dump();
    spawn.go(hook_state);
    if (plan.watch && !activate_first)
        plan.watch->activate(spawn.pid());
    // The final state.json is written and fsync'd while the container sets itself up, and
    // renamed into place once it is ready.
    st.recorded_status = Status::created;
    state::StagedFile staged_state = store_.stage(st);
    spawn.wait_ready([&] {
        plan.cgroup->first_process_joined();  // the init has joined its cgroups by now
        run_hooks(spec.hooks.prestart, hook_state, "prestart");
        run_hooks(spec.hooks.create_runtime, hook_state, "createRuntime");
    });

    plan.cgroup->first_process_joined();
    StartedInit init;
    if (console.pty_receiver)
        init.pty_master = linux::receive_fd(console.pty_receiver.get());  // sent before `ready`
    staged_state.commit();
    if (!o.pid_file.empty())
        state::write_file_atomic(o.pid_file, std::to_string(st.pid), 0644,
                                 state::Durability::atomic_only);
    Spawn::Process process = spawn.release();
    init.pid = process.pid;
    init.pidfd = std::move(process.pidfd);
    log_.debug("created container " + o.id + " pid " + std::to_string(init.pid));
    init.state = std::move(st);
    init.hooks = spec.hooks;
    return init;
}

// The container's cgroup as it was made: through systemd for a --systemd-cgroup container.
std::unique_ptr<cgroups::CgroupManager> Runtime::open_cgroup(const state::ContainerState& s) const {
    cgroups::ManagerOptions options;
    options.warn = [this](const std::string& message) { log_.warn(message); };
    if (s.use_systemd_cgroup)
        options.systemd = cgroups::ManagerOptions::Systemd::recorded_scope;
    return cgroups::open_manager(s.cgroups_path, s.id, options);
}

state::Status Runtime::live_status(const state::ContainerState& s) const {
    if (s.recorded_status == Status::creating)
        return Status::creating;
    if (!state::init_alive(s))
        return Status::stopped;
    if (access(store_.fifo_path(s.id).c_str(), F_OK) == 0)
        return Status::created;
    auto cgroup = cgroups::open_manager(s.cgroups_path, s.id);
    return cgroup->frozen() ? Status::paused : Status::running;
}

ContainerInfo Runtime::info(const std::string& id) const {
    state::validate_container_id(id);
    auto s = store_.read(id);
    auto status = live_status(s);
    return {std::move(s), status, {}};
}

nlohmann::json Runtime::state_json(const std::string& id) const {
    auto i = info(id);
    if (monitor_) {
        if (auto rule = monitor_->killed_by(store_.dir(id)))
            i.state.killed_by_rule = *rule;
    }
    return i.state.to_oci_json(i.status);
}

ContainerInfo Runtime::recover_corrupt(const std::string& id, const state::CorruptState& e) const {
    ContainerInfo i{{}, Status::creating, e.what()};
    i.state.id = id;
    try {
        config::Spec spec = parse_config_text(store_.read_config(id));
        if (spec.linux)
            i.state.cgroups_path = cgroups::open_manager(spec.linux->cgroups_path, id)->path();
    } catch (const std::exception&) {
        // No readable config either: the default cgroup path for the id.
    }
    return i;
}

std::vector<ContainerInfo> Runtime::list() const {
    std::vector<ContainerInfo> out;
    for (const auto& id : store_.list()) {
        try {
            out.push_back(info(id));
        } catch (const state::CorruptState& e) {
            out.push_back(recover_corrupt(id, e));
        } catch (const Error&) {
            // A directory that is not a container (or vanished meanwhile) is not listed.
        }
    }
    return out;
}

std::vector<pid_t> Runtime::pids(const std::string& id) const {
    auto i = info(id);
    if (i.status == Status::stopped || i.status == Status::creating)
        return {};
    return cgroups::open_manager(i.state.cgroups_path, id)->pids();
}

void Runtime::start(const std::string& id) {
    start(info(id), nullptr);
}

void Runtime::start(const ContainerInfo& i, const config::Hooks* hooks) {
    const std::string& id = i.state.id;
    if (i.status != Status::created)
        throw Error("cannot start container \"" + id + "\": it is " + state::status_name(i.status) +
                    ", not created");
    const std::string fifo = store_.fifo_path(id);
    const std::string what = "cannot start container \"" + id + "\"";
    UniqueFd started(
        ::open(store_.started_fifo_path(id).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd || !started)
        throw_errno(what + ": its process has exited");
    // Unlink first: a concurrent second start finds no fifo and fails instead of racing.
    if (unlink(fifo.c_str()) != 0)
        throw_errno(what);
    if (::write(fd.get(), "0", 1) != 1)
        throw_errno(what);
    fd.reset();
    // Wait until the process has run the startContainer hooks and exec'd its program (EOF),
    // so that poststart hooks really come after it; "E<error>" means it failed before exec.
    fcntl(started.get(), F_SETFL, 0);
    char failed[kStartErrorMax];
    ssize_t n;
    do {
        n = ::read(started.get(), failed, sizeof failed);
    } while (n < 0 && errno == EINTR);
    unlink(store_.started_fifo_path(id).c_str());
    if (n > 1)
        throw Error(what + ": " + std::string(failed + 1, static_cast<size_t>(n - 1)));
    if (n > 0)
        throw Error(what + ": the container's process failed before exec");

    std::optional<config::Spec> spec;
    if (!hooks) {
        spec = parse_config_text(store_.read_config(id));
        hooks = &spec->hooks;
    }
    // A failing poststart hook is a warning: the container runs on (runtime-spec, runc).
    run_hooks_warning(hooks->poststart, i.state.to_oci_json(Status::running).dump(), "poststart",
                      [this](const std::string& m) { log_.warn(m); });
}

void Runtime::pause(const std::string& id) {
    auto i = info(id);
    if (i.status != Status::running)
        throw Error("cannot pause container \"" + id + "\": it is " + state::status_name(i.status));
    cgroups::open_manager(i.state.cgroups_path, id)->freeze();
}

void Runtime::resume(const std::string& id) {
    auto i = info(id);
    if (i.status != Status::paused)
        throw Error("cannot resume container \"" + id + "\": it is " +
                    state::status_name(i.status) + ", not paused");
    cgroups::open_manager(i.state.cgroups_path, id)->thaw();
}

void Runtime::update(const std::string& id, const config::Resources& resources) {
    auto i = info(id);
    if (i.status == Status::stopped || i.status == Status::creating)
        throw Error("cannot update container \"" + id + "\": it is " +
                    state::status_name(i.status));
    // Device rules stay as created, as with runc: containerd's CRI sends the container's whole
    // list (deny all, then its allows) with every update, without the default devices create
    // adds, so replaying it would take /dev/null away from a running container.
    config::Resources changed = resources;
    if (!changed.devices.empty())
        log_.debug("update: linux.resources.devices left as created (as runc)");
    changed.devices.clear();
    open_cgroup(i.state)->apply(changed);
}

nlohmann::json Runtime::stats(const std::string& id) const {
    auto i = info(id);
    if (i.status == Status::stopped || i.status == Status::creating)
        throw Error("container \"" + id + "\": container not running", ESRCH);
    return cgroups::open_manager(i.state.cgroups_path, id)->stats();
}

void Runtime::kill(const std::string& id, int signal, bool all) {
    auto i = info(id);
    if (i.status == Status::stopped || i.status == Status::creating)
        throw Error("cannot kill container \"" + id + "\": container not running", ESRCH);
    if (all) {
        cgroups::open_manager(i.state.cgroups_path, id)->kill_all(signal);
        return;
    }
    UniqueFd pidfd = open_pidfd(i.state);
    if (!pidfd)
        throw Error("cannot kill container \"" + id + "\": container not running", ESRCH);
    // Just after start the program may not catch the signal yet, and the kernel would drop it.
    linux::await_signal_handler(i.state.pid, signal, std::chrono::milliseconds(250),
                                std::chrono::seconds(10));
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) != 0)
        throw_errno("cannot kill container \"" + id + "\"");
}

namespace {

// The cgroup2 id of a cgroup that may be gone already (removed by someone else): 0 then.
uint64_t cgroup2_id_of(const cgroups::CgroupManager& cgroup) {
    try {
        return cgroup.cgroup2_id();
    } catch (const Error& e) {
        if (e.errnum() != ENOENT)
            throw;
        return 0;
    }
}

}  // namespace

void Runtime::remove(const std::string& id, bool force) {
    remove(id, force, nullptr);
}

void Runtime::remove(const std::string& id, bool force, const config::Hooks* hooks) {
    ContainerInfo i;
    try {
        i = info(id);
    } catch (const state::CorruptState& e) {
        if (!force)
            throw Error(std::string(e.what()) + " (use --force)");
        i = recover_corrupt(id, e);
        log_.warn(i.corrupt + ": removing what it left");
    }
    if ((i.status == Status::running || i.status == Status::paused) && !force)
        throw Error("cannot delete container \"" + id +
                    "\" that is not stopped: " + state::status_name(i.status) + " (use --force)");
    auto cgroup = open_cgroup(i.state);
    const uint64_t cgroup2_id = i.state.cgroup2_id ? i.state.cgroup2_id : cgroup2_id_of(*cgroup);
    if (i.status != Status::stopped) {
        if (UniqueFd pidfd = open_pidfd(i.state)) {
            syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
            if (i.status == Status::paused)
                cgroup->thaw();
            wait_pidfd_exit(pidfd.get(), 10000);
        }
    }
    cgroup->destroy();  // kills and waits for anything left in the cgroup
    // A create that did not finish (no final state) may have registered.
    if (monitor_ && cgroup2_id && (i.state.monitored || i.status == Status::creating))
        monitor_->release(cgroup2_id, store_.dir(id));

    std::optional<config::Spec> spec;
    if (!hooks && i.status != Status::creating) {
        std::string config_text;
        try {
            config_text = store_.read_config(id);
        } catch (const Error&) {
            // A create that crashed before saving the config has no hooks to run.
        }
        if (!config_text.empty()) {
            spec = parse_config_text(config_text);
            hooks = &spec->hooks;
        }
    }
    if (hooks && i.status != Status::creating)
        run_hooks_warning(hooks->poststop, i.state.to_oci_json(Status::stopped).dump(), "poststop",
                          [this](const std::string& m) { log_.warn(m); });
    store_.remove(id);
}

int Runtime::run(const CreateOptions& options, bool detach, bool keep) {
    SignalForwarder forwarder;
    CreateOptions opts = options;
    opts.keep_pty_master = !detach;  // brig relays the terminal while it waits
    StartedInit init = create(opts);
    // Undone on failure, and after the wait unless kept (a failure then is only logged). The
    // hooks and state create has just parsed and written: not read back from disk.
    Rollback rollback(log_);
    rollback.add("deleting the container", [&] { remove(options.id, true, &init.hooks); });
    try {
        start({init.state, Status::created, {}}, &init.hooks);
        if (detach) {
            rollback.dismiss();
            return 0;
        }
        int status = forwarder.wait(init.pid, init.pidfd.get(), init.pty_master.get());
        if (keep)
            rollback.dismiss();
        return status;
    } catch (const std::exception& e) {
        throw rollback.fail(e);
    }
}

}  // namespace brig::lifecycle
