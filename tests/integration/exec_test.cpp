// `exec`: a second process in a running container, with the container's namespaces and cgroup.
#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <thread>

#include <cstdint>

#include "harness.hpp"

namespace brig::test {
namespace {

size_t count_occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

constexpr uint64_t kCapSysAdminBit = uint64_t{1} << 21;

// The value of "Key:" in a /proc/<pid>/status text.
std::string status_field(const std::string& status, const std::string& key) {
    for (const auto& line : split_lines(status)) {
        if (line.rfind(key + ":", 0) == 0)
            return trim(line.substr(key.size() + 1));
    }
    return "<missing " + key + ">";
}

uint64_t cap_mask(const std::string& status, const std::string& key) {
    return std::stoull(status_field(status, key), nullptr, 16);
}

class ExecTest : public RuntimeTest {
protected:
    // Creates and starts bundle() running `sleep 1000`; returns the id.
    std::string start_sleeper() {
        bundle().set_script("sleep 1000");
        auto id = new_id();
        auto created = create(id);
        EXPECT_TRUE(created.ok()) << created.describe();
        auto started = start(id);
        EXPECT_TRUE(started.ok()) << started.describe();
        return id;
    }

    CommandResult exec(const std::string& id, const std::vector<std::string>& flags,
                       const std::vector<std::string>& command) {
        std::vector<std::string> args{"exec"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.push_back(id);
        args.insert(args.end(), command.begin(), command.end());
        return runtime(args);
    }

    // Runs `command` detached with a pid file and returns the host pid it wrote (0 on failure).
    pid_t exec_detached(const std::string& id, const std::vector<std::string>& command) {
        auto pid_file = tmp_dir() / "exec.pid";
        auto result = exec(id, {"--detach", "--pid-file", pid_file.string()}, command);
        EXPECT_TRUE(result.ok()) << result.describe();
        if (!result.ok() || !fs::exists(pid_file))
            return 0;
        return static_cast<pid_t>(std::stol(trim(read_file(pid_file))));
    }
};

TEST_F(ExecTest, StdoutOfTheCommandComesBack) {
    auto id = start_sleeper();
    auto result = exec(id, {}, {"echo", "hello from exec"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "hello from exec\n");
}

TEST_F(ExecTest, ExitStatusPropagates) {
    auto id = start_sleeper();
    auto result = exec(id, {}, {"sh", "-c", "exit 7"});
    EXPECT_EQ(result.exit_code, 7) << result.describe();
}

TEST_F(ExecTest, ProcessJsonIsUsed) {
    auto id = start_sleeper();
    Json process = {
        {"args", {"sh", "-c", "echo \"$GREETING\"; pwd"}},
        {"cwd", "/tmp"},
        {"env", {"PATH=/bin:/usr/bin", "GREETING=from-process-json"}},
        {"user", {{"uid", 0}, {"gid", 0}}},
    };
    auto file = tmp_dir() / "process.json";
    write_file(file, process.dump());
    auto result = exec(id, {"--process", file.string()}, {});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "from-process-json\n/tmp\n");
}

// `exec -p <(...)` (runc's tty.bats): the process file may be a pipe, read to its end.
TEST_F(ExecTest, ProcessJsonFromAPipe) {
    auto id = start_sleeper();
    auto fifo = tmp_dir() / "process.fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::thread writer([&] {
        std::ofstream out(fifo);
        out << R"({"args": ["echo", "from a pipe"], "cwd": "/"})";
    });
    auto result = exec(id, {"--process", fifo.string()}, {});
    writer.join();
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "from a pipe\n");
}

TEST_F(ExecTest, EnvFlagSetsAVariable) {
    auto id = start_sleeper();
    auto result = exec(id, {"--env", "EXEC_VAR=set by flag"}, {"sh", "-c", "echo \"$EXEC_VAR\""});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "set by flag\n");
}

