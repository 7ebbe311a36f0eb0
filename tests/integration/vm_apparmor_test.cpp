// Smoke tests of the VM test-bed (tests/vm): AppArmor is enabled and a profile loaded with
// apparmor_parser is enforced on a process that changed into it on exec.
//
// They skip where AppArmor is not active (this project's dev machine) and must pass inside the VM
// (BRIG_IN_VM=1), where a missing AppArmor is a failure, not a skip.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "harness.hpp"
#include "runtime/common/scope_guard.hpp"

namespace brig::test {
namespace {

bool in_vm() {
    return getenv("BRIG_IN_VM") != nullptr;
}

// What this host lacks is a skip; inside the VM it is a failure.
#define BRIG_VM_REQUIRE(condition, reason)         \
    do {                                           \
        if (!(condition)) {                        \
            if (in_vm())                           \
                FAIL() << "in the VM: " << reason; \
            GTEST_SKIP() << reason;                \
        }                                          \
    } while (0)

// The per-LSM attr file when the kernel has it (5.8+), else the shared one.
std::string exec_attr_path() {
    return fs::exists("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec"
                                                       : "/proc/self/attr/exec";
}

TEST(VmAppArmor, ModuleEnabledAndPolicyInterfaceMounted) {
    BRIG_VM_REQUIRE(apparmor_enabled(),
                    "AppArmor is not enabled (/sys/module/apparmor/parameters/enabled != Y or "
                    "not in /sys/kernel/security/lsm)");
    EXPECT_TRUE(fs::exists("/sys/kernel/security/apparmor/.replace"))
        << "securityfs has no apparmor policy interface";
    EXPECT_TRUE(fs::exists("/sys/kernel/security/apparmor/features/domain/change_onexec"));
}

TEST(VmAppArmor, LoadedProfileDeniesAWriteAfterChangeOnExec) {
    if (geteuid() != 0)
        GTEST_SKIP() << "loading AppArmor profiles needs root";
    BRIG_VM_REQUIRE(apparmor_enabled(), "AppArmor is not enabled");
    const auto parser = find_apparmor_parser();
    BRIG_VM_REQUIRE(!parser.empty(), "apparmor_parser not installed");
    if (!fs::exists("/bin/busybox"))
        GTEST_SKIP() << "needs /bin/busybox (busybox-static)";

    char pattern[] = "/tmp/brig-vm-aa-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    const fs::path dir = pattern;
    ScopeGuard remove_dir([&dir] {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    });
    const std::string profile = "brig-vm-smoke-" + std::to_string(getpid());
    const fs::path profile_file = dir / "profile";
    write_file(profile_file, "profile " + profile +
                                 " {\n"
                                 "  file,\n"
                                 "  deny " +
                                 (dir / "denied").string() +
                                 " w,\n"
                                 "}\n");
    const auto load = run_command({parser, "--replace", "--skip-cache", profile_file.string()});
    ASSERT_TRUE(load.ok()) << "apparmor_parser could not load the profile: " << load.describe();
    ScopeGuard unload([&parser, &profile_file] {
        run_command({parser, "--remove", profile_file.string()});
    });
    EXPECT_NE(read_file("/sys/kernel/security/apparmor/profiles").find(profile + " (enforce)"),
              std::string::npos)
        << "the profile is not listed as enforcing";

    // The shell asks for the profile on its next exec, then execs the command confined.
    auto confined = [&](const std::string& command) {
        return run_command(
            {"/bin/busybox", "sh", "-c",
             "echo 'exec " + profile + "' > " + exec_attr_path() + " && exec " + command});
    };
    const auto label = confined("/bin/busybox cat /proc/self/attr/current");
    ASSERT_TRUE(label.ok()) << label.describe();
    EXPECT_EQ(trim(label.out), profile + " (enforce)");

    const auto allowed = confined("/bin/busybox touch " + (dir / "allowed").string());
    EXPECT_TRUE(allowed.ok()) << "a write the profile allows failed: " << allowed.describe();
    EXPECT_TRUE(fs::exists(dir / "allowed"));

    const auto denied = confined("/bin/busybox touch " + (dir / "denied").string());
    EXPECT_FALSE(denied.ok()) << "the write the profile denies succeeded";
    EXPECT_FALSE(fs::exists(dir / "denied")) << "the denied file was created";
    EXPECT_NE(denied.err.find("ermission denied"), std::string::npos) << denied.describe();
}

}  // namespace
}  // namespace brig::test
