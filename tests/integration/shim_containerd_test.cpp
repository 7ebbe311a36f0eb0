// containerd-shim-brig-v2 under Debian's containerd 1.6: each test starts its own containerd
// (own socket, root and state under /tmp/brig-ctd-XXXXXX) and drives it with ctr.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "metrics.pb.h"
#include "metrics_v2.pb.h"
#include "shim/service.hpp"
#include "shim/ttrpc.hpp"
#include "task.pb.h"

namespace {

using brig::shim::task_service_name;
using brig::shim::ttrpc::Code;
using brig::shim::ttrpc::RpcError;
namespace task = containerd::task::v2;

namespace fs = std::filesystem;

struct Result {
    int status = -1;
    std::string output;
};

Result sh(const std::string& command) {
    Result r;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p)
        return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        r.output.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

std::string shim_binary() {
    return (fs::path(BRIG_BINARY).parent_path() / "containerd-shim-brig-v2").string();
}

bool have(const std::string& tool) {
    return sh("command -v " + tool).status == 0;
}

class ShimContainerd : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root";
        if (!have("containerd") || !have("ctr"))
            GTEST_SKIP() << "containerd is not installed (apt-get install containerd)";
        if (!fs::exists(shim_binary()))
            GTEST_SKIP() << "shim not built: " << shim_binary();
        if (!fs::exists("/bin/busybox"))
            GTEST_SKIP() << "busybox-static is not installed";
        char tmpl[] = "/tmp/brig-ctd-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::create_directories(dir_ + "/bin");
        fs::create_symlink(shim_binary(), dir_ + "/bin/containerd-shim-brig-v2");
        make_rootfs();
        write_config("");
        start_containerd();
    }

    // containerd's config.toml for this test's daemon, with extra appended.
    void write_config(const std::string& extra) {
        std::ofstream(dir_ + "/config.toml")
            << "version = 2\nroot = \"" << dir_ << "/root\"\nstate = \"" << dir_
            << "/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = "
               "\""
            << socket() << "\"\n"
            << extra;
    }

    void TearDown() override {
        if (dir_.empty())
            return;
        // Whatever a failed test left: tasks, containers, then the daemon and its shims.
        if (containerd_pid_ > 0) {
            auto tasks = ctr("task ls -q").output;
            for (const auto& id : split(tasks)) {
                ctr("task kill -s KILL " + id);
                ctr("task delete -f " + id);
            }
            for (const auto& id : split(ctr("c ls -q").output))
                ctr("c rm " + id);
            stop_containerd();
        }
        for (pid_t pid : shim_pids())
            kill(pid, SIGKILL);
        sh("umount -R " + dir_ + "/state " + dir_ + "/root 2>/dev/null");
        fs::remove_all(dir_);
    }

    std::string socket() const { return dir_ + "/containerd.sock"; }

    Result ctr(const std::string& args) { return sh("timeout 60 ctr -a " + socket() + " " + args); }
    Result run(const std::string& args, const std::string& id, const std::string& command) {
        return ctr("run " + args + " --runtime io.containerd.brig.v2 --rootfs " + dir_ +
                   "/rootfs " + id + " " + command);
    }

    void start_containerd() {
        containerd_pid_ = fork();
        ASSERT_GE(containerd_pid_, 0);
        if (containerd_pid_ == 0) {
            std::string path = dir_ + "/bin:" + getenv("PATH");
            setenv("PATH", path.c_str(), 1);
            setsid();
            std::string log = dir_ + "/containerd.log";
            freopen(log.c_str(), "a", stdout);
            freopen(log.c_str(), "a", stderr);
            execlp("containerd", "containerd", "--config", (dir_ + "/config.toml").c_str(),
                   nullptr);
            _exit(127);
        }
        // Ready when ctr gets an answer (or containerd died: then the log says why).
        for (int i = 0; i < 600; ++i) {
            if (ctr("version").status == 0)
                return;
            if (waitpid(containerd_pid_, nullptr, WNOHANG) == containerd_pid_) {
                containerd_pid_ = -1;
                FAIL() << "containerd exited: " << sh("cat " + dir_ + "/containerd.log").output;
            }
            usleep(50000);
        }
        FAIL() << "containerd did not come up";
    }

    void stop_containerd() {
        if (containerd_pid_ <= 0)
            return;
        kill(containerd_pid_, SIGTERM);
        waitpid(containerd_pid_, nullptr, 0);
        containerd_pid_ = -1;
    }

    // Shims serving our containerd: their command line names our socket.
    std::vector<pid_t> shim_pids() {
        std::vector<pid_t> pids;
        for (const auto& e : fs::directory_iterator("/proc")) {
            std::string name = e.path().filename();
            if (name.find_first_not_of("0123456789") != std::string::npos)
                continue;
            std::ifstream f(e.path() / "cmdline");
            std::string cmdline((std::istreambuf_iterator<char>(f)), {});
            // The monitor's per-container watcher is forked from the shim (same cmdline) but
            // renames itself: it is not a shim.
            std::ifstream comm_file(e.path() / "comm");
            std::string comm;
            std::getline(comm_file, comm);
            if (cmdline.find("containerd-shim-brig-v2") != std::string::npos &&
                cmdline.find(socket()) != std::string::npos && comm != "brig-monitor")
                pids.push_back(std::stoi(name));
        }
        return pids;
    }

    static std::vector<std::string> split(const std::string& s) {
        std::vector<std::string> out;
        std::string cur;
        for (char c : s) {
            if (isspace(static_cast<unsigned char>(c))) {
                if (!cur.empty())
                    out.push_back(cur);
                cur.clear();
            } else {
                cur += c;
            }
        }
        if (!cur.empty())
            out.push_back(cur);
        return out;
    }

    std::string task_status(const std::string& id) {
        auto lines = ctr("task ls").output;
        auto at = lines.find("\n" + id + " ");
        if (at == std::string::npos)
            return "";
        auto words = split(lines.substr(at + 1, lines.find('\n', at + 1) - at - 1));
        return words.size() >= 3 ? words[2] : "";
    }

    pid_t task_pid(const std::string& id) {
        auto lines = ctr("task ls").output;
        auto at = lines.find("\n" + id + " ");
        if (at == std::string::npos)
            return -1;
        auto words = split(lines.substr(at + 1, lines.find('\n', at + 1) - at - 1));
        return words.size() >= 2 ? std::stoi(words[1]) : -1;
    }

    std::string bundle(const std::string& id) const {
        return dir_ + "/state/io.containerd.runtime.v2.task/default/" + id;
    }

    // The shim's own socket, as containerd records it in the bundle.
    brig::shim::ttrpc::Client shim_client(const std::string& id) {
        std::ifstream f(bundle(id) + "/address");
        std::string address;
        std::getline(f, address);
        if (address.rfind("unix://", 0) == 0)
            address = address.substr(7);
        return brig::shim::ttrpc::Client::connect(address);
    }

    // The memory limit the host's cgroup holds for pid (v1 memory controller or cgroup2).
    static std::string memory_limit(pid_t pid) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
        std::string line, unified;
        while (std::getline(f, line)) {
            auto colon = line.find(':');
            auto second = line.find(':', colon + 1);
            std::string controllers = line.substr(colon + 1, second - colon - 1);
            std::string path = line.substr(second + 1);
            if (controllers == "memory") {
                std::ifstream limit("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes");
                return std::string((std::istreambuf_iterator<char>(limit)), {});
            }
            if (controllers.empty())
                unified = path;
        }
        std::ifstream limit("/sys/fs/cgroup" + unified + "/memory.max");
        return std::string((std::istreambuf_iterator<char>(limit)), {});
    }

    // Starts `ctr events` into log; returns its pid once the stream is seen live.
    pid_t capture_events(const std::string& log) {
        auto started =
            sh("timeout 120 ctr -a " + socket() + " events > " + log + " 2>&1 & echo $!");
        const pid_t events_pid = std::stoi(started.output);
        // ctr events subscribes asynchronously: a first container proves the stream is live.
        for (int i = 0; i < 20; ++i) {
            run("--rm", "warmup" + std::to_string(i), "/bin/true");
            if (sh("grep -c /tasks/delete " + log).output != "0\n")
                break;
        }
        sh("> " + log);
        return events_pid;
    }

    void make_rootfs() {
        const std::string r = dir_ + "/rootfs";
        for (auto d : {"bin", "proc", "sys", "dev", "etc", "tmp"})
            fs::create_directories(r + "/" + d);
        fs::copy_file("/bin/busybox", r + "/bin/busybox");
        for (const auto& applet : split(sh("/bin/busybox --list").output))
            if (!fs::exists(r + "/bin/" + applet))
                fs::create_symlink("busybox", r + "/bin/" + applet);
    }

    std::string dir_;
    pid_t containerd_pid_ = -1;
};

