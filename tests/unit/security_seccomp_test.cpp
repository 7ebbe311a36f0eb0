// seccomp filters loaded in forked children; the blocked syscalls are observed from there.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/common/error.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::security {
namespace {

struct ChildResult {
    int status = 0;
    std::string output;
};

// Runs `body` in a forked child; returns its wait status and what it returned.
ChildResult run_in_child(const std::function<std::string()>& body) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw_errno("pipe2");
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        std::string out;
        try {
            out = body();
        } catch (const std::exception& e) {
            out = std::string("exception: ") + e.what();
        }
        size_t done = 0;
        while (done < out.size()) {
            ssize_t n = write(fds[1], out.data() + done, out.size() - done);
            if (n <= 0)
                break;
            done += static_cast<size_t>(n);
        }
        _exit(0);
    }
    close(fds[1]);
    ChildResult r;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0)
        r.output.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    waitpid(pid, &r.status, 0);
    return r;
}

// errno of a failed call, or "ok".
std::string outcome(long ret) {
    return ret == -1 ? std::to_string(errno) : "ok";
}

config::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                            std::optional<uint32_t> errno_ret = std::nullopt,
                            std::vector<config::SeccompArg> args = {}) {
    config::SeccompSyscall s;
    s.names = std::move(names);
    s.action = std::move(action);
    s.errno_ret = errno_ret;
    s.args = std::move(args);
    return s;
}

config::Seccomp allow_by_default() {
    config::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    return s;
}

std::string error_of(const config::Seccomp& s) {
    try {
        validate_seccomp(s);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

class SeccompLoadTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "loads filters without no_new_privs: needs CAP_SYS_ADMIN";
    }
};

TEST(SeccompValidate, ErrorsNameTheJsonPath) {
    auto s = allow_by_default();
    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO"), rule({"getpid"}, "SCMP_ACT_ALLOW"),
                  rule({"mkdir"}, "SCMP_ACT_LOG"), rule({"read"}, "X")};
    EXPECT_EQ(error_of(s), "linux.seccomp.syscalls[3].action: unknown action \"X\"");

    s = allow_by_default();
    s.default_action = "SCMP_ACT_BOGUS";
    EXPECT_EQ(error_of(s), "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BOGUS\"");

    s = allow_by_default();
    s.architectures.push_back("SCMP_ARCH_VAX");
    EXPECT_EQ(error_of(s),
              "linux.seccomp.architectures[3]: unknown architecture \"SCMP_ARCH_VAX\"");

    s = allow_by_default();
    s.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_NOPE"};
    EXPECT_EQ(error_of(s), "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");

    s = allow_by_default();
    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", std::nullopt,
                       {{0, 1, 0, "SCMP_CMP_EQ"}, {1, 1, 0, "SCMP_CMP_ABOUT"}})};
    EXPECT_EQ(error_of(s),
              "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_ABOUT\"");

    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", std::nullopt, {{6, 1, 0, "SCMP_CMP_EQ"}})};
    EXPECT_EQ(error_of(s),
              "linux.seccomp.syscalls[0].args[0].index: 6 is not an argument index (0-5)");

    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ALLOW", 5)};
    EXPECT_EQ(error_of(s),
              "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO "
              "or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW");

    s.syscalls = {rule({}, "SCMP_ACT_ALLOW")};
    EXPECT_EQ(error_of(s), "linux.seccomp.syscalls[0].names: must be a non-empty array");

    s = allow_by_default();
    s.default_action = "";
    EXPECT_EQ(error_of(s), "linux.seccomp.defaultAction: must be set");
}

