// Capabilities applied in a forked child and read back from /proc/self/status.
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "runtime/common/error.hpp"
#include "runtime/security/capabilities.hpp"

namespace brig::security {
namespace {

// Runs `body` in a forked child and returns what it returned (or "exception: ...").
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
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0)
        out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    return out;
}

// "CapBnd=...,CapEff=...": the five capability masks of the calling process.
std::string capability_status() {
    std::ifstream status("/proc/self/status");
    std::string line, out;
    while (std::getline(status, line)) {
        if (line.rfind("Cap", 0) != 0)
            continue;
        auto colon = line.find(':');
        uint64_t mask = std::stoull(line.substr(colon + 1), nullptr, 16);
        out += line.substr(0, colon) + "=" + std::to_string(mask) + ",";
    }
    return out;
}

std::map<std::string, uint64_t> parse_status(const std::string& text) {
    std::map<std::string, uint64_t> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        auto eq = item.find('=');
        if (eq == std::string::npos || item.rfind("Cap", 0) != 0)
            continue;
        out[item.substr(0, eq)] = std::stoull(item.substr(eq + 1));
    }
    return out;
}

uint64_t bits(std::initializer_list<int> caps) {
    uint64_t m = 0;
    for (int c : caps)
        m |= uint64_t{1} << c;
    return m;
}

void become_user(uid_t uid, gid_t gid) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
        throw_errno("PR_SET_KEEPCAPS");
    if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0)
        throw_errno("switch user");
}

class CapabilitiesTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root";
    }
};

TEST(CapabilityNames, UnknownNameIsAWarningNamingTheSet) {
    config::Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_FOO"};
    EXPECT_EQ(validate_capabilities(caps, "process.capabilities"),
              std::vector<std::string>{
                  "process.capabilities.bounding: unknown capability \"CAP_FOO\", ignored"});
    caps.bounding = {"CAP_CHOWN"};
    caps.ambient = {"cap_chown"};  // the runtime-spec spells them upper case with CAP_
    EXPECT_EQ(validate_capabilities(caps, "process.capabilities").size(), 1u);
    caps.ambient = {"5"};
    EXPECT_EQ(validate_capabilities(caps, "process.capabilities").size(), 1u);
}

TEST(CapabilityNames, KnownNamesAreAccepted) {
    config::Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE"};
    caps.effective = {"CAP_KILL"};
    caps.ambient = {"CAP_AUDIT_WRITE"};
    EXPECT_TRUE(validate_capabilities(caps, "process.capabilities").empty());
}

TEST(CapabilityNames, NamesTheKernelLacksAreReturned) {
    // Only testable where libcap knows more capabilities than the running kernel.
    if (last_kernel_capability() >= CAP_LAST_CAP)
        GTEST_SKIP() << "this kernel knows every capability libcap knows";
    char* name = cap_to_name(CAP_LAST_CAP);
    std::string upper(name);
    cap_free(name);
    for (auto& c : upper)
        c = static_cast<char>(toupper(c));
    config::Capabilities caps;
    caps.bounding = {upper};
    EXPECT_EQ(validate_capabilities(caps, "process.capabilities"),
              std::vector<std::string>{"process.capabilities.bounding: " + upper +
                                       " is not known to this kernel, ignored"});
}

TEST(CapabilityNames, KernelListAndMask) {
    auto names = kernel_capability_names();
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "CAP_CHOWN");
    EXPECT_NE(std::find(names.begin(), names.end(), "CAP_SYS_ADMIN"), names.end());
    EXPECT_EQ(capability_mask({"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"}), bits({0, 5, 21}));
}

TEST_F(CapabilitiesTest, BoundingSetIsDroppedToTheList) {
    auto status = parse_status(run_in_child([] {
        config::Capabilities caps;
        caps.bounding = {"CAP_CHOWN", "CAP_KILL"};
        apply_bounding_set(caps);
        return capability_status();
    }));
    EXPECT_EQ(status.at("CapBnd"), bits({CAP_CHOWN, CAP_KILL}));
}