TEST_F(ShimContainerd, RunToExitPropagatesOutputAndExitCode) {
    auto r = run("--rm", "exit3", "/bin/sh -c 'echo out-line; echo err-line >&2; exit 3'");
    EXPECT_EQ(r.status, 3) << r.output;
    EXPECT_NE(r.output.find("out-line"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("err-line"), std::string::npos) << r.output;
    r = run("--rm", "exit0", "/bin/true");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(ctr("c ls -q").output.empty());
}

TEST_F(ShimContainerd, RuntimeGivenAsAbsoluteShimPath) {
    auto r = ctr("run --rm --runtime " + shim_binary() + " --rootfs " + dir_ +
                 "/rootfs abs /bin/sh -c 'exit 7'");
    EXPECT_EQ(r.status, 7) << r.output;
}

// Two runtime handlers, one act: each handler's config (CRI's ConfigPath for the handler, what
// ctr's --runtime-config-path sends) decides the verdict of its own containers.
TEST_F(ShimContainerd, EachHandlersConfigGivesItsVerdictForTheSameAct) {
    sh("printf 'root:*:19000:0:99999:7:::\\n' > " + dir_ + "/rootfs/etc/shadow");
    const std::string alerting = dir_ + "/alerting.json", killing = dir_ + "/killing.json";
    sh("echo '{\"monitor\": {\"default_action\": \"alert\"}}' > " + alerting);
    // contrib's sample rules for the brig-strict handler, verbatim: reading a secret kills.
    const std::string strict_rules =
        std::string(BRIG_SOURCE_DIR) + "/contrib/containerd/strict-rules.yaml";
    std::ofstream(killing) << "{\"monitor\": {\"rules_files\": [\"" << strict_rules << "\"]}}";
    const std::string act = "/bin/sh -c 'cat /etc/shadow > /dev/null; echo survived'";
    auto r = run("--rm --runtime-config-path " + alerting, "alerting", act);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("survived"), std::string::npos) << r.output;
    r = run("--rm --runtime-config-path " + killing, "killing", act);
    EXPECT_EQ(r.status, 137) << r.output;
    EXPECT_EQ(r.output.find("survived"), std::string::npos) << r.output;
    // The shim's own config (none here) still alerts only.
    r = run("--rm", "default", act);
    EXPECT_NE(r.output.find("survived"), std::string::npos) << r.output;
}

