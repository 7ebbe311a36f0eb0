// The capability sets the escape tests run in.
#include "escapes/capability_sets.hpp"

#include <cstdint>

namespace brig::test {

std::string capability_set_name(Caps caps) {
    switch (caps) {
        case Caps::docker:
            return "DockerCaps";
        case Caps::privileged:
            return "Privileged";
        case Caps::absent:
            return "NoCapabilities";
    }
    return "Unknown";
}

// Every capability this process has (Docker's --privileged grants the daemon's bounding set).
std::vector<std::string> every_capability() {
    static const std::vector<std::string> by_number = {"CAP_CHOWN",
                                                       "CAP_DAC_OVERRIDE",
                                                       "CAP_DAC_READ_SEARCH",
                                                       "CAP_FOWNER",
                                                       "CAP_FSETID",
                                                       "CAP_KILL",
                                                       "CAP_SETGID",
                                                       "CAP_SETUID",
                                                       "CAP_SETPCAP",
                                                       "CAP_LINUX_IMMUTABLE",
                                                       "CAP_NET_BIND_SERVICE",
                                                       "CAP_NET_BROADCAST",
                                                       "CAP_NET_ADMIN",
                                                       "CAP_NET_RAW",
                                                       "CAP_IPC_LOCK",
                                                       "CAP_IPC_OWNER",
                                                       "CAP_SYS_MODULE",
                                                       "CAP_SYS_RAWIO",
                                                       "CAP_SYS_CHROOT",
                                                       "CAP_SYS_PTRACE",
                                                       "CAP_SYS_PACCT",
                                                       "CAP_SYS_ADMIN",
                                                       "CAP_SYS_BOOT",
                                                       "CAP_SYS_NICE",
                                                       "CAP_SYS_RESOURCE",
                                                       "CAP_SYS_TIME",
                                                       "CAP_SYS_TTY_CONFIG",
                                                       "CAP_MKNOD",
                                                       "CAP_LEASE",
                                                       "CAP_AUDIT_WRITE",
                                                       "CAP_AUDIT_CONTROL",
                                                       "CAP_SETFCAP",
                                                       "CAP_MAC_OVERRIDE",
                                                       "CAP_MAC_ADMIN",
                                                       "CAP_SYSLOG",
                                                       "CAP_WAKE_ALARM",
                                                       "CAP_BLOCK_SUSPEND",
                                                       "CAP_AUDIT_READ",
                                                       "CAP_PERFMON",
                                                       "CAP_BPF",
                                                       "CAP_CHECKPOINT_RESTORE"};
    uint64_t bounding = 0;
    for (const auto& line : split_lines(read_file("/proc/self/status")))
        if (line.starts_with("CapBnd:"))
            bounding = std::stoull(trim(line.substr(7)), nullptr, 16);
    std::vector<std::string> caps;
    for (size_t n = 0; n < by_number.size(); ++n)
        if (bounding & (1ULL << n))
            caps.push_back(by_number[n]);
    return caps;
}

void apply_capability_set(Caps caps, Json& config) {
    auto& process = config["process"];
    if (caps == Caps::privileged) {
        for (const char* set : {"bounding", "effective", "permitted"})
            process["capabilities"][set] = every_capability();
    } else if (caps == Caps::absent) {
        process.erase("capabilities");
    }
}

}  // namespace brig::test
