// brig's eBPF monitor: the API the runtime calls. Design in src/monitor/README.md; in short:
//
//  * BPF programs are loaded ONCE and pinned under /sys/fs/bpf/brig/<hash of the BPF objects>
//    (maps, programs and the bpf_links of the raw tracepoints and BPF-LSM hooks), so enforcement
//    never depends on a user-space process.
//  * `brig create`, after the container's cgroup exists and before the user process runs:
//        auto config  = MonitorConfig::load(global --config path);
//        auto policy  = build_policy(config, identity);            // rules -> map entries
//        auto monitor = Monitor::open(config);                     // loads+pins on first use only
//        keys = monitor.register_container(identity, policy);      // ~N map updates + 2-3 attaches
//        start_watcher(monitor, config, identity, policy, state_dir);  // forks the alert writer
//    and in the container's init and in every exec'd process (from the record create writes in
//    the state dir), after mounts/pivot_root, BEFORE dropping capabilities and before the
//    runtime's own seccomp filter:
//        security::apply_deny_policy({policy.landlock_deny, policy.seccomp_deny});
//  * `brig delete`: Monitor::open(config).unregister_container(identity.cgroup2_id, &keys);
//  * `brig events ID`: read_alerts(container_state_dir); `brig state ID`: killed_by(...).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "monitor/bpf/monitor_abi.h"
#include "monitor/registered_keys.hpp"
#include "monitor/rules.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/config/spec.hpp"

namespace brig::monitor {

struct ContainerIdentity {
    std::string id;
    std::string rootfs;  // root.path, absolute on the host: user.name from its /etc/passwd
    std::vector<config::IdMapping> uid_mappings;
    uint64_t cgroup2_id = 0;   // inode of the container's cgroup2 dir (= bpf_get_current_cgroup_id)
    std::string cgroup2_path;  // e.g. /sys/fs/cgroup/unified/brig/<id>
    pid_t pid = 0;             // container init (host pid), 0 if not known yet
    std::map<std::string, std::string> annotations;
    std::vector<std::string> env;  // process.env ("K=V"): KUBERNETES_SERVICE_HOST/PORT
};
// The inode number of a cgroup2 directory, which is what bpf_get_current_cgroup_id() returns.
uint64_t cgroup_id_of(const std::string& cgroup2_path);

struct OutputConfig {
    bool to_stdout = false;
    std::string file;  // appended JSON lines, "" = none
    bool syslog = false;
    std::string syslog_socket = "/dev/log";  // the local syslog daemon's datagram socket
    std::string http_url;                    // http://host:port/path (Falcosidekick), "" = none
    std::string program;  // run by /bin/sh -c with each alert on its stdin, "" = none
    // Falco's outputs throttle, per container: a bucket of max_burst alerts refilled at `rate`
    // per second (0 = no limit); the first alert of each rule always passes.
    double rate = 100;
    uint64_t max_burst = 1000;
    // alerts.jsonl and `file` are renamed to <file>.1 (the one before is replaced) before a line
    // takes them past this size (0 = no cap).
    uint64_t file_max_bytes = 4 << 20;

    // Every key of "monitor.outputs" the parser accepts (config.schema.json describes each).
    static const std::set<std::string>& keys();
};

// The --config file (config.schema.json, "monitor" section).
struct MonitorConfig {
    bool enabled = true;
    bool default_rules = true;              // the rule set compiled into brig
    std::vector<std::string> rules_files;   // extra files, in order
    Action default_action = Action::alert;  // for rules without `action`
    bool time_format_iso_8601 = false;      // Falco's: the output's time prefix in ISO 8601
    // Repeats of an event (rule, thread, object) within this many ms are one alert with a count.
    uint32_t coalesce_ms = 1000;
    OutputConfig outputs;
    std::string bpffs_dir = "/sys/fs/bpf/brig";  // pins go to <bpffs_dir>/<pin_dir_name()>
    // Where the files named by the org.brig.monitor.rules annotation (tenant input) may lie.
    std::vector<std::string> annotation_rules_dirs = {"/etc/brig/rules.d"};
    // Not the monitor's: the file's one runtime setting at its root, "systemd_cgroup" (what
    // --systemd-cgroup does), for a shim handler's ConfigPath where no flag can be given.
    bool systemd_cgroup = false;