TEST_F(ShimContainerd, AHandlersBadConfigFailsTheCreateNamingTheField) {
    const std::string bad = dir_ + "/bad.json";
    sh("echo '{\"monitor\": {\"bogus\": 1}}' > " + bad);
    auto r = run("--rm --runtime-config-path " + bad, "badcfg", "/bin/true");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("monitor.bogus"), std::string::npos) << r.output;
    r = run("--rm --runtime-config-path relative.json", "relcfg", "/bin/true");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("ConfigPath must be an absolute path"), std::string::npos) << r.output;
}

// The handler config's systemd_cgroup reaches the runtime: ctr's cgroupfs path is then refused,
// as runc refuses it with --systemd-cgroup.
TEST_F(ShimContainerd, AHandlersSystemdCgroupReachesTheRuntime) {
    const std::string config = dir_ + "/systemd.json";
    std::ofstream(config) << R"({"systemd_cgroup": true})";
    auto r = run("--rm --runtime-config-path " + config, "sdcg", "/bin/true");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(
        r.output.find("linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups"),
        std::string::npos)
        << r.output;
}

TEST_F(ShimContainerd, StdinIsPipedAndClosed) {
    auto r = sh("echo piped-through | timeout 60 ctr -a " + socket() +
                " run --rm --runtime io.containerd.brig.v2 --rootfs " + dir_ +
                "/rootfs stdin /bin/sh -c 'cat; echo after-eof'");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("piped-through"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("after-eof"), std::string::npos) << r.output;
}

