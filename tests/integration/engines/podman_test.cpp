// brig as podman's OCI runtime (`podman --runtime <brig>`): podman has no daemon; every command
// of the suite uses its own root, runroot and tmpdir, and a containers.conf (CONTAINERS_CONF)
// whose ulimits stay within this process's hard limits (brig cannot raise them: no
// CAP_SYS_RESOURCE here) and which names brig as the runtime "brig".
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "engines/engine_helpers.hpp"

namespace brig::test::engines {
namespace {

constexpr const char* kImage = "localhost/brig-busybox:itest";

std::string hard_limit(int resource, rlim_t cap) {
    rlimit limit{};
    getrlimit(resource, &limit);
    rlim_t value = limit.rlim_max == RLIM_INFINITY ? cap : std::min(limit.rlim_max, cap);
    return std::to_string(value) + ":" + std::to_string(value);
}

class Podman : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        verdict_.skip_reason = missing_prerequisite({"podman", "conmon"}, "podman");
        if (!verdict_.skip_reason.empty())
            return;
        dir_ = std::make_unique<ScratchDir>("podman");
        std::ofstream(dir_->path() / "containers.conf")
            << "[containers]\ndefault_ulimits = [\"nofile=" << hard_limit(RLIMIT_NOFILE, 65536)
            << "\", \"nproc=" << hard_limit(RLIMIT_NPROC, 4096) << "\"]\nnetns = \"none\"\n"
            << "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"
            << "events_logfile_path = \"" << (dir_->path() / "events.log").string() << "\"\n"
            << "runtime = \"brig\"\n[engine.runtimes]\nbrig = [\"" << brig_binary() << "\"]\n";
        auto imported = podman("import " + quote(dir_->rootfs_tar()) + " " + kImage);
        if (imported.status != 0)
            verdict_.setup_failure = "podman import failed: " + imported.output;
    }

    static void TearDownTestSuite() {
        if (dir_) {
            podman("rm -fa -t 0");
            podman("rmi -fa");
        }
        dir_.reset();
    }

    void SetUp() override { verdict_.apply(); }

    // podman with this suite's storage and config; `runtime_flag` "" uses containers.conf's.
    static std::string podman_command(const std::string& runtime_flag) {
        const fs::path d = dir_->path();
        return "CONTAINERS_CONF=" + quote(d / "containers.conf") + " podman --root " +
               quote(d / "root") + " --runroot " + quote(d / "run") + " --tmpdir " +
               quote(d / "tmp") + " " + runtime_flag;
    }
    static ShellResult podman(const std::string& args) {
        return shell(podman_command("--runtime " + quote(brig_binary())) + " " + args);
    }
    static ShellResult run(const std::string& flags, const std::string& command) {
        return podman("run " + flags + " " + kImage + " " + command);
    }
    static std::string inspect(const std::string& id, const std::string& format) {
        return podman("inspect -f " + quote(format) + " " + id).output;
    }

    static inline SuiteVerdict verdict_;
    static inline std::unique_ptr<ScratchDir> dir_;
};

TEST_F(Podman, RunPropagatesOutputAndExitCode) {
    auto r = run("--rm", "sh -c 'echo out-line; echo err-line >&2; exit 3'");
    EXPECT_EQ(r.status, 3) << r.output;
    EXPECT_NE(r.output.find("out-line"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("err-line"), std::string::npos) << r.output;
    EXPECT_TRUE(words(podman("ps -aq").output).empty()) << "--rm left the container";
}

TEST_F(Podman, StdinIsPipedThrough) {
    auto r = shell("echo piped-through | " + podman_command("--runtime " + quote(brig_binary())) +
                   " run --rm -i " + kImage + " sh -c 'cat; echo after-eof'");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("piped-through"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("after-eof"), std::string::npos) << r.output;
}

TEST_F(Podman, DetachedExecInspectStop) {
    ASSERT_EQ(run("-d --name bg", "sleep 1000").status, 0);
    EXPECT_EQ(inspect("bg", "{{.State.Status}}"), "running\n");
    EXPECT_NE(inspect("bg", "{{.State.Pid}}"), "0\n");

    auto r = podman("exec bg sh -c 'echo from-exec; exit 4'");
    EXPECT_EQ(r.status, 4) << r.output;
    EXPECT_NE(r.output.find("from-exec"), std::string::npos) << r.output;

    // sleep as pid 1 ignores SIGTERM: stop escalates to SIGKILL -> 137.
    r = podman("stop -t 1 bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(inspect("bg", "{{.State.Status}} {{.State.ExitCode}}"), "exited 137\n");
    EXPECT_EQ(podman("rm bg").status, 0);
    EXPECT_TRUE(words(podman("ps -aq").output).empty());
}

TEST_F(Podman, StopLetsTheProcessExitWithItsOwnCode) {
    ASSERT_EQ(
        run("-d --name trapped",
            "sh -c 'trap \"exit 7\" TERM; touch /tmp/trapped; while true; do sleep 0.1; done'")
            .status,
        0);
    EXPECT_TRUE(eventually([] { return podman("exec trapped test -e /tmp/trapped").status == 0; }));
    EXPECT_EQ(podman("stop -t 30 trapped").status, 0);
    EXPECT_EQ(inspect("trapped", "{{.State.Status}} {{.State.ExitCode}}"), "exited 7\n");
    podman("rm trapped");
}

TEST_F(Podman, ContainersConfNamesBrigAsTheRuntime) {
    auto r = shell(podman_command("") + " run --name by-conf " + kImage + " true");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(inspect("by-conf", "{{.OCIRuntime}}"), "brig\n");
    podman("rm by-conf");
}

}  // namespace
}  // namespace brig::test::engines
