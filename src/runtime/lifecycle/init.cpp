#include "runtime/lifecycle/init.hpp"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/common/c_strings.hpp"
#include "runtime/common/error.hpp"
#include "runtime/lifecycle/hooks.hpp"
#include "runtime/lifecycle/sync.hpp"
#include "runtime/linux/process_setup.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/syscalls.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/security/exec_hold.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::lifecycle {
namespace {

bool has_namespace(const config::Spec& spec, config::NamespaceType t) {
    return spec.linux && spec.linux->find_namespace(t) != nullptr;
}

// A fresh session keyring keeps the container off the host's (runc does the same).
void join_new_session_keyring() {
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS)
        throw_errno("cannot create a session keyring");
}

// Blocks until `brig start` writes its byte into exec.fifo.
void wait_for_start(int fifo_fd) {
    char byte;
    ssize_t n;
    do {
        n = ::read(fifo_fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1)
        throw_errno("waiting for start");
}

void load_filter(const security::SeccompProgram& program, const config::Seccomp& config,
                 int listener, const std::string& state_json) {
    std::string payload;
    if (listener >= 0)
        payload = security::seccomp_listener_payload(nlohmann::json::parse(state_json),
                                                     config.listener_metadata);
    UniqueFd notify = security::load_seccomp_program(program);
    if (!notify)
        return;
    if (listener < 0)
        throw Error("linux.seccomp.listenerPath: no connection to the listener");
    security::send_seccomp_notify_fd(listener, notify.get(), payload);
    ::close(listener);
}

}  // namespace