TEST_F(ShimContainerd, TerminalGivesThePtyAndTheExitCode) {
    if (!have("script"))
        GTEST_SKIP() << "script(1) is not installed (bsdutils): ctr -t needs a terminal";
    auto r = sh("timeout 60 script -qec \"ctr -a " + socket() +
                " run --rm -t --runtime io.containerd.brig.v2 --rootfs " + dir_ +
                "/rootfs tty /bin/sh -c 'tty; exit 5'\" /dev/null </dev/null");
    EXPECT_EQ(r.status, 5) << r.output;
    EXPECT_NE(r.output.find("/dev/pts/"), std::string::npos) << r.output;
}

TEST_F(ShimContainerd, DetachedTaskExecPsPauseResumeMetricsKillDelete) {
    ASSERT_EQ(run("-d", "bg", "/bin/sleep 1000").status, 0);
    EXPECT_EQ(task_status("bg"), "RUNNING");

    auto r = ctr("task exec --exec-id e1 bg /bin/sh -c 'echo from-exec; exit 4'");
    EXPECT_EQ(r.status, 4) << r.output;
    EXPECT_NE(r.output.find("from-exec"), std::string::npos) << r.output;

    r = ctr("task ps bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_GE(split(r.output).size(), 3u) << r.output;  // header + the init's pid

    EXPECT_EQ(ctr("task pause bg").status, 0);
    EXPECT_EQ(task_status("bg"), "PAUSED");
    EXPECT_EQ(ctr("task resume bg").status, 0);
    EXPECT_EQ(task_status("bg"), "RUNNING");

    r = ctr("task metrics bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("pids.current"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("memory.usage_in_bytes"), std::string::npos) << r.output;

    // A running task cannot be deleted; killed, it can.
    EXPECT_NE(ctr("task delete bg").status, 0);
    EXPECT_EQ(ctr("task kill -s KILL bg").status, 0);
    for (int i = 0; i < 200 && task_status("bg") != "STOPPED"; ++i)
        usleep(20000);
    EXPECT_EQ(task_status("bg"), "STOPPED");
    r = ctr("task delete bg");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(ctr("c rm bg").status, 0);
    EXPECT_TRUE(ctr("task ls -q").output.empty());
    EXPECT_FALSE(fs::exists("/run/containerd/brig/default/bg"));
    // The shim exits once its task is deleted.
    for (int i = 0; i < 200 && !shim_pids().empty(); ++i)
        usleep(20000);
    EXPECT_TRUE(shim_pids().empty());
}

TEST_F(ShimContainerd, ShimSurvivesAContainerdRestart) {
    ASSERT_EQ(run("-d", "survivor", "/bin/sleep 1000").status, 0);
    auto shims = shim_pids();
    ASSERT_EQ(shims.size(), 1u);
    stop_containerd();
    EXPECT_EQ(kill(shims[0], 0), 0) << "the shim died with containerd";
    start_containerd();
    EXPECT_EQ(task_status("survivor"), "RUNNING");
    auto r = ctr("task exec --exec-id again survivor /bin/echo reconnected");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("reconnected"), std::string::npos) << r.output;
    EXPECT_EQ(shim_pids(), shims);
    EXPECT_EQ(ctr("task kill -s KILL survivor").status, 0);
    for (int i = 0; i < 200 && task_status("survivor") != "STOPPED"; ++i)
        usleep(20000);
    EXPECT_EQ(ctr("task delete survivor").status, 0);
}

// The shim runs brig's runtime library with brig's monitor: a container started through
// containerd is watched from birth like one from `brig create`, and its alerts land in its state.
TEST_F(ShimContainerd, ContainersAreWatchedByTheMonitor) {
    if (!fs::exists("/sys/fs/bpf"))
        GTEST_SKIP() << "no bpffs: the monitor cannot load here";
    ASSERT_EQ(run("-d", "watched", "/bin/sh -c 'echo x > /etc/brig-shim-probe; sleep 1000'").status,
              0);
    const std::string alerts = "/run/containerd/brig/default/watched/alerts.jsonl";
    bool alerted = false;
    for (int i = 0; i < 250 && !alerted; ++i) {
        std::ifstream f(alerts);
        std::string content((std::istreambuf_iterator<char>(f)), {});
        alerted = content.find("\"rule\":\"Write below etc\"") != std::string::npos;
        if (!alerted)
            usleep(20000);
    }
    EXPECT_TRUE(alerted) << "no 'Write below etc' alert in " << alerts;
    EXPECT_EQ(ctr("task kill -s KILL watched").status, 0);
    for (int i = 0; i < 200 && task_status("watched") != "STOPPED"; ++i)
        usleep(20000);
    EXPECT_EQ(ctr("task delete watched").status, 0);
    EXPECT_FALSE(fs::exists("/run/containerd/brig/default/watched"));
}

// The shim's Exec is the runtime's exec: its process gets the init's confinement (the Landlock
// write deny on the tracepoint path, the cgroup's BPF-LSM hooks elsewhere), so with kill the
// truncation of /etc/passwd never lands, the container dies and the alert says why.
TEST_F(ShimContainerd, ExecIsConfinedAsTheInit) {
    if (!fs::exists("/sys/fs/bpf"))
        GTEST_SKIP() << "no bpffs: the monitor cannot load here";
    const std::string passwd = dir_ + "/rootfs/etc/passwd";
    const std::string content = "root:x:0:0:root:/root:/bin/sh\n";
    std::ofstream(passwd) << content;
    ASSERT_EQ(
        run("-d --annotation org.brig.monitor.action=kill", "exec-confined", "/bin/sleep 1000")
            .status,
        0);
    auto r = ctr("task exec --exec-id w exec-confined /bin/sh -c ': > /etc/passwd; echo survived'");
    EXPECT_EQ(r.output.find("survived"), std::string::npos) << r.output;
    std::ifstream in(passwd);
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), content) << "truncated";
    const std::string alerts = "/run/containerd/brig/default/exec-confined/alerts.jsonl";
    nlohmann::json alert;
    for (int i = 0; i < 250 && alert.is_null(); ++i) {
        std::ifstream f(alerts);
        for (std::string line; std::getline(f, line);) {
            auto a = nlohmann::json::parse(line);
            if (a.value("rule", "") == "Write below etc")
                alert = a;
        }
        if (alert.is_null())
            usleep(20000);
    }
    ASSERT_FALSE(alert.is_null()) << "no 'Write below etc' alert in " << alerts;
    const auto& of = alert["output_fields"];
    EXPECT_EQ(of.value("container.id", ""), "exec-confined");
    EXPECT_EQ(of.value("fd.name", ""), "/etc/passwd");
    EXPECT_EQ(of.value("brig.action", ""), "kill");
    EXPECT_EQ(of.value("brig.enforced", ""), "kernel");
    EXPECT_EQ(of.value("proc.cmdline", ""), "sh -c : > /etc/passwd; echo survived");
    for (int i = 0; i < 250 && task_status("exec-confined") != "STOPPED"; ++i)
        usleep(20000);
    EXPECT_EQ(task_status("exec-confined"), "STOPPED") << "the kill did not take the container";
    EXPECT_EQ(ctr("task delete exec-confined").status, 0);
}

