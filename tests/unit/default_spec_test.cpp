// `brig spec`: the default config.json, plain and rootless.
#include "cli/default_spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/config/spec.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::config {
namespace {

using cli::default_spec;

const nlohmann::json* find_mount(const nlohmann::json& spec, const std::string& destination) {
    for (const auto& m : spec["mounts"])
        if (m["destination"] == destination)
            return &m;
    return nullptr;
}

std::vector<std::string> namespace_types(const nlohmann::json& spec) {
    std::vector<std::string> out;
    for (const auto& ns : spec["linux"]["namespaces"])
        out.push_back(ns["type"]);
    return out;
}

bool has_option(const nlohmann::json& mount, const std::string& option) {
    for (const auto& o : mount.value("options", nlohmann::json::array()))
        if (o == option)
            return true;
    return false;
}

TEST(DefaultSpec, ProcessAndRoot) {
    auto spec = default_spec(false);
    EXPECT_EQ(spec["ociVersion"], "1.2.0");
    const auto& p = spec["process"];
    EXPECT_EQ(p["terminal"], true);  // as runc spec
    EXPECT_EQ(p["user"]["uid"], 0);
    EXPECT_EQ(p["user"]["gid"], 0);
    EXPECT_EQ(p["args"], nlohmann::json::array({"sh"}));
    ASSERT_EQ(p["env"].size(), 2u);
    EXPECT_EQ(p["env"][0].get<std::string>().rfind("PATH=", 0), 0u);
    EXPECT_EQ(p["env"][1], "TERM=xterm");
    EXPECT_EQ(p["cwd"], "/");
    EXPECT_EQ(p["noNewPrivileges"], true);
    EXPECT_EQ(p["rlimits"],
              nlohmann::json::parse(R"([{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}])"));
    EXPECT_EQ(spec["root"], nlohmann::json::parse(R"({"path":"rootfs","readonly":true})"));
    EXPECT_EQ(spec["hostname"], "brig");
}

TEST(DefaultSpec, DockersFourteenCapabilitiesAndNoInheritable) {
    const auto spec = default_spec(false);
    const auto& caps = spec["process"]["capabilities"];
    const std::vector<std::string> docker = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE"};
    for (const char* set : {"bounding", "effective", "permitted"})
        EXPECT_EQ(caps[set].get<std::vector<std::string>>(), docker) << set;
    EXPECT_FALSE(caps.contains("inheritable"));
    EXPECT_FALSE(caps.contains("ambient"));
}

TEST(DefaultSpec, Mounts) {
    auto spec = default_spec(false);
    std::vector<std::string> destinations;
    for (const auto& m : spec["mounts"])
        destinations.push_back(m["destination"]);
    EXPECT_EQ(destinations, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                                      "/dev/mqueue", "/sys", "/sys/fs/cgroup"}));
    EXPECT_EQ((*find_mount(spec, "/proc"))["type"], "proc");
    const auto& dev = *find_mount(spec, "/dev");
    EXPECT_EQ(dev["type"], "tmpfs");
    for (const char* o : {"nosuid", "strictatime", "mode=755", "size=65536k"})
        EXPECT_TRUE(has_option(dev, o)) << o;
    const auto& pts = *find_mount(spec, "/dev/pts");
    for (const char* o : {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"})
        EXPECT_TRUE(has_option(pts, o)) << o;
    const auto& shm = *find_mount(spec, "/dev/shm");
    for (const char* o : {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"})
        EXPECT_TRUE(has_option(shm, o)) << o;
    EXPECT_EQ((*find_mount(spec, "/dev/mqueue"))["type"], "mqueue");
    const auto& sys = *find_mount(spec, "/sys");
    EXPECT_EQ(sys["type"], "sysfs");
    for (const char* o : {"ro", "nosuid", "noexec", "nodev"})
        EXPECT_TRUE(has_option(sys, o)) << o;
    const auto& cgroup = *find_mount(spec, "/sys/fs/cgroup");
    EXPECT_EQ(cgroup["type"], "cgroup");
    for (const char* o : {"ro", "nosuid", "noexec", "nodev", "relatime"})
        EXPECT_TRUE(has_option(cgroup, o)) << o;
}

TEST(DefaultSpec, LinuxSection) {
    auto spec = default_spec(false);
    const auto& linux = spec["linux"];
    EXPECT_EQ(namespace_types(spec),
              (std::vector<std::string>{"pid", "network", "ipc", "uts", "mount", "cgroup"}));
    EXPECT_EQ(linux["resources"]["devices"],
              nlohmann::json::parse(R"([{"allow":false,"access":"rwm"}])"));
    auto masked = linux["maskedPaths"].get<std::vector<std::string>>();
    for (const char* p :
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", "/sys/devices/virtual/powercap"})
        EXPECT_NE(std::find(masked.begin(), masked.end(), p), masked.end()) << p;
    EXPECT_EQ(linux["readonlyPaths"], nlohmann::json({"/proc/bus", "/proc/fs", "/proc/irq",
                                                      "/proc/sys", "/proc/sysrq-trigger"}));
    EXPECT_EQ(linux["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_GT(linux["seccomp"]["syscalls"].size(), 0u);
    EXPECT_FALSE(linux.contains("uidMappings"));
}

TEST(DefaultSpec, Rootless) {
    auto spec = default_spec(true);
    auto types = namespace_types(spec);
    EXPECT_NE(std::find(types.begin(), types.end(), "user"), types.end());
    EXPECT_EQ(std::find(types.begin(), types.end(), "network"), types.end());
    const auto& linux = spec["linux"];
    EXPECT_EQ(linux["uidMappings"],
              nlohmann::json::array({{{"containerID", 0}, {"hostID", geteuid()}, {"size", 1}}}));
    EXPECT_EQ(linux["gidMappings"],
              nlohmann::json::array({{{"containerID", 0}, {"hostID", getegid()}, {"size", 1}}}));
    EXPECT_FALSE(linux.contains("resources"));
    const auto& sys = *find_mount(spec, "/sys");
    EXPECT_EQ(sys["source"], "/sys");
    EXPECT_TRUE(has_option(sys, "rbind"));
    EXPECT_TRUE(has_option(sys, "ro"));
    EXPECT_EQ(find_mount(spec, "/sys/fs/cgroup"), nullptr);
    EXPECT_FALSE(has_option(*find_mount(spec, "/dev/pts"), "gid=5"));
}

TEST(DefaultSpec, RoundTripsThroughTheParser) {
    for (bool rootless : {false, true}) {
        auto doc = default_spec(rootless);
        Spec spec = parse_spec(doc);
        EXPECT_EQ(spec.oci_version, "1.2.0");
        ASSERT_TRUE(spec.process);
        EXPECT_EQ(spec.process->args, std::vector<std::string>{"sh"});
        ASSERT_TRUE(spec.process->capabilities);
        EXPECT_EQ(spec.process->capabilities->bounding.size(), 14u);
        EXPECT_TRUE(spec.process->capabilities->inheritable.empty());
        EXPECT_TRUE(
            security::validate_capabilities(*spec.process->capabilities, "process.capabilities")
                .empty());
        EXPECT_TRUE(spec.root.readonly);
        EXPECT_EQ(spec.mounts.size(), doc["mounts"].size());
        ASSERT_TRUE(spec.linux);
        ASSERT_TRUE(spec.linux->seccomp);
        EXPECT_NO_THROW(security::validate_seccomp(*spec.linux->seccomp));
        EXPECT_EQ(spec.linux->seccomp->syscalls.size(), doc["linux"]["seccomp"]["syscalls"].size());
        EXPECT_EQ(spec.linux->seccomp->default_errno_ret, 1u);
        EXPECT_EQ(spec.linux->find_namespace(NamespaceType::user) != nullptr, rootless);
        EXPECT_EQ(spec.linux->find_namespace(NamespaceType::network) != nullptr, !rootless);
        EXPECT_EQ(spec.linux->masked_paths.size(), 11u);
        // The parsed profile compiles.
        EXPECT_FALSE(security::compile_seccomp(*spec.linux->seccomp).filter.empty());
    }
}

}  // namespace
}  // namespace brig::config