void exec_user_process(const config::Process& process,
                       const std::optional<config::Seccomp>& seccomp_config,
                       const security::SeccompProgram* seccomp, int seccomp_listener,
                       bool setgroups_allowed, int preserve_fds, int listen_fds,
                       const std::string& state_json,
                       const std::vector<config::Hook>* start_hooks) {
    // brig ignores SIGPIPE and `run` blocks the signals it forwards: the program gets neither.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    // Before the filter (a profile may forbid getcwd) and still as root (a root-only cwd).
    linux::enter_cwd(process.cwd);
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it while we
    // still have it (as runc does); the profile must then allow the few calls that follow.
    if (seccomp && !process.no_new_privileges)
        load_filter(*seccomp, *seccomp_config, seccomp_listener, state_json);
    if (process.capabilities)
        security::apply_bounding_set(*process.capabilities);
    linux::switch_user(process.user, setgroups_allowed);
    // Without process.capabilities the process keeps what its user has, as with runc.
    if (process.capabilities)
        security::apply_capability_sets(*process.capabilities);
    std::vector<std::string> env = linux::process_environment(process.env, listen_fds);
    // Resolved as the container user, in the container's root, before the filter may forbid it.
    std::string executable = linux::find_executable(process.args.front(), env);
    if (process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw_errno("process.noNewPrivileges: prctl");
    linux::close_fds_on_exec(3 + preserve_fds);
    if (seccomp && process.no_new_privileges)
        load_filter(*seccomp, *seccomp_config, seccomp_listener, state_json);
    // From the image, inside the container: exactly what the program gets (credentials,
    // capabilities, seccomp filter, only stdio and the preserved fds), as runc runs them.
    if (start_hooks)
        run_hooks(*start_hooks, state_json, "startContainer");
    auto argv = c_strings(process.args);
    auto envp = c_strings(env);
    execve(executable.c_str(), argv.data(), envp.data());
    throw_errno("exec: \"" + process.args.front() + "\"");
}

void container_init(const InitContext& ctx, const std::string& state_json) {
    const config::Spec& spec = *ctx.spec;
    const config::Process& process = *spec.process;
    bool ready_sent = false;
    try {
        if (has_namespace(spec, config::NamespaceType::user)) {
            // The parent has written our id maps (or we joined a namespace that has them):
            // become its root, or every file we make belongs to the overflow uid.
            if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
                throw_errno("cannot become root in the user namespace (check linux.uidMappings)");
        }
        if (ctx.new_time_namespace)
            linux::enter_new_time_namespace(spec.linux->time_offsets);

        // Relative mount sources are relative to the bundle, as with runc.
        if (chdir(ctx.bundle.c_str()) != 0)
            throw_errno("cannot enter the bundle " + ctx.bundle);
        linux::RealSyscalls sys;
        linux::RootfsOptions rootfs_options{ctx.rootfs, ctx.no_pivot, process.terminal,
                                            ctx.mount_label_option, ctx.source_trees};
        bool own_mounts = has_namespace(spec, config::NamespaceType::mount);
        if (own_mounts)
            linux::prepare_rootfs(sys, spec, rootfs_options);

        if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty()) {
            sync_send(ctx.sync_fd, SyncType::run_hooks);
            sync_expect(ctx.sync_fd, SyncType::hooks_done);
        }
        // In the rootfs, as runc runs them (their relative paths name the container's files).
        if (chdir(ctx.rootfs.c_str()) != 0)
            throw_errno("cannot enter the rootfs " + ctx.rootfs);
        run_hooks(spec.hooks.create_container, state_json, "createContainer");

        if (own_mounts) {
            linux::enter_rootfs(sys, rootfs_options);
            linux::finalize_rootfs(sys, spec, rootfs_options);
        } else if (chroot(ctx.rootfs.c_str()) != 0 || chdir("/") != 0) {
            throw_errno("cannot chroot to " + ctx.rootfs);
        }

        if (process.terminal) {
            if (ctx.console_fd < 0)
                throw Error("process.terminal: true needs --console-socket");
            linux::setup_console(ctx.console_fd, process.console_size, own_mounts, process.user);
            ::close(ctx.console_fd);
        } else if (setsid() < 0) {
            throw_errno("setsid");
        }
        if (!ctx.no_new_keyring) {
            security::apply_keyring_label(ctx.lsm);
            join_new_session_keyring();
        }
        // Mounts a fresh procfs to write through.
        security::apply_exec_labels(ctx.lsm);
        // After the console's bind mount: a Landlock-restricted process may not mount.
        if (ctx.denies)
            security::apply_deny_policy(*ctx.denies);
        // From here on (startContainer hooks, the program) every exec waits for the monitor.
        if (ctx.exec_hold >= 0) {
            security::hold_execs(ctx.exec_hold);
            ::close(ctx.exec_hold);
        }
        linux::apply_rlimits(process.rlimits);
        if (process.oom_score_adj)
            linux::apply_oom_score_adj(*process.oom_score_adj);
        if (spec.linux && spec.linux->personality)
            linux::apply_personality(*spec.linux->personality);
        if (process.io_priority)
            linux::apply_io_priority(*process.io_priority);
        if (process.scheduler)
            linux::apply_scheduler(*process.scheduler);

        sync_send(ctx.sync_fd, SyncType::ready);
        ready_sent = true;
        ::close(ctx.sync_fd);

        wait_for_start(ctx.start_fifo_fd);
        ::close(ctx.start_fifo_fd);
        bool setgroups_allowed = true;
        exec_user_process(process, spec.linux->seccomp, ctx.seccomp, ctx.seccomp_listener,
                          setgroups_allowed, ctx.preserve_fds, ctx.listen_fds, state_json,
                          &spec.hooks.start_container);
    } catch (const std::exception& e) {
        if (!ready_sent) {
            sync_send_error(ctx.sync_fd, e);
        } else {
            // `start` reports it (one write below PIPE_BUF arrives whole).
            std::string message = std::string("E") + e.what();
            message.resize(std::min<size_t>(message.size(), kStartErrorMax));
            ssize_t ignored = ::write(ctx.started_fifo_fd, message.data(), message.size());
            (void)ignored;
        }
    }
    _exit(255);
}

}  // namespace brig::lifecycle
