// Integration test harness: builds busybox bundles, runs the runtime binary under test and
// cleans up every container a test created.
//
// The runtime under test is $BRIG_TEST_RUNTIME if set (e.g. /usr/sbin/runc, to prove a test
// passes with a correct runtime), else the brig binary compiled in as BRIG_BINARY.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brig::test {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// ---- running commands -------------------------------------------------------------------------

struct CommandResult {
    int exit_code = -1;   // the exit status, or -1 when killed by a signal
    int term_signal = 0;  // the signal that killed it, 0 if it exited
    bool timed_out = false;
    std::string out;
    std::string err;

    bool ok() const { return exit_code == 0; }
    // "exit 3, stdout '...', stderr '...'" for assertion messages.
    std::string describe() const;
};

struct CommandOptions {
    std::chrono::milliseconds timeout{60000};
    std::string stdin_data;
    // (fd in this process, fd number in the child): extra fds the child inherits.
    std::vector<std::pair<int, int>> inherited_fds;
    // Extra "NAME=value" entries added to this process's environment for the child.
    std::vector<std::string> extra_env;
    // Sets LISTEN_PID to the child's own pid (socket activation as systemd does it).
    bool set_listen_pid = false;
};

// A child process started with pipes on stdin/stdout/stderr, in its own process group.
class SpawnedProcess {
public:
    SpawnedProcess(const std::vector<std::string>& argv, const CommandOptions& options);
    ~SpawnedProcess();
    SpawnedProcess(const SpawnedProcess&) = delete;
    SpawnedProcess& operator=(const SpawnedProcess&) = delete;

    pid_t pid() const { return pid_; }
    // Collects output until the process exits (or the timeout kills its process group).
    // Output written by descendants after the process exited is not waited for.
    CommandResult wait();

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int stdout_fd_ = -1;
    int stderr_fd_ = -1;
    std::chrono::steady_clock::time_point deadline_;
    bool waited_ = false;
    CommandResult result_;
};

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// ---- host facts -------------------------------------------------------------------------------

// Where cgroup2 is mounted: /sys/fs/cgroup/unified on a hybrid host, /sys/fs/cgroup on a
// cgroup2-only one (the VM); "" when it is not.
std::string cgroup2_mount_point();

// AppArmor is enabled and listed among the active LSMs.
bool apparmor_enabled();
// apparmor_parser's path, or "" when it is not installed.
std::string find_apparmor_parser();

// ---- files and processes ----------------------------------------------------------------------

std::string read_file(const fs::path& path);
void write_file(const fs::path& path, std::string_view content, mode_t mode = 0644);
bool process_alive(pid_t pid);  // exists and is not a zombie
std::string trim(std::string_view text);
std::vector<std::string> split_lines(std::string_view text);
// Polls `condition` every 20 ms until it holds or `limit` passes; returns its last value.
// For waiting on asynchronous effects only: never assert on how long it took.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(20));
// The "type:[inode]" link of /proc/<pid>/ns/<type> ("self" for this process).
std::string namespace_link(const std::string& pid, const std::string& type);

// ---- the runtime under test -------------------------------------------------------------------

// Skips a test for a reference runtime (runc, crun) with a known deviation from the spec or the
// reference, so the rest of the suite can be proven against it. Never used for brig.
#define BRIG_SKIP_KNOWN_DEVIATION(kind, reason)                                      \
    do {                                                                             \
        if (::brig::test::runtime_kind() == (kind))                                  \
            GTEST_SKIP() << ::brig::test::runtime_name() << " deviates: " << reason; \
    } while (false)

enum class RuntimeKind { brig, runc, crun, other };

std::string runtime_binary();
RuntimeKind runtime_kind();
std::string runtime_name();  // basename of runtime_binary()

// Docker-like base config.json for a busybox rootfs: process ["/bin/true"], no terminal,
// Docker's 14 capabilities, pid/network/ipc/uts/mount namespaces, the usual mounts, masked and
// read-only paths.
Json base_config();

