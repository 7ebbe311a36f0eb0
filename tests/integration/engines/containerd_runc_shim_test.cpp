// brig as the runc binary of containerd's own runc shim (io.containerd.runc.v2 with BinaryName):
// one containerd per suite on its own socket, root and state; brig's state under our runc root.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "engines/engine_helpers.hpp"

namespace brig::test::engines {
namespace {

class ContainerdRuncShim : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        verdict_.skip_reason =
            missing_prerequisite({"containerd", "ctr", "containerd-shim-runc-v2"}, "containerd");
        if (!verdict_.skip_reason.empty())
            return;
        dir_ = std::make_unique<ScratchDir>("ctd-runc");
        const fs::path d = dir_->path();
        std::ofstream(d / "config.toml")
            << "version = 2\nroot = \"" << (d / "root").string() << "\"\nstate = \""
            << (d / "state").string()
            << "\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \""
            << socket() << "\"\n";
        daemon_ = std::make_unique<Daemon>(
            std::vector<std::string>{"containerd", "--config", (d / "config.toml").string()},
            d / "containerd.log");
        if (!daemon_->wait_ready([] { return ctr("version").status == 0; }))
            verdict_.setup_failure =
                "containerd did not start: " + shell("cat " + quote(d / "containerd.log")).output;
    }

    static void TearDownTestSuite() {
        if (daemon_) {
            for (const auto& id : words(ctr("task ls -q").output)) {
                ctr("task kill -s KILL " + id);
                ctr("task delete -f " + id);
            }
            for (const auto& id : words(ctr("c ls -q").output))
                ctr("c rm " + id);
            daemon_.reset();
        }
        dir_.reset();
    }

    void SetUp() override { verdict_.apply(); }

    static std::string socket() { return (dir_->path() / "containerd.sock").string(); }
    static fs::path runc_root() { return dir_->path() / "runc-root"; }

    static ShellResult ctr(const std::string& args) {
        return shell("ctr -a " + quote(socket()) + " " + args);
    }
    // ctr run with brig as the shim's runc binary, on the busybox rootfs.
    static ShellResult run(const std::string& flags, const std::string& id,
                           const std::string& command) {
        return ctr("run " + flags + " --runc-binary " + quote(brig_binary()) + " --runc-root " +
                   quote(runc_root()) + " --rootfs " + quote(dir_->rootfs()) + " " + id + " " +
                   command);
    }

    static std::string task_status(const std::string& id) {
        auto fields = words(ctr("task ls").output);
        for (size_t i = 0; i + 2 < fields.size(); ++i)
            if (fields[i] == id)
                return fields[i + 2];
        return "";
    }

    static void kill_and_delete(const std::string& id) {
        ctr("task kill -s KILL " + id);
        eventually([&] { return task_status(id) == "STOPPED"; });
        ctr("task delete " + id);
        ctr("c rm " + id);
    }

    static inline SuiteVerdict verdict_;
    static inline std::unique_ptr<ScratchDir> dir_;
    static inline std::unique_ptr<Daemon> daemon_;
};

TEST_F(ContainerdRuncShim, ExitCodeAndOutputPropagate) {
    auto r = run("--rm", "exit3", "/bin/sh -c 'echo out-line; echo err-line >&2; exit 3'");
    EXPECT_EQ(r.status, 3) << r.output;
    EXPECT_NE(r.output.find("out-line"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("err-line"), std::string::npos) << r.output;
    r = run("--rm", "exit0", "/bin/true");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(words(ctr("c ls -q").output).empty());
}

// No stdin test here: with containerd 1.6's runc shim, `ctr run` never closes the container's
// stdin at EOF (the same with runc itself); containerd_shim tests brig's own shim for that.

TEST_F(ContainerdRuncShim, BrigKeepsTheStateOfTheShimsContainers) {
    ASSERT_EQ(run("-d", "listed", "/bin/sleep 1000").status, 0);
    // The shim ran brig: brig's own list (under the root the shim gave it) has the container.
    auto list = shell(quote(brig_binary()) + " --root " + quote(runc_root() / "default") + " list");
    EXPECT_NE(list.output.find("listed"), std::string::npos) << list.output;
    EXPECT_NE(list.output.find("running"), std::string::npos) << list.output;
    kill_and_delete("listed");
    list = shell(quote(brig_binary()) + " --root " + quote(runc_root() / "default") + " list");
    EXPECT_EQ(list.output.find("listed"), std::string::npos) << list.output;
}

TEST_F(ContainerdRuncShim, ExecPsPauseResumeMetricsKill) {
    ASSERT_EQ(run("-d", "bg", "/bin/sleep 1000").status, 0);
    EXPECT_EQ(task_status("bg"), "RUNNING");

    auto r = ctr("task exec --exec-id e1 bg /bin/sh -c 'echo from-exec; exit 4'");
    EXPECT_EQ(r.status, 4) << r.output;
    EXPECT_NE(r.output.find("from-exec"), std::string::npos) << r.output;

    r = ctr("task ps bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_GE(words(r.output).size(), 3u) << r.output;  // header + the init's pid

    EXPECT_EQ(ctr("task pause bg").status, 0);
    EXPECT_EQ(task_status("bg"), "PAUSED");
    EXPECT_EQ(ctr("task resume bg").status, 0);
    EXPECT_EQ(task_status("bg"), "RUNNING");

    r = ctr("task metrics bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("memory.usage_in_bytes"), std::string::npos) << r.output;

    EXPECT_NE(ctr("task delete bg").status, 0) << "a running task was deleted";
    EXPECT_EQ(ctr("task kill -s KILL bg").status, 0);
    EXPECT_TRUE(eventually([] { return task_status("bg") == "STOPPED"; }));
    r = ctr("task delete bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(ctr("c rm bg").status, 0);
    EXPECT_TRUE(words(ctr("task ls -q").output).empty());
}

TEST_F(ContainerdRuncShim, BrigsErrorReachesCtr) {
    auto r = run("--rm", "noexec", "/bin/no-such-program");
    EXPECT_NE(r.status, 0) << r.output;
    // The shim reports the last error of brig's JSON log; the container's stderr has the cause.
    EXPECT_NE(r.output.find("/bin/no-such-program"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("OCI runtime"), std::string::npos) << r.output;
    ctr("task delete -f noexec");
    ctr("c rm noexec");
    EXPECT_TRUE(words(ctr("c ls -q").output).empty());
}

}  // namespace
}  // namespace brig::test::engines
