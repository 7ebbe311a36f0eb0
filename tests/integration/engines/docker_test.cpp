// brig as a Docker runtime: one dockerd per suite (`--add-runtime brig=<brig>`, no bridge, no
// iptables) on its own socket, data root, exec root and pidfile; the image is a busybox rootfs
// brought in with `docker import`.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "engines/engine_helpers.hpp"

namespace brig::test::engines {
namespace {

// Debian's docker.io CLI (another `docker` may come first in PATH).
constexpr const char* kDockerCli = "/usr/bin/docker";
constexpr const char* kImage = "brig-busybox:itest";

class Docker : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        verdict_.skip_reason = missing_prerequisite({"dockerd", kDockerCli}, "docker.io");
        if (!verdict_.skip_reason.empty())
            return;
        dir_ = std::make_unique<ScratchDir>("docker");
        const fs::path d = dir_->path();
        std::ofstream(d / "daemon.json") << "{}\n";
        daemon_ = std::make_unique<Daemon>(
            std::vector<std::string>{
                "dockerd", "--config-file", (d / "daemon.json").string(), "--host",
                "unix://" + socket(), "--data-root", (d / "root").string(), "--exec-root",
                (d / "exec").string(), "--pidfile", (d / "docker.pid").string(), "--add-runtime",
                "brig=" + brig_binary(), "--iptables=false", "--ip6tables=false", "--ip-masq=false",
                "--bridge=none", "--log-level=warn"},
            d / "dockerd.log");
        if (!daemon_->wait_ready([] { return docker("version").status == 0; })) {
            verdict_.setup_failure =
                "dockerd did not start: " + shell("cat " + quote(d / "dockerd.log")).output;
            return;
        }
        auto imported = docker("import " + quote(dir_->rootfs_tar()) + " " + kImage);
        if (imported.status != 0)
            verdict_.setup_failure = "docker import failed: " + imported.output;
    }

    static void TearDownTestSuite() {
        if (daemon_) {
            for (const auto& id : words(docker("ps -aq").output))
                docker("rm -f " + id);
            docker("rmi -f " + std::string(kImage));
            daemon_.reset();
        }
        dir_.reset();
    }

    void SetUp() override { verdict_.apply(); }

    static std::string socket() { return (dir_->path() / "docker.sock").string(); }
    static std::string docker_command() {
        return std::string(kDockerCli) + " -H " + quote("unix://" + socket());
    }
    static ShellResult docker(const std::string& args) {
        return shell(docker_command() + " " + args);
    }
    // docker run --runtime brig <flags> <image> <command>
    static ShellResult run(const std::string& flags, const std::string& command) {
        return docker("run --runtime brig " + flags + " " + kImage + " " + command);
    }
    static std::string inspect(const std::string& id, const std::string& format) {
        return docker("inspect -f " + quote(format) + " " + id).output;
    }

    static inline SuiteVerdict verdict_;
    static inline std::unique_ptr<ScratchDir> dir_;
    static inline std::unique_ptr<Daemon> daemon_;
};

TEST_F(Docker, RunRmPropagatesOutputAndExitCode) {
    auto r = run("--rm", "sh -c 'echo out-line; echo err-line >&2; exit 3'");
    EXPECT_EQ(r.status, 3) << r.output;
    EXPECT_NE(r.output.find("out-line"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("err-line"), std::string::npos) << r.output;
    EXPECT_TRUE(words(docker("ps -aq").output).empty()) << "--rm left the container";
    // The container really ran under brig: its runtime is recorded as such.
    r = run("--name which-runtime", "true");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(inspect("which-runtime", "{{.HostConfig.Runtime}}"), "brig\n");
    docker("rm which-runtime");
}

TEST_F(Docker, InteractiveStdinAndTerminal) {
    auto r = shell("echo piped-through | " + docker_command() + " run --rm -i --runtime brig " +
                   kImage + " sh -c 'cat; echo after-eof'");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("piped-through"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("after-eof"), std::string::npos) << r.output;
    if (!have_program("script"))
        GTEST_SKIP() << "script(1) is not installed (bsdutils): docker run -t needs a terminal";
    r = shell(
        "script -qec " +
        quote(docker_command() + " run --rm -t --runtime brig " + kImage + " sh -c 'tty; exit 5'") +
        " /dev/null </dev/null");
    EXPECT_EQ(r.status, 5) << r.output;
    EXPECT_NE(r.output.find("/dev/pts/"), std::string::npos) << r.output;
}

TEST_F(Docker, ExecWithExitCodeStdinAndTerminal) {
    ASSERT_EQ(run("-d --name ex", "sleep 1000").status, 0);
    auto r = docker("exec ex sh -c 'echo from-exec; exit 4'");
    EXPECT_EQ(r.status, 4) << r.output;
    EXPECT_NE(r.output.find("from-exec"), std::string::npos) << r.output;
    r = shell("echo into-exec | " + docker_command() + " exec -i ex cat");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("into-exec"), std::string::npos) << r.output;
    if (have_program("script")) {
        r = shell("script -qec " + quote(docker_command() + " exec -t ex tty") +
                  " /dev/null </dev/null");
        EXPECT_EQ(r.status, 0) << r.output;
        EXPECT_NE(r.output.find("/dev/pts/"), std::string::npos) << r.output;
    }
    docker("rm -f ex");
}

