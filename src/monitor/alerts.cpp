#include "monitor/alerts.hpp"

#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "monitor/bpf/monitor_abi.h"
#include "monitor/bpf/syscall_table.h"
#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {

namespace {

std::string bounded(const char* text, size_t capacity) {
    return std::string(text, strnlen(text, capacity));
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The name of the x86-64 syscall `nr` from the shared table, `fallback` for one not in it.
std::string syscall_name(uint32_t nr, const char* fallback) {
#define BRIG_SYSCALL_NAME(name, x86_64, ia32) \
    if (nr == x86_64)                         \
        return #name;
    BRIG_SYSCALLS(BRIG_SYSCALL_NAME)
#undef BRIG_SYSCALL_NAME
    return fallback;
}

std::string evt_type_of(const brig_event& e) {
    switch (e.type) {
        case BRIG_EV_EXEC:
            return "execve";
        case BRIG_EV_OPEN:
            return syscall_name(e.syscall_nr, "openat");
        case BRIG_EV_SOCKET:
            return "socket";
        case BRIG_EV_CONNECT:
            return "connect";
        case BRIG_EV_BIND:
            return "bind";
        case BRIG_EV_PTRACE:
            return "ptrace";
        case BRIG_EV_MEMFD_CREATE:
            return "memfd_create";
        case BRIG_EV_INIT_MODULE:
            return syscall_name(e.syscall_nr, "finit_module");
        case BRIG_EV_BPF:
            return "bpf";
        case BRIG_EV_CODE_MAP:  // execve(at): the kernel mapping an exec's ELF interpreter
            return syscall_name(e.syscall_nr, "mmap");
        case BRIG_EV_PATH:
            return syscall_name(e.syscall_nr, "unknown");
        default:
            return "unknown";
    }
}

}  // namespace

void set_path_fields(EventFields& fields, const std::string& path) {
    auto& v = fields.values;
    v["fd.name"] = path;
    auto slash = path.rfind('/');
    v["fd.directory"] = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    v["fd.filename"] = basename_of(path);
}

namespace {

// Open flags as Falco prints them.
std::string open_flags_text(uint32_t flags) {
    static const std::pair<uint32_t, const char*> names[] = {
        {0100, "O_CREAT"},       {0200, "O_EXCL"},        {0400, "O_NOCTTY"},
        {01000, "O_TRUNC"},      {02000, "O_APPEND"},     {04000, "O_NONBLOCK"},
        {010000, "O_DSYNC"},     {040000, "O_DIRECT"},    {0200000, "O_DIRECTORY"},
        {0400000, "O_NOFOLLOW"}, {01000000, "O_NOATIME"}, {02000000, "O_CLOEXEC"},
        {020000000, "O_TMPFILE"}};
    static const char* modes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_RDWR"};
    std::string out = modes[flags & 3];
    for (auto [bit, name] : names)
        if ((flags & bit) == bit)
            out += std::string("|") + name;
    return out;
}

std::string socket_domain(uint32_t domain) {
    switch (domain) {
        case AF_UNIX:
            return "AF_UNIX";
        case AF_INET:
            return "AF_INET";
        case AF_INET6:
            return "AF_INET6";
        case AF_NETLINK:
            return "AF_NETLINK";
        case AF_PACKET:
            return "AF_PACKET";
        default:
            return std::to_string(domain);
    }
}

bool is_symlink(const std::string& evt_type) {
    return evt_type == "symlink" || evt_type == "symlinkat";
}

// The path arguments under Falco's names for each syscall.
void set_path_args(EventFields& f, const brig_event& e, const std::string& path) {
    auto& v = f.values;
    const std::string& type = v["evt.type"];
    if (e.type == BRIG_EV_OPEN) {
        v["evt.arg.name"] = path;
        v["evt.arg.flags"] = open_flags_text(e.flags);
        bool dir = e.flags & 0200000;
        v["fd.typechar"] = dir ? "d" : "f";
        v["fd.type"] = dir ? "directory" : "file";
        v["evt.args"] = "name=" + path + " flags=" + v["evt.arg.flags"];
    } else if (type.starts_with("rename") || type.starts_with("link")) {
        v["evt.arg.oldpath"] = path;
        v["evt.args"] = "oldpath=" + path + " newpath=" + bounded(e.new_path, sizeof(e.new_path));
    } else if (is_symlink(type)) {  // path is the target, new_path the link made
        std::string linkpath = bounded(e.new_path, sizeof(e.new_path));
        v["evt.arg.target"] = path;
        v["evt.arg.linkpath"] = linkpath;
        v["evt.args"] = "target=" + path + " linkpath=" + linkpath;
        set_path_fields(f, linkpath);
        v["fd.nameraw"] = linkpath;
        return;
    } else {
        const char* arg = type == "unlinkat"                        ? "evt.arg.name"
                          : type.find("chmod") != std::string::npos ? "evt.arg.filename"
                                                                    : "evt.arg.path";
        v[arg] = path;
        v["evt.args"] = std::string(arg + 8) + "=" + path;
    }
    set_path_fields(f, path);
    v["fd.nameraw"] = path;
}

// connect: the server is the remote end; bind: the address is the local end.
void set_address_fields(EventFields& f, const brig_event& e) {
    auto& v = f.values;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(e.family, e.addr, text, sizeof(text));
    std::string ip = text, port = std::to_string(e.port);
    v["fd.sip"] = ip;
    v["fd.sport"] = port;
    v["fd.ip"] = v["fd.net"] = v["fd.snet"] = ip;
    v["fd.port"] = port;
    const char* end = e.type == BRIG_EV_CONNECT ? "r" : "l";
    v[std::string("fd.") + end + "ip"] = v[std::string("fd.") + end + "net"] = ip;
    v[std::string("fd.") + end + "port"] = port;
    v["fd.typechar"] = e.family == AF_INET6 ? "6" : "4";
    v["fd.type"] = e.family == AF_INET6 ? "ipv6" : "ipv4";
    v["fd.sockfamily"] = "ip";
    v["fd.name"] = e.family == AF_INET6 ? "[" + ip + "]:" + port : ip + ":" + port;
    v["evt.args"] = "addr=" + v["fd.name"];
}

void set_process_fields(EventFields& f, const brig_event& e, const std::string& path) {
    auto& v = f.values;
    std::vector<std::string> argv;
    for (size_t start = 0, n = std::min<size_t>(e.args_len, sizeof(e.args)); start < n;) {
        size_t len = strnlen(e.args + start, n - start);
        argv.emplace_back(e.args + start, len);
        start += len + 1;
    }
    // Code mapped executable names the program that runs: the mapped file (ld.so's program, a
    // library), in a process whose command line is its own.
    bool code_map = e.type == BRIG_EV_CODE_MAP && !path.empty();
    bool names_program = e.type == BRIG_EV_EXEC || code_map;
    std::string comm = bounded(e.comm, sizeof(e.comm));
    std::string name = names_program ? basename_of(path) : comm;
    // Multi-call binaries (busybox) run their applets through /proc/self/exe: argv[0] names it.
    if (e.type == BRIG_EV_EXEC && path.starts_with("/proc/") && path.ends_with("/exe") &&
        !argv.empty() && !argv[0].empty())
        name = basename_of(argv[0]);
    v["proc.name"] = name;
    v["proc.exe"] = names_program ? path : bounded(e.exe, sizeof(e.exe));
    // A script runs as its interpreter, argv[0] naming it as the #! line does (Falco's).
    if (e.type == BRIG_EV_EXEC && (e.flags & BRIG_EXEC_SCRIPT) && !argv.empty())
        v["proc.exe"] = argv[0];
    v["proc.exepath"] = v["proc.exe"];
    std::string args;
    for (size_t i = 1; i < argv.size(); ++i)
        args += (i > 1 ? " " : "") + argv[i];
    v["proc.args"] = args;
    std::string command = name;
    if (e.type == BRIG_EV_CODE_MAP)
        command = argv.empty() || argv[0].empty() ? comm : basename_of(argv[0]);
    v["proc.cmdline"] = args.empty() ? command : command + " " + args;
    v["proc.pname"] = v["proc.aname[1]"] = bounded(e.pcomm, sizeof(e.pcomm));
    v["proc.aname[0]"] = name;
    v["proc.pid"] = std::to_string(e.pid);
    v["proc.ppid"] = std::to_string(e.ppid);
    v["proc.tty"] = std::to_string(e.tty < 0 ? 0 : (136 << 8) + e.tty);
    v["user.uid"] = std::to_string(e.uid);
    if (e.type == BRIG_EV_EXEC || e.type == BRIG_EV_CODE_MAP)
        v["proc.exe_new"] = v["proc.is_exe_upper_layer"] = e.exe_new ? "true" : "false";
    if (e.type == BRIG_EV_EXEC) {
        v["evt.arg.filename"] = path;
        v["evt.args"] = "filename=" + path;
    }
}

}  // namespace

EventFields event_fields(const brig_event& e, const ContainerPolicy& policy) {
    EventFields f;
    auto& v = f.values;
    v["evt.type"] = evt_type_of(e);
    std::string path = bounded(e.path, sizeof(e.path));
    set_process_fields(f, e, path);
    if (e.type == BRIG_EV_OPEN) {
        uint32_t mode = e.flags & 3;
        bool write = mode != 0 || (e.flags & (0100 | 01000));
        v["evt.is_open_write"] = write ? "true" : "false";
        v["evt.is_open_read"] = mode != 1 ? "true" : "false";
    }
    if (e.type == BRIG_EV_OPEN || e.type == BRIG_EV_PATH)
        set_path_args(f, e, path);
    if (e.has_res) {  // taken at the syscall's exit: Falco's result fields
        v["evt.rawres"] = std::to_string(e.res);
        const char* error = e.res < 0 ? strerrorname_np(static_cast<int>(-e.res)) : nullptr;
        v["evt.res"] = e.res >= 0 ? "SUCCESS" : error ? error : std::to_string(e.res);
        if (e.type == BRIG_EV_OPEN && e.res >= 0)
            v["fd.num"] = std::to_string(e.res);
    }
    if (e.type == BRIG_EV_PATH && e.new_path[0] && !is_symlink(v["evt.type"]))
        v["evt.arg.newpath"] = bounded(e.new_path, sizeof(e.new_path));
    if (e.type == BRIG_EV_SOCKET) {
        v["evt.arg.domain"] = socket_domain(e.flags);
        v["evt.args"] = "domain=" + v["evt.arg.domain"];
    }
    if (e.type == BRIG_EV_PTRACE) {
        v["evt.arg.request"] = ptrace_request_name(e.flags);
        v["evt.args"] = "request=" + v["evt.arg.request"];
    }
    if (e.type == BRIG_EV_CONNECT || e.type == BRIG_EV_BIND)
        set_address_fields(f, e);
    if (e.type == BRIG_EV_CODE_MAP) {
        set_path_fields(f, path);
        v["evt.args"] = "prot=PROT_EXEC fd=" + path;
    }
    for (const auto& [name, value] : policy.container_fields)
        v[name] = value;
    if (auto user = policy.user_names.find(e.uid); user != policy.user_names.end())
        v["user.name"] = user->second;
    v["container.id"] = policy.container_id;
    v["container.name"] = policy.container_name;
    f.annotations.insert(policy.annotations.begin(), policy.annotations.end());
    return f;
}

std::string rfc3339(const struct timespec& wall) {
    struct tm tm {};
    gmtime_r(&wall.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", wall.tv_nsec);
    return buf;
}

namespace {

// An alert's time: JSON's is always ISO 8601 (UTC); the output's prefix is too with Falco's
// time_format_iso_8601, otherwise the local time of day.
struct EventTime {
    std::string json;
    std::string prefix;
};

std::string clock_time(const struct timespec& wall) {
    struct tm tm {};
    localtime_r(&wall.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%09ld", wall.tv_nsec);
    return buf;
}

struct timespec wall_time_of(uint64_t boot_ns) {
    struct timespec now_wall {
    }, now_boot{};
    clock_gettime(CLOCK_REALTIME, &now_wall);
    clock_gettime(CLOCK_BOOTTIME, &now_boot);
    int64_t wall_ns = now_wall.tv_sec * 1000000000LL + now_wall.tv_nsec;
    int64_t boot_now = now_boot.tv_sec * 1000000000LL + now_boot.tv_nsec;
    int64_t at = wall_ns - (boot_now - static_cast<int64_t>(boot_ns));
    return {static_cast<time_t>(at / 1000000000LL), static_cast<long>(at % 1000000000LL)};
}

std::string hostname() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

constexpr const char* kIdentityFields[] = {
    "container.id",        "container.name", "container.image.repository",
    "container.image.tag", "k8s.ns.name",    "k8s.pod.name",
    "k8s.pod.uid"};

// Appends each (name, value) the alert does not name yet.
void append_missing(Alert& alert, const std::vector<std::pair<std::string, std::string>>& fields) {
    for (const auto& [name, value] : fields) {
        bool named = std::any_of(alert.output_fields.begin(), alert.output_fields.end(),
                                 [&](const auto& field) { return field.first == name; });
        if (!named)
            alert.output_fields.emplace_back(name, value);
    }
}

// Which container and pod an alert is about, in every alert whatever the rule's output names
// (as Falco's append_output with -pk): the fields the container has, after the rule's own.
void append_identity_fields(Alert& alert, const EventFields& fields) {
    std::vector<std::pair<std::string, std::string>> identity;
    for (const char* name : kIdentityFields)
        if (auto value = fields.get(name))
            identity.emplace_back(name, *value);
    append_missing(alert, identity);
}

Alert make_alert(const CompiledRule& rule, const EventFields& fields, const EventTime& time,
                 bool in_kernel, uint64_t count) {
    Alert alert;
    alert.count = count;
    alert.time = time.json;
    alert.rule = rule.name;
    alert.priority = rule.priority;
    alert.tags = rule.tags;
    alert.hostname = hostname();
    alert.action = rule.action;
    alert.enforced_in_kernel = in_kernel;
    // Falco's output line: "<time>: <Priority> <formatted output>".
    alert.output = time.prefix + ": " + std::string(priority_name(rule.priority)) + " " +
                   format_output(rule.output, fields);
    for (const auto& name : output_field_names(rule.output))
        alert.output_fields.emplace_back(name, fields.get(name).value_or("<NA>"));
    append_identity_fields(alert, fields);
    return alert;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> container_identity(const ContainerPolicy& policy) {
    std::vector<std::pair<std::string, std::string>> identity;
    for (const char* name : kIdentityFields) {
        std::string value = name == std::string_view("container.id")     ? policy.container_id
                            : name == std::string_view("container.name") ? policy.container_name
                                                                         : "";
        if (auto it = policy.container_fields.find(name); it != policy.container_fields.end())
            value = it->second;
        if (!value.empty())
            identity.emplace_back(name, value);
    }
    return identity;
}

Alert internal_alert(const std::string& rule, Priority priority, const std::string& text,
                     bool time_format_iso_8601, const std::string& tag) {
    Alert alert;
    struct timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    alert.time = rfc3339(now);
    alert.rule = rule;
    alert.priority = priority;
    alert.output = (time_format_iso_8601 ? alert.time : clock_time(now)) + ": " +
                   std::string(priority_name(priority)) + " " + text;
    alert.tags = {"brig", tag};
    alert.hostname = hostname();
    alert.source = "internal";
    return alert;
}

Alert drop_alert(const ContainerPolicy& policy, const EventDrops& drops,
                 const std::map<uint32_t, uint64_t>& shed_by_rule) {
    std::string text =
        "Falco internal: syscall event drop. " + std::to_string(drops.total()) +
        " system calls dropped in container " + policy.container_id +
        " (ring buffer full: " + std::to_string(drops.ring_full) +
        "; shed while the ring was more than half full: " + std::to_string(drops.shed);
    for (const auto& [rule_id, shed] : shed_by_rule)
        text += ", " +
                (rule_id > 0 && rule_id <= policy.rules.size()
                     ? "'" + policy.rules[rule_id - 1].name + "'"
                     : std::string("execs")) +
                " " + std::to_string(shed);
    Alert alert = internal_alert("Falco internal: syscall event drop", Priority::critical,
                                 text + ").", policy.time_format_iso_8601, "drops");
    alert.output_fields = {{"container.id", policy.container_id},
                           {"n_drops", std::to_string(drops.total())},
                           {"n_drops_buffer", std::to_string(drops.ring_full)},
                           {"n_drops_shed", std::to_string(drops.shed)}};
    append_missing(alert, container_identity(policy));
    return alert;
}

Alert rate_limit_alert(const ContainerPolicy& policy, const OutputConfig& outputs,
                       const std::map<std::string, AlertRateLimit::Suppressed>& suppressed) {
    AlertRateLimit::Suppressed total;
    std::string by_rule;
    for (const auto& [rule, count] : suppressed) {
        total.alerts += count.alerts;
        total.events += count.events;
        by_rule += (by_rule.empty() ? "'" : ", '") + rule + "' " + std::to_string(count.alerts);
    }
    std::ostringstream rate;
    rate << outputs.rate;
    Alert alert = internal_alert(
        "Falco internal: alerts rate limited", Priority::warning,
        "Falco internal: alerts rate limited. " + std::to_string(total.alerts) + " alerts of " +
            std::to_string(total.events) + " events suppressed in container " +
            policy.container_id + " (outputs.rate " + rate.str() + "/s, max_burst " +
            std::to_string(outputs.max_burst) + "): " + by_rule + ".",
        policy.time_format_iso_8601, "drops");
    alert.output_fields = {{"container.id", policy.container_id},
                           {"n_suppressed", std::to_string(total.alerts)}};
    append_missing(alert, container_identity(policy));
    alert.count = total.events;
    return alert;
}

void ProcessTable::complete(const brig_event& event, EventFields& fields) {
    auto& v = fields.values;
    v["evt.num"] = std::to_string(++events_);
    if (event.type == BRIG_EV_EXEC) {
        if (processes_.size() >= 4096)  // pids of a long-lived container: forget the old ones
            processes_.clear();
        resolve_applet(event, fields);
        processes_[event.pid] = {v["proc.name"], v["proc.exe"], v["proc.exepath"], v["proc.args"],
                                 event.ppid};
    } else if (auto it = own_process(event, v["proc.name"]);
               it != processes_.end() && event.type != BRIG_EV_CODE_MAP) {
        // (Code mapped executable names the mapped program: set_process_fields.)
        const Process& p = it->second;
        v["proc.name"] = v["proc.aname[0]"] = p.name;
        v["proc.exe"] = p.exe;
        v["proc.exepath"] = p.exepath;
        // The event's own argv (read from the task) is the truth; the exec's is older.
        if (event.args_len == 0)
            v["proc.args"] = p.args;
        const std::string& args = v["proc.args"];
        v["proc.cmdline"] = args.empty() ? p.name : p.name + " " + args;
    }
    set_ancestors(event.ppid, fields);
}

void ProcessTable::describe_exec(const brig_event& event, EventFields& fields) const {
    resolve_applet(event, fields);
    set_ancestors(event.ppid, fields);
}

// An applet run through /proc/self/exe runs the binary of the process that exec'd it.
void ProcessTable::resolve_applet(const brig_event& event, EventFields& fields) const {
    std::string& exepath = fields.values["proc.exepath"];
    if (!exepath.starts_with("/proc/") || !exepath.ends_with("/exe"))
        return;
    auto before = processes_.find(event.pid);
    if (before == processes_.end())
        before = processes_.find(event.ppid);
    if (before != processes_.end())
        exepath = before->second.exepath;
}

std::map<uint32_t, ProcessTable::Process>::const_iterator ProcessTable::own_process(
    const brig_event& event, const std::string& comm) const {
    // The kernel's comm says whether the remembered exec is still the process's program: one
    // exec'd since (not reported: no rule needed it) is not described by it. Applets run through
    // /proc/self/exe are all "exe".
    auto runs = [&](std::map<uint32_t, Process>::const_iterator it) {
        return it != processes_.end() &&
               (comm == "exe" || it->second.name.substr(0, BRIG_COMM_LEN - 1) == comm);
    };
    auto it = processes_.find(event.pid);
    if (runs(it))
        return it;
    it = processes_.find(event.ppid);  // a fork that did not exec runs its parent's program
    return runs(it) ? it : processes_.end();
}

// proc.pexe, proc.pcmdline and proc.aname[N] (N >= 2) from the execs seen in the container.
void ProcessTable::set_ancestors(uint32_t ppid, EventFields& fields) const {
    auto& v = fields.values;
    uint32_t pid = ppid;
    for (int depth = 1; depth <= 16; ++depth) {
        auto it = processes_.find(pid);
        if (it == processes_.end() || it->second.ppid == pid)
            return;
        const Process& p = it->second;
        // The kernel's parent comm says whether the remembered exec is still the parent's
        // program (a reused pid, or a parent that exec'd since, is not followed).
        const std::string& comm = v["proc.pname"];
        if (depth == 1 && comm != "exe" &&
            p.name.substr(0, BRIG_COMM_LEN - 1) != comm.substr(0, BRIG_COMM_LEN - 1))
            return;
        std::string index = "[" + std::to_string(depth) + "]";
        v["proc.aname" + index] = p.name;
        v["proc.aexe" + index] = p.exe;
        v["proc.aexepath" + index] = p.exepath;
        if (depth == 1) {
            v["proc.pname"] = p.name;
            v["proc.pexe"] = p.exe;
            v["proc.pexepath"] = p.exepath;
            v["proc.pcmdline"] = p.args.empty() ? p.name : p.name + " " + p.args;
        }
        pid = p.ppid;
    }
}

std::vector<Alert> match_event(const brig_event& event, const ContainerPolicy& policy,
                               ProcessTable& processes, uint64_t count) {
    EventFields fields = event_fields(event, policy);
    processes.complete(event, fields);
    // A rename or link touches two paths: a rule on either one (fd.name) matches. (A symlink's
    // second string is its target, not a path it touches.)
    std::optional<EventFields> renamed_to;
    if (event.type == BRIG_EV_PATH && event.new_path[0] && !is_symlink(fields.values["evt.type"])) {
        renamed_to = fields;
        set_path_fields(*renamed_to, bounded(event.new_path, sizeof(event.new_path)));
    }
    struct timespec wall = wall_time_of(event.boot_ns);
    EventTime time{rfc3339(wall), policy.time_format_iso_8601 ? rfc3339(wall) : clock_time(wall)};
    std::vector<Alert> alerts;
    for (size_t i = 0; i < policy.rules.size(); ++i) {
        const CompiledRule& rule = policy.rules[i];
        // The kernel names the rule its map entry belongs to; only an exact entry decides it.
        bool decided_by_kernel = event.rule_id == i + 1 && rule.decided_in_kernel;
        if (decided_by_kernel || (rule.condition && evaluate(*rule.condition, fields)))
            alerts.push_back(
                make_alert(rule, fields, time, decided_by_kernel && (event.action != 0), count));
        else if (renamed_to && rule.condition && evaluate(*rule.condition, *renamed_to))
            alerts.push_back(make_alert(rule, *renamed_to, time, false, count));
    }
    return alerts;
}

Alert rule_alert(const CompiledRule& rule, const EventFields& fields, uint64_t boot_ns,
                 const ContainerPolicy& policy) {
    struct timespec wall = wall_time_of(boot_ns);
    EventTime time{rfc3339(wall), policy.time_format_iso_8601 ? rfc3339(wall) : clock_time(wall)};
    return make_alert(rule, fields, time, false, 1);
}

std::vector<Alert> match_judged_rules(const brig_event& event, const EventFields& fields,
                                      const ContainerPolicy& policy) {
    std::vector<Alert> alerts;
    for (const CompiledRule& rule : policy.rules)
        if (rule.judged_before_exec && rule.condition && evaluate(*rule.condition, fields)) {
            alerts.push_back(rule_alert(rule, fields, event.boot_ns, policy));
            alerts.back().before_exec = true;
        }
    return alerts;
}

namespace {

// An output field as Falco's JSON has it: numbers as numbers, booleans as booleans, null when
// the event has no value.
nlohmann::ordered_json typed_value(const std::string& name, const std::string& value) {
    if (value == "<NA>")
        return nullptr;
    const FieldInfo* info = find_field(name);
    static const std::set<std::string, std::less<>> internal_numbers = {
        "brig.failures",  "brig.file_max_bytes", "n_drops",
        "n_drops_buffer", "n_drops_shed",        "n_suppressed"};
    bool number = (info && info->type == FieldType::number) || internal_numbers.contains(name);
    if (number) {
        int64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec == std::errc() && end == value.data() + value.size())
            return n;
    }
    if (info && info->type == FieldType::boolean && (value == "true" || value == "false"))
        return value == "true";
    return value;
}

}  // namespace

std::string alert_json(const Alert& alert) {
    nlohmann::ordered_json fields = nlohmann::ordered_json::object();
    for (const auto& [name, value] : alert.output_fields)
        fields[name] = typed_value(name, value);
    fields["brig.action"] = std::string(action_name(alert.action));
    fields["brig.enforced"] = alert.action == Action::alert ? "none"
                              : alert.enforced_in_kernel    ? "kernel"
                                                            : "user";
    if (alert.count > 0)
        fields["brig.count"] = alert.count;
    if (alert.before_exec)
        fields["brig.before_exec"] = true;
    nlohmann::ordered_json j = {{"time", alert.time},
                                {"rule", alert.rule},
                                {"priority", std::string(priority_name(alert.priority))},
                                {"output", alert.output},
                                {"output_fields", fields},
                                {"tags", alert.tags},
                                {"hostname", alert.hostname},
                                {"source", alert.source}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AlertSink::AlertSink(const OutputConfig& outputs, const std::string& container_state_dir,
                     const ContainerPolicy& policy)
    : outputs_(outputs),
      log_path_(container_state_dir + "/" + kAlertsFile),
      container_id_(policy.container_id),
      identity_(container_identity(policy)),
      time_format_iso_8601_(policy.time_format_iso_8601) {}

namespace {

brig::UniqueFd open_append(const std::string& path) {
    return brig::UniqueFd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
}

bool write_all(int fd, const std::string& data) {
    // One write per line: O_APPEND keeps concurrent writers' lines whole.
    return ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

// Appends a line to `path`; when it would take the file past `cap` bytes (0: never), the file
// is first renamed to <path>.1 (replacing the one before) and the new one starts with
// `rotated()`'s line. Watchers sharing a file (the file output) rotate under its lock; one that
// finds it rotated meanwhile appends to the new file.
bool append_capped(const std::string& path, const std::string& line, uint64_t cap,
                   const std::function<std::string()>& rotated) {
    std::string data = line + "\n";
    for (int attempt = 0; attempt < 2; ++attempt) {
        brig::UniqueFd fd = open_append(path);
        struct stat opened {};
        if (!fd || ::fstat(fd.get(), &opened) != 0)
            return false;
        if (cap == 0 || static_cast<uint64_t>(opened.st_size) + data.size() <= cap)
            return write_all(fd.get(), data);
        struct stat named {};
        if (::flock(fd.get(), LOCK_EX) != 0 || ::stat(path.c_str(), &named) != 0)
            return false;
        if (named.st_ino != opened.st_ino)
            continue;  // another watcher rotated it
        if (::rename(path.c_str(), (path + ".1").c_str()) != 0)
            return false;
        brig::UniqueFd fresh = open_append(path);
        return fresh && write_all(fresh.get(), rotated() + "\n" + data);
    }
    return false;
}

bool write_stdout(const std::string& line) {
    std::string data = line + "\n";
    return ::write(STDOUT_FILENO, data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

int syslog_level(Priority p) {
    static const int levels[] = {LOG_EMERG,   LOG_ALERT,  LOG_CRIT, LOG_ERR,
                                 LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    return levels[static_cast<int>(p)];
}

// One datagram to the local syslog socket, as syslog(3) sends it: "<PRI>ident: message".
bool send_syslog(const std::string& socket_path, Priority priority, const std::string& line) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path))
        return false;
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
    brig::UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock)
        return false;
    std::string message =
        "<" + std::to_string(LOG_DAEMON | syslog_level(priority)) + ">brig: " + line;
    return ::sendto(sock.get(), message.data(), message.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr),
                    sizeof(addr)) == static_cast<ssize_t>(message.size());
}

// POSTs the alert like Falco's http output (Falcosidekick accepts it as is); true on a 2xx.
bool http_post(const std::string& url, const std::string& body) {
    std::string rest = url.substr(7);  // after http://
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string host = hostport, port = "80";
    if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
        host = hostport.substr(0, colon);
        port = hostport.substr(colon + 1);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &result) != 0 || !result)
        return false;
    brig::UniqueFd sock(::socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    // A hung endpoint must not stall the container's other alerts for long.
    timeval timeout{2, 0};
    if (sock) {
        setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }
    bool connected = sock && ::connect(sock.get(), result->ai_addr, result->ai_addrlen) == 0;
    freeaddrinfo(result);
    if (!connected)
        return false;
    std::string request =
        "POST " + path + " HTTP/1.1\r\nHost: " + hostport +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    for (size_t off = 0; off < request.size();) {
        ssize_t n = ::send(sock.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        off += static_cast<size_t>(n);
    }
    std::string reply;
    char buf[256];
    for (ssize_t n; reply.find("\r\n") == std::string::npos &&
                    (n = ::recv(sock.get(), buf, sizeof(buf), 0)) > 0;)
        reply.append(buf, static_cast<size_t>(n));
    // "HTTP/1.1 200 OK"
    return reply.starts_with("HTTP/1.") && reply.size() > 9 && reply[9] == '2';
}

// Runs `sh -c program` with the alert on its stdin, as Falco's program output; true on exit 0.
bool run_program(const std::string& program, const std::string& line) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return false;
    brig::UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t child = ::fork();
    if (child < 0)
        return false;
    if (child == 0) {
        ::dup2(read_end.get(), STDIN_FILENO);
        ::execl("/bin/sh", "sh", "-c", program.c_str(), nullptr);
        _exit(127);
    }
    read_end.reset();
    std::string data = line + "\n";
    bool written = ::write(write_end.get(), data.data(), data.size()) ==
                   static_cast<ssize_t>(data.size());  // SIGPIPE is ignored in the watcher
    write_end.reset();
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return written && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

bool AlertSink::append(const std::string& path, const std::string& line) {
    return append_capped(path, line, outputs_.file_max_bytes, [&] {
        Alert alert = internal_alert(
            "brig alerts file rotated", Priority::notice,
            "brig alerts file rotated: " + path + " reached its file_max_bytes of " +
                std::to_string(outputs_.file_max_bytes) + " bytes, its alerts are now in " + path +
                ".1 (container " + container_id_ + ")",
            time_format_iso_8601_, "output");
        alert.output_fields = {{"container.id", container_id_},
                               {"brig.file", path},
                               {"brig.file_max_bytes", std::to_string(outputs_.file_max_bytes)}};
        append_missing(alert, identity_);
        return alert_json(alert);
    });
}

void AlertSink::emit(const Alert& alert) {
    std::string line = alert_json(alert);
    if (!append(log_path_, line))
        failed("log", "cannot append to " + log_path_);
    if (outputs_.to_stdout && !write_stdout(line))
        failed("stdout", "write failed");
    if (!outputs_.file.empty() && !append(outputs_.file, line))
        failed("file", "cannot append to " + outputs_.file);
    if (outputs_.syslog && !send_syslog(outputs_.syslog_socket, alert.priority, line))
        failed("syslog", "cannot send to " + outputs_.syslog_socket);
    if (!outputs_.http_url.empty() && !http_post(outputs_.http_url, line))
        failed("http", "POST to " + outputs_.http_url + " failed");
    if (!outputs_.program.empty() && !run_program(outputs_.program, line))
        failed("program", "'" + outputs_.program + "' failed");
}

// Counts the failure and says so in the container's log (and stdout) at the 1st, 2nd, 4th, 8th...
// failure of an output: a dead endpoint is reported without flooding the log.
void AlertSink::failed(const std::string& output, const std::string& why) {
    uint64_t count = ++failures_[output];
    if ((count & (count - 1)) != 0)
        return;
    Alert alert =
        internal_alert("brig alert output failed", Priority::error,
                       "alert output " + output + " failed " + std::to_string(count) +
                           " time(s) for container " + container_id_ + " (last: " + why + ")",
                       time_format_iso_8601_, "drops");
    alert.output_fields = {{"container.id", container_id_},
                           {"brig.output", output},
                           {"brig.failures", std::to_string(count)}};
    append_missing(alert, identity_);
    std::string line = alert_json(alert);
    if (output != "log")
        append(log_path_, line);
    if (outputs_.to_stdout && output != "stdout")
        write_stdout(line);
}

std::vector<std::string> read_alerts(const std::string& container_state_dir) {
    std::vector<std::string> lines;
    std::string path = container_state_dir + "/" + kAlertsFile;
    for (const std::string& file : {path + ".1", path}) {  // the rotated alerts came first
        std::ifstream in(file);
        for (std::string line; std::getline(in, line);)
            if (!line.empty())
                lines.push_back(line);
    }
    return lines;
}

std::optional<KillRecord> killed_by(const std::string& container_state_dir) {
    std::ifstream in(container_state_dir + "/" + kKilledFile);
    if (!in)
        return std::nullopt;
    try {
        auto j = nlohmann::json::parse(in);
        return KillRecord{j.value("rule", ""), j.value("time", ""), j.value("output", "")};
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

}  // namespace brig::monitor