TEST_F(ExecTest, CwdFlagSetsTheWorkingDirectory) {
    fs::create_directories(bundle().rootfs() / "exec/here");
    auto id = start_sleeper();
    auto result = exec(id, {"--cwd", "/exec/here"}, {"pwd"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "/exec/here\n");
}

TEST_F(ExecTest, UserFlagSetsUidAndGid) {
    auto id = start_sleeper();
    auto result = exec(id, {"--user", "1000:1000"}, {"sh", "-c", "id -u; id -g"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "1000\n1000\n");
}

TEST_F(ExecTest, ProcessJoinsTheContainersNamespaces) {
    auto id = start_sleeper();
    auto init_pid = std::to_string(state(id).value("pid", 0));
    auto result = exec(id, {},
                       {"sh", "-c",
                        "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; "
                        "readlink /proc/self/ns/net"});
    ASSERT_TRUE(result.ok()) << result.describe();
    auto lines = split_lines(result.out);
    ASSERT_EQ(lines.size(), 3u) << result.out;
    EXPECT_EQ(lines[0], namespace_link(init_pid, "pid"));
    EXPECT_EQ(lines[1], namespace_link(init_pid, "mnt"));
    EXPECT_EQ(lines[2], namespace_link(init_pid, "net"));
    // And not the host's, or the comparison above proves nothing.
    EXPECT_NE(lines[0], namespace_link("self", "pid"));
    EXPECT_NE(lines[2], namespace_link("self", "net"));
}

TEST_F(ExecTest, ProcessJoinsTheContainersCgroup) {
    auto id = start_sleeper();
    auto init_pid = state(id).value("pid", 0);
    pid_t pid = exec_detached(id, {"sleep", "1000"});
    ASSERT_GT(pid, 0);
    auto init_cgroup = read_file("/proc/" + std::to_string(init_pid) + "/cgroup");
    auto exec_cgroup = read_file("/proc/" + std::to_string(pid) + "/cgroup");
    ASSERT_FALSE(init_cgroup.empty());
    EXPECT_EQ(exec_cgroup, init_cgroup);
    EXPECT_NE(exec_cgroup, read_file("/proc/self/cgroup"));
}

TEST_F(ExecTest, MissingBinaryExits255WithOneLineError) {
    auto id = start_sleeper();
    auto result = exec(id, {}, {"/no/such/binary"});
    EXPECT_EQ(result.exit_code, 255) << result.describe();
    EXPECT_TRUE(is_one_line_error(result));
}

TEST_F(ExecTest, CapFlagAddsToEffectiveAndBoundingButNotInheritable) {
    auto id = start_sleeper();
    auto plain = exec(id, {}, {"cat", "/proc/self/status"});
    ASSERT_TRUE(plain.ok()) << plain.describe();
    ASSERT_EQ(cap_mask(plain.out, "CapEff") & kCapSysAdminBit, 0u) << plain.out;

    auto result = exec(id, {"--cap", "CAP_SYS_ADMIN"}, {"cat", "/proc/self/status"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_NE(cap_mask(result.out, "CapEff") & kCapSysAdminBit, 0u) << result.out;
    EXPECT_NE(cap_mask(result.out, "CapBnd") & kCapSysAdminBit, 0u) << result.out;
    EXPECT_EQ(cap_mask(result.out, "CapInh"), 0u) << result.out;
}

TEST_F(ExecTest, ExecInAStoppedContainerFails) {
    bundle().set_script("exit 0");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    ASSERT_EQ(wait_for_status(id, "stopped"), "stopped");
    auto result = exec(id, {}, {"echo", "should not run"});
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_EQ(result.out.find("should not run"), std::string::npos) << result.describe();
}

TEST_F(ExecTest, DetachWritesThePidOfTheRunningProcess) {
    auto id = start_sleeper();
    auto init_pid = std::to_string(state(id).value("pid", 0));
    pid_t pid = exec_detached(id, {"sleep", "1000"});
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(process_alive(pid));
    EXPECT_NE(pid, std::stoi(init_pid));
    EXPECT_EQ(trim(read_file("/proc/" + std::to_string(pid) + "/comm")), "sleep");
    EXPECT_EQ(namespace_link(std::to_string(pid), "pid"), namespace_link(init_pid, "pid"));
}

TEST_F(ExecTest, TtyIsSentOverTheConsoleSocket) {
    auto id = start_sleeper();
    ConsoleSocket console(tmp_dir() / "console.sock");
    auto process =
        spawn_runtime({"exec", "--tty", "--detach", "--console-socket", console.path().string(), id,
                       "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo all-ttys"});
    auto master = console.receive_fd();
    ASSERT_TRUE(master) << "no pty master received";
    auto output = read_pty(master.get());
    auto result = process->wait();
    EXPECT_TRUE(result.ok()) << result.describe();
    EXPECT_NE(output.find("/dev/pts/"), std::string::npos) << output;
    EXPECT_NE(output.find("all-ttys"), std::string::npos) << output;
}

// runc's "exec [tty ptsname]" and "[stdin not a tty]": without a console socket brig makes the
// pty itself and relays it (stdin not being a terminal), and the exit status comes through.
TEST_F(ExecTest, TtyWithoutAConsoleSocketIsRelayed) {
    auto id = start_sleeper();
    auto result = exec(id, {"--tty"},
                       {"sh", "-c", "for f in /proc/self/fd/[012]; do readlink $f; done; exit 3"});
    EXPECT_EQ(result.exit_code, 3) << result.describe();
    EXPECT_EQ(count_occurrences(result.out, "/dev/pts/"), 3u) << result.describe();
    auto detached = exec(id, {"--tty", "--detach"}, {"true"});
    EXPECT_NE(detached.exit_code, 0);
    EXPECT_NE(detached.err.find("--console-socket"), std::string::npos) << detached.describe();
}

TEST_F(ExecTest, BadPreserveFdsIsRefusedNamingTheFlag) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc's int flag takes -1 and -3 as no fds");
    auto id = start_sleeper();
    for (const char* bad : {"-1", "-3", "99999999999999999999", "2x", ""}) {
        SCOPED_TRACE(bad);
        auto result = exec(id, {"--preserve-fds", bad}, {"echo", "ran"});
        EXPECT_NE(result.exit_code, 0) << result.describe();
        EXPECT_EQ(result.out.find("ran"), std::string::npos) << result.describe();
        EXPECT_NE(result.err.find("preserve-fds"), std::string::npos) << result.describe();
        EXPECT_TRUE(is_one_line_error(result));
    }
    EXPECT_EQ(status(id), "running");
}

TEST_F(ExecTest, BadAdditionalGidIsRefusedNamingTheFlag) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc's int64 flag takes -1");
    auto id = start_sleeper();
    for (const char* bad : {"-1", "4294967296", "wheel"}) {
        SCOPED_TRACE(bad);
        auto result = exec(id, {"--additional-gids", bad}, {"echo", "ran"});
        EXPECT_TRUE(is_one_line_error(result));
        EXPECT_NE(result.err.find("additional-gids"), std::string::npos) << result.describe();
        EXPECT_EQ(result.out.find("ran"), std::string::npos) << result.describe();
    }
}

// runc's exit status for an exec that could not start: 255, whatever stopped it (runc's
// exec.bats "runc exec [exit codes]").
TEST_F(ExecTest, PidFileFailureExits255AndLeavesNoProcess) {
    auto id = start_sleeper();
    auto before = runtime({"ps", "--format", "json", id});
    ASSERT_TRUE(before.ok()) << before.describe();
    auto result =
        exec(id, {"--detach", "--pid-file", "/non-existent/directory/pid"}, {"sleep", "1000"});
    EXPECT_EQ(result.exit_code, 255) << result.describe();
    auto after = runtime({"ps", "--format", "json", id});
    EXPECT_EQ(Json::parse(after.out, nullptr, false), Json::parse(before.out, nullptr, false));
}

TEST_F(ExecTest, MissingContainerExits255) {
    auto result = exec(new_id(), {}, {"true"});
    EXPECT_EQ(result.exit_code, 255) << result.describe();
}

TEST_F(ExecTest, IgnorePausedIsAccepted) {
    auto id = start_sleeper();
    auto result = exec(id, {"--ignore-paused"}, {"echo", "ran"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(result.out, "ran\n");
}

// As runc: --cgroup names a cgroup below the container's, which must exist (CgroupVerbsTest
// joins one); the process is not started elsewhere.
TEST_F(ExecTest, CgroupFlagNamingAMissingSubCgroupIsRefused) {
    auto id = start_sleeper();
    auto result = exec(id, {"--cgroup", "sub"}, {"echo", "ran"});
    EXPECT_EQ(result.exit_code, 255) << result.describe();
    EXPECT_EQ(result.out, "");
    if (runtime_kind() == RuntimeKind::brig) {
        EXPECT_NE(result.err.find("/sub/cgroup.procs: no such file or directory"),
                  std::string::npos)
            << result.describe();
    }
}

}  // namespace
}  // namespace brig::test
