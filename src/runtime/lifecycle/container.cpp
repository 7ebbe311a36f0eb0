#include "runtime/lifecycle/container.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/cgroups/manager.hpp"
#include "runtime/common/clock.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/config/spec.hpp"
#include "runtime/lifecycle/hooks.hpp"
#include "runtime/lifecycle/init.hpp"
#include "runtime/lifecycle/signal_forwarder.hpp"
#include "runtime/lifecycle/sync.hpp"
#include "runtime/linux/clone.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/terminal.hpp"
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

void wait_child(pid_t pid) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
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

StartedInit Runtime::create(const CreateOptions& o) {
    state::validate_container_id(o.id);
    const std::string bundle = absolute_directory(o.bundle, "bundle");
    const std::string config_text = config::read_capped_file(
        bundle + "/config.json", config::config_json_size_limit, "config.json");
    const config::Spec spec = parse_config_text(config_text);
    if (!spec.process)
        throw Error("process: required to create a container");
    if (!spec.linux)
        throw Error("linux: required to create a container on Linux");
    const std::string root_path =
        spec.root.path.front() == '/' ? spec.root.path : bundle + "/" + spec.root.path;
    const std::string rootfs = absolute_directory(root_path, "root.path:");
    const bool own_pty =
        spec.process->terminal && o.console_socket.empty() && o.console_socket_fd < 0;
    if (own_pty && !o.keep_pty_master)
        throw Error("process.terminal: true needs --console-socket");
    const linux::NamespacePlan ns = linux::plan_namespaces(*spec.linux);
    std::optional<security::SeccompProgram> seccomp;
    if (spec.linux->seccomp)
        seccomp = security::compile_seccomp_cached(*spec.linux->seccomp, seccomp_cache_dir());
    // Refused here, before anything exists, when a label cannot be applied.
    const security::LsmHost lsm_host = security::detect_lsm_host();
    security::LsmPlan lsm = security::plan_lsm(*spec.process, spec.linux->mount_label, lsm_host,
                                               security::lsm_optional(spec.annotations));
    if (!lsm.warning.empty())
        log_.warn(lsm.warning);
    UniqueFd seccomp_listener;
    if (seccomp && seccomp->notify)
        seccomp_listener = security::connect_seccomp_listener(spec.linux->seccomp->listener_path);

    store_.create_dir(o.id);
    ScopeGuard remove_state([&] { store_.remove(o.id); });

    state::ContainerState st;
    st.oci_version = spec.oci_version;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.created = rfc3339_now();
    st.owner = "root";
    st.annotations = spec.annotations;
    st.use_systemd_cgroup = systemd_cgroup_;

    auto cgroup = cgroups::open_manager(spec.linux->cgroups_path, o.id);
    st.cgroups_path = cgroup->path();
    store_.write_breadcrumb(st);  // "creating": delete --force finds the cgroup to remove
    store_.write_config(o.id, config_text);
    cgroup->create();
    ScopeGuard remove_cgroup([&] { cgroup->destroy(); });
    cgroup->apply(cgroup_resources(*spec.linux));
    std::unique_ptr<ContainerWatch> watch;
    if (monitor_)
        watch = monitor_->prepare({o.id, bundle, store_.dir(o.id), cgroup->cgroup2_id(),
                                   cgroup2_dir(*cgroup), spec.annotations, spec.process->env});

    // O_RDWR opens never block; exec.fifo keeps a reader for `start`, started.fifo a writer
    // that only the container's exec (or death) removes.
    UniqueFd start_fifo = make_fifo(store_.fifo_path(o.id));
    UniqueFd started_fifo = make_fifo(store_.started_fifo_path(o.id));

    UniqueFd console, pty_receiver;  // pty_receiver: our end when we keep the master
    if (own_pty) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            throw_errno("socketpair");
        pty_receiver.reset(pair[0]);
        console.reset(pair[1]);
    } else if (o.console_socket_fd >= 0) {
        console.reset(fcntl(o.console_socket_fd, F_DUPFD_CLOEXEC, 3));
    } else if (spec.process->terminal) {
        console = linux::connect_console_socket(o.console_socket);
    }

    int sync_fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) != 0)
        throw_errno("socketpair");
    UniqueFd parent_end(sync_fds[0]), child_end(sync_fds[1]);

    const char* listen_fds_env = getenv("LISTEN_FDS");
    int listen_fds = listen_fds_env ? std::atoi(listen_fds_env) : 0;
    InitContext ctx;
    ctx.spec = &spec;
    ctx.seccomp = seccomp ? &*seccomp : nullptr;
    ctx.watch = watch.get();
    ctx.lsm = lsm;
    ctx.seccomp_listener = seccomp_listener.get();
    if (lsm_host.selinux)
        ctx.mount_label_option = security::mount_label_option(spec.linux->mount_label);
    ctx.bundle = bundle;
    ctx.rootfs = rootfs;
    ctx.sync_fd = child_end.get();
    ctx.start_fifo_fd = start_fifo.get();
    ctx.started_fifo_fd = started_fifo.get();
    ctx.console_fd = console.get();
    ctx.preserve_fds = o.preserve_fds + listen_fds;
    ctx.listen_fds = listen_fds;
    ctx.no_pivot = o.no_pivot;
    ctx.no_new_keyring = o.no_new_keyring;
    ctx.new_user_namespace = ns.new_user;
    ctx.new_time_namespace = ns.new_time;

    const int cgroup_fd = cgroup->clone_into_fd();
    StartedInit init;
    int pidfd = -1;
    if (ns.joins.empty()) {
        init.pid =
            linux::clone_process({static_cast<uint64_t>(ns.clone_flags), false, cgroup_fd, &pidfd});
        if (init.pid == 0) {
            parent_end.reset();
            container_init(ctx);
        }
    } else {
        // Joining a pid namespace only affects children: a first process joins every namespace
        // given by path, then clones the init (as brig's child) into the new ones.
        pid_t stage1 = linux::clone_process({0, false, cgroup_fd, nullptr});
        if (stage1 == 0) {
            parent_end.reset();
            try {
                linux::join_namespaces(ns);
                pid_t pid = linux::clone_process(
                    {static_cast<uint64_t>(ns.clone_flags), true, -1, nullptr});
                if (pid == 0)
                    container_init(ctx);
                sync_send(ctx.sync_fd, SyncType::init_pid, std::to_string(pid));
            } catch (const std::exception& e) {
                sync_send(ctx.sync_fd, SyncType::error, e.what());
            }
            _exit(0);
        }
        auto m = sync_receive(parent_end.get());
        wait_child(stage1);
        if (m.type == SyncType::error)
            throw Error(m.text);
        init.pid = std::atoi(m.text.c_str());
        pidfd = static_cast<int>(syscall(SYS_pidfd_open, init.pid, 0));
    }
    init.pidfd.reset(pidfd);
    ScopeGuard kill_init([&] {
        ::kill(init.pid, SIGKILL);
        wait_child(init.pid);
    });
    child_end.reset();
    start_fifo.reset();
    started_fifo.reset();
    console.reset();

    if (cgroup_fd < 0)
        cgroup->add_process(init.pid);
    if (ns.new_user)
        linux::write_id_mappings(init.pid, spec.linux->uid_mappings, spec.linux->gid_mappings,
                                 false);
    // Armed before activate: a watcher that fails to start must not leave map entries behind.
    ScopeGuard cancel_watch([&] {
        if (watch)
            watch->cancel();
    });
    if (watch)
        watch->activate(init.pid);
    st.pid = init.pid;
    st.pid_start_time = state::process_start_time(init.pid);
    const std::string hook_state = st.to_oci_json(Status::creating).dump();
    sync_send(parent_end.get(), SyncType::go, hook_state);
    // The final state.json is written and fsync'd while the container sets itself up, and
    // renamed into place once it is ready.
    st.recorded_status = Status::created;
    state::StagedFile staged_state = store_.stage(st);
    for (;;) {
        SyncMessage m = sync_receive(parent_end.get());
        if (m.type == SyncType::error)
            throw Error(m.text);
        if (m.type == SyncType::ready)
            break;
        if (m.type != SyncType::run_hooks)
            throw Error("sync: unexpected message from the container process");
        run_hooks(spec.hooks.prestart, hook_state, "prestart");
        run_hooks(spec.hooks.create_runtime, hook_state, "createRuntime");
        sync_send(parent_end.get(), SyncType::hooks_done);
    }

    if (pty_receiver)
        init.pty_master = linux::receive_fd(pty_receiver.get());  // sent before `ready`
    staged_state.commit();
    if (!o.pid_file.empty())
        state::write_file_atomic(o.pid_file, std::to_string(init.pid), 0644,
                                 state::Durability::atomic_only);
    cancel_watch.dismiss();
    kill_init.dismiss();
    remove_cgroup.dismiss();
    remove_state.dismiss();
    log_.debug("created container " + o.id + " pid " + std::to_string(init.pid));
    init.state = std::move(st);
    init.hooks = spec.hooks;
    return init;
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
    return {std::move(s), status};
}

