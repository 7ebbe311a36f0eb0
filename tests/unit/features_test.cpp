// `brig features`: the runtime-spec features document and the shared mount option table.
#include "cli/features.hpp"

#include <gtest/gtest.h>
#include <seccomp.h>

#include <nlohmann/json.hpp>
#include <set>

#include "runtime/config/mount_option_table.hpp"
#include "runtime/security/capabilities.hpp"

namespace brig::config {
namespace {

using cli::features;

std::set<std::string> as_set(const nlohmann::json& array) {
    return array.get<std::set<std::string>>();
}

TEST(Features, Versions) {
    auto f = features();
    EXPECT_EQ(f["ociVersionMin"], "1.0.0");
    EXPECT_EQ(f["ociVersionMax"], "1.2.0");
    EXPECT_EQ(as_set(f["hooks"]),
              (std::set<std::string>{"prestart", "createRuntime", "createContainer",
                                     "startContainer", "poststart", "poststop"}));
}

TEST(Features, MountOptions) {
    auto options = as_set(features()["mountOptions"]);
    for (const char* o : {"ro",           "rw",
                          "nosuid",       "suid",
                          "nodev",        "dev",
                          "noexec",       "exec",
                          "sync",         "async",
                          "dirsync",      "remount",
                          "mand",         "nomand",
                          "atime",        "noatime",
                          "diratime",     "nodiratime",
                          "relatime",     "norelatime",
                          "strictatime",  "nostrictatime",
                          "bind",         "rbind",
                          "private",      "rprivate",
                          "shared",       "rshared",
                          "slave",        "rslave",
                          "unbindable",   "runbindable",
                          "rro",          "rrw",
                          "rnosuid",      "rsuid",
                          "rnodev",       "rdev",
                          "rnoexec",      "rexec",
                          "ratime",       "rnoatime",
                          "rdiratime",    "rnodiratime",
                          "rrelatime",    "rnorelatime",
                          "rstrictatime", "rnostrictatime",
                          "idmap",        "ridmap"})
        EXPECT_TRUE(options.count(o)) << o;
    EXPECT_FALSE(options.count("tmpcopyup"));
    EXPECT_EQ(options.size(), features()["mountOptions"].size()) << "duplicates";
}

TEST(Features, Linux) {
    const auto f = features();
    const auto& linux = f["linux"];
    EXPECT_EQ(
        as_set(linux["namespaces"]),
        (std::set<std::string>{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}));
    auto caps = as_set(linux["capabilities"]);
    EXPECT_TRUE(caps.count("CAP_SYS_ADMIN"));
    EXPECT_TRUE(caps.count("CAP_CHOWN"));
    EXPECT_EQ(caps.size(), security::kernel_capability_names().size());
    EXPECT_EQ(linux["cgroup"]["v1"], true);
    EXPECT_EQ(linux["cgroup"]["v2"], true);
    EXPECT_EQ(linux["cgroup"]["systemd"], true);
    EXPECT_EQ(linux["cgroup"]["rdma"], true);
    const auto& seccomp = linux["seccomp"];
    EXPECT_EQ(seccomp["enabled"], true);
    EXPECT_EQ(
        as_set(seccomp["actions"]),
        (std::set<std::string>{"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                               "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
                               "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}));
    EXPECT_EQ(as_set(seccomp["operators"]),
              (std::set<std::string>{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}));
    EXPECT_TRUE(as_set(seccomp["archs"]).count("SCMP_ARCH_X86_64"));
    auto known = as_set(seccomp["knownFlags"]);
    EXPECT_EQ(known, (std::set<std::string>{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}));
    for (const auto& flag : as_set(seccomp["supportedFlags"]))
        EXPECT_TRUE(known.count(flag)) << flag;
    // Every kernel since 4.17 knows TSYNC, LOG and SPEC_ALLOW.
    EXPECT_TRUE(as_set(seccomp["supportedFlags"]).count("SECCOMP_FILTER_FLAG_TSYNC"));
    EXPECT_EQ(linux["apparmor"]["enabled"], true);
    EXPECT_EQ(linux["selinux"]["enabled"], true);
    EXPECT_EQ(linux["intelRdt"]["enabled"], false);
    EXPECT_EQ(linux["mountExtensions"]["idmap"]["enabled"], true);
}

TEST(Features, Annotations) {
    const auto f = features();
    const auto& a = f["annotations"];
    EXPECT_EQ(a["io.github.seccomp.libseccomp.version"], std::to_string(SCMP_VER_MAJOR) + "." +
                                                             std::to_string(SCMP_VER_MINOR) + "." +
                                                             std::to_string(SCMP_VER_MICRO));
    EXPECT_TRUE(a.contains("org.brig.monitor.rules"));
    EXPECT_TRUE(a.contains("org.brig.monitor.action"));
}

TEST(MountOptionTable, NamesAreUniqueAndFound) {
    std::set<std::string_view> names;
    for (const auto& o : kMountOptions) {
        EXPECT_TRUE(names.insert(o.name).second) << o.name;
        EXPECT_EQ(find_mount_option(o.name), &o);
    }
    EXPECT_EQ(find_mount_option("size=64k"), nullptr);
}

TEST(MountOptionTable, Entries) {
    static_assert(find_mount_option("ro")->flags == MS_RDONLY);
    const MountOption* rw = find_mount_option("rw");
    EXPECT_EQ(rw->kind, MountOptionKind::flag);
    EXPECT_TRUE(rw->clear);
    EXPECT_EQ(rw->flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(find_mount_option("rbind")->flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    const MountOption* rslave = find_mount_option("rslave");
    EXPECT_EQ(rslave->kind, MountOptionKind::propagation);
    EXPECT_EQ(rslave->flags, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    const MountOption* rro = find_mount_option("rro");
    EXPECT_EQ(rro->kind, MountOptionKind::recursive);
    EXPECT_EQ(rro->attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
    const MountOption* rnoatime = find_mount_option("rnoatime");
    EXPECT_EQ(rnoatime->attr_set, static_cast<uint64_t>(MOUNT_ATTR_NOATIME));
    EXPECT_EQ(rnoatime->attr_clr, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
    EXPECT_EQ(find_mount_option("idmap")->kind, MountOptionKind::extension);
}

}  // namespace
}  // namespace brig::config
