// Known container escapes (REFERENCE.md §4), each tried by a hostile bundle or a hostile process
// against the real runtime, in Docker's capability set, privileged and with none given. Every test
// checks the HOST afterwards: the runtime binary's hash, host/proc/sys/kernel/core_pattern, the
// host directories the attack pointed at and the host's mount table.
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "escapes/capability_sets.hpp"
#include "harness.hpp"

namespace brig::test {
namespace {

// Each escape class in each capability set: Docker's, privileged and none given.
using EscapeTest = CapabilitySetTest;

constexpr const char* core_pattern_path = "/proc/sys/kernel/core_pattern";
// What a hostile container tries to write into core_pattern: a harmless plain file name, so a
// vulnerable runtime does not leave the host running a program on every crash.
constexpr const char* hostile_core_pattern = "core-brig-escape-test";

std::string sha256_of(const fs::path& path) {
    auto result = run_command({"sha256sum", path.string()});
    EXPECT_TRUE(result.ok()) << result.describe();
    return result.out.substr(0, result.out.find(' '));
}

// Restores core_pattern if a test's attack changed it, so one failure does not leak into the host.
class CorePatternGuard {
public:
    CorePatternGuard() : original_(read_file(core_pattern_path)) {}
    ~CorePatternGuard() {
        if (read_file(core_pattern_path) != original_)
            write_file(core_pattern_path, original_);
    }
    const std::string& original() const { return original_; }

private:
    std::string original_;
};

// Mount points of the host (this test's mount namespace) at or below `path`.
std::vector<std::string> host_mounts_under(const fs::path& path) {
    std::vector<std::string> found;
    auto prefix = path.string();
    for (const auto& line : split_lines(read_file("/proc/self/mountinfo"))) {
        std::istringstream fields(line);
        std::string point;
        for (int i = 0; i < 5; ++i)
            fields >> point;
        if (point == prefix || point.starts_with(prefix + "/"))
            found.push_back(line);
    }
    return found;
}

// Everything in a host directory, recursively, for "nothing was created here".
std::vector<std::string> entries_under(const fs::path& dir) {
    std::vector<std::string> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec))
        found.push_back(it->path().string());
    return found;
}

// A host directory that an attack points at: must stay empty and unmounted.
fs::path make_host_target(const fs::path& where) {
    fs::create_directories(where);
    return where;
}

void expect_host_target_untouched(const fs::path& target) {
    auto entries = entries_under(target);
    EXPECT_TRUE(entries.empty()) << "created on the host: " << join(entries);
    auto mounts = host_mounts_under(target);
    EXPECT_TRUE(mounts.empty()) << "mounted on the host: " << join(mounts, "\n");
}

// Removes the "/dev" tmpfs (and optionally devpts) so the rootfs's own /dev is what the runtime
// works in: the hostile /dev entries below are then visible to it.
void drop_mounts(Json& config, const std::set<std::string>& destinations) {
    auto& mounts = config["mounts"];
    Json kept = Json::array();
    for (const auto& m : mounts)
        if (!destinations.contains(m.value("destination", "")))
            kept.push_back(m);
    mounts = kept;
}

// Says how the runtime answered the attack (refused, or confined and ran) in the test's output.
void note_outcome(const std::string& what, const CommandResult& result) {
    std::cout << "[          ] " << what << ": "
              << (result.ok() ? std::string("accepted (confined)") : "refused: " + trim(result.err))
              << "\n";
}

void replace_with_symlink(const fs::path& path, const fs::path& target) {
    std::error_code ec;
    fs::remove_all(path, ec);
    fs::create_directories(path.parent_path());
    fs::create_symlink(target, path);
}

// ---- 1. runtime binary overwrite (CVE-2019-5736) ------------------------------------------------

// The exploit itself, in every configuration: runtime_binary_test.cpp.

