#include "runtime/linux/process_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <limits>
#include <string_view>

#include "runtime/common/elide.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::linux {
namespace {

// Not in glibc 2.36's headers.
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

int scheduler_policy(const std::string& name) {
    if (name == "SCHED_OTHER")
        return SCHED_OTHER;
    if (name == "SCHED_FIFO")
        return SCHED_FIFO;
    if (name == "SCHED_RR")
        return SCHED_RR;
    if (name == "SCHED_BATCH")
        return SCHED_BATCH;
    if (name == "SCHED_ISO")
        return 4;
    if (name == "SCHED_IDLE")
        return SCHED_IDLE;
    if (name == "SCHED_DEADLINE")
        return 6;
    throw Error("process.scheduler.policy: unknown policy \"" + name + "\"");
}

uint64_t scheduler_flag(const std::string& name) {
    if (name == "SCHED_FLAG_RESET_ON_FORK")
        return 0x01;
    if (name == "SCHED_FLAG_RECLAIM")
        return 0x02;
    if (name == "SCHED_FLAG_DL_OVERRUN")
        return 0x04;
    if (name == "SCHED_FLAG_KEEP_POLICY")
        return 0x08;
    if (name == "SCHED_FLAG_KEEP_PARAMS")
        return 0x10;
    if (name == "SCHED_FLAG_UTIL_CLAMP_MIN")
        return 0x20;
    if (name == "SCHED_FLAG_UTIL_CLAMP_MAX")
        return 0x40;
    throw Error("process.scheduler.flags: unknown flag \"" + name + "\"");
}

}  // namespace

void apply_rlimits(const std::vector<config::Rlimit>& rlimits) {
    for (const auto& r : rlimits) {
        rlimit64 lim{r.soft, r.hard};
        if (prlimit64(0, static_cast<__rlimit_resource>(r.resource), &lim, nullptr) != 0)
            throw_errno("process.rlimits " + r.type + ": cannot set soft " +
                        std::to_string(r.soft) + " hard " + std::to_string(r.hard) +
                        " (raising the hard limit needs CAP_SYS_RESOURCE)");
    }
}

void apply_oom_score_adj(int score) {
    UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    std::string value = std::to_string(score);
    if (!fd || ::write(fd.get(), value.data(), value.size()) < 0)
        throw_errno("process.oomScoreAdj: cannot write /proc/self/oom_score_adj");
}

void apply_personality(const config::Personality& p) {
    unsigned long persona = p.domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
    if (personality(persona) < 0)
        throw_errno("linux.personality: cannot set " + p.domain);
}

void apply_io_priority(const config::IoPriority& prio) {
    int io_class = 0;
    if (prio.io_class == "IOPRIO_CLASS_RT")
        io_class = 1;
    else if (prio.io_class == "IOPRIO_CLASS_BE")
        io_class = 2;
    else if (prio.io_class == "IOPRIO_CLASS_IDLE")
        io_class = 3;
    else
        throw Error("process.ioPriority.class: unknown class \"" + prio.io_class + "\"");
    constexpr int ioprio_who_process = 1;
    constexpr int ioprio_class_shift = 13;
    if (syscall(SYS_ioprio_set, ioprio_who_process, 0,
                (io_class << ioprio_class_shift) | prio.priority) != 0)
        throw_errno("process.ioPriority: cannot set");
}

void apply_scheduler(const config::Scheduler& sched) {
    SchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = static_cast<uint32_t>(scheduler_policy(sched.policy));
    for (const auto& f : sched.flags)
        attr.sched_flags |= scheduler_flag(f);
    attr.sched_nice = sched.nice;
    attr.sched_priority = static_cast<uint32_t>(sched.priority);
    attr.sched_runtime = sched.runtime;
    attr.sched_deadline = sched.deadline;
    attr.sched_period = sched.period;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0)
        throw_errno("process.scheduler: cannot set " + sched.policy);
}

void switch_user(const config::User& user, bool setgroups_allowed) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
        throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (setgroups_allowed) {
        std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
        if (setgroups(groups.size(), groups.data()) != 0)
            throw_errno("process.user.additionalGids: setgroups");
    } else if (!user.additional_gids.empty()) {
        throw Error("process.user.additionalGids: setgroups is denied in this user namespace");
    }
    if (setresgid(user.gid, user.gid, user.gid) != 0)
        throw_errno("process.user.gid: setresgid(" + std::to_string(user.gid) + ")");
    if (setresuid(user.uid, user.uid, user.uid) != 0)
        throw_errno("process.user.uid: setresuid(" + std::to_string(user.uid) + ")");
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
        throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (user.umask)
        umask(*user.umask);
}

void enter_cwd(const std::string& cwd) {
    if (chdir(cwd.c_str()) != 0)
        throw_errno("process.cwd: cannot chdir to " + elide(cwd));
    // getcwd reports "(unreachable)" or fails with ENOENT for a directory outside our root.
    char buf[4096];
    if (!getcwd(buf, sizeof buf) || buf[0] != '/')
        throw Error("process.cwd: " + elide(cwd) + " is outside the container");
}

void close_fds_on_exec(int first_fd) {
    if (syscall(SYS_close_range, first_fd, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    // Fallback for kernels without CLOSE_RANGE_CLOEXEC: walk /proc/self/fd.
    for (int fd = first_fd; fd < 65536; ++fd) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

std::string find_executable(const std::string& file, const std::vector<std::string>& env) {
    if (file.find('/') != std::string::npos)
        return file;
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : env)
        if (e.rfind("PATH=", 0) == 0)
            path = e.substr(5);
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos)
            end = path.size();
        std::string_view dir = std::string_view(path).substr(start, end - start);
        std::string candidate(dir.empty() ? std::string_view(".") : dir);
        candidate += '/';
        candidate += file;
        struct stat st {};
        if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            access(candidate.c_str(), X_OK) == 0)
            return candidate;
        start = end + 1;
    }
    throw Error("exec: \"" + file + "\": executable file not found in $PATH", ENOENT);
}

std::vector<std::string> process_environment(const std::vector<std::string>& env, int listen_fds) {
    std::vector<std::string> out;
    out.reserve(env.size() + 2);
    for (const auto& e : env)
        if (listen_fds == 0 || (e.rfind("LISTEN_FDS=", 0) != 0 && e.rfind("LISTEN_PID=", 0) != 0))
            out.push_back(e);
    if (listen_fds > 0) {
        out.push_back("LISTEN_FDS=" + std::to_string(listen_fds));
        out.push_back("LISTEN_PID=" + std::to_string(getpid()));
    }
    return out;
}

}  // namespace brig::linux
