// The spawner's contract seen from brig's side: errors cross from the process with their errno,
// stdio fds land on 0-2, a failed spawn leaves no process; cleanup steps never throw.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/lifecycle/rollback.hpp"
#include "runtime/lifecycle/spawner.hpp"
#include "runtime/lifecycle/sync.hpp"

namespace brig::lifecycle {
namespace {

std::string read_all(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    return out;
}

TEST(SyncTest, AnErrorKeepsItsErrnoAndText) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    UniqueFd a(fds[0]), b(fds[1]);
    sync_send_error(b.get(), Error("process.cwd: cannot enter /missing", ENOENT));
    SyncMessage m = sync_receive(a.get());
    ASSERT_EQ(m.type, SyncType::error);
    EXPECT_EQ(m.err, ENOENT);
    Error e = m.error();
    EXPECT_EQ(e.errnum(), ENOENT);
    EXPECT_STREQ(e.what(), "process.cwd: cannot enter /missing: No such file or directory");
}

TEST(SpawnTest, TheProcessesErrorReachesBrigWithItsErrno) {
    Spawn spawn(SpawnPlan{}, [](int, const std::string&) {
        UniqueFd fd(::open("/proc/self/no-such-file", O_RDONLY | O_CLOEXEC));
        throw_errno("opening /proc/self/no-such-file");
    });
    spawn.go();
    try {
        spawn.wait_exec();
        FAIL() << "the process's error did not arrive";
    } catch (const Error& e) {
        EXPECT_EQ(e.errnum(), ENOENT);
        EXPECT_STREQ(e.what(), "opening /proc/self/no-such-file: No such file or directory");
    }
}

TEST(SpawnTest, TheBodyGetsTheGoText) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    SpawnPlan plan;
    plan.stdio = {0, write_end.get(), 2};
    Spawn spawn(std::move(plan), [](int, const std::string& go) {
        execl("/bin/sh", "sh", "-c", ("echo " + go).c_str(), nullptr);
        throw_errno("exec /bin/sh");
    });
    spawn.go("hello");
    spawn.wait_exec();
    write_end.reset();
    EXPECT_EQ(read_all(read_end.get()), "hello\n");
}

TEST(SpawnTest, StdioFdsBecomeTheProcessesOwn) {
    int out[2], err[2];
    ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
    UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
    SpawnPlan plan;
    plan.stdio = {0, out_w.get(), err_w.get()};
    Spawn spawn(std::move(plan), [](int, const std::string&) {
        execl("/bin/sh", "sh", "-c", "echo out; echo err >&2", nullptr);
        throw_errno("exec /bin/sh");
    });
    spawn.go();
    spawn.wait_exec();
    Spawn::Process p = spawn.release();
    out_w.reset();
    err_w.reset();
    EXPECT_EQ(read_all(out_r.get()), "out\n");
    EXPECT_EQ(read_all(err_r.get()), "err\n");
    EXPECT_GT(p.pid, 0);
    EXPECT_TRUE(p.pidfd);
}

TEST(SpawnTest, AClosedStdioFdIsRefusedNamingIt) {
    try {
        check_stdio({0, 1, 987}, "stdio");
        FAIL() << "a closed fd was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.errnum(), EBADF);
        EXPECT_NE(std::string(e.what()).find("stdio[2]: fd 987 is not open"), std::string::npos)
            << e.what();
    }
}

TEST(SpawnTest, AnUnreleasedSpawnKillsItsProcess) {
    pid_t pid = 0;
    {
        Spawn spawn(SpawnPlan{}, [](int, const std::string&) {
            execl("/bin/sleep", "sleep", "1000", nullptr);
            throw_errno("exec /bin/sleep");
        });
        pid = spawn.pid();
        spawn.go();
        spawn.wait_exec();
    }
    ASSERT_GT(pid, 0);
    EXPECT_NE(::kill(pid, 0), 0) << "the process outlived its spawn";
}

TEST(RollbackTest, CleanupFailuresAreAppendedToTheFirstError) {
    Logger log;
    Rollback rollback(log);
    std::string order;
    rollback.add("removing the state directory", [&] { order += "state "; });
    rollback.add("removing the cgroup", [&] {
        order += "cgroup ";
        throw Error("rmdir /sys/fs/cgroup/x", EBUSY);
    });
    Error e = rollback.fail(Error("cannot create the container process (clone3)", ENOSPC));
    EXPECT_EQ(order, "cgroup state ");
    EXPECT_EQ(e.errnum(), ENOSPC);
    EXPECT_EQ(std::string(e.what()),
              "cannot create the container process (clone3): No space left on device; cleanup: "
              "removing the cgroup: rmdir /sys/fs/cgroup/x: Device or resource busy");
}

TEST(RollbackTest, AFailingStepInTheDestructorDoesNotEndTheProgram) {
    Logger log;
    try {
        Rollback rollback(log);
        rollback.add("failing", [] { throw Error("cleanup failed"); });
        throw Error("original");
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "original");
    }
}

TEST(RollbackTest, DismissedStepsDoNotRun) {
    Logger log;
    bool ran = false;
    {
        Rollback rollback(log);
        rollback.add("step", [&] { ran = true; });
        rollback.dismiss();
    }
    EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace brig::lifecycle
