// The monitor's path walk (bpf/path_forms.h) and verdict lookup, run in the kernel by
// BPF_PROG_TEST_RUN in this test's own task: every way of naming a file must come out as the one
// path the rules match, and find the verdict user space folded for it. The same code runs at
// every open and path syscall of a container on the tracepoint path.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "harness.hpp"
#include "monitor/monitor.hpp"
#include "monitor_available.hpp"
#include "path_form_probe.skel.h"
#include "runtime/common/unique_fd.hpp"

namespace fs = std::filesystem;

namespace {

struct PathFormResult {
    int64_t len;
    brig_prefix_key key;
    brig_verdict verdict;
};

class MonitorPathForm : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root (BPF)";
        probe_ = brig_path_form_probe__open();
        ASSERT_NE(probe_, nullptr);
        bpf_map* map = nullptr;
        bpf_object__for_each_map(map, probe_->obj) {
            bpf_map__set_pin_path(map, nullptr);  // nothing of the probe is pinned
        }
        if (brig_path_form_probe__load(probe_) != 0) {
            int err = errno;
            std::string why = "the path walk probe does not load: " + std::string(strerror(err));
            if (std::getenv("BRIG_IN_VM") || err == E2BIG || err == EACCES)
                FAIL() << why;  // a verifier refusal is brig's bug, on any kernel
            GTEST_SKIP() << why;
        }
        dir_ = fs::temp_directory_path() / ("brig-path-form-" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "sub");
        fs::create_directory_symlink("/etc", dir_ / "etc-link");
        ASSERT_EQ(::chdir(dir_.c_str()), 0);
    }

    void TearDown() override {
        if (!dir_.empty()) {
            [[maybe_unused]] int ignored = ::chdir("/");
            fs::remove_all(dir_);
        }
        if (probe_)
            brig_path_form_probe__destroy(probe_);
    }

    // The probe run on `path` (relative to dirfd), `op` and container `cgid`.
    PathFormResult run(const std::string& path, int dirfd = AT_FDCWD, uint32_t op = BRIG_PATH_OPS,
                       uint64_t cgid = 0) {
        uint64_t args[4] = {static_cast<uint64_t>(static_cast<int64_t>(dirfd)),
                            reinterpret_cast<uint64_t>(path.c_str()), op, cgid};
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
        EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(probe_->progs.path_form_probe), &opts), 0)
            << strerror(errno);
        uint32_t zero = 0;
        PathFormResult result{};
        EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(probe_->maps.path_form_results), &zero, &result),
                  0);
        return result;
    }

    // The form of `path` (relative to dirfd) the kernel computed; nullopt when it found none.
    std::optional<std::string> form(const std::string& path, int dirfd = AT_FDCWD) {
        PathFormResult result = run(path, dirfd);
        if (result.len <= 0)
            return std::nullopt;
        return std::string(result.key.path, strnlen(result.key.path, sizeof(result.key.path)));
    }

    // The verdict on `op` of `path` for cgroup `cgid`, from the probe's open_path_rules.
    brig_verdict verdict(const std::string& path, uint32_t op, uint64_t cgid) {
        return run(path, AT_FDCWD, op, cgid).verdict;
    }

    brig_path_form_probe* probe_ = nullptr;
    fs::path dir_;
};

TEST_F(MonitorPathForm, SlashesDotsAndDotDotsFoldToOnePath) {
    EXPECT_EQ(form("/etc/shadow"), "/etc/shadow");
    EXPECT_EQ(form("/etc//shadow"), "/etc/shadow");
    EXPECT_EQ(form("//etc///shadow"), "/etc/shadow");
    EXPECT_EQ(form("/etc/./shadow"), "/etc/shadow");
    EXPECT_EQ(form("/tmp/../etc/shadow"), "/etc/shadow");
    EXPECT_EQ(form("/../../etc/shadow"), "/etc/shadow") << "`..` at the root stays there";
    EXPECT_EQ(form("/etc/shadow/"), "/etc/shadow");
    EXPECT_EQ(form("/etc/ssh/../shadow"), "/etc/shadow");
    EXPECT_EQ(form("/etc/.hidden"), "/etc/.hidden") << "a name starting with '.' is a name";
    EXPECT_EQ(form("/etc/..."), "/etc/...");
}