TEST_F(ShimContainerd, DeadShimIsCleanedUpWithTheDeleteVerb) {
    ASSERT_EQ(run("-d", "orphan", "/bin/sleep 1000").status, 0);
    auto shims = shim_pids();
    ASSERT_EQ(shims.size(), 1u);
    const std::string state = "/run/containerd/brig/default/orphan";
    ASSERT_TRUE(fs::exists(state));
    kill(shims[0], SIGKILL);
    // containerd sees the shim's socket close and runs `containerd-shim-brig-v2 delete`,
    // which kills the container and removes brig's state.
    for (int i = 0; i < 500 && fs::exists(state); ++i)
        usleep(20000);
    EXPECT_FALSE(fs::exists(state));
    auto status = task_status("orphan");
    EXPECT_TRUE(status.empty() || status == "STOPPED") << status;
    ctr("task delete orphan");
    EXPECT_EQ(ctr("c rm orphan").status, 0);
}

TEST_F(ShimContainerd, EventsReachContainerdInOrder) {
    const std::string log = dir_ + "/events.txt";
    const pid_t events_pid = capture_events(log);
    ASSERT_EQ(run("-d", "ev", "/bin/sleep 1000").status, 0);
    ctr("task exec --exec-id x1 ev /bin/true");
    ctr("task pause ev");
    ctr("task resume ev");
    ctr("task kill -s KILL ev");
    for (int i = 0; i < 200 && task_status("ev") != "STOPPED"; ++i)
        usleep(20000);
    ctr("task delete ev");
    ctr("c rm ev");
    std::string text;
    for (int i = 0; i < 200; ++i) {
        text = sh("cat " + log).output;
        if (text.find("/tasks/delete") != std::string::npos &&
            text.find("/containers/delete") != std::string::npos)
            break;
        usleep(20000);
    }
    kill(events_pid, SIGTERM);
    size_t last = 0;
    for (auto topic : {"/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started",
                       "/tasks/paused", "/tasks/resumed", "/tasks/exit", "/tasks/delete"}) {
        auto at = text.find(topic, last);
        EXPECT_NE(at, std::string::npos) << topic << " missing or out of order in:\n" << text;
        if (at != std::string::npos)
            last = at;
    }
}