    // A missing file at the default path gives the defaults; elsewhere it is an error.
    static MonitorConfig load(const std::string& path, bool path_is_default);
    static MonitorConfig from_json_text(const std::string& text, const std::string& source);
    // Every key of "monitor" the parser accepts (config.schema.json describes each).
    static const std::set<std::string>& keys();
};

// Per-container annotations.
inline constexpr const char* kRulesAnnotation = "org.brig.monitor.rules";
inline constexpr const char* kActionAnnotation = "org.brig.monitor.action";

struct KernelVerdict {
    uint32_t rule_id = 0;  // 1-based index into ContainerPolicy::rules
    uint32_t action = 0;   // BRIG_ACT_* bits (see bpf/monitor_abi.h)
};

struct SocketAddress {
    int family = 0;  // AF_INET / AF_INET6
    std::array<uint8_t, 16> addr{};
    uint16_t port = 0;  // 0 = any
    auto operator<=>(const SocketAddress&) const = default;
};

// One open_path_rules entry: per brig_path_op, the strongest verdict of every rule on a prefix
// of its path.
struct PathVerdicts {
    std::array<KernelVerdict, BRIG_PATH_OPS> ops{};
};

// What the kernel decides for one container: map entries.
struct KernelPlan {
    std::map<std::string, KernelVerdict> exec_names;  // basename or absolute path
    // Per brig_path_op: path prefix -> verdict; an exact file ends in '\0'.
    std::array<std::map<std::string, KernelVerdict>, BRIG_PATH_OPS> paths;
    std::map<std::string, KernelVerdict> open_names;  // basename, any access mode
    std::map<SocketAddress, KernelVerdict> connects;  // destination
    std::map<SocketAddress, KernelVerdict> binds;     // local address; all-zero addr = any
    std::array<KernelVerdict, 8> syscalls{};          // by brig_syscall_class
    KernelVerdict exec_new_binary;
    // Every exec: reported only where a rule needs it (an exec rule with no key, or fields
    // that come from the container's exec history: proc.aname[2], proc.pcmdline, ...).
    KernelVerdict exec_any;
    // `paths` as one trie: each entry folds in the verdicts of every shorter prefix of it, since
    // the kernel's longest-prefix lookup returns one entry only.
    std::map<std::string, PathVerdicts> folded_paths() const;
    size_t entry_count() const;
};

struct CompiledRule {
    std::string name;
    std::string output;
    Priority priority = Priority::warning;
    std::vector<std::string> tags;
    Action action = Action::alert;
    std::shared_ptr<const Expr> condition;  // container fields already decided
    bool decided_in_kernel = false;         // the kernel match is the whole condition: kernel acts
    // Decided in user space, refuses (deny or kill) and can match an exec: the watcher judges
    // every exec of the container before the program runs (exec_verdicts.hpp).
    bool judged_before_exec = false;
};

struct ContainerPolicy {
    std::string container_id;
    std::string container_name;
    std::map<std::string, std::string> annotations;
    std::vector<CompiledRule> rules;  // rule id = index + 1
    KernelPlan kernel;
    // Absolute dir inside the container's root -> the Landlock rights refused beneath it.
    std::map<std::string, uint64_t> landlock_deny;
    std::vector<std::string> seccomp_deny;  // syscall names refused with EPERM
    std::vector<std::string> warnings;      // rules that cannot be observed, skipped, ...
    std::map<std::string, std::string> container_fields;  // container.image.*, k8s.*, ...
    std::map<uint32_t, std::string> user_names;           // host uid -> user.name
    bool time_format_iso_8601 = false;                    // of the output's time prefix
    // BRIG_EXEC_CHECK_* the kernel compares between a judged exec and the one that runs; 0 when
    // no rule is judged_before_exec (execs then run unheld).
    uint32_t exec_checks = 0;
};

// Loads the rule sets (built-in, config files, annotation file), applies the action annotation
// and compiles for this container. Throws brig::Error naming file, line and field.
ContainerPolicy build_policy(const MonitorConfig& config, const ContainerIdentity& container);
ContainerPolicy compile_policy(const RuleSet& rules, const ContainerIdentity& container,
                               Action default_action, std::optional<Action> override_action);

// Events of a container that did not reach its watcher, since it was registered.
struct EventDrops {
    uint64_t ring_full = 0;  // the ring had no room
    uint64_t shed = 0;  // the ring was more than half full and the rule had sent in the last second
    uint64_t total() const { return ring_full + shed; }
};

enum class EnforcementPath { bpf_lsm, tracepoint };
struct KernelSupport {
    bool btf = false;
    bool bpf_lsm = false;      // a tiny lsm program loaded
    bool tracepoints = false;  // raw tracepoints + bpf_send_signal
    bool landlock = false;
    int landlock_abi = 0;
    std::string describe() const;  // "enforcement: tracepoint+cgroup (BPF-LSM unavailable: ...)"
};
KernelSupport probe_kernel();
// Hex hash of the BPF objects embedded in this brig: the pin directory under bpffs_dir, so that an
// upgraded brig never runs with the programs or maps of an older one.
std::string pin_dir_name();

class Monitor {
public:
    // Opens the pinned maps and programs; loads and pins them first if this is the first use since
    // boot (serialised with a lock file). Throws brig::Error if the kernel cannot run them.
    static Monitor open(const MonitorConfig& config);

