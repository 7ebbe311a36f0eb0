#include "runtime/linux/clone.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

// struct clone_args of linux/sched.h, which clashes with glibc's <sched.h>.
struct CloneArgs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
constexpr uint64_t clone_into_cgroup = 0x200000000ULL;
// The size of clone_args before CLONE_INTO_CGROUP (CLONE_ARGS_SIZE_VER1).
constexpr size_t clone_args_size_ver1 = 80;

bool cgroup_refused(int err) {
    return err == EOPNOTSUPP || err == EBUSY || err == E2BIG || err == EINVAL;
}

}  // namespace

pid_t clone_process(const CloneRequest& request) {
    CloneArgs args{};
    args.flags = request.namespaces;
    // The kernel refuses an exit signal with CLONE_PARENT: the child inherits ours (SIGCHLD).
    if (request.parent_is_ours)
        args.flags |= CLONE_PARENT;
    else
        args.exit_signal = SIGCHLD;
    if (request.pidfd) {
        args.flags |= CLONE_PIDFD;
        args.pidfd = reinterpret_cast<uint64_t>(request.pidfd);
    }
    size_t size = clone_args_size_ver1;
    if (request.cgroup_fd >= 0) {
        args.flags |= clone_into_cgroup;
        args.cgroup = static_cast<uint64_t>(request.cgroup_fd);
        size = sizeof args;
    }
    long pid = syscall(SYS_clone3, &args, size);
    bool in_cgroup = request.cgroup_fd >= 0;
    if (pid < 0 && in_cgroup && cgroup_refused(errno)) {
        args.flags &= ~clone_into_cgroup;
        args.cgroup = 0;
        in_cgroup = false;
        pid = syscall(SYS_clone3, &args, clone_args_size_ver1);
    }
    if (pid < 0)
        throw_errno("cannot create the container process (clone3)");
    if (pid > 0 && request.in_cgroup)
        *request.in_cgroup = in_cgroup;
    return static_cast<pid_t>(pid);
}

}  // namespace brig::linux
