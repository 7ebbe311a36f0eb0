// The OCI runtime-spec config.json (1.2) as typed structs. parse_spec() validates everything
// before anything is created; every error names its JSON path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace brig::config {

struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
};

struct Rlimit {
    std::string type;  // RLIMIT_NOFILE ...
    int resource = 0;  // resolved RLIMIT_* number
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct Capabilities {
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
    unsigned height = 0;
    unsigned width = 0;
};

struct Scheduler {
    std::string policy;  // SCHED_OTHER ...
    int nice = 0;
    int priority = 0;
    std::vector<std::string> flags;
    uint64_t runtime = 0, deadline = 0, period = 0;
};

struct IoPriority {
    std::string io_class;  // IOPRIO_CLASS_RT|BE|IDLE
    int priority = 0;
};

// process.execCPUAffinity: CPU lists ("0-3,7") for exec'd processes, before and after exec.
struct ExecCpuAffinity {
    std::string initial_cpus;
    std::string final_cpus;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::string selinux_label;
    std::optional<Scheduler> scheduler;
    std::optional<IoPriority> io_priority;
    std::optional<ExecCpuAffinity> exec_cpu_affinity;
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct Mount {
    std::string destination;
    std::string source;
    std::string type;
    std::vector<std::string> options;
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };

struct Namespace {
    NamespaceType type;
    std::string path;  // empty: create a new one
};

struct Device {
    char type = 'c';  // c, b, u, p
    std::string path;
    int64_t major = 0;
    int64_t minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
};

// linux.resources
struct DeviceRule {
    bool allow = false;
    char type = 'a';  // a, c, b
    std::optional<int64_t> major, minor;
    std::string access;  // rwm subset
};

struct MemoryResources {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    bool disable_oom_killer = false;
    std::optional<bool> use_hierarchy;
    std::optional<bool> check_before_update;
};

struct CpuResources {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
};

struct WeightDevice {
    int64_t major = 0, minor = 0;
    std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};

struct BlockIoResources {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
        throttle_write_iops;
};

struct HugepageLimit {
    std::string page_size;  // "2MB"
    uint64_t limit = 0;
};

struct NetworkResources {
    std::optional<uint32_t> class_id;
    std::vector<std::pair<std::string, uint32_t>> priorities;
};

struct RdmaLimit {
    std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<int64_t> pids_limit;
    std::optional<BlockIoResources> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<NetworkResources> network;
    std::map<std::string, RdmaLimit> rdma;
    std::map<std::string, std::string> unified;
};

struct SeccompArg {
    unsigned index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    std::string op;  // SCMP_CMP_*
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_*
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;
    std::vector<std::string> flags;
    std::string listener_path;
    std::string listener_metadata;
    std::vector<SeccompSyscall> syscalls;
};

struct Personality {
    std::string domain;  // LINUX, LINUX32
    std::vector<std::string> flags;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::map<std::string, std::pair<int64_t, uint32_t>> time_offsets;  // clock -> (secs, nanosecs)
    std::vector<Device> devices;
    std::string cgroups_path;
    std::optional<Resources> resources;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string mount_label;
    std::map<std::string, std::string> sysctl;
    std::optional<Seccomp> seccomp;
    std::optional<Personality> personality;

    const Namespace* find_namespace(NamespaceType t) const;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;
};

// Parses and validates a config.json document. Throws brig::Error naming the JSON path.
Spec parse_spec(const nlohmann::json& doc);
// Reads <bundle>/config.json (size-capped) and parses it.
Spec load_spec(const std::string& bundle_dir);

Resources parse_resources(const nlohmann::json& doc, const std::string& path);
Process parse_process(const nlohmann::json& doc, const std::string& path);

const char* namespace_type_name(NamespaceType t);  // "pid", "network", ...
const char* namespace_proc_name(NamespaceType t);  // "pid", "net", ... (/proc/self/ns/<name>)
int namespace_clone_flag(NamespaceType t);

}  // namespace brig::config
