// lifecycle::Runtime used as a library (as the shim uses it): typed options with stdio fds and a
// parsed process, a spawned exec handed back as pid + pidfd.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"
#include "runtime/lifecycle/container.hpp"
#include "runtime/linux/clone.hpp"

namespace brig::test {
namespace {

class LibraryTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (runtime_kind() != RuntimeKind::brig)
            GTEST_SKIP() << "the library API is brig's own";
    }

    // A pipe whose write end a container process gets as stdout and stderr.
    struct Pipe {
        TestFd read_end, write_end;
    };
    static Pipe make_pipe() {
        int fds[2];
        EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
        return {TestFd(fds[0]), TestFd(fds[1])};
    }
    static std::string read_all(int fd) {
        std::string out;
        char buf[512];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0)
            out.append(buf, static_cast<size_t>(n));
        return out;
    }
    static int exit_status(pid_t pid) {
        int status = 0;
        if (waitpid(pid, &status, 0) != pid)
            return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    Logger log_;
};

using LifecycleLibraryTest = LibraryTest;
using ExecLibraryTest = LibraryTest;

TEST_F(LifecycleLibraryTest, CreateGivesTheInitTheStdioFds) {
    bundle().set_script("echo out; echo err >&2");
    lifecycle::Runtime rt(state_root().string(), log_);
    Pipe p = make_pipe();
    TestFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    lifecycle::CreateOptions o;
    o.id = new_id();
    o.bundle = bundle().dir().string();
    o.stdio = {null_fd.get(), p.write_end.get(), p.write_end.get()};
    lifecycle::StartedInit init = rt.create(o);
    p.write_end.reset();
    rt.start(o.id);
    EXPECT_EQ(exit_status(init.pid), 0);
    EXPECT_EQ(read_all(p.read_end.get()), "out\nerr\n");
}

TEST_F(LifecycleLibraryTest, AClosedStdioFdIsRefusedAndNothingIsLeft) {
    lifecycle::Runtime rt(state_root().string(), log_);
    lifecycle::CreateOptions o;
    o.id = new_id();
    o.bundle = bundle().dir().string();
    o.stdio = {0, 1, 999};
    try {
        rt.create(o);
        FAIL() << "created with a closed fd as stderr";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("stdio[2]"), std::string::npos) << e.what();
    }
    auto left = leftovers(o.id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(LifecycleLibraryTest, AnErrnoFromTheContainerProcessCrosses) {
    // The init fails to bind a source that does not exist, inside the container's setup.
    bundle().config()["mounts"].push_back({{"destination", "/mnt"},
                                           {"type", "bind"},
                                           {"source", (tmp_dir() / "no-such-source").string()},
                                           {"options", {"bind"}}});
    bundle().write_config();
    lifecycle::Runtime rt(state_root().string(), log_);
    lifecycle::CreateOptions o;
    o.id = new_id();
    o.bundle = bundle().dir().string();
    try {
        rt.create(o);
        FAIL() << "a missing bind source was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.errnum(), ENOENT) << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
            << e.what();
    }
    auto left = leftovers(o.id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(ExecLibraryTest, SpawnExecRunsAParsedProcessWithTheStdioFds) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    lifecycle::Runtime rt(state_root().string(), log_);
    Pipe p = make_pipe();
    TestFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    lifecycle::ExecOptions o;
    o.id = id;
    config::Process process;
    process.args = {"sh", "-c", "echo $GREETING; pwd; exit 7"};
    process.env = {"PATH=/bin:/usr/bin", "GREETING=hello"};
    process.cwd = "/tmp";
    o.process = process;
    o.stdio = {null_fd.get(), p.write_end.get(), p.write_end.get()};
    lifecycle::ExecProcess exec = rt.spawn_exec(o);
    p.write_end.reset();
    EXPECT_GT(exec.pid, 0);
    EXPECT_TRUE(exec.pidfd);
    EXPECT_EQ(exit_status(exec.pid), 7);
    EXPECT_EQ(read_all(p.read_end.get()), "hello\n/tmp\n");
}

TEST_F(ExecLibraryTest, AMissingProgramFailsWithItsErrno) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    lifecycle::Runtime rt(state_root().string(), log_);
    lifecycle::ExecOptions o;
    o.id = id;
    config::Process process;
    process.args = {"/no/such/program"};
    process.cwd = "/";
    o.process = process;
    try {
        rt.spawn_exec(o);
        FAIL() << "a missing program was exec'd";
    } catch (const lifecycle::ExecFailed& e) {
        EXPECT_EQ(e.errnum(), ENOENT) << e.what();
    }
}

// clone3 into a cgroup2 directory; where the kernel refuses (here: EBUSY, a cgroup with
// controllers enabled for its children may hold no process) the child starts in our cgroup and
// the caller is told, so that it writes cgroup.procs itself.
TEST(CgroupCloneTest, ACgroupTheKernelRefusesIsReportedAndTheChildStartsInOurs) {
    fs::path root = "/sys/fs/cgroup/unified";
    if (!fs::exists(root / "cgroup.controllers"))
        root = "/sys/fs/cgroup";
    if (!fs::exists(root / "cgroup.controllers"))
        GTEST_SKIP() << "no cgroup2 mount";
    std::string controllers = trim(read_file(root / "cgroup.subtree_control"));
    if (controllers.empty())
        GTEST_SKIP() << "no controller enabled below the cgroup2 root to make an inner cgroup";
    std::string controller = controllers.substr(0, controllers.find(' '));
    fs::path inner = root / ("brig-itest-clone-" + std::to_string(getpid()));
    fs::path leaf = inner / "leaf";
    fs::create_directories(leaf);
    write_file(inner / "cgroup.subtree_control", "+" + controller);
    auto clone_into = [](const fs::path& dir, std::string& cgroup_line) {
        TestFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        int pipe_fds[2];
        EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
        TestFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
        bool in_cgroup = false;
        pid_t pid = linux::clone_process({0, false, fd.get(), nullptr, &in_cgroup});
        if (pid == 0) {
            std::string text = read_file("/proc/self/cgroup");
            ssize_t ignored = ::write(write_end.get(), text.data(), text.size());
            (void)ignored;
            _exit(0);
        }
        write_end.reset();
        char buf[4096];
        ssize_t n;
        while ((n = ::read(read_end.get(), buf, sizeof buf)) > 0)
            cgroup_line.append(buf, static_cast<size_t>(n));
        waitpid(pid, nullptr, 0);
        return in_cgroup;
    };
    std::string refused, placed;
    bool refused_in = clone_into(inner, refused);
    bool leaf_in = clone_into(leaf, placed);
    fs::remove(leaf);
    fs::remove(inner);
    EXPECT_FALSE(refused_in);
    EXPECT_EQ(refused.find(inner.filename().string()), std::string::npos) << refused;
    EXPECT_TRUE(leaf_in);
    EXPECT_NE(placed.find(inner.filename().string() + "/leaf"), std::string::npos) << placed;
}

}  // namespace
}  // namespace brig::test