TEST_F(ShimContainerd, OomKillIsReportedWhileTheTaskRuns) {
    const std::string log = dir_ + "/events.txt";
    const pid_t events_pid = capture_events(log);
    // tail buffers /dev/zero looking for a newline until the 16 MiB limit kills it; the init
    // shell survives it and keeps the task running.
    ASSERT_EQ(
        run("-d --memory-limit 16777216", "hog", "/bin/sh -c 'tail /dev/zero; sleep 1000'").status,
        0);
    std::string text;
    for (int i = 0; i < 500 && text.find("/tasks/oom") == std::string::npos; ++i) {
        usleep(20000);
        text = sh("cat " + log).output;
    }
    EXPECT_NE(text.find("/tasks/oom"), std::string::npos)
        << text << "\nstatus " << task_status("hog") << ", memory limit "
        << memory_limit(task_pid("hog"))
        << sh("ps -ef | grep -v grep | grep 'tail /dev/zero'").output
        << sh("dmesg | tail -5").output;
    EXPECT_EQ(text.find("/tasks/exit"), std::string::npos) << text;
    EXPECT_EQ(task_status("hog"), "RUNNING");
    ctr("task kill -s KILL hog");
    for (int i = 0; i < 200 && task_status("hog") != "STOPPED"; ++i)
        usleep(20000);
    for (int i = 0; i < 200 && text.find("/tasks/exit") == std::string::npos; ++i) {
        usleep(20000);
        text = sh("cat " + log).output;
    }
    kill(events_pid, SIGTERM);
    auto oom = text.find("/tasks/oom");
    auto exit = text.find("/tasks/exit");
    ASSERT_NE(exit, std::string::npos) << text;
    EXPECT_LT(oom, exit) << text;
    // Reported once: the exit does not repeat it.
    EXPECT_EQ(text.find("/tasks/oom", oom + 1), std::string::npos) << text;
}

