// Sample config.json documents shared by the spec parser's tests and the config fuzzer.
#pragma once

#include <nlohmann/json.hpp>

namespace brig::config::samples {

// A config shaped like `runc spec` output plus most optional fields of runtime-spec 1.2.
inline nlohmann::json full_config() {
    return nlohmann::json::parse(R"({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": true,
            "consoleSize": {"height": 24, "width": 80},
            "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]},
            "args": ["sh", "-c", "echo hi"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="],
            "cwd": "/home",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL"],
                "effective": ["CAP_KILL"],
                "inheritable": [],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL"],
                "ambient": ["CAP_KILL"]
            },
            "rlimits": [
                {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512},
                {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
            ],
            "noNewPrivileges": true,
            "apparmorProfile": "brig-default",
            "oomScoreAdj": -500,
            "selinuxLabel": "system_u:system_r:container_t:s0",
            "scheduler": {"policy": "SCHED_FIFO", "priority": 10,
                          "flags": ["SCHED_FLAG_RESET_ON_FORK"]},
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
            "execCPUAffinity": {"initial": "0", "final": "0-1"},
            "someFutureField": {"ignored": true}
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "box",
        "domainname": "example.org",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/data", "type": "bind", "source": "/srv/data",
             "options": ["rbind", "idmap"],
             "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
             "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}
        ],
        "hooks": {
            "prestart": [{"path": "/usr/bin/true", "args": ["true", "a"], "env": ["A=1"],
                          "timeout": 5}],
            "createRuntime": [{"path": "/bin/cr"}],
            "createContainer": [{"path": "/bin/cc"}],
            "startContainer": [{"path": "/bin/sc"}],
            "poststart": [{"path": "/bin/ps1"}, {"path": "/bin/ps2"}],
            "poststop": [{"path": "/bin/stop"}]
        },
        "annotations": {"org.example.key": "value"},
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"},
                {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"},
                {"type": "user"}, {"type": "time"}
            ],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 1000},
                            {"containerID": 1000, "hostID": 300000, "size": 1}],
            "timeOffsets": {"monotonic": {"secs": -3600, "nanosecs": 5},
                            "boottime": {"secs": 86400}},
            "devices": [
                {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229,
                 "fileMode": 438, "uid": 0, "gid": 0},
                {"type": "p", "path": "/dev/myfifo"}
            ],
            "cgroupsPath": "/brig/test",
            "resources": {
                "devices": [
                    {"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                    {"allow": true, "type": "b", "major": -1, "minor": -1}
                ],
                "memory": {"limit": 536870912, "reservation": 268435456, "swap": -1,
                           "kernel": -1, "kernelTCP": 0, "swappiness": 60,
                           "disableOOMKiller": true, "useHierarchy": true,
                           "checkBeforeUpdate": false},
                "cpu": {"shares": 1024, "quota": 50000, "burst": 1000, "period": 100000,
                        "realtimeRuntime": 950000, "realtimePeriod": 1000000,
                        "cpus": "0-1", "mems": "0", "idle": 1},
                "pids": {"limit": 32},
                "blockIO": {
                    "weight": 500, "leafWeight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 10}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 700}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 300}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 400}]
                },
                "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200},
                                   {"pageSize": "1GB", "limit": 0}],
                "network": {"classID": 1048577,
                            "priorities": [{"name": "eth0", "priority": 500}]},
                "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
                "unified": {"memory.high": "1073741824", "io.weight": "default 100"}
            },
            "rootfsPropagation": "rslave",
            "maskedPaths": ["/proc/kcore", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys"],
            "mountLabel": "system_u:object_r:container_file_t:s0",
            "sysctl": {"net.ipv4.ip_forward": "1", "net.ipv4.conf.eth0/1.forwarding": "0"},
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                "listenerPath": "/run/seccomp.sock",
                "listenerMetadata": "meta",
                "syscalls": [
                    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
                ]
            },
            "personality": {"domain": "LINUX32", "flags": []},
            "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0"},
            "memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"}
        },
        "windows": {"ignored": "yes"}
    })");
}

}  // namespace brig::config::samples