TEST_F(CapabilitiesTest, SetsAreExactAfterSwitchingUser) {
    auto status = parse_status(run_in_child([] {
        config::Capabilities caps;
        caps.bounding = {"CAP_CHOWN",  "CAP_NET_BIND_SERVICE", "CAP_KILL",
                         "CAP_SETUID", "CAP_SETGID",           "CAP_SETPCAP"};
        caps.effective = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"};
        caps.permitted = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"};
        apply_bounding_set(caps);
        become_user(1000, 1000);
        apply_capability_sets(caps);
        return capability_status();
    }));
    EXPECT_EQ(status.at("CapBnd"), bits({CAP_CHOWN, CAP_NET_BIND_SERVICE, CAP_KILL, CAP_SETUID,
                                         CAP_SETGID, CAP_SETPCAP}));
    EXPECT_EQ(status.at("CapEff"), bits({CAP_CHOWN, CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(status.at("CapPrm"), bits({CAP_CHOWN, CAP_NET_BIND_SERVICE, CAP_KILL}));
    EXPECT_EQ(status.at("CapInh"), 0u);
    EXPECT_EQ(status.at("CapAmb"), 0u);
}

TEST_F(CapabilitiesTest, InheritableIsClearedUnlessListed) {
    // The process arrives with an inheritable capability (as a host may hand it one): the
    // config does not list any, so none survives (CVE-2022-29162).
    auto status = parse_status(run_in_child([] {
        cap_t state = cap_get_proc();
        cap_value_t chown_cap = CAP_CHOWN;
        cap_set_flag(state, CAP_INHERITABLE, 1, &chown_cap, CAP_SET);
        if (cap_set_proc(state) != 0)
            throw_errno("cap_set_proc");
        cap_free(state);
        config::Capabilities caps;
        caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN", "CAP_KILL"};
        apply_bounding_set(caps);
        apply_capability_sets(caps);
        return capability_status();
    }));
    EXPECT_EQ(status.at("CapInh"), 0u);
    EXPECT_EQ(status.at("CapEff"), bits({CAP_CHOWN, CAP_KILL}));
}

TEST_F(CapabilitiesTest, AmbientRaisedForNonRootUser) {
    std::string out = run_in_child([] {
        config::Capabilities caps;
        caps.bounding = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};
        caps.effective = caps.permitted = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};
        caps.inheritable = {"CAP_NET_BIND_SERVICE"};
        caps.ambient = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};  // KILL is not inheritable
        apply_bounding_set(caps);
        become_user(1000, 1000);
        auto skipped = apply_capability_sets(caps);
        std::string out = capability_status();
        for (const auto& s : skipped)
            out += "skipped=" + s + ",";
        return out;
    });
    auto status = parse_status(out);
    EXPECT_EQ(status.at("CapAmb"), bits({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(status.at("CapInh"), bits({CAP_NET_BIND_SERVICE}));
    EXPECT_NE(out.find("skipped=CAP_KILL,"), std::string::npos) << out;
}

TEST_F(CapabilitiesTest, AmbientSurvivesExecOfNonRootProgram) {
    // The point of ambient: a non-root program exec'd afterwards keeps the capability.
    std::string out = run_in_child([] {
        config::Capabilities caps;
        caps.bounding = caps.effective = caps.permitted = caps.inheritable =
            caps.ambient = {"CAP_NET_BIND_SERVICE"};
        apply_bounding_set(caps);
        become_user(1000, 1000);
        apply_capability_sets(caps);
        int fds[2];
        if (pipe(fds) != 0)
            throw_errno("pipe");
        pid_t pid = fork();
        if (pid == 0) {
            dup2(fds[1], 1);
            execl("/bin/grep", "grep", "^CapEff", "/proc/self/status", nullptr);
            _exit(127);
        }
        close(fds[1]);
        char buf[256] = {};
        ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
        waitpid(pid, nullptr, 0);
        return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    });
    ASSERT_EQ(out.rfind("CapEff:", 0), 0u) << out;
    EXPECT_EQ(std::stoull(out.substr(7), nullptr, 16), bits({CAP_NET_BIND_SERVICE}));
}

TEST_F(CapabilitiesTest, EmptySetsLeaveNothing) {
    auto status = parse_status(run_in_child([] {
        config::Capabilities caps;
        apply_bounding_set(caps);
        become_user(1000, 1000);
        apply_capability_sets(caps);
        return capability_status();
    }));
    EXPECT_EQ(status.at("CapBnd"), 0u);
    EXPECT_EQ(status.at("CapEff"), 0u);
    EXPECT_EQ(status.at("CapPrm"), 0u);
    EXPECT_EQ(status.at("CapInh"), 0u);
    EXPECT_EQ(status.at("CapAmb"), 0u);
}

}  // namespace
}  // namespace brig::security