TEST(SeccompValidate, NotifyNeedsAListenerAndCannotBeTheDefault) {
    auto s = allow_by_default();
    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_NOTIFY")};
    EXPECT_EQ(error_of(s), "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
    s.listener_path = "relative.sock";
    EXPECT_NE(error_of(s).find("must be an absolute path"), std::string::npos);
    s.listener_path = "/run/listener.sock";
    EXPECT_EQ(error_of(s), "");
    s.syscalls = {rule({"getcwd", "sendmsg"}, "SCMP_ACT_NOTIFY")};
    EXPECT_NE(error_of(s).find("linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be"),
              std::string::npos);
    s.syscalls.clear();
    s.default_action = "SCMP_ACT_NOTIFY";
    EXPECT_EQ(error_of(s),
              "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
}

TEST(SeccompValidate, UnknownSyscallNamesAreNotAnError) {
    auto s = allow_by_default();
    s.syscalls = {rule({"no_such_syscall", "getcwd"}, "SCMP_ACT_ERRNO")};
    EXPECT_EQ(error_of(s), "");
}

TEST(SeccompFeatures, ListsWhatIsSupported) {
    auto actions = seccomp_known_actions();
    EXPECT_EQ(actions.size(), 9u);
    EXPECT_NE(std::find(actions.begin(), actions.end(), "SCMP_ACT_NOTIFY"), actions.end());
    EXPECT_EQ(seccomp_known_operators().size(), 7u);
    auto archs = seccomp_known_architectures();
    EXPECT_NE(std::find(archs.begin(), archs.end(), "SCMP_ARCH_X86_64"), archs.end());
    EXPECT_NE(std::find(archs.begin(), archs.end(), "SCMP_ARCH_AARCH64"), archs.end());
    EXPECT_EQ(seccomp_known_flags().size(), 4u);
    for (const auto& f : seccomp_supported_flags()) {
        auto known = seccomp_known_flags();
        EXPECT_NE(std::find(known.begin(), known.end(), f), known.end()) << f;
    }
    EXPECT_EQ(libseccomp_version(), std::to_string(SCMP_VER_MAJOR) + "." +
                                        std::to_string(SCMP_VER_MINOR) + "." +
                                        std::to_string(SCMP_VER_MICRO));
}

TEST_F(SeccompLoadTest, BlockedSyscallsReturnTheConfiguredErrno) {
    auto r = run_in_child([] {
        auto s = allow_by_default();
        s.syscalls = {rule({"no_such_syscall", "getcwd"}, "SCMP_ACT_ERRNO", 38),
                      rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO")};
        UniqueFd notify = load_seccomp(s);
        char buf[256];
        std::string out = outcome(syscall(SYS_getcwd, buf, sizeof(buf))) + ",";
        out += outcome(mkdir("/tmp/brig-seccomp-never", 0700)) + ",";
        out += outcome(getpid() > 0 ? 0 : -1) + ",";
        out += notify ? "fd" : "nofd";
        return out;
    });
    EXPECT_EQ(r.output, "38,1,ok,nofd");
    struct stat st;
    EXPECT_NE(stat("/tmp/brig-seccomp-never", &st), 0);
}

TEST_F(SeccompLoadTest, StatusShowsFilterMode) {
    auto r = run_in_child([] {
        auto s = allow_by_default();
        s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO")};
        load_seccomp(s);
        std::ifstream status("/proc/self/status");
        std::string line;
        while (std::getline(status, line))
            if (line.rfind("Seccomp:", 0) == 0)
                return line;
        return std::string("none");
    });
    EXPECT_EQ(r.output, "Seccomp:\t2");
}

TEST_F(SeccompLoadTest, DefaultErrnoRetApplies) {
    auto r = run_in_child([] {
        config::Seccomp s;
        s.default_action = "SCMP_ACT_ERRNO";
        s.default_errno_ret = 95;  // EOPNOTSUPP
        // Enough for the child to report and exit.
        s.syscalls = {rule({"write", "exit", "exit_group", "brk", "mmap", "munmap", "mremap",
                            "madvise", "futex", "rt_sigprocmask", "close", "getpid"},
                           "SCMP_ACT_ALLOW")};
        load_seccomp(s);
        std::string out = outcome(syscall(SYS_getppid)) + ",";
        out += outcome(syscall(SYS_getpid));
        return out;
    });
    EXPECT_EQ(r.output, "95,ok");
}

// As runc: a syscall newer than every syscall the profile names gets ENOSYS (so glibc falls back
// from clone3 to clone), one it knows of but does not allow gets the default action.
TEST_F(SeccompLoadTest, SyscallsNewerThanTheProfileGetEnosys) {
    auto r = run_in_child([] {
        config::Seccomp s;
        s.default_action = "SCMP_ACT_ERRNO";
        s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
        s.syscalls = {
            rule({"write", "exit", "exit_group", "brk", "mmap", "munmap", "mremap", "madvise",
                  "futex", "rt_sigprocmask", "close", "getpid", "memfd_create"},
                 "SCMP_ACT_ALLOW")};
        load_seccomp(s);
        std::string out = outcome(syscall(SYS_getppid)) + ",";       // 110: known, not allowed
        out += outcome(syscall(SYS_pidfd_open, getpid(), 0)) + ",";  // 434 > memfd_create
        out += outcome(syscall(1000)) + ",";
        out += outcome(syscall(0x40000000 + 1000)) + ",";  // an x32 number past the profile
        out += outcome(syscall(SYS_getpid));
        return out;
    });
    EXPECT_EQ(r.output, "1,38,38,38,ok");
}

TEST_F(SeccompLoadTest, PermissiveOrEnosysDefaultsGetNoStub) {
    auto r = run_in_child([] {
        auto s = allow_by_default();
        s.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", 5)};
        load_seccomp(s);
        std::string out = outcome(syscall(SYS_getppid)) + ",";
        out += outcome(syscall(SYS_pidfd_open, getpid(), 0));
        return out;
    });
    EXPECT_EQ(r.output, "5,ok");
}

TEST_F(SeccompLoadTest, KillProcessAndTrapEndTheProcessWithSigsys) {
    for (const char* action :
         {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"}) {
        auto r = run_in_child([action] {
            auto s = allow_by_default();
            s.syscalls = {rule({"getcwd"}, action)};
            load_seccomp(s);
            char buf[256];
            syscall(SYS_getcwd, buf, sizeof(buf));
            return std::string("survived");
        });
        EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSYS)
            << action << " status " << r.status;
        EXPECT_EQ(r.output, "") << action;
    }
}

TEST_F(SeccompLoadTest, LogAndAllowLetTheCallThrough) {
    auto r = run_in_child([] {
        auto s = allow_by_default();
        s.default_action = "SCMP_ACT_LOG";
        s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ALLOW"), rule({"getppid"}, "SCMP_ACT_ERRNO", 7)};
        s.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
        load_seccomp(s);
        char buf[256];
        return outcome(syscall(SYS_getcwd, buf, sizeof(buf))) + "," + outcome(syscall(SYS_getpid)) +
               "," + outcome(syscall(SYS_getppid));
    });
    EXPECT_EQ(r.output, "ok,ok,7");
}

TEST_F(SeccompLoadTest, TraceWithoutTracerFailsWithEnosys) {
    // With no ptrace tracer attached, SECCOMP_RET_TRACE makes the syscall fail with ENOSYS.
    auto r = run_in_child([] {
        auto s = allow_by_default();
        s.syscalls = {rule({"getppid"}, "SCMP_ACT_TRACE", 1)};
        load_seccomp(s);
        return outcome(syscall(SYS_getppid));
    });
    EXPECT_EQ(r.output, std::to_string(ENOSYS));
}

// getpriority(which, who) is harmless whatever the arguments: a test bed for comparisons.
std::string matches(const std::vector<config::SeccompArg>& args,
                    const std::vector<std::pair<long, long>>& calls) {
    auto r = run_in_child([&] {
        auto s = allow_by_default();
        s.syscalls = {rule({"getpriority"}, "SCMP_ACT_ERRNO", 77, args)};
        load_seccomp(s);
        std::string out;
        for (auto [which, who] : calls) {
            errno = 0;
            long ret = syscall(SYS_getpriority, which, who);
            out += (ret == -1 && errno == 77) ? "M" : "-";
        }
        return out;
    });
    return r.output;
}

TEST_F(SeccompLoadTest, EveryOperatorCompares) {
    constexpr long P = PRIO_PROCESS;
    EXPECT_EQ(matches({{1, 5, 0, "SCMP_CMP_EQ"}}, {{P, 4}, {P, 5}, {P, 6}}), "-M-");
    EXPECT_EQ(matches({{1, 5, 0, "SCMP_CMP_NE"}}, {{P, 4}, {P, 5}, {P, 6}}), "M-M");
    EXPECT_EQ(matches({{1, 5, 0, "SCMP_CMP_LT"}}, {{P, 4}, {P, 5}, {P, 6}}), "M--");
    EXPECT_EQ(matches({{1, 5, 0, "SCMP_CMP_LE"}}, {{P, 4}, {P, 5}, {P, 6}}), "MM-");
    EXPECT_EQ(matches({{1, 5, 0, "SCMP_CMP_GT"}}, {{P, 4}, {P, 5}, {P, 6}}), "--M");
    EXPECT_EQ(matches({{1, 5, 0, "SCMP_CMP_GE"}}, {{P, 4}, {P, 5}, {P, 6}}), "-MM");
    // value is the mask, valueTwo what the masked argument must equal.
    EXPECT_EQ(matches({{1, 0xf0, 0x20, "SCMP_CMP_MASKED_EQ"}}, {{P, 0x25}, {P, 0x35}, {P, 0x2f}}),
              "M-M");
}

TEST_F(SeccompLoadTest, ArgumentsOfDifferentIndexesAllMustMatch) {
    EXPECT_EQ(matches({{0, PRIO_PROCESS, 0, "SCMP_CMP_EQ"}, {1, 12345, 0, "SCMP_CMP_EQ"}},
                      {{PRIO_PROCESS, 12345}, {PRIO_PROCESS, 12346}, {PRIO_PGRP, 12345}}),
              "M--");
}

TEST_F(SeccompLoadTest, RepeatedIndexMatchesAnyOfItsComparisons) {
    constexpr long P = PRIO_PROCESS;
    EXPECT_EQ(
        matches({{1, 4, 0, "SCMP_CMP_EQ"}, {1, 6, 0, "SCMP_CMP_EQ"}}, {{P, 4}, {P, 5}, {P, 6}}),
        "M-M");
}

TEST_F(SeccompLoadTest, LoadWithoutPrivilegeOrNoNewPrivsIsAClearError) {
    auto r = run_in_child([] {
        // Keep root's uid but lose CAP_SYS_ADMIN: the kernel then insists on no_new_privs.
        cap_t caps = cap_get_proc();
        cap_value_t admin = CAP_SYS_ADMIN;
        cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_CLEAR);
        cap_set_flag(caps, CAP_PERMITTED, 1, &admin, CAP_CLEAR);
        if (cap_set_proc(caps) != 0)
            throw_errno("cap_set_proc");
        cap_free(caps);
        auto s = allow_by_default();
        s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO")};
        load_seccomp(s);
        return std::string("loaded");
    });
    EXPECT_NE(r.output.find("noNewPrivileges or CAP_SYS_ADMIN"), std::string::npos) << r.output;
}

TEST_F(SeccompLoadTest, LoadsUnprivilegedWithNoNewPrivs) {
    auto r = run_in_child([] {
        if (setresuid(65534, 65534, 65534) != 0)
            throw_errno("setresuid");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            throw_errno("nnp");
        auto s = allow_by_default();
        s.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", 3)};
        load_seccomp(s);
        return outcome(syscall(SYS_getppid));
    });
    EXPECT_EQ(r.output, "3");
}

// A listener on a unix socket: receives the process state and the notify fd, then answers
// the first notification with `reply` as the syscall's return value.
class NotifyListener {
public:
    explicit NotifyListener(std::string dir) : path_(dir + "/listener.sock") {
        sock_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        if (bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
            listen(sock_, 1) != 0)
            throw_errno("listener");
    }
    ~NotifyListener() {
        close(sock_);
        unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }

    // Returns the JSON the runtime sent and the syscall number that was notified.
    std::pair<nlohmann::json, int> serve(long reply) {
        int conn = accept4(sock_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0)
            throw_errno("accept");
        std::string payload;
        int notify_fd = -1;
        for (;;) {
            char buf[8192];
            iovec iov{buf, sizeof(buf)};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof(control);
            ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
            if (n <= 0)
                break;
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                    std::memcpy(&notify_fd, CMSG_DATA(c), sizeof(int));
            payload.append(buf, static_cast<size_t>(n));
        }
        close(conn);
        if (notify_fd < 0)
            throw Error("no fd received");
        seccomp_notif* req = nullptr;
        seccomp_notif_resp* resp = nullptr;
        if (seccomp_notify_alloc(&req, &resp) != 0)
            throw Error("seccomp_notify_alloc");
        int rc = seccomp_notify_receive(notify_fd, req);
        if (rc != 0)
            throw Error("seccomp_notify_receive", -rc);
        int nr = req->data.nr;
        resp->id = req->id;
        resp->val = reply;
        resp->error = 0;
        resp->flags = 0;
        rc = seccomp_notify_respond(notify_fd, resp);
        seccomp_notify_free(req, resp);
        close(notify_fd);
        if (rc != 0)
            throw Error("seccomp_notify_respond", -rc);
        return {nlohmann::json::parse(payload), nr};
    }

private:
    std::string path_;
    int sock_ = -1;
};

void notify_round_trip(const std::vector<std::string>& flags) {
    char dir_template[] = "/tmp/brig-notify-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string dir = dir_template;
    {
        NotifyListener listener(dir);
        const std::string listener_path = listener.path();
        int result_pipe[2];
        ASSERT_EQ(pipe2(result_pipe, O_CLOEXEC), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(result_pipe[0]);
            std::string out;
            try {
                auto s = allow_by_default();
                s.flags = flags;
                s.listener_path = listener_path;
                s.listener_metadata = "test-metadata";
                s.syscalls = {rule({"getppid"}, "SCMP_ACT_NOTIFY")};
                UniqueFd notify = load_seccomp(s);
                if (!notify)
                    throw Error("no notify fd");
                nlohmann::json state = {{"ociVersion", "1.2.0"},
                                        {"id", "ctr-1"},
                                        {"status", "creating"},
                                        {"pid", getpid()},
                                        {"bundle", "/b"}};
                UniqueFd listener_sock = connect_seccomp_listener(s.listener_path);
                send_seccomp_notify_fd(listener_sock.get(), notify.get(),
                                       seccomp_listener_payload(state, s.listener_metadata));
                listener_sock.reset();  // the listener reads the state up to EOF
                notify.reset();
                out = std::to_string(syscall(SYS_getppid));
            } catch (const std::exception& e) {
                out = std::string("exception: ") + e.what();
            }
            ssize_t ignored = write(result_pipe[1], out.data(), out.size());
            (void)ignored;
            _exit(0);
        }
        close(result_pipe[1]);
        auto [doc, nr] = listener.serve(4242);
        char buf[256] = {};
        ssize_t n = read(result_pipe[0], buf, sizeof(buf) - 1);
        close(result_pipe[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "4242");
        EXPECT_EQ(nr, SYS_getppid);
        EXPECT_EQ(doc["ociVersion"], "1.2.0");
        EXPECT_EQ(doc["fds"], nlohmann::json::array({"seccompFd"}));
        EXPECT_EQ(doc["pid"], pid);
        EXPECT_EQ(doc["metadata"], "test-metadata");
        EXPECT_EQ(doc["state"]["id"], "ctr-1");
        EXPECT_EQ(doc["state"]["status"], "creating");
    }
    rmdir(dir.c_str());
}

TEST_F(SeccompLoadTest, NotifyListenerReceivesTheCall) {
    notify_round_trip({});
}

TEST_F(SeccompLoadTest, NotifyWithTsync) {
    notify_round_trip({"SECCOMP_FILTER_FLAG_TSYNC"});
}

TEST_F(SeccompLoadTest, NotifyWithWaitKillableRecv) {
    auto supported = seccomp_supported_flags();
    if (std::find(supported.begin(), supported.end(), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") ==
        supported.end())
        GTEST_SKIP() << "kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
    notify_round_trip({"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"});
}

TEST_F(SeccompLoadTest, WaitKillableRecvIsAcceptedWithoutNotify) {
    auto r = run_in_child([] {
        auto s = allow_by_default();
        s.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
        s.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", 9)};
        load_seccomp(s);
        return outcome(syscall(SYS_getppid));
    });
    EXPECT_EQ(r.output, "9");
}

TEST(SeccompNotifySend, ConnectFailureNamesTheField) {
    try {
        connect_seccomp_listener("/nonexistent/brig/listener.sock");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("linux.seccomp.listenerPath"), std::string::npos);
    }
}

}  // namespace
}  // namespace brig::security

namespace brig::security {
namespace {

bool same_program(const SeccompProgram& a, const SeccompProgram& b) {
    return a.flags == b.flags && a.notify == b.notify && a.filter.size() == b.filter.size() &&
           std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) ==
               0;
}

class SeccompCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/brig-seccomp-cache-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = std::string(tmpl) + "/cache";
    }
    void TearDown() override {
        for (const auto& f : entries())
            unlink((dir_ + "/" + f).c_str());
        rmdir(dir_.c_str());
        rmdir(dir_.substr(0, dir_.rfind('/')).c_str());
    }
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        if (DIR* d = opendir(dir_.c_str())) {
            while (dirent* e = readdir(d))
                if (e->d_name[0] != '.')
                    out.push_back(e->d_name);
            closedir(d);
        }
        return out;
    }
    std::string dir_;
};

