// config.json -> Spec. Checks types, required fields and the rules of the runtime-spec that can
// be judged from the document alone, so that a bad config fails before anything is created.
#include "runtime/config/spec.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "runtime/common/elide.hpp"
#include "runtime/common/error.hpp"
#include "runtime/config/json_reader.hpp"

namespace brig::config {
namespace {

constexpr std::size_t host_name_max = 64;        // HOST_NAME_MAX, also the utsname domain length
constexpr std::size_t id_map_max_entries = 340;  // the kernel's limit per uid_map/gid_map
constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();
constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();
constexpr int64_t uint32_max = std::numeric_limits<uint32_t>::max();

template <typename T>
struct Named {
    std::string_view name;
    T value;
};

constexpr Named<int> rlimit_table[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

constexpr Named<NamespaceType> namespace_table[] = {
    {"pid", NamespaceType::pid},       {"network", NamespaceType::network},
    {"mount", NamespaceType::mount},   {"ipc", NamespaceType::ipc},
    {"uts", NamespaceType::uts},       {"user", NamespaceType::user},
    {"cgroup", NamespaceType::cgroup}, {"time", NamespaceType::time},
};

constexpr std::string_view scheduler_policies[] = {
    "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
    "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE",
};

constexpr std::string_view scheduler_flags[] = {
    "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",    "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX",
};

constexpr std::string_view io_priority_classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                                    "IOPRIO_CLASS_IDLE"};

// runc accepts the recursive spellings too; callers of runc write them.
constexpr std::string_view rootfs_propagations[] = {
    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"};

template <typename Range>
bool contains(const Range& names, std::string_view name) {
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

template <typename Range>
std::string one_of(const Range& names) {
    std::string out;
    for (std::string_view n : names) {
        if (!out.empty())
            out += ", ";
        out += n;
    }
    return out;
}

std::string in_quotes(std::string_view s) {
    return "\"" + printable(elide(s)) + "\"";
}

std::string string_in(const JsonNode& node, const auto& allowed, const char* what) {
    std::string value = node.as_string();
    if (!contains(allowed, value))
        node.fail("unknown " + std::string(what) + " " + in_quotes(value) + " (one of " +
                  one_of(allowed) + ")");
    return value;
}

bool has_dotdot_component(std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        if (path.substr(start, end - start) == "..")
            return true;
        start = end + 1;
    }
    return false;
}

std::string absolute_path(const JsonNode& node) {
    std::string path = node.as_string();
    if (path.empty() || path.front() != '/')
        node.fail("must be an absolute path");
    return path;
}

std::vector<std::string> absolute_paths(const JsonNode& node) {
    std::vector<std::string> out;
    node.for_each_element([&](const JsonNode& e) { out.push_back(absolute_path(e)); });
    return out;
}

// A limit where -1 means "no limit".
int64_t limit_value(const JsonNode& node) {
    const int64_t v = node.as_int64();
    if (v < -1)
        node.fail("must be -1 (unlimited) or a non-negative integer");
    return v;
}

template <typename T, typename Read>
std::optional<T> optional_of(const JsonNode& parent, const char* key, Read read) {
    if (auto n = parent.optional(key))
        return read(*n);
    return std::nullopt;
}

void set_string(const JsonNode& parent, const char* key, std::string& out) {
    if (auto n = parent.optional(key))
        out = n->as_string();
}

void set_bool(const JsonNode& parent, const char* key, bool& out) {
    if (auto n = parent.optional(key))
        out = n->as_bool();
}

void set_strings(const JsonNode& parent, const char* key, std::vector<std::string>& out) {
    if (auto n = parent.optional(key))
        out = n->as_string_array();
}

// ---- id mappings -------------------------------------------------------------------------

IdMapping parse_id_mapping(const JsonNode& node) {
    node.expect_object();
    IdMapping m;
    m.container_id = node.required("containerID").as_uint32();
    m.host_id = node.required("hostID").as_uint32();
    const JsonNode size = node.required("size");
    m.size = size.as_uint32();
    if (m.size == 0)
        size.fail("must be greater than 0");
    // The kernel refuses ranges that wrap around the 32-bit id space.
    if (uint64_t{m.container_id} + m.size > uint64_t{std::numeric_limits<uint32_t>::max()})
        node.fail("containerID + size overflows the 32-bit id range");
    if (uint64_t{m.host_id} + m.size > uint64_t{std::numeric_limits<uint32_t>::max()})
        node.fail("hostID + size overflows the 32-bit id range");
    return m;
}

bool ranges_overlap(uint32_t a, uint32_t b, uint32_t size_a, uint32_t size_b) {
    return uint64_t{a} < uint64_t{b} + size_b && uint64_t{b} < uint64_t{a} + size_a;
}

std::vector<IdMapping> parse_id_mappings(const JsonNode& node) {
    std::vector<IdMapping> out;
    if (node.array_size() > id_map_max_entries)
        node.fail("more than " + std::to_string(id_map_max_entries) + " entries");
    node.for_each_element([&](const JsonNode& e) {
        IdMapping m = parse_id_mapping(e);
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (ranges_overlap(m.container_id, out[i].container_id, m.size, out[i].size))
                e.fail("container range overlaps " + element_path(node.path(), i));
            if (ranges_overlap(m.host_id, out[i].host_id, m.size, out[i].size))
                e.fail("host range overlaps " + element_path(node.path(), i));
        }
        out.push_back(m);
    });
    return out;
}

// ---- process -----------------------------------------------------------------------------

User parse_user(const JsonNode& node) {
    node.expect_object();
    User u;
    if (auto n = node.optional("uid"))
        u.uid = n->as_uint32();
    if (auto n = node.optional("gid"))
        u.gid = n->as_uint32();
    if (auto n = node.optional("umask"))
        u.umask = static_cast<uint32_t>(n->as_int_in(0, 0777));
    if (auto n = node.optional("additionalGids"))
        n->for_each_element([&](const JsonNode& e) { u.additional_gids.push_back(e.as_uint32()); });
    return u;
}

Capabilities parse_capabilities(const JsonNode& node) {
    node.expect_object();
    Capabilities c;
    set_strings(node, "bounding", c.bounding);
    set_strings(node, "effective", c.effective);
    set_strings(node, "inheritable", c.inheritable);
    set_strings(node, "permitted", c.permitted);
    set_strings(node, "ambient", c.ambient);
    return c;
}

std::vector<Rlimit> parse_rlimits(const JsonNode& node) {
    std::vector<Rlimit> out;
    std::map<std::string, std::size_t> seen;
    node.for_each_element([&](const JsonNode& e) {
        e.expect_object();
        Rlimit r;
        const JsonNode type = e.required("type");
        r.type = type.as_string();
        auto known = std::find_if(std::begin(rlimit_table), std::end(rlimit_table),
                                  [&](const auto& entry) { return entry.name == r.type; });
        if (known == std::end(rlimit_table))
            type.fail("unknown rlimit " + in_quotes(r.type));
        r.resource = known->value;
        if (auto [it, fresh] = seen.emplace(r.type, out.size()); !fresh)
            type.fail("duplicate rlimit " + in_quotes(r.type) + " (also " +
                      element_path(node.path(), it->second) + ")");
        r.hard = e.required("hard").as_uint64();
        r.soft = e.required("soft").as_uint64();
        if (r.soft > r.hard)
            e.fail("soft limit " + std::to_string(r.soft) + " exceeds hard limit " +
                   std::to_string(r.hard));
        out.push_back(r);
    });
    return out;
}

Scheduler parse_scheduler(const JsonNode& node) {
    node.expect_object();
    Scheduler s;
    s.policy = string_in(node.required("policy"), scheduler_policies, "scheduler policy");
    if (auto n = node.optional("nice"))
        s.nice = static_cast<int>(n->as_int_in(-20, 19));
    if (auto n = node.optional("priority")) {
        // sched_setattr(2): real-time policies take 1..99, all others exactly 0.
        if (s.policy == "SCHED_FIFO" || s.policy == "SCHED_RR")
            s.priority = static_cast<int>(n->as_int_in(1, 99));
        else
            s.priority = static_cast<int>(n->as_int_in(0, 0));
    }
    if (auto n = node.optional("flags"))
        n->for_each_element([&](const JsonNode& e) {
            s.flags.push_back(string_in(e, scheduler_flags, "scheduler flag"));
        });
    if (auto n = node.optional("runtime"))
        s.runtime = n->as_uint64();
    if (auto n = node.optional("deadline"))
        s.deadline = n->as_uint64();
    if (auto n = node.optional("period"))
        s.period = n->as_uint64();
    if (s.policy == "SCHED_DEADLINE") {
        if (s.deadline != 0 && s.runtime > s.deadline)
            node.fail("runtime must not exceed deadline");
        if (s.period != 0 && s.deadline > s.period)
            node.fail("deadline must not exceed period");
    }
    return s;
}

IoPriority parse_io_priority(const JsonNode& node) {
    node.expect_object();
    IoPriority p;
    p.io_class = string_in(node.required("class"), io_priority_classes, "ioPriority class");
    if (auto n = node.optional("priority"))
        p.priority = static_cast<int>(n->as_int_in(0, 7));
    return p;
}

ConsoleSize parse_console_size(const JsonNode& node) {
    node.expect_object();
    ConsoleSize c;
    // struct winsize holds unsigned shorts.
    c.height = static_cast<unsigned>(node.required("height").as_int_in(0, 65535));
    c.width = static_cast<unsigned>(node.required("width").as_int_in(0, 65535));
    return c;
}

std::string cpu_list(const JsonNode& node) {
    std::string list = node.as_string();
    // Kernel cpulist syntax: "0-3,5", "0-7:2/4", with optional blanks.
    for (char c : list)
        if (!((c >= '0' && c <= '9') || c == ',' || c == '-' || c == ':' || c == '/' || c == ' '))
            node.fail("must be a CPU list such as \"0-3,5\", got " + in_quotes(list));
    return list;
}

ExecCpuAffinity parse_exec_cpu_affinity(const JsonNode& node) {
    node.expect_object();
    ExecCpuAffinity a;
    if (auto n = node.optional("initial"))
        a.initial_cpus = cpu_list(*n);
    if (auto n = node.optional("final"))
        a.final_cpus = cpu_list(*n);
    return a;
}

// ---- mounts, hooks, root -----------------------------------------------------------------

Mount parse_mount(const JsonNode& node) {
    node.expect_object();
    Mount m;
    m.destination = absolute_path(node.required("destination"));
    set_string(node, "source", m.source);
    set_string(node, "type", m.type);
    set_strings(node, "options", m.options);
    if (auto n = node.optional("uidMappings"))
        m.uid_mappings = parse_id_mappings(*n);
    if (auto n = node.optional("gidMappings"))
        m.gid_mappings = parse_id_mappings(*n);
    // An id-mapped mount needs both maps (mount_setattr takes one user namespace for both).
    if (m.uid_mappings.empty() != m.gid_mappings.empty())
        node.fail("uidMappings and gidMappings must be given together");
    return m;
}

Hook parse_hook(const JsonNode& node) {
    node.expect_object();
    Hook h;
    h.path = absolute_path(node.required("path"));
    set_strings(node, "args", h.args);
    set_strings(node, "env", h.env);
    if (auto n = node.optional("timeout"))
        h.timeout = static_cast<int>(n->as_int_in(1, int32_max));
    return h;
}

std::vector<Hook> parse_hook_list(const JsonNode& parent, const char* key) {
    std::vector<Hook> out;
    if (auto n = parent.optional(key))
        n->for_each_element([&](const JsonNode& e) { out.push_back(parse_hook(e)); });
    return out;
}

Hooks parse_hooks(const JsonNode& node) {
    node.expect_object();
    Hooks h;
    h.prestart = parse_hook_list(node, "prestart");
    h.create_runtime = parse_hook_list(node, "createRuntime");
    h.create_container = parse_hook_list(node, "createContainer");
    h.start_container = parse_hook_list(node, "startContainer");
    h.poststart = parse_hook_list(node, "poststart");
    h.poststop = parse_hook_list(node, "poststop");
    return h;
}

Root parse_root(const JsonNode& node) {
    node.expect_object();
    Root r;
    const JsonNode path = node.required("path");
    r.path = path.as_string();
    if (r.path.empty())
        path.fail("must not be empty");
    set_bool(node, "readonly", r.readonly);
    return r;
}

// ---- linux.resources ---------------------------------------------------------------------

// Device numbers in cgroup rules: -1 is the wildcard the cgroup code understands.
int64_t device_number(const JsonNode& node, int64_t min) {
    return node.as_int_in(min, uint32_max);
}

DeviceRule parse_device_rule(const JsonNode& node) {
    node.expect_object();
    DeviceRule r;
    r.allow = node.required("allow").as_bool();
    if (auto n = node.optional("type")) {
        const std::string type = n->as_string();
        if (type != "a" && type != "c" && type != "b")
            n->fail("must be \"a\", \"c\" or \"b\", got " + in_quotes(type));
        r.type = type[0];
    }
    if (auto n = node.optional("major"))
        r.major = device_number(*n, -1);
    if (auto n = node.optional("minor"))
        r.minor = device_number(*n, -1);
    r.access = "rwm";  // unset or empty means all three
    if (auto n = node.optional("access")) {
        const std::string access = n->as_string();
        if (access.find_first_not_of("rwm") != std::string::npos)
            n->fail("must be a combination of r, w and m, got " + in_quotes(access));
        if (!access.empty())
            r.access = access;
    }
    return r;
}

MemoryResources parse_memory(const JsonNode& node) {
    node.expect_object();
    MemoryResources m;
    m.limit = optional_of<int64_t>(node, "limit", limit_value);
    m.reservation = optional_of<int64_t>(node, "reservation", limit_value);
    m.swap = optional_of<int64_t>(node, "swap", limit_value);
    m.kernel = optional_of<int64_t>(node, "kernel", limit_value);
    m.kernel_tcp = optional_of<int64_t>(node, "kernelTCP", limit_value);
    m.swappiness = optional_of<uint64_t>(node, "swappiness", [](const JsonNode& n) {
        return static_cast<uint64_t>(n.as_int_in(0, 100));
    });
    set_bool(node, "disableOOMKiller", m.disable_oom_killer);
    m.use_hierarchy =
        optional_of<bool>(node, "useHierarchy", [](const JsonNode& n) { return n.as_bool(); });
    m.check_before_update =
        optional_of<bool>(node, "checkBeforeUpdate", [](const JsonNode& n) { return n.as_bool(); });
    return m;
}

CpuResources parse_cpu(const JsonNode& node) {
    node.expect_object();
    auto u64 = [](const JsonNode& n) { return n.as_uint64(); };
    CpuResources c;
    c.shares = optional_of<uint64_t>(node, "shares", u64);
    c.quota = optional_of<int64_t>(node, "quota", limit_value);
    c.burst = optional_of<uint64_t>(node, "burst", u64);
    c.period = optional_of<uint64_t>(node, "period", u64);
    c.realtime_runtime = optional_of<int64_t>(node, "realtimeRuntime", limit_value);
    c.realtime_period = optional_of<uint64_t>(node, "realtimePeriod", u64);
    if (auto n = node.optional("cpus"))
        c.cpus = cpu_list(*n);
    if (auto n = node.optional("mems"))
        c.mems = cpu_list(*n);
    c.idle =
        optional_of<int64_t>(node, "idle", [](const JsonNode& n) { return n.as_int_in(0, 1); });
    return c;
}

// 0 means unset: Docker writes "weight": 0 when no weight was asked for, and runc skips it.
std::optional<uint16_t> blkio_weight(const JsonNode& parent, const char* key) {
    auto n = parent.optional(key);
    if (!n || (n->value().is_number_integer() && n->value() == 0))
        return std::nullopt;
    return static_cast<uint16_t>(n->as_int_in(10, 1000));
}

WeightDevice parse_weight_device(const JsonNode& node) {
    node.expect_object();
    WeightDevice w;
    w.major = device_number(node.required("major"), 0);
    w.minor = device_number(node.required("minor"), 0);
    w.weight = blkio_weight(node, "weight");
    w.leaf_weight = blkio_weight(node, "leafWeight");
    return w;
}

std::vector<ThrottleDevice> parse_throttle_devices(const JsonNode& parent, const char* key) {
    std::vector<ThrottleDevice> out;
    if (auto list = parent.optional(key))
        list->for_each_element([&](const JsonNode& e) {
            e.expect_object();
            ThrottleDevice t;
            t.major = device_number(e.required("major"), 0);
            t.minor = device_number(e.required("minor"), 0);
            if (auto n = e.optional("rate"))
                t.rate = n->as_uint64();
            out.push_back(t);
        });
    return out;
}

BlockIoResources parse_block_io(const JsonNode& node) {
    node.expect_object();
    BlockIoResources b;
    b.weight = blkio_weight(node, "weight");
    b.leaf_weight = blkio_weight(node, "leafWeight");
    if (auto n = node.optional("weightDevice"))
        n->for_each_element(
            [&](const JsonNode& e) { b.weight_device.push_back(parse_weight_device(e)); });
    b.throttle_read_bps = parse_throttle_devices(node, "throttleReadBpsDevice");
    b.throttle_write_bps = parse_throttle_devices(node, "throttleWriteBpsDevice");
    b.throttle_read_iops = parse_throttle_devices(node, "throttleReadIOPSDevice");
    b.throttle_write_iops = parse_throttle_devices(node, "throttleWriteIOPSDevice");
    return b;
}

// "^[1-9][0-9]*[KMG]B$", as the schema has it.
bool valid_page_size(std::string_view s) {
    if (s.size() < 3 || s[0] < '1' || s[0] > '9' || s.back() != 'B')
        return false;
    const char unit = s[s.size() - 2];
    if (unit != 'K' && unit != 'M' && unit != 'G')
        return false;
    return std::all_of(s.begin(), s.end() - 2, [](char c) { return c >= '0' && c <= '9'; });
}

HugepageLimit parse_hugepage_limit(const JsonNode& node) {
    node.expect_object();
    HugepageLimit h;
    const JsonNode size = node.required("pageSize");
    h.page_size = size.as_string();
    if (!valid_page_size(h.page_size))
        size.fail("must look like \"2MB\" (digits then KB, MB or GB), got " +
                  in_quotes(h.page_size));
    h.limit = node.required("limit").as_uint64();
    return h;
}

NetworkResources parse_network(const JsonNode& node) {
    node.expect_object();
    NetworkResources n;
    n.class_id =
        optional_of<uint32_t>(node, "classID", [](const JsonNode& v) { return v.as_uint32(); });
    if (auto list = node.optional("priorities"))
        list->for_each_element([&](const JsonNode& e) {
            e.expect_object();
            const JsonNode name = e.required("name");
            std::string interface = name.as_string();
            if (interface.empty())
                name.fail("must not be empty");
            n.priorities.emplace_back(std::move(interface), e.required("priority").as_uint32());
        });
    return n;
}

RdmaLimit parse_rdma_limit(const JsonNode& node) {
    node.expect_object();
    auto u32 = [](const JsonNode& v) { return v.as_uint32(); };
    RdmaLimit r;
    r.hca_handles = optional_of<uint32_t>(node, "hcaHandles", u32);
    r.hca_objects = optional_of<uint32_t>(node, "hcaObjects", u32);
    return r;
}

// ---- linux -------------------------------------------------------------------------------

std::vector<Namespace> parse_namespaces(const JsonNode& node) {
    std::vector<Namespace> out;
    std::map<NamespaceType, std::size_t> seen;
    node.for_each_element([&](const JsonNode& e) {
        e.expect_object();
        const JsonNode type = e.required("type");
        const std::string name = type.as_string();
        auto known = std::find_if(std::begin(namespace_table), std::end(namespace_table),
                                  [&](const auto& entry) { return entry.name == name; });
        if (known == std::end(namespace_table))
            type.fail("unknown namespace type " + in_quotes(name));
        if (auto [it, fresh] = seen.emplace(known->value, out.size()); !fresh)
            type.fail("duplicate namespace " + in_quotes(name) + " (also " +
                      element_path(node.path(), it->second) + ")");
        Namespace ns{known->value, {}};
        if (auto path = e.optional("path"))
            ns.path = absolute_path(*path);
        out.push_back(std::move(ns));
    });
    return out;
}

Device parse_device(const JsonNode& node) {
    node.expect_object();
    Device d;
    const JsonNode type = node.required("type");
    const std::string type_name = type.as_string();
    if (type_name.size() != 1 ||
        std::string_view("cbup").find(type_name[0]) == std::string_view::npos)
        type.fail("must be \"c\", \"b\", \"u\" or \"p\", got " + in_quotes(type_name));
    d.type = type_name[0];
    const JsonNode path = node.required("path");
    d.path = absolute_path(path);
    if (d.path.rfind("/dev/", 0) != 0 || d.path.size() <= 5 || has_dotdot_component(d.path))
        path.fail("must be a path under /dev, got " + in_quotes(d.path));
    if (d.type == 'p') {
        // Optional for a FIFO (runtime-spec: "required unless type is p"); checked, then unused.
        if (auto major = node.optional("major"))
            device_number(*major, 0);
        if (auto minor = node.optional("minor"))
            device_number(*minor, 0);
    } else {
        d.major = device_number(node.required("major"), 0);
        d.minor = device_number(node.required("minor"), 0);
    }
    d.file_mode =
        optional_of<uint32_t>(node, "fileMode", [](const JsonNode& n) { return n.as_uint32(); });
    d.uid = optional_of<uint32_t>(node, "uid", [](const JsonNode& n) { return n.as_uint32(); });
    d.gid = optional_of<uint32_t>(node, "gid", [](const JsonNode& n) { return n.as_uint32(); });
    return d;
}

std::map<std::string, std::pair<int64_t, uint32_t>> parse_time_offsets(const JsonNode& node) {
    std::map<std::string, std::pair<int64_t, uint32_t>> out;
    node.for_each_member([&](const std::string& clock, const JsonNode& offset) {
        if (clock != "monotonic" && clock != "boottime")
            offset.fail("unknown clock (monotonic or boottime)");
        offset.expect_object();
        int64_t secs = 0;
        uint32_t nanosecs = 0;
        if (auto n = offset.optional("secs"))
            secs = n->as_int64();
        if (auto n = offset.optional("nanosecs"))
            nanosecs = static_cast<uint32_t>(n->as_int_in(0, 999'999'999));
        out.emplace(clock, std::make_pair(secs, nanosecs));
    });
    return out;
}

std::map<std::string, std::string> parse_sysctl(const JsonNode& node) {
    std::map<std::string, std::string> out;
    node.for_each_member([&](const std::string& key, const JsonNode& value) {
        // The key becomes a path under /proc/sys: nothing that could climb out of it.
        if (key.empty() || key.front() == '/' || key.front() == '.' || has_dotdot_component(key) ||
            key.find("..") != std::string::npos)
            value.fail("invalid sysctl name");
        out.emplace(key, value.as_string());
    });
    return out;
}

SeccompArg parse_seccomp_arg(const JsonNode& node) {
    node.expect_object();
    SeccompArg a;
    a.index = static_cast<unsigned>(node.required("index").as_int_in(0, 5));
    a.value = node.required("value").as_uint64();
    if (auto n = node.optional("valueTwo"))
        a.value_two = n->as_uint64();
    a.op = node.required("op").as_string();
    return a;
}

SeccompSyscall parse_seccomp_syscall(const JsonNode& node) {
    node.expect_object();
    SeccompSyscall s;
    const JsonNode names = node.required("names");
    if (names.array_size() == 0)
        names.fail("must be a non-empty array");
    names.for_each_element([&](const JsonNode& e) {
        std::string name = e.as_string();
        if (name.empty())
            e.fail("must not be empty");
        s.names.push_back(std::move(name));
    });
    s.action = node.required("action").as_string();
    s.errno_ret =
        optional_of<uint32_t>(node, "errnoRet", [](const JsonNode& n) { return n.as_uint32(); });
    if (auto list = node.optional("args"))
        list->for_each_element([&](const JsonNode& e) { s.args.push_back(parse_seccomp_arg(e)); });
    return s;
}

Seccomp parse_seccomp(const JsonNode& node) {
    node.expect_object();
    Seccomp s;
    s.default_action = node.required("defaultAction").as_string();
    s.default_errno_ret = optional_of<uint32_t>(node, "defaultErrnoRet",
                                                [](const JsonNode& n) { return n.as_uint32(); });
    set_strings(node, "architectures", s.architectures);
    set_strings(node, "flags", s.flags);
    set_string(node, "listenerPath", s.listener_path);
    set_string(node, "listenerMetadata", s.listener_metadata);
    if (auto list = node.optional("syscalls"))
        list->for_each_element(
            [&](const JsonNode& e) { s.syscalls.push_back(parse_seccomp_syscall(e)); });
    return s;
}

Personality parse_personality(const JsonNode& node) {
    node.expect_object();
    Personality p;
    const JsonNode domain = node.required("domain");
    p.domain = domain.as_string();
    if (p.domain != "LINUX" && p.domain != "LINUX32")
        domain.fail("unknown personality domain " + in_quotes(p.domain) + " (LINUX or LINUX32)");
    set_strings(node, "flags", p.flags);
    return p;
}

Linux parse_linux(const JsonNode& node) {
    node.expect_object();
    Linux l;
    if (auto n = node.optional("namespaces"))
        l.namespaces = parse_namespaces(*n);
    if (auto n = node.optional("uidMappings"))
        l.uid_mappings = parse_id_mappings(*n);
    if (auto n = node.optional("gidMappings"))
        l.gid_mappings = parse_id_mappings(*n);
    if (auto n = node.optional("timeOffsets"))
        l.time_offsets = parse_time_offsets(*n);
    if (auto n = node.optional("devices"))
        n->for_each_element([&](const JsonNode& e) { l.devices.push_back(parse_device(e)); });
    set_string(node, "cgroupsPath", l.cgroups_path);
    if (auto n = node.optional("resources"))
        l.resources = parse_resources(n->value(), n->path());
    if (auto n = node.optional("rootfsPropagation"))
        l.rootfs_propagation = string_in(*n, rootfs_propagations, "rootfs propagation");
    if (auto n = node.optional("maskedPaths"))
        l.masked_paths = absolute_paths(*n);
    if (auto n = node.optional("readonlyPaths"))
        l.readonly_paths = absolute_paths(*n);
    set_string(node, "mountLabel", l.mount_label);
    if (auto n = node.optional("sysctl"))
        l.sysctl = parse_sysctl(*n);
    if (auto n = node.optional("seccomp"))
        l.seccomp = parse_seccomp(*n);
    if (auto n = node.optional("personality"))
        l.personality = parse_personality(*n);
    // intelRdt, memoryPolicy and netDevices are not supported and, like unknown fields, ignored.

    // Rules that span several fields. A new user namespace without mappings is allowed (the
    // spec makes them optional; crun's rootless spec relies on a default mapping), so the
    // namespace setup decides what to map then.
    const Namespace* user_ns = l.find_namespace(NamespaceType::user);
    const std::string ns_path = member_path(node.path(), "namespaces");
    for (auto [maps, key] :
         {std::pair{&l.uid_mappings, "uidMappings"}, std::pair{&l.gid_mappings, "gidMappings"}}) {
        const std::string map_path = member_path(node.path(), key);
        if (!maps->empty() && !user_ns)
            throw Error(map_path + ": requires a user namespace in " + ns_path);
    }
    // One map without the other leaves half the ids unmapped: a half-done configuration.
    if (l.uid_mappings.empty() != l.gid_mappings.empty())
        throw Error(
            member_path(node.path(), l.uid_mappings.empty() ? "uidMappings" : "gidMappings") +
            ": required together with " +
            member_path(node.path(), l.uid_mappings.empty() ? "gidMappings" : "uidMappings"));
    if (!l.time_offsets.empty()) {
        const Namespace* time_ns = l.find_namespace(NamespaceType::time);
        if (!time_ns || !time_ns->path.empty())
            throw Error(member_path(node.path(), "timeOffsets") +
                        ": requires a new time namespace in " + ns_path);
    }
    return l;
}

std::string host_name(const JsonNode& node) {
    std::string name = node.as_string();
    if (name.size() > host_name_max)
        node.fail("longer than " + std::to_string(host_name_max) + " bytes");
    return name;
}

// Without a mount namespace of its own the container shares the host's mounts, and brig then
// applies none of these (it would change the host): refused, never silently skipped.
void require_mount_namespace(const Spec& s) {
    if (s.linux && s.linux->find_namespace(NamespaceType::mount))
        return;
    const char* field = nullptr;
    if (!s.mounts.empty())
        field = "mounts";
    else if (s.root.readonly)
        field = "root.readonly";
    else if (!s.hostname.empty())
        field = "hostname";
    else if (!s.domainname.empty())
        field = "domainname";
    else if (s.linux && !s.linux->masked_paths.empty())
        field = "linux.maskedPaths";
    else if (s.linux && !s.linux->readonly_paths.empty())
        field = "linux.readonlyPaths";
    else if (s.linux && !s.linux->sysctl.empty())
        field = "linux.sysctl";
    if (field)
        throw Error(std::string(field) +
                    ": needs a private mount namespace (none in linux.namespaces)");
}

}  // namespace

const char* namespace_type_name(NamespaceType t) {
    for (const auto& entry : namespace_table)
        if (entry.value == t)
            return entry.name.data();
    return "unknown";
}

const char* namespace_proc_name(NamespaceType t) {
    switch (t) {
        case NamespaceType::pid:
            return "pid";
        case NamespaceType::network:
            return "net";
        case NamespaceType::mount:
            return "mnt";
        case NamespaceType::ipc:
            return "ipc";
        case NamespaceType::uts:
            return "uts";
        case NamespaceType::user:
            return "user";
        case NamespaceType::cgroup:
            return "cgroup";
        case NamespaceType::time:
            return "time";
    }
    return "unknown";
}

int namespace_clone_flag(NamespaceType t) {
    switch (t) {
        case NamespaceType::pid:
            return CLONE_NEWPID;
        case NamespaceType::network:
            return CLONE_NEWNET;
        case NamespaceType::mount:
            return CLONE_NEWNS;
        case NamespaceType::ipc:
            return CLONE_NEWIPC;
        case NamespaceType::uts:
            return CLONE_NEWUTS;
        case NamespaceType::user:
            return CLONE_NEWUSER;
        case NamespaceType::cgroup:
            return CLONE_NEWCGROUP;
        case NamespaceType::time:
            return CLONE_NEWTIME;
    }
    return 0;
}

const Namespace* Linux::find_namespace(NamespaceType t) const {
    for (const auto& ns : namespaces)
        if (ns.type == t)
            return &ns;
    return nullptr;
}

Process parse_process(const nlohmann::json& doc, const std::string& path) {
    const JsonNode node(doc, path);
    node.expect_object();
    Process p;
    set_bool(node, "terminal", p.terminal);
    if (auto n = node.optional("consoleSize"))
        p.console_size = parse_console_size(*n);
    if (auto n = node.optional("user"))
        p.user = parse_user(*n);

    const JsonNode args = node.required("args");
    if (!args.value().is_array() || args.value().empty())
        args.fail("must be a non-empty array");
    p.args = args.as_string_array();

    if (auto n = node.optional("env"))
        n->for_each_element([&](const JsonNode& e) {
            std::string var = e.as_string();
            const auto eq = var.find('=');
            if (eq == std::string::npos || eq == 0)
                e.fail("must be KEY=VALUE, got " + in_quotes(var));
            p.env.push_back(std::move(var));
        });
    p.cwd = absolute_path(node.required("cwd"));
    if (auto n = node.optional("capabilities"))
        p.capabilities = parse_capabilities(*n);
    if (auto n = node.optional("rlimits"))
        p.rlimits = parse_rlimits(*n);
    set_bool(node, "noNewPrivileges", p.no_new_privileges);
    set_string(node, "apparmorProfile", p.apparmor_profile);
    if (auto n = node.optional("oomScoreAdj"))
        p.oom_score_adj = static_cast<int>(n->as_int_in(-1000, 1000));
    set_string(node, "selinuxLabel", p.selinux_label);
    if (auto n = node.optional("scheduler"))
        p.scheduler = parse_scheduler(*n);
    if (auto n = node.optional("ioPriority"))
        p.io_priority = parse_io_priority(*n);
    if (auto n = node.optional("execCPUAffinity"))
        p.exec_cpu_affinity = parse_exec_cpu_affinity(*n);
    return p;
}

Resources parse_resources(const nlohmann::json& doc, const std::string& path) {
    const JsonNode node(doc, path);
    node.expect_object();
    Resources r;
    if (auto n = node.optional("devices"))
        n->for_each_element([&](const JsonNode& e) { r.devices.push_back(parse_device_rule(e)); });
    if (auto n = node.optional("memory"))
        r.memory = parse_memory(*n);
    if (auto n = node.optional("cpu"))
        r.cpu = parse_cpu(*n);
    if (auto n = node.optional("pids")) {
        n->expect_object();
        r.pids_limit = limit_value(n->required("limit"));
    }
    if (auto n = node.optional("blockIO"))
        r.block_io = parse_block_io(*n);
    if (auto n = node.optional("hugepageLimits"))
        n->for_each_element(
            [&](const JsonNode& e) { r.hugepage_limits.push_back(parse_hugepage_limit(e)); });
    if (auto n = node.optional("network"))
        r.network = parse_network(*n);
    if (auto n = node.optional("rdma"))
        n->for_each_member([&](const std::string& device, const JsonNode& limit) {
            r.rdma.emplace(device, parse_rdma_limit(limit));
        });
    if (auto n = node.optional("unified"))
        n->for_each_member([&](const std::string& key, const JsonNode& value) {
            // A cgroup interface file name in the container's cgroup directory.
            if (key.empty() || key == "." || key == ".." || key.find('/') != std::string::npos)
                value.fail("must name a cgroup file (no \"/\")");
            r.unified.emplace(key, value.as_string());
        });
    return r;
}

Spec parse_spec(const nlohmann::json& doc) {
    const JsonNode node(doc, "");
    node.expect_object();
    Spec s;
    const JsonNode version = node.required("ociVersion");
    s.oci_version = version.as_string();
    if (s.oci_version.empty())
        version.fail("must not be empty");
    s.root = parse_root(node.required("root"));
    if (auto n = node.optional("process"))
        s.process = parse_process(n->value(), n->path());
    if (auto n = node.optional("hostname"))
        s.hostname = host_name(*n);
    if (auto n = node.optional("domainname"))
        s.domainname = host_name(*n);
    if (auto n = node.optional("mounts"))
        n->for_each_element([&](const JsonNode& e) { s.mounts.push_back(parse_mount(e)); });
    if (auto n = node.optional("hooks"))
        s.hooks = parse_hooks(*n);
    if (auto n = node.optional("annotations"))
        s.annotations = n->as_string_map();
    if (auto n = node.optional("linux"))
        s.linux = parse_linux(*n);
    require_mount_namespace(s);
    return s;
}

Spec load_spec(const std::string& bundle_dir) {
    const std::string text =
        read_capped_file(bundle_dir + "/config.json", config_json_size_limit, "config.json");
    return parse_spec(parse_json_text(text, "config.json"));
}

}  // namespace brig::config
