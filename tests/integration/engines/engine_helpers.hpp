// Shared pieces of the engine tests (containerd's runc shim, dockerd, podman): a scratch
// directory with a busybox rootfs and its tarball, a daemon started in its own session, and
// a cleanup that leaves no process, mount or file of the test behind.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace brig::test::engines {

namespace fs = std::filesystem;

struct ShellResult {
    int status = -1;     // exit status, 128+signal when killed
    std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh (stderr folded into stdout), SIGKILLed after 90 s (not SIGTERM:
// `ctr run` forwards that to the container and lives on).
ShellResult shell(const std::string& command);

// Single-quotes `word` for /bin/sh.
std::string quote(const std::string& word);

bool have_program(const std::string& path_or_name);

// The reason an engine test cannot run here (not root, package missing, no busybox), or "".
std::string missing_prerequisite(const std::vector<std::string>& programs,
                                 const std::string& package);

std::string brig_binary();

// "token1 token2\n token3" -> {"token1", "token2", "token3"}
std::vector<std::string> words(const std::string& text);

// Polls `condition` every 50 ms for up to 30 s (waiting for asynchronous effects only).
bool eventually(const std::function<bool()>& condition);

// A /tmp/brig-<tag>-XXXXXX directory holding rootfs/ (static busybox, /etc/passwd with root and
// nobody) and rootfs.tar; removed with everything mounted or running from it.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& tag);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const fs::path& path() const { return path_; }
    fs::path rootfs() const { return path_ / "rootfs"; }
    fs::path rootfs_tar() const { return path_ / "rootfs.tar"; }

    // Kills every process whose command line or executable names this directory (shims,
    // conmon, containers), then detaches every mount below it.
    void kill_and_unmount() const;

private:
    fs::path path_;
};

// A daemon in its own session, output appended to `log`.
// A suite's verdict on its engine, reached once in SetUpTestSuite: only a missing package
// skips; an engine that is installed but does not work fails.
struct SuiteVerdict {
    std::string skip_reason, setup_failure;
    // In each test's SetUp: skips or fails the test as the verdict says.
    void apply() const;
};

class Daemon {
public:
    Daemon(const std::vector<std::string>& argv, const fs::path& log);
    ~Daemon() { stop(); }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    // Waits until `ready` holds; false if the daemon exited first or never got ready.
    bool wait_ready(const std::function<bool()>& ready);
    // SIGTERM, then SIGKILL to its process group if it has not exited within 30 s.
    void stop();

private:
    pid_t pid_ = -1;
};

}  // namespace brig::test::engines