TEST_F(Docker, MemoryAndPidsLimitsReachTheCgroup) {
    auto r = run("--rm --memory 64m --pids-limit 50",
                 "sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes "
                 "/sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; true'");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("67108864"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("50"), std::string::npos) << r.output;
    // The limit holds: 60 more processes cannot all start.
    r = run("--rm --pids-limit 20",
            "sh -c 'for i in $(seq 60); do sleep 5 & done 2>/dev/null; "
            "echo count=$(ps -o comm | grep -c ^sleep)'");
    EXPECT_EQ(r.output.find("count=60"), std::string::npos) << r.output;
}

TEST_F(Docker, CapDropReadOnlyAndUser) {
    auto r = run("--rm --cap-drop CHOWN", "sh -c 'chown 1 /tmp && echo chowned'");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("chowned"), std::string::npos) << r.output;
    r = run("--rm", "sh -c 'chown 1 /tmp && echo chowned'");
    EXPECT_NE(r.output.find("chowned"), std::string::npos) << r.output;

    r = run("--rm --read-only", "sh -c 'touch /file && echo written'");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("written"), std::string::npos) << r.output;

    r = run("--rm --user 65534:65534", "id");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("uid=65534"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("gid=65534"), std::string::npos) << r.output;
}

TEST_F(Docker, SeccompProfileIsEnforced) {
    const fs::path profile = dir_->path() / "no-mkdir.json";
    std::ofstream(profile) << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [)"
                           << R"({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]})";
    auto r =
        run("--rm --security-opt seccomp=" + quote(profile), "sh -c 'mkdir /tmp/d && echo made'");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("made"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Operation not permitted"), std::string::npos) << r.output;
}

TEST_F(Docker, StopAndKillExitCodes) {
    // sleep as pid 1 ignores SIGTERM: stop escalates to SIGKILL -> 137.
    ASSERT_EQ(run("-d --name stopped", "sleep 1000").status, 0);
    EXPECT_EQ(docker("stop -t 1 stopped").status, 0);
    EXPECT_EQ(inspect("stopped", "{{.State.Status}} {{.State.ExitCode}}"), "exited 137\n");
    // A process that handles SIGTERM exits with its own code.
    ASSERT_EQ(
        run("-d --name trapped",
            "sh -c 'trap \"exit 7\" TERM; touch /tmp/trapped; while true; do sleep 0.1; done'")
            .status,
        0);
    EXPECT_TRUE(eventually([] { return docker("exec trapped test -e /tmp/trapped").status == 0; }));
    EXPECT_EQ(docker("stop -t 30 trapped").status, 0);
    EXPECT_EQ(inspect("trapped", "{{.State.Status}} {{.State.ExitCode}}"), "exited 7\n");
    ASSERT_EQ(run("-d --name killed", "sleep 1000").status, 0);
    EXPECT_EQ(docker("kill killed").status, 0);
    EXPECT_EQ(docker("wait killed").output, "137\n");
    docker("rm stopped trapped killed");
    EXPECT_TRUE(words(docker("ps -aq").output).empty());
}

}  // namespace
}  // namespace brig::test::engines