TEST_F(MonitorPathForm, RelativePathsStartFromTheWorkingDirectoryOrTheDirectoryFd) {
    EXPECT_EQ(form("sub/../x"), dir_.string() + "/x");
    EXPECT_EQ(form("./x"), dir_.string() + "/x");
    EXPECT_EQ(form("../" + dir_.filename().string() + "/x"), dir_.string() + "/x");
    brig::UniqueFd etc(::open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(etc);
    EXPECT_EQ(form("shadow", etc.get()), "/etc/shadow");
    EXPECT_EQ(form("./ssh/../shadow", etc.get()), "/etc/shadow");
    EXPECT_EQ(form("/etc/shadow", etc.get()), "/etc/shadow") << "an absolute path ignores dirfd";
}

TEST_F(MonitorPathForm, TheTasksOwnProcMagicLinksAreReplacedByWhatTheyLeadTo) {
    brig::UniqueFd etc(::open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(etc);
    const std::string fd = std::to_string(etc.get());
    const std::string pid = std::to_string(::getpid());
    EXPECT_EQ(form("/proc/self/root/etc/shadow"), "/etc/shadow");
    EXPECT_EQ(form("/proc/thread-self/root/etc/shadow"), "/etc/shadow");
    EXPECT_EQ(form("/proc/" + pid + "/root/etc/shadow"), "/etc/shadow");
    EXPECT_EQ(form("/proc/1/root/etc/shadow"), "/etc/shadow") << "any pid's root";
    EXPECT_EQ(form("/proc/self/cwd/x"), dir_.string() + "/x");
    EXPECT_EQ(form("/proc/self/fd/" + fd + "/shadow"), "/etc/shadow");
    EXPECT_EQ(form("/proc/self/task/" + std::to_string(::gettid()) + "/fd/" + fd + "/shadow"),
              "/etc/shadow");
    EXPECT_EQ(form("/proc/self/root/proc/self/fd/" + fd + "/shadow"), "/etc/shadow")
        << "a magic link reached through another";
    EXPECT_EQ(form("/proc/self/status"), "/proc/self/status") << "not a link: stays as named";
}

TEST_F(MonitorPathForm, OtherSymlinksStayAsNamedForTheKernelsWalkToResolve) {
    // sys_exit matches the file the kernel opened; the form at entry keeps the link's name.
    EXPECT_EQ(form(dir_.string() + "/etc-link/shadow"), dir_.string() + "/etc-link/shadow");
    EXPECT_EQ(form("etc-link/../x"), dir_.string() + "/x") << "`..` folds lexically";
}

// A path longer than the rules' keys hold is cut to a prefix ending in '/': rules on its leading
// directories still match it.
TEST_F(MonitorPathForm, ALongPathIsCutToAPrefixEndingInASlash) {
    const std::string longest = "/" + std::string(200, 'a') + "/shadow";
    auto cut = form(longest);
    ASSERT_TRUE(cut);
    EXPECT_LT(cut->size(), size_t{BRIG_PREFIX_LEN});
    EXPECT_EQ(cut->back(), '/') << *cut;
    EXPECT_EQ(longest.compare(0, cut->size() - 1, *cut, 0, cut->size() - 1), 0) << *cut;
}

}  // namespace

// User space folds every shorter prefix's verdict into each entry (KernelPlan::folded_paths) and
// the kernel takes the longest match only: each path and operation must find the strongest
// verdict of the rules on it, whatever the path's form, and only its own container's.
TEST_F(MonitorPathForm, TheKernelFindsTheFoldedVerdictOfEachPathAndOperation) {
    using brig::monitor::KernelPlan;
    KernelPlan plan;
    plan.paths[BRIG_PATH_OPEN_WRITE]["/etc/"] = {1, BRIG_ACT_REPORT | BRIG_ACT_DENY};
    plan.paths[BRIG_PATH_OPEN][std::string("/etc/shadow") + '\0'] = {
        2, BRIG_ACT_REPORT | BRIG_ACT_KILL};
    plan.paths[BRIG_PATH_UNLINK]["/srv/"] = {3, BRIG_ACT_REPORT};
    const uint64_t cgid = 4242;
    int rules = bpf_map__fd(probe_->maps.open_path_rules);
    for (const auto& [prefix, verdicts] : plan.folded_paths()) {
        brig_prefix_key key{};
        key.cgroup_id = cgid;
        std::memcpy(key.path, prefix.data(), std::min(prefix.size(), sizeof(key.path)));
        key.prefixlen = static_cast<uint32_t>(64 + 8 * std::min(prefix.size(), sizeof(key.path)));
        brig_path_verdicts value{};
        for (size_t op = 0; op < BRIG_PATH_OPS; ++op)
            value.ops[op] = {verdicts.ops[op].rule_id, verdicts.ops[op].action};
        ASSERT_EQ(bpf_map_update_elem(rules, &key, &value, BPF_ANY), 0) << strerror(errno);
    }
    auto rule_of = [&](const std::string& path, uint32_t op, uint64_t id = 4242) {
        return verdict(path, op, id).rule_id;
    };
    EXPECT_EQ(rule_of("/etc/passwd", BRIG_PATH_OPEN_WRITE), 1u);
    EXPECT_EQ(rule_of("/etc//passwd", BRIG_PATH_OPEN_WRITE), 1u);
    EXPECT_EQ(rule_of("/etc/passwd", BRIG_PATH_OPEN), 0u) << "reading is not writing";
    EXPECT_EQ(rule_of("/etc/shadow", BRIG_PATH_OPEN), 2u);
    EXPECT_EQ(rule_of("/tmp/../etc/./shadow", BRIG_PATH_OPEN), 2u);
    EXPECT_EQ(rule_of("/etc/shadow", BRIG_PATH_OPEN_WRITE), 1u) << "the shorter prefix, folded in";
    EXPECT_EQ(verdict("/etc/shadow", BRIG_PATH_OPEN, cgid).action, BRIG_ACT_REPORT | BRIG_ACT_KILL);
    EXPECT_EQ(rule_of("/etc/shadow.bak", BRIG_PATH_OPEN), 0u) << "an exact file is not a prefix";
    EXPECT_EQ(rule_of("/etc/hosts", BRIG_PATH_UNLINK), 1u) << "writing covers removing";
    EXPECT_EQ(rule_of("/etc/hosts", BRIG_PATH_SYMLINKAT), 1u) << "and making entries";
    EXPECT_EQ(rule_of("/etc/hosts", BRIG_PATH_CHMOD), 0u) << "but not chmod";
    EXPECT_EQ(rule_of("/srv/a/../b", BRIG_PATH_UNLINK), 3u);
    EXPECT_EQ(rule_of("/srvx/b", BRIG_PATH_UNLINK), 0u) << "a directory prefix ends in '/'";
    EXPECT_EQ(rule_of("/etc/passwd", BRIG_PATH_OPEN_WRITE, 4243), 0u) << "another container";
}