    Monitor(Monitor&&) noexcept;
    Monitor& operator=(Monitor&&) noexcept;
    ~Monitor();

    EnforcementPath path() const;  // bpf_lsm when the LSM hooks are attached
    std::string pin_dir() const;   // <bpffs_dir>/<pin_dir_name()>
    // The pinned maps and programs this handle holds open (a forked watcher keeps them).
    std::vector<int> fds() const;
    // Map updates and cgroup attaches; the container is watched when this returns. Returns the
    // rule-map keys written, for unregister_container.
    RegisteredKeys register_container(const ContainerIdentity& container,
                                      const ContainerPolicy& policy);
    // Removes every map entry of the container (its cgroup programs go with the cgroup) and
    // gives its ring back to the pool; after the last container, detaches the programs. Without
    // the keys its registration returned, every rule map is walked for them.
    void unregister_container(uint64_t cgroup2_id, const RegisteredKeys* keys = nullptr);
    // Adds a ring to the pool when fewer than two are free (waits for an RCU grace period: the
    // watcher calls it, off the create path).
    void top_up_rings();
    bool is_registered(uint64_t cgroup2_id) const;
    // Rule id that condemned the container in-kernel, 0 = none.
    uint32_t condemned_by(uint64_t cgroup2_id) const;
    EventDrops dropped_events(uint64_t cgroup2_id) const;
    // Shed events by rule id (0: reported for no rule), for rule ids up to rule_count.
    std::map<uint32_t, uint64_t> shed_by_rule(uint64_t cgroup2_id, uint32_t rule_count) const;
    // The coalescing entry of a key, if the kernel has one.
    std::optional<brig_repeat> repeat_of(const brig_repeat_key& key) const;
    size_t map_entries_of(uint64_t cgroup2_id) const;  // across all rule maps (tests)
    // New fds of the container's rings (alerts; carried-out verdicts); the caller owns them.
    int ring_fd(uint64_t cgroup2_id) const;
    int verdict_ring_fd(uint64_t cgroup2_id) const;
    // The watcher of a container with exec verdicts (ContainerPolicy::exec_checks): arm once a
    // task of the container holds the notification filter (from then on the kernel kills every
    // exec of the container that was not approved), then approve each exec it lets run (false
    // when the map is full).
    void arm_exec_verdicts(uint64_t cgroup2_id);
    bool approve_exec(uint64_t cgroup2_id, uint32_t tid, const brig_exec_approval& exec);

    struct Impl;

private:
    explicit Monitor(std::unique_ptr<Impl> impl);
    RegisteredKeys register_locked(const ContainerIdentity& container,
                                   const ContainerPolicy& policy);
    void unregister_locked(uint64_t cgroup2_id, const RegisteredKeys* keys) noexcept;
    void forget_locked(uint64_t cgroup2_id, const RegisteredKeys* keys) noexcept;
    void forget_gone_cgroups_locked() noexcept;
    std::unique_ptr<Impl> impl_;
};

// Forks the container's watcher: it reads the container's ring, evaluates user-space rules,
// writes alerts (alerts.jsonl in container_state_dir plus the configured outputs), kills the whole
// container (cgroup.kill) after a kill rule, and exits when the cgroup is empty. Returns its pid.
// exec_socket: where the container's processes hand their exec listeners
// (security::listen_exec_hold), invalid when no rule is judged before exec.
// monitor: the one the container was registered with (its rings are looked up there).
pid_t start_watcher(Monitor& monitor, const MonitorConfig& config,
                    const ContainerIdentity& container, const ContainerPolicy& policy,
                    const std::string& container_state_dir, UniqueFd exec_socket = {});

// `brig events ID`: the container's alerts, one Falco JSON object per line.
std::vector<std::string> read_alerts(const std::string& container_state_dir);
struct KillRecord {
    std::string rule;
    std::string time;
    std::string output;
};
// `brig state ID`: the rule that killed the container, if one did.
std::optional<KillRecord> killed_by(const std::string& container_state_dir);

inline constexpr const char* kAlertsFile = "alerts.jsonl";
inline constexpr const char* kKilledFile = "monitor-killed.json";

}  // namespace brig::monitor