TEST_F(ShimContainerd, UpdateSetsTheMemoryLimitAndRefusesBadResources) {
    ASSERT_EQ(run("-d", "upd", "/bin/sleep 1000").status, 0);
    auto client = shim_client("upd");
    task::UpdateTaskRequest req;
    req.set_id("upd");
    req.mutable_resources()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    req.mutable_resources()->set_value(R"({"memory":{"limit":50331648}})");
    client.call(task_service_name, "Update", req.SerializeAsString(), "default");
    EXPECT_EQ(memory_limit(task_pid("upd")), "50331648\n");

    req.mutable_resources()->set_value(R"({"memory":{"limit":"lots"}})");
    try {
        client.call(task_service_name, "Update", req.SerializeAsString(), "default");
        ADD_FAILURE() << "Update with a string limit succeeded";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), Code::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << e.what();
    }
    EXPECT_EQ(memory_limit(task_pid("upd")), "50331648\n");
    EXPECT_EQ(task_status("upd"), "RUNNING");
}

TEST_F(ShimContainerd, CreateOfAnExistingIdIsRefusedAndTheTaskKeepsRunning) {
    ASSERT_EQ(run("-d", "dup", "/bin/sleep 1000").status, 0);
    const pid_t pid = task_pid("dup");
    auto client = shim_client("dup");
    task::CreateTaskRequest req;
    req.set_id("dup");
    req.set_bundle(bundle("dup"));
    try {
        client.call(task_service_name, "Create", req.SerializeAsString(), "default");
        ADD_FAILURE() << "second Create succeeded";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), Code::already_exists);
        EXPECT_NE(std::string(e.what()).find("dup"), std::string::npos) << e.what();
    }
    // The shim keeps serving the first one.
    EXPECT_EQ(task_status("dup"), "RUNNING");
    EXPECT_EQ(task_pid("dup"), pid);
    auto r = ctr("task exec --exec-id e dup /bin/echo still-served");
    EXPECT_NE(r.output.find("still-served"), std::string::npos) << r.output;
}

TEST_F(ShimContainerd, ResizePtyChangesTheTerminalSizeInside) {
    if (!have("script"))
        GTEST_SKIP() << "script(1) is not installed (bsdutils): ctr -t needs a terminal";
    {
        std::ofstream f(dir_ + "/rootfs/wait-size.sh");
        f << "while [ \"$(stty size)\" != \"37 91\" ]; do sleep 0.05; done; echo size-now-37x91\n";
    }
    const std::string out = dir_ + "/tty.txt";
    sh("timeout 60 script -qec \"ctr -a " + socket() +
       " run --rm -t --runtime io.containerd.brig.v2 --rootfs " + dir_ +
       "/rootfs rs /bin/sh /wait-size.sh\" /dev/null </dev/null >" + out + " 2>&1 &");
    std::string text;
    // ctr sends its own terminal's size once after Start: resize until ours is seen inside.
    for (int i = 0; i < 600 && text.find("size-now-37x91") == std::string::npos; ++i) {
        if (task_status("rs") == "RUNNING") {
            try {
                task::ResizePtyRequest req;
                req.set_id("rs");
                req.set_width(91);
                req.set_height(37);
                shim_client("rs").call(task_service_name, "ResizePty", req.SerializeAsString(),
                                       "default");
            } catch (const std::exception&) {
            }
        }
        usleep(50000);
        text = sh("cat " + out).output;
    }
    EXPECT_NE(text.find("size-now-37x91"), std::string::npos) << text;
}

// What containerd's CRI makes of the shim's Stats for the kubelet (its working set, what pods
// are evicted on): usage - total_inactive_file (v1 Metrics) or usage - inactive_file (v2).
struct CriMemory {
    uint64_t usage = 0, working_set = 0, rss = 0, page_faults = 0;
};

