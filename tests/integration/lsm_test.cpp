// process.apparmorProfile through brig: refused with a clear error where AppArmor is not active
// (unless org.brig.lsm.optional=true), and enforced inside the container where it is (the VM).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "harness.hpp"
#include "runtime/common/scope_guard.hpp"

namespace brig::test {
namespace {

class LsmTest : public RuntimeTest {};

TEST_F(LsmTest, ProfileOnAHostWithoutAppArmorIsRefusedAndNothingIsLeft) {
    if (apparmor_enabled())
        GTEST_SKIP() << "AppArmor is active here: the refusal needs a host without it";
    bundle().config()["process"]["apparmorProfile"] = "brig-test-profile";
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_NE(result.err.find("process.apparmorProfile: AppArmor is not enabled on this host"),
              std::string::npos)
        << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(LsmTest, OptionalAnnotationRunsWithoutTheProfileAndWarns) {
    if (apparmor_enabled())
        GTEST_SKIP() << "AppArmor is active here: the opt-out needs a host without it";
    bundle().config()["process"]["apparmorProfile"] = "brig-test-profile";
    bundle().config()["annotations"]["org.brig.lsm.optional"] = "true";
    bundle().set_script("cat /proc/self/attr/current; echo ran");
    bundle().write_config();
    auto result = run(new_id());
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    EXPECT_NE(result.out.find("ran"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("running without it"), std::string::npos) << result.describe();
}

TEST_F(LsmTest, SelinuxLabelOnAHostWithoutSelinuxIsRefused) {
    if (fs::exists("/sys/fs/selinux/enforce"))
        GTEST_SKIP() << "SELinux is active here: the refusal needs a host without it";
    bundle().config()["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2";
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_NE(result.err.find("process.selinuxLabel: SELinux is not enabled"), std::string::npos)
        << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

// In the VM (AppArmor active): a profile loaded with apparmor_parser confines the container's
// process from its first instruction; a write it denies fails inside the container.
class VmAppArmorContainer : public RuntimeTest {};

TEST_F(VmAppArmorContainer, ProfileDeniesAWriteInsideTheContainer) {
    const bool in_vm = getenv("BRIG_IN_VM") != nullptr;
    if (!apparmor_enabled()) {
        if (in_vm)
            FAIL() << "in the VM: AppArmor is not enabled";
        GTEST_SKIP() << "AppArmor is not enabled on this host (the qemu VM runs this test)";
    }
    const std::string parser = find_apparmor_parser();
    if (parser.empty()) {
        if (in_vm)
            FAIL() << "in the VM: apparmor_parser not installed";
        GTEST_SKIP() << "apparmor_parser not installed";
    }
    const std::string profile = "brig-container-" + std::to_string(getpid());
    const fs::path profile_file = bundle().dir() / "apparmor-profile";
    write_file(profile_file, "profile " + profile +
                                 " flags=(attach_disconnected,mediate_deleted) {\n"
                                 "  file,\n  capability,\n  network,\n  signal,\n  unix,\n"
                                 "  deny /blocked/** w,\n"
                                 "}\n");
    auto load = run_command({parser, "--replace", "--skip-cache", profile_file.string()});
    ASSERT_TRUE(load.ok()) << "apparmor_parser could not load the profile: " << load.describe();
    ScopeGuard unload([&] { run_command({parser, "--remove", profile_file.string()}); });

    fs::create_directories(bundle().rootfs() / "blocked");
    bundle().config()["process"]["apparmorProfile"] = profile;
    bundle().config()["root"]["readonly"] = false;
    bundle().set_script(
        "cat /proc/self/attr/current; touch /allowed && echo allowed; "
        "touch /blocked/file 2>/dev/null && echo written || echo refused");
    bundle().write_config();
    auto result = run(new_id());
    ASSERT_EQ(result.exit_code, 0) << result.describe();
    EXPECT_NE(result.out.find(profile + " (enforce)"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("allowed"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("refused"), std::string::npos) << result.describe();
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "blocked" / "file"));
    EXPECT_TRUE(fs::exists(bundle().rootfs() / "allowed"));
}

TEST_F(VmAppArmorContainer, UnknownProfileFailsTheCreateNamingIt) {
    if (!apparmor_enabled()) {
        if (getenv("BRIG_IN_VM") != nullptr)
            FAIL() << "in the VM: AppArmor is not enabled";
        GTEST_SKIP() << "AppArmor is not enabled on this host (the qemu VM runs this test)";
    }
    bundle().config()["process"]["apparmorProfile"] = "brig-no-such-profile";
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("brig-no-such-profile"), std::string::npos) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

}  // namespace
}  // namespace brig::test
