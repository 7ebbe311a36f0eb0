// The default profile: its content, and its effect on a process that loads it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "runtime/common/error.hpp"
#include "runtime/security/default_seccomp.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::security {
namespace {

const std::vector<std::string> kDockerCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

std::string run_in_child(const std::function<std::string()>& body) {
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
        ssize_t ignored = write(fds[1], out.data(), out.size());
        (void)ignored;
        _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0)
        out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status)) << "child status " << status;
    return out;
}

std::string outcome(long ret) {
    return ret == -1 ? std::to_string(errno) : "ok";
}

// Names an ALLOW rule without argument conditions lets through.
std::set<std::string> unconditionally_allowed(const config::Seccomp& s) {
    std::set<std::string> out;
    for (const auto& sc : s.syscalls)
        if (sc.action == "SCMP_ACT_ALLOW" && sc.args.empty())
            out.insert(sc.names.begin(), sc.names.end());
    return out;
}

const char* const kAlwaysBlocked[] = {"keyctl",         "add_key",         "request_key",
                                      "kexec_load",     "kexec_file_load", "userfaultfd",
                                      "io_uring_setup", "io_uring_enter",  "io_uring_register"};

TEST(DefaultSeccomp, ShapeOfTheProfile) {
    auto s = default_seccomp(kDockerCaps);
    EXPECT_NO_THROW(validate_seccomp(s));
    EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(s.default_errno_ret, EPERM);
#ifdef __x86_64__
    EXPECT_EQ(s.architectures,
              (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
    auto allowed = unconditionally_allowed(s);
    EXPECT_GT(allowed.size(), 300u);
    for (const char* name :
         {"read", "write", "openat", "execve", "futex", "exit_group", "socket", "chroot"})
        EXPECT_TRUE(allowed.count(name)) << name;
    for (const char* name : kAlwaysBlocked)
        EXPECT_FALSE(allowed.count(name)) << name;
    for (const char* name : {"bpf", "perf_event_open", "mount", "umount2", "unshare", "setns",
                             "clone", "clone3", "reboot", "init_module", "ptrace_never"})
        EXPECT_FALSE(allowed.count(name)) << name;
}

TEST(DefaultSeccomp, CapabilitiesOpenTheirSyscalls) {
    auto caps = kDockerCaps;
    caps.push_back("CAP_SYS_ADMIN");
    caps.push_back("CAP_SYS_BOOT");
    auto s = default_seccomp(caps);
    auto allowed = unconditionally_allowed(s);
    for (const char* name : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf",
                             "perf_event_open", "reboot"})
        EXPECT_TRUE(allowed.count(name)) << name;
    for (const char* name : kAlwaysBlocked)
        EXPECT_FALSE(allowed.count(name)) << name;
    for (const auto& sc : s.syscalls)
        EXPECT_FALSE(sc.names == std::vector<std::string>{"clone3"}) << "no ENOSYS rule needed";
}

TEST(DefaultSeccomp, JsonForm) {
    auto doc = default_seccomp_json(kDockerCaps);
    EXPECT_EQ(doc["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(doc["defaultErrnoRet"], EPERM);
    bool clone_rule = false, clone3_rule = false;
    for (const auto& sc : doc["syscalls"]) {
        if (sc["names"] == nlohmann::json::array({"clone"})) {
            clone_rule = true;
            EXPECT_EQ(sc["action"], "SCMP_ACT_ALLOW");
            ASSERT_EQ(sc["args"].size(), 1u);
            EXPECT_EQ(sc["args"][0]["index"], 0);
            EXPECT_EQ(sc["args"][0]["value"], 2114060288u);  // CLONE_NEW* flags
            EXPECT_EQ(sc["args"][0]["valueTwo"], 0);
            EXPECT_EQ(sc["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
        }
        if (sc["names"] == nlohmann::json::array({"clone3"})) {
            clone3_rule = true;
            EXPECT_EQ(sc["action"], "SCMP_ACT_ERRNO");
            EXPECT_EQ(sc["errnoRet"], ENOSYS);
        }
    }
    EXPECT_TRUE(clone_rule);
    EXPECT_TRUE(clone3_rule);
}

class DefaultSeccompLoad : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root (CAP_SYS_ADMIN) to load without no_new_privs";
    }
};

TEST_F(DefaultSeccompLoad, BlocksWhatDockerBlocks) {
    std::string out = run_in_child([] {
        load_seccomp(default_seccomp(kDockerCaps));
        std::string r;
        r += "keyctl=" +
             outcome(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)) + ",";
        r += "add_key=" +
             outcome(syscall(SYS_add_key, "user", "x", "y", 1, KEY_SPEC_SESSION_KEYRING)) + ",";
        r += "userfaultfd=" + outcome(syscall(SYS_userfaultfd, 0)) + ",";
        r += "io_uring_setup=" + outcome(syscall(SYS_io_uring_setup, 1, nullptr)) + ",";
        r += "bpf=" + outcome(syscall(SYS_bpf, 0, nullptr, 0)) + ",";
        r += "unshare=" + outcome(unshare(CLONE_NEWNS)) + ",";
        r += "setns=" + outcome(setns(0, 0)) + ",";
        r += "mount=" + outcome(mount("none", "/mnt", "tmpfs", 0, nullptr)) + ",";
        r += "clone_newpid=" +
             outcome(syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, nullptr, nullptr, nullptr, 0)) +
             ",";
        r += "clone3=" + outcome(syscall(SYS_clone3, nullptr, 0)) + ",";
        r += "getpid=" + outcome(getpid() > 0 ? 0 : -1);
        return r;
    });
    EXPECT_EQ(out,
              "keyctl=1,add_key=1,userfaultfd=1,io_uring_setup=1,bpf=1,unshare=1,setns=1,"
              "mount=1,clone_newpid=1,clone3=38,getpid=ok");
}

TEST_F(DefaultSeccompLoad, ForkThreadsAndExecStillWork) {
    std::string out = run_in_child([] {
        load_seccomp(default_seccomp(kDockerCaps));
        std::string r;
        // glibc tries clone3 first and falls back to clone when it gets ENOSYS.
        int value = 0;
        std::thread t([&] { value = 42; });
        t.join();
        r += "thread=" + std::to_string(value) + ",";
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/true", "true", nullptr);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        r += "exec=" + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return r;
    });
    EXPECT_EQ(out, "thread=42,exec=0");
}

TEST_F(DefaultSeccompLoad, SysAdminAllowsNamespaces) {
    std::string out = run_in_child([] {
        auto caps = kDockerCaps;
        caps.push_back("CAP_SYS_ADMIN");
        load_seccomp(default_seccomp(caps));
        return "unshare=" + outcome(unshare(CLONE_NEWUTS)) + ",keyctl=" +
               outcome(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    });
    EXPECT_EQ(out, "unshare=ok,keyctl=1");
}

TEST(SeccompToJson, CarriesEveryField) {
    config::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_X86_64"};
    s.flags = {"SECCOMP_FILTER_FLAG_LOG"};
    s.listener_path = "/run/l.sock";
    s.listener_metadata = "meta";
    config::SeccompSyscall sc;
    sc.names = {"getcwd"};
    sc.action = "SCMP_ACT_ERRNO";
    sc.errno_ret = 5;
    sc.args = {{1, 2, 3, "SCMP_CMP_MASKED_EQ"}};
    s.syscalls = {sc};
    auto doc = seccomp_to_json(s);
    EXPECT_EQ(doc, nlohmann::json::parse(R"({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/run/l.sock",
        "listenerMetadata": "meta",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                      "args": [{"index": 1, "value": 2, "valueTwo": 3,
                                "op": "SCMP_CMP_MASKED_EQ"}]}]})"));
}

}  // namespace
}  // namespace brig::security