CriMemory cri_memory(const task::StatsResponse& r) {
    CriMemory out;
    auto minus = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
    if (r.stats().type_url() == "io.containerd.cgroups.v2.Metrics") {
        io::containerd::cgroups::v2::Metrics m;
        EXPECT_TRUE(m.ParseFromString(r.stats().value()));
        out = {m.memory().usage(), minus(m.memory().usage(), m.memory().inactive_file()),
               m.memory().anon(), m.memory().pgfault()};
    } else {
        EXPECT_EQ(r.stats().type_url(), "io.containerd.cgroups.v1.Metrics");
        io::containerd::cgroups::v1::Metrics m;
        EXPECT_TRUE(m.ParseFromString(r.stats().value()));
        out = {m.memory().usage().usage(),
               minus(m.memory().usage().usage(), m.memory().total_inactive_file()),
               m.memory().total_rss(), m.memory().total_pg_fault()};
    }
    return out;
}

TEST_F(ShimContainerd, StatsWorkingSetLeavesOutPageCache) {
    auto started = run("-d", "cache",
                       "/bin/sh -c 'dd if=/dev/zero of=/tmp/cache bs=1M count=40 2>/dev/null; "
                       "touch /tmp/written; sleep 1000'");
    ASSERT_EQ(started.status, 0) << started.output;
    for (int i = 0; i < 500 && !fs::exists(dir_ + "/rootfs/tmp/written"); ++i)
        usleep(20000);
    ASSERT_TRUE(fs::exists(dir_ + "/rootfs/tmp/written"));
    task::StatsRequest req;
    req.set_id("cache");
    task::StatsResponse r;
    ASSERT_TRUE(r.ParseFromString(
        shim_client("cache").call(task_service_name, "Stats", req.SerializeAsString(), "default")));
    const CriMemory m = cri_memory(r);
    constexpr uint64_t MiB = 1 << 20;
    // The 40 MiB written are page cache charged to the container, not its working set.
    EXPECT_GE(m.usage, 40 * MiB);
    EXPECT_LT(m.working_set, 16 * MiB) << "usage " << m.usage;
    EXPECT_GT(m.rss, 0u);
    EXPECT_GT(m.page_faults, 0u);
}

// containerd at debug level runs the shim with -debug: the shim's own log lines go to
// containerd's log, never into a container's output.
TEST_F(ShimContainerd, ShimLogLinesStayOutOfTheContainerOutput) {
    stop_containerd();
    write_config("[debug]\n  level = \"debug\"\n");
    start_containerd();
    ASSERT_GT(containerd_pid_, 0);
    auto r = run("--rm", "quiet", "/bin/echo first-line");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "first-line\n");
    ASSERT_EQ(run("-d", "quiet-exec", "/bin/sleep 1000").status, 0);
    r = ctr("task exec --exec-id e1 quiet-exec /bin/echo exec-line");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "exec-line\n");
}

// In a shared pid namespace (a pod's, here the host's: this test's own) the init's exit does not
// take the rest of the container with it: the shim kills them, as the runc shim does.
TEST_F(ShimContainerd, LeftoverProcessesDieWithTheInitInASharedPidNamespace) {
    // Detached: `ctr run` would delete the task (and so the cgroup's processes) at the exit.
    auto r = run("-d --with-ns pid:/proc/" + std::to_string(getpid()) + "/ns/pid", "leftover",
                 "/bin/sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/left.pid'");
    ASSERT_EQ(r.status, 0) << r.output;
    for (int i = 0; i < 250 && task_status("leftover") != "STOPPED"; ++i)
        usleep(20000);
    ASSERT_EQ(task_status("leftover"), "STOPPED");
    std::ifstream f(dir_ + "/rootfs/tmp/left.pid");
    pid_t pid = 0;
    ASSERT_TRUE(f >> pid);
    auto running = [&] {
        std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
        std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
        auto paren = stat.rfind(')');
        return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
    };
    for (int i = 0; i < 250 && running(); ++i)
        usleep(20000);
    EXPECT_FALSE(running()) << "pid " << pid << " outlived the init of its container";
    EXPECT_EQ(task_status("leftover"), "STOPPED");
}

}  // namespace