// A bundle directory: rootfs/ with a statically linked busybox and its applet links, /etc files,
// empty /proc /sys /dev /tmp; config.json written from config() by write_config().
class Bundle {
public:
    explicit Bundle(fs::path dir);
    const fs::path& dir() const { return dir_; }
    fs::path rootfs() const { return dir_ / "rootfs"; }
    Json& config() { return config_; }
    // Sets process.args (and writes config.json).
    void set_args(std::vector<std::string> args);
    // Convenience: process.args = ["sh", "-c", script].
    void set_script(const std::string& script) { set_args({"sh", "-c", script}); }
    void write_config() const;

private:
    fs::path dir_;
    Json config_;
};

// A file descriptor owned by a test.
class TestFd {
public:
    TestFd() = default;
    explicit TestFd(int fd) : fd_(fd) {}
    ~TestFd() { reset(); }
    TestFd(TestFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    TestFd& operator=(TestFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset();

private:
    int fd_ = -1;
};

// A listening unix socket for --console-socket; receive_fd() takes the pty master the runtime
// sends with SCM_RIGHTS.
class ConsoleSocket {
public:
    explicit ConsoleSocket(fs::path path);
    const fs::path& path() const { return path_; }
    // Accepts one connection and receives one fd; invalid TestFd on timeout/failure.
    TestFd receive_fd(std::chrono::milliseconds timeout = std::chrono::seconds(30));

private:
    fs::path path_;
    TestFd listener_;
};

// Reads everything from a pty master until the slave side is closed (EIO) or the limit passes.
std::string read_pty(int master_fd, std::chrono::milliseconds limit = std::chrono::seconds(30));

// Base fixture: a fresh temporary directory with a state root and one bundle per test.
class RuntimeTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    const fs::path& tmp_dir() const { return tmp_dir_; }
    const fs::path& state_root() const { return state_root_; }
    Bundle& bundle() { return *bundle_; }
    // Another bundle in the test's tmp dir.
    Bundle make_bundle(const std::string& name);

    // A unique container id, remembered for teardown (delete --force).
    std::string new_id(const std::string& tag = "c");
    // Remember an id that did not come from new_id() (teardown deletes it too).
    void track_id(const std::string& id) { ids_.push_back(id); }

    // <runtime> --root <state_root> <args...>
    CommandResult runtime(const std::vector<std::string>& args, const CommandOptions& options = {});
    std::unique_ptr<SpawnedProcess> spawn_runtime(const std::vector<std::string>& args,
                                                  const CommandOptions& options = {});

    // Common verbs on bundle() (or the given bundle dir).
    CommandResult create(const std::string& id, const std::vector<std::string>& extra = {});
    CommandResult create_in(const Bundle& b, const std::string& id,
                            const std::vector<std::string>& extra = {});
    CommandResult start(const std::string& id) { return runtime({"start", id}); }
    CommandResult run(const std::string& id, const std::vector<std::string>& extra = {});
    CommandResult delete_container(const std::string& id, bool force = false);
    // Runs the current bundle() to completion (run, foreground) and returns its result.
    CommandResult run_to_completion(const std::string& script);

    // `state ID` parsed; an empty object when the command fails or prints invalid JSON.
    Json state(const std::string& id);
    std::string status(const std::string& id);
    // Waits until the container's status is `wanted`; returns the last status seen.
    std::string wait_for_status(const std::string& id, const std::string& wanted);

    // Everything of `id` still present: state entries under the root, cgroup dirs, mounts
    // mentioning the bundle, processes in its cgroup or mentioning it. Empty when clean.
    std::vector<std::string> leftovers(const std::string& id, const fs::path& bundle_dir);
    std::vector<std::string> leftovers(const std::string& id) {
        return leftovers(id, bundle().dir());
    }

private:
    fs::path tmp_dir_;
    fs::path state_root_;
    std::unique_ptr<Bundle> bundle_;
    std::vector<std::string> ids_;
};

// gtest printer for leftovers lists.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// A failure of a runtime command should be a single non-empty line on stderr (logfmt or text).
::testing::AssertionResult is_one_line_error(const CommandResult& result);

}  // namespace brig::test
