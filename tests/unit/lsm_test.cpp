// AppArmor/SELinux decisions that need no active LSM: what is refused, dropped or applied.
#include <gtest/gtest.h>

#include <functional>

#include "runtime/common/error.hpp"
#include "runtime/security/lsm.hpp"

namespace brig::security {
namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

config::Process process_with(const std::string& profile, const std::string& label) {
    config::Process p;
    p.apparmor_profile = profile;
    p.selinux_label = label;
    return p;
}

TEST(LsmPlan, ProfileOnAHostWithoutAppArmorIsAnErrorNamingTheFieldAndTheOptOut) {
    std::string message = error_of([] { plan_lsm(process_with("brig-test", ""), "", {}, false); });
    EXPECT_NE(message.find("process.apparmorProfile: AppArmor is not enabled on this host"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("org.brig.lsm.optional=true"), std::string::npos) << message;
}

TEST(LsmPlan, LabelsOnAHostWithoutSelinuxAreErrorsNamingTheField) {
    EXPECT_NE(error_of([] {
                  plan_lsm(process_with("", "system_u:system_r:container_t:s0"), "", {}, false);
              }).find("process.selinuxLabel: SELinux is not enabled"),
              std::string::npos);
    EXPECT_NE(error_of([] {
                  plan_lsm({}, "system_u:object_r:container_file_t:s0", {}, false);
              }).find("linux.mountLabel: SELinux is not enabled"),
              std::string::npos);
}

TEST(LsmPlan, OptionalDropsWhatTheHostLacksWithAWarning) {
    LsmPlan plan =
        plan_lsm(process_with("brig-test", "system_u:system_r:container_t:s0"), "", {}, true);
    EXPECT_TRUE(plan.apparmor_profile.empty());
    EXPECT_TRUE(plan.selinux_label.empty());
    EXPECT_NE(plan.warning.find("process.apparmorProfile"), std::string::npos) << plan.warning;
    EXPECT_NE(plan.warning.find("process.selinuxLabel"), std::string::npos) << plan.warning;
}

TEST(LsmPlan, ActiveLsmsGetTheirLabels) {
    LsmHost host{true, true};
    LsmPlan plan = plan_lsm(process_with("brig-test", "system_u:system_r:container_t:s0"),
                            "system_u:object_r:container_file_t:s0", host, false);
    EXPECT_EQ(plan.apparmor_profile, "brig-test");
    EXPECT_EQ(plan.selinux_label, "system_u:system_r:container_t:s0");
    EXPECT_TRUE(plan.warning.empty());
}

TEST(LsmPlan, NoLabelsAskedNeedsNoLsm) {
    LsmPlan plan = plan_lsm({}, "", {}, false);
    EXPECT_TRUE(plan.apparmor_profile.empty() && plan.selinux_label.empty() &&
                plan.warning.empty());
}

TEST(LsmPlan, LabelsThatWouldBreakOutOfTheirWriteAreRefused) {
    LsmHost host{true, true};
    EXPECT_NE(error_of([&] {
                  plan_lsm(process_with("a\nchangeprofile x", ""), "", host, false);
              }).find("process.apparmorProfile: contains a control character"),
              std::string::npos);
    EXPECT_NE(error_of([&] { plan_lsm({}, "x\",nosuid", host, false); }).find("linux.mountLabel"),
              std::string::npos);
}

TEST(LsmMountLabel, OptionQuotesTheLabel) {
    EXPECT_EQ(mount_label_option(""), "");
    EXPECT_EQ(mount_label_option("system_u:object_r:container_file_t:s0:c1,c2"),
              "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
}

TEST(LsmOptional, OnlyTheExactAnnotationValueOptsOut) {
    EXPECT_TRUE(lsm_optional({{"org.brig.lsm.optional", "true"}}));
    EXPECT_FALSE(lsm_optional({{"org.brig.lsm.optional", "yes"}}));
    EXPECT_FALSE(lsm_optional({}));
}

}  // namespace
}  // namespace brig::security
