#include "cli/default_spec.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/security/default_seccomp.hpp"

namespace brig::cli {
namespace {

// Docker's default capability set.
const std::vector<std::string>& default_capabilities() {
    static const std::vector<std::string> caps = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE",
    };
    return caps;
}

nlohmann::json mount(const char* destination, const char* type, const char* source,
                     std::vector<std::string> options) {
    nlohmann::json m = {{"destination", destination}, {"type", type}, {"source", source}};
    if (!options.empty())
        m["options"] = std::move(options);
    return m;
}

nlohmann::json default_mounts(bool rootless) {
    nlohmann::json mounts = nlohmann::json::array();
    mounts.push_back(mount("/proc", "proc", "proc", {}));
    mounts.push_back(
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
    std::vector<std::string> devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                       "mode=0620"};
    // An unprivileged user cannot give pty slaves a group it is not mapped to.
    if (!rootless)
        devpts.push_back("gid=5");
    mounts.push_back(mount("/dev/pts", "devpts", "devpts", devpts));
    mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                           {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
    mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
    if (rootless) {
        // A user namespace without its own network namespace may not mount sysfs: bind the
        // host's, which brings its cgroup mounts along.
        mounts.push_back(
            mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
    } else {
        mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
        mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                               {"nosuid", "noexec", "nodev", "relatime", "ro"}));
    }
    return mounts;
}

}  // namespace

nlohmann::json default_spec(bool rootless) {
    const auto& caps = default_capabilities();
    nlohmann::json process = {
        // As runc's: scripts written for `runc spec` expect an interactive shell.
        {"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env",
         {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true},
    };

    nlohmann::json namespaces = nlohmann::json::array();
    namespaces.push_back({{"type", "pid"}});
    if (!rootless)
        namespaces.push_back({{"type", "network"}});
    namespaces.push_back({{"type", "ipc"}});
    namespaces.push_back({{"type", "uts"}});
    namespaces.push_back({{"type", "mount"}});
    namespaces.push_back({{"type", "cgroup"}});
    if (rootless)
        namespaces.push_back({{"type", "user"}});

    nlohmann::json linux_section = {
        {"namespaces", std::move(namespaces)},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", "/sys/devices/virtual/powercap"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
        {"seccomp", security::default_seccomp_json(caps)},
    };
    if (rootless) {
        linux_section["uidMappings"] = {{{"containerID", 0}, {"hostID", geteuid()}, {"size", 1}}};
        linux_section["gidMappings"] = {{{"containerID", 0}, {"hostID", getegid()}, {"size", 1}}};
    } else {
        // Rootless containers cannot use the device cgroup; everyone else starts from deny-all.
        linux_section["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
    }

    return {
        {"ociVersion", "1.2.0"},
        {"process", std::move(process)},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "brig"},
        {"mounts", default_mounts(rootless)},
        {"linux", std::move(linux_section)},
    };
}

}  // namespace brig::cli