nlohmann::json Runtime::state_json(const std::string& id) const {
    auto i = info(id);
    if (monitor_) {
        if (auto rule = monitor_->killed_by(store_.dir(id)))
            i.state.killed_by_rule = *rule;
    }
    return i.state.to_oci_json(i.status);
}

std::vector<ContainerInfo> Runtime::list() const {
    std::vector<ContainerInfo> out;
    for (const auto& id : store_.list()) {
        try {
            out.push_back(info(id));
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
    // so that poststart hooks really come after it; a byte means it failed before exec.
    fcntl(started.get(), F_SETFL, 0);
    char failed = 0;
    ssize_t n;
    do {
        n = ::read(started.get(), &failed, 1);
    } while (n < 0 && errno == EINTR);
    unlink(store_.started_fifo_path(id).c_str());
    if (n > 0)
        throw Error(what + ": the container's process failed before exec (see its stderr)");

    std::optional<config::Spec> spec;
    if (!hooks) {
        spec = parse_config_text(store_.read_config(id));
        hooks = &spec->hooks;
    }
    if (!hooks->poststart.empty()) {
        try {
            run_hooks(hooks->poststart, i.state.to_oci_json(Status::running).dump(), "poststart");
        } catch (const Error&) {
            kill(id, SIGKILL, true);
            throw;
        }
    }
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
    cgroups::open_manager(i.state.cgroups_path, id)->apply(resources);
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
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) != 0)
        throw_errno("cannot kill container \"" + id + "\"");
}