TEST_F(SeccompCacheTest, SecondCompileComesFromTheCache) {
    auto s = allow_by_default();
    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", 38)};
    auto first = compile_seccomp_cached(s, dir_);
    ASSERT_EQ(entries().size(), 1u);
    struct stat st;
    ASSERT_EQ(stat(dir_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto second = compile_seccomp_cached(s, dir_);
    EXPECT_TRUE(same_program(first, second));
    EXPECT_TRUE(same_program(first, compile_seccomp(s)));

    s.syscalls[0].errno_ret = 39;  // another profile, another entry
    auto third = compile_seccomp_cached(s, dir_);
    EXPECT_FALSE(same_program(first, third));
    EXPECT_EQ(entries().size(), 2u);
}

TEST_F(SeccompCacheTest, DamagedEntryIsRecompiled) {
    auto s = allow_by_default();
    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", 38)};
    auto good = compile_seccomp_cached(s, dir_);
    ASSERT_EQ(entries().size(), 1u);
    const std::string entry = dir_ + "/" + entries()[0];
    // Replace the program part with "allow everything" bytes of the same size.
    int fd = open(entry.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    off_t size = lseek(fd, 0, SEEK_END);
    std::string junk(static_cast<size_t>(size) / 2, '\0');
    ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
    close(fd);
    EXPECT_TRUE(same_program(compile_seccomp_cached(s, dir_), good));
}

TEST_F(SeccompCacheTest, CachedProgramBlocksInTheChild) {
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root";
    auto s = allow_by_default();
    s.syscalls = {rule({"getcwd"}, "SCMP_ACT_ERRNO", 38)};
    compile_seccomp_cached(s, dir_);
    // Compiled (from the cache) in the parent, only loaded in the child.
    auto program = compile_seccomp_cached(s, dir_);
    auto r = run_in_child([&] {
        load_seccomp_program(program);
        char buf[256];
        return outcome(syscall(SYS_getcwd, buf, sizeof(buf)));
    });
    EXPECT_EQ(r.output, "38");
}

TEST(SeccompProgramLoad, EmptyProgramIsRefused) {
    EXPECT_THROW(load_seccomp_program(SeccompProgram{}), Error);
}

}  // namespace
}  // namespace brig::security