// A process inside loops over every /proc/PID/exe and tries to open it for writing (O_APPEND:
// a vulnerable runtime's binary stays runnable) while `exec` repeatedly enters the container.
TEST_P(EscapeTest, ProcPidExeIsNotWritableDuringExec) {
    auto binary = runtime_binary();
    auto before = sha256_of(binary);
    bundle().set_script(
        "while :; do for e in /proc/[0-9]*/exe; do "
        "t=$(readlink $e); [ \"$t\" = /bin/busybox ] && continue; "
        "(echo x >> $e) 2>/dev/null && echo \"$t\" >> /wrote; done; done");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    for (int i = 0; i < 40; ++i) {
        auto exec = runtime({"exec", id, "true"});
        ASSERT_TRUE(exec.ok()) << "exec " << i << ": " << exec.describe();
    }
    EXPECT_EQ(sha256_of(binary), before);
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "wrote"))
        << "opened for writing: " << read_file(bundle().rootfs() / "wrote");
}

// ---- 2. leaked fds and process.cwd = /proc/self/fd/N (CVE-2024-21626) --------------------------

// After a run with cwd /proc/self/fd/N: either it failed, or the process's cwd is a directory
// inside the container (its getcwd is absolute and the probe it wrote landed in the rootfs).
void expect_cwd_confined(const CommandResult& result, const fs::path& rootfs, int n) {
    if (!result.ok())
        return;
    auto lines = split_lines(result.out);
    ASSERT_FALSE(lines.empty()) << "fd " << n << ": " << result.describe();
    const auto& cwd = lines.front();
    ASSERT_TRUE(cwd.starts_with("/")) << "fd " << n << " cwd outside the root: " << cwd;
    EXPECT_TRUE(fs::exists(rootfs / cwd.substr(1) / ("probe-" + std::to_string(n))))
        << "fd " << n << ": the probe written in cwd " << cwd << " is not in the rootfs";
}

TEST_P(EscapeTest, RunCwdThroughLeakedFdStaysInside) {
    for (int n = 3; n <= 32; ++n) {
        bundle().config()["process"]["cwd"] = "/proc/self/fd/" + std::to_string(n);
        bundle().set_script("pwd -P; touch probe-" + std::to_string(n));
        auto result = run(new_id());
        expect_cwd_confined(result, bundle().rootfs(), n);
    }
}

TEST_P(EscapeTest, ExecCwdThroughLeakedFdStaysInside) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    for (int n = 3; n <= 32; ++n) {
        auto result = runtime({"exec", "--cwd", "/proc/self/fd/" + std::to_string(n), id, "sh",
                               "-c", "pwd -P; touch probe-" + std::to_string(n)});
        expect_cwd_confined(result, bundle().rootfs(), n);
    }
}

std::set<std::string> listed_fds(const std::string& out) {
    auto lines = split_lines(out);
    return {lines.begin(), lines.end()};
}

// The container's init sees only stdio and the preserved fds; fd 5 is handed to the runtime but
// not preserved, and the runtime's own fds (state dir, bundle, procfs, cgroup) must all be gone.
TEST_P(EscapeTest, ContainerInitHasOnlyStdioAndPreservedFds) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    TestFd read_end(pipe_fds[0]);
    TestFd write_end(pipe_fds[1]);
    // "; true" keeps sh as pid 1 (it would exec a last lone command).
    bundle().set_script("ls /proc/1/fd; true");
    auto plain = run(new_id());
    ASSERT_TRUE(plain.ok()) << plain.describe();
    EXPECT_EQ(listed_fds(plain.out), (std::set<std::string>{"0", "1", "2"})) << plain.out;

    CommandOptions options;
    options.inherited_fds = {{write_end.get(), 3}, {write_end.get(), 4}, {write_end.get(), 5}};
    auto preserved = runtime(
        {"run", "--preserve-fds", "2", "--bundle", bundle().dir().string(), new_id()}, options);
    ASSERT_TRUE(preserved.ok()) << preserved.describe();
    EXPECT_EQ(listed_fds(preserved.out), (std::set<std::string>{"0", "1", "2", "3", "4"}))
        << preserved.out;
}