void Runtime::remove(const std::string& id, bool force) {
    remove(id, force, nullptr);
}

void Runtime::remove(const std::string& id, bool force, const config::Hooks* hooks) {
    auto i = info(id);
    if ((i.status == Status::running || i.status == Status::paused) && !force)
        throw Error("cannot delete container \"" + id +
                    "\" that is not stopped: " + state::status_name(i.status) + " (use --force)");
    auto cgroup = cgroups::open_manager(i.state.cgroups_path, id);
    const uint64_t cgroup2_id = cgroup->cgroup2_id();  // read before the directory goes
    if (i.status != Status::stopped) {
        if (UniqueFd pidfd = open_pidfd(i.state)) {
            syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
            if (i.status == Status::paused)
                cgroup->thaw();
            wait_pidfd_exit(pidfd.get(), 10000);
        }
    }
    cgroup->destroy();  // kills and waits for anything left in the cgroup
    if (monitor_ && cgroup2_id)
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
    if (hooks && i.status != Status::creating) {
        try {
            run_hooks(hooks->poststop, i.state.to_oci_json(Status::stopped).dump(), "poststop");
        } catch (const Error& e) {
            log_.warn(e.what());
        }
    }
    store_.remove(id);
}

int Runtime::run(const CreateOptions& options, bool detach, bool keep) {
    SignalForwarder forwarder;
    CreateOptions opts = options;
    opts.keep_pty_master = !detach;  // brig relays the terminal while it waits
    StartedInit init = create(opts);
    // The hooks and state create has just parsed and written: not read back from disk.
    ScopeGuard cleanup([&] {
        try {
            remove(options.id, true, &init.hooks);
        } catch (const Error& e) {
            log_.warn(e.what());
        }
    });
    start({init.state, Status::created}, &init.hooks);
    if (detach) {
        cleanup.dismiss();
        return 0;
    }
    int status = forwarder.wait(init.pid, init.pidfd.get(), init.pty_master.get());
    if (keep)
        cleanup.dismiss();
    return status;
}

}  // namespace brig::lifecycle