TEST_P(EscapeTest, ExecProcessHasOnlyStdioFds) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    // $$ is the exec'd shell itself; ls's own directory fd is not in its list.
    auto result = runtime({"exec", id, "sh", "-c", "ls /proc/$$/fd; true"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(listed_fds(result.out), (std::set<std::string>{"0", "1", "2"})) << result.out;
}

// ---- 3. /proc or /sys in the rootfs a symlink (CVE-2019-19921, CVE-2023-27561) -----------------

TEST_P(EscapeTest, ProcOrSysSymlinkedToAHostDirIsRefused) {
    for (const std::string name : {"proc", "sys"}) {
        for (bool absolute : {true, false}) {
            SCOPED_TRACE(name + (absolute ? " absolute" : " relative"));
            auto b = make_bundle(name + (absolute ? "-abs" : "-rel"));
            auto target = make_host_target(tmp_dir() / ("host-" + name + (absolute ? "-a" : "-r")));
            replace_with_symlink(b.rootfs() / name,
                                 absolute ? target : fs::path("../..") / target.filename());
            b.set_script("sleep 1000");
            auto id = new_id();
            auto created = create_in(b, id);
            if (runtime_kind() == RuntimeKind::brig) {
                EXPECT_NE(created.exit_code, 0) << created.describe();
                EXPECT_TRUE(is_one_line_error(created));
            }
            expect_host_target_untouched(target);
        }
    }
}

// Without pivot_root the host's /proc stays in the container's mount namespace, and the kernel
// lets a new user namespace mount a fresh, unmasked proc while a full one is visible there.
TEST_P(EscapeTest, NoPivotLeavesNoFullProcToMountFromANestedUserNamespace) {
    bundle().set_script(
        "unshare -mrpf sh -c 'echo nested; mount -t proc none /proc && echo mounted && echo h > "
        "/proc/sysrq-trigger'");
    auto result = run(new_id(), {"--no-pivot"});
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_EQ(result.out, "nested\n") << "the user namespace was made" << result.describe();
    EXPECT_NE(result.err.find("mount: permission denied"), std::string::npos) << result.err;
}

// ---- 4. mount destinations through symlinks (CVE-2021-30465, CVE-2024-45310) -------------------

TEST_P(EscapeTest, MountDestinationThroughStaticSymlinkStaysInside) {
    auto target = make_host_target(tmp_dir() / "host-target");
    auto source = make_host_target(tmp_dir() / "bind-source");
    write_file(source / "marker", "from-source\n");
    fs::create_symlink(target, bundle().rootfs() / "abs-link");
    fs::create_symlink("../../../../../../../../.." + target.string(),
                       bundle().rootfs() / "rel-link");
    auto& mounts = bundle().config()["mounts"];
    mounts.push_back({{"destination", "/abs-link/inside"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    mounts.push_back({{"destination", "/rel-link/inside"},
                      {"type", "bind"},
                      {"source", source.string()},
                      {"options", {"bind"}}});
    mounts.push_back({{"destination", "/abs-link"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    bundle().set_script("touch /abs-link/written /rel-link/inside/written 2>/dev/null; true");
    auto result = run(new_id());
    note_outcome("run", result);
    expect_host_target_untouched(target);
    auto source_entries = entries_under(source);
    // The bind source may be written through (it is the container's mount), nothing else.
    for (const auto& entry : source_entries)
        EXPECT_TRUE(entry.ends_with("/marker") || entry.ends_with("/written")) << entry;
}

// A thread swaps a directory and a symlink to the host target (renameat2 RENAME_EXCHANGE) while
// creates mount on a destination below that name. Whatever the timing, nothing may appear at the
// host target.
TEST_P(EscapeTest, MountDestinationSwappedDuringCreateStaysInside) {
    auto target = make_host_target(tmp_dir() / "host-target");
    auto rootfs = bundle().rootfs();
    fs::create_directories(rootfs / "swap" / "inside");
    fs::create_symlink(target, rootfs / "swap-link");
    auto& mounts = bundle().config()["mounts"];
    mounts.push_back({{"destination", "/swap/inside"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    mounts.push_back({{"destination", "/swap/new/dir"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    bundle().set_script("sleep 1000");

    std::atomic<bool> stop{false};
    std::atomic<long> swaps{0};
    std::thread swapper([&] {
        auto a = (rootfs / "swap").string();
        auto b = (rootfs / "swap-link").string();
        while (!stop.load()) {
            if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0)
                swaps.fetch_add(1);
        }
    });
    int created = 0;
    for (int i = 0; i < 30; ++i) {
        auto id = new_id();
        if (create(id).ok())
            ++created;
        runtime({"delete", "--force", id});
    }
    stop.store(true);
    swapper.join();
    EXPECT_GT(swaps.load(), 0);
    expect_host_target_untouched(target);
    std::cout << "[          ] " << created << " of 30 creates succeeded, " << swaps.load()
              << " swaps\n";
}

// ---- 5. masking with a /dev/null that is a symlink (CVE-2025-31133) -----------------------------

TEST_P(EscapeTest, MaskedPathsWithSymlinkedDevNullDoNotExposeCorePattern) {
    CorePatternGuard guard;
    drop_mounts(bundle().config(), {"/dev"});
    for (const char* dir : {"dev/pts", "dev/shm", "dev/mqueue"})
        fs::create_directories(bundle().rootfs() / dir);
    replace_with_symlink(bundle().rootfs() / "dev/null", core_pattern_path);
    bundle().config()["linux"]["maskedPaths"].push_back("/proc/sys/kernel/core_pattern");
    std::string script;
    for (const char* masked : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                               "/proc/latency_stats", "/proc/sys/kernel/core_pattern"})
        script += std::string("echo ") + hostile_core_pattern + " > " + masked + " 2>/dev/null; ";
    bundle().set_script(script + "true");
    auto result = run(new_id());
    note_outcome("run", result);
    EXPECT_EQ(read_file(core_pattern_path), guard.original()) << result.describe();
}

// ---- 6. /dev/console and /dev/pts/N symlinks with terminal: true (CVE-2025-52565) --------------

TEST_P(EscapeTest, ConsoleAndPtsSymlinksDoNotReachHostFiles) {
    CorePatternGuard guard;
    auto host_file = tmp_dir() / "host-file";
    write_file(host_file, "untouched\n");
    drop_mounts(bundle().config(), {"/dev"});
    auto dev = bundle().rootfs() / "dev";
    for (const char* dir : {"pts", "shm", "mqueue"})
        fs::create_directories(dev / dir);
    replace_with_symlink(dev / "console", core_pattern_path);
    replace_with_symlink(dev / "tty", host_file);
    // Hidden by the devpts mount unless the runtime resolves pts paths before mounting it.
    for (int n = 0; n < 8; ++n)
        replace_with_symlink(dev / "pts" / std::to_string(n), host_file);
    bundle().config()["process"]["terminal"] = true;
    bundle().set_script(std::string("for f in /dev/console /dev/tty /dev/pts/0 /dev/pts/1; do "
                                    "echo ") +
                        hostile_core_pattern + " > $f; done 2>/dev/null; echo done");
    ConsoleSocket console(tmp_dir() / "console.sock");
    auto id = new_id();
    auto created = create(id, {"--console-socket", console.path().string()});
    note_outcome("create", created);
    if (created.ok()) {
        auto master = console.receive_fd();
        ASSERT_TRUE(master) << "no pty master received";
        ASSERT_TRUE(start(id).ok());
        read_pty(master.get());
        wait_for_status(id, "stopped");
    }
    EXPECT_EQ(read_file(core_pattern_path), guard.original()) << created.describe();
    EXPECT_EQ(read_file(host_file), "untouched\n");
    auto mounts = host_mounts_under(host_file);
    EXPECT_TRUE(mounts.empty()) << join(mounts, "\n");
}

// ---- 7. sysctl writes redirected to other procfs files (CVE-2025-52881) ------------------------

TEST_P(EscapeTest, SysctlKeysEscapingTheirNamespaceAreRefused) {
    CorePatternGuard guard;
    for (const std::string key :
         {"kernel/../kernel.core_pattern", "../../kernel.core_pattern",
          "net.ipv4/../../kernel.core_pattern", "net/../kernel/core_pattern",
          "net.ipv4.../../kernel.core_pattern", "/proc/sys/kernel/core_pattern"}) {
        SCOPED_TRACE(key);
        bundle().config()["linux"]["sysctl"] = Json::object({{key, hostile_core_pattern}});
        bundle().set_args({"true"});
        auto id = new_id();
        auto created = create(id);
        if (runtime_kind() == RuntimeKind::brig) {
            EXPECT_NE(created.exit_code, 0) << created.describe();
            EXPECT_TRUE(is_one_line_error(created));
        }
        EXPECT_EQ(read_file(core_pattern_path), guard.original());
    }
}

// ---- 8. /dev itself a symlink to a host directory -----------------------------------------------

TEST_P(EscapeTest, DevSymlinkedToAHostDirCreatesNothingThere) {
    for (bool with_dev_tmpfs : {true, false}) {
        for (bool absolute : {true, false}) {
            SCOPED_TRACE(std::string(with_dev_tmpfs ? "tmpfs on /dev" : "rootfs /dev") +
                         (absolute ? ", absolute link" : ", relative link"));
            auto tag = std::string(with_dev_tmpfs ? "t" : "r") + (absolute ? "a" : "r");
            auto b = make_bundle("dev-" + tag);
            auto target = make_host_target(tmp_dir() / ("host-dev-" + tag));
            replace_with_symlink(b.rootfs() / "dev",
                                 absolute ? target : fs::path("../..") / target.filename());
            if (!with_dev_tmpfs)
                drop_mounts(b.config(), {"/dev"});
            b.set_script("ls /dev >/dev/null; touch /dev/written 2>/dev/null; true");
            auto id = new_id();
            auto created = create_in(b, id);
            note_outcome("create", created);
            if (created.ok()) {
                ASSERT_TRUE(start(id).ok());
                wait_for_status(id, "stopped");
            }
            expect_host_target_untouched(target);
        }
    }
}

// ---- 9. inheritable capabilities from exec --cap (CVE-2022-29162) -------------------------------

std::string status_field(const std::string& status, const std::string& name) {
    for (const auto& line : split_lines(status))
        if (line.starts_with(name + ":"))
            return trim(line.substr(name.size() + 1));
    return "";
}

TEST_P(EscapeTest, ExecCapLeavesInheritableEmpty) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    auto result = runtime({"exec", "--cap", "CAP_NET_ADMIN", "--cap", "CAP_SYS_PTRACE", id, "cat",
                           "/proc/self/status"});
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(status_field(result.out, "CapInh"), "0000000000000000") << result.out;
    // The caps were granted where they belong: NET_ADMIN (12) and SYS_PTRACE (19) effective.
    auto effective = std::stoull(status_field(result.out, "CapEff"), nullptr, 16);
    EXPECT_TRUE(effective & (1ULL << 12)) << result.out;
    EXPECT_TRUE(effective & (1ULL << 19)) << result.out;
}

// ---- 10. container ids with path traversal ---------------------------------------------------

TEST_P(EscapeTest, ContainerIdsWithTraversalAreRefused) {
    auto outside = tmp_dir();
    auto before = entries_under(outside);
    std::set<std::string> before_set(before.begin(), before.end());
    for (const std::string id :
         {"..", "../escaped", "a/b", "x/../../escaped", "/tmp/escaped-abs", ".", "a/../b"}) {
        SCOPED_TRACE(id);
        bundle().set_args({"true"});
        auto created = create(id);
        if (created.ok())
            track_id(id);
        EXPECT_NE(created.exit_code, 0) << created.describe();
        EXPECT_TRUE(is_one_line_error(created));
        auto ran = run(id);
        EXPECT_NE(ran.exit_code, 0) << ran.describe();
    }
    EXPECT_FALSE(fs::exists("/tmp/escaped-abs"));
    EXPECT_FALSE(fs::exists(outside / "escaped"));
    // Only the state root, the bundle and the tests' own files: nothing new outside --root.
    for (const auto& entry : entries_under(outside)) {
        if (!entry.starts_with(state_root().string()) &&
            !entry.starts_with((outside / "bundle").string())) {
            EXPECT_TRUE(before_set.contains(entry)) << "created outside --root: " << entry;
        }
    }
    auto in_root = entries_under(state_root());
    EXPECT_TRUE(in_root.empty()) << join(in_root);
}

INSTANTIATE_TEST_SUITE_P(CapabilitySets, EscapeTest, testing::ValuesIn(kEveryCapabilitySet),
                         capability_set_param_name);

}  // namespace
}  // namespace brig::test
