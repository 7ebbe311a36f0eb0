// Actions, priorities and the fields conditions may use.
#include "monitor/rules_fields.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace brig::monitor {

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

namespace {

constexpr std::string_view kActionNames[] = {"alert", "deny", "kill"};
constexpr std::string_view kPriorityNames[] = {"EMERGENCY", "ALERT",  "CRITICAL",      "ERROR",
                                               "WARNING",   "NOTICE", "INFORMATIONAL", "DEBUG"};

}  // namespace

std::optional<Action> parse_action(std::string_view text) {
    for (size_t i = 0; i < std::size(kActionNames); ++i)
        if (ascii_lower(text) == kActionNames[i])
            return static_cast<Action>(i);
    return std::nullopt;
}
std::string_view action_name(Action action) {
    return kActionNames[static_cast<int>(action)];
}

std::optional<Priority> parse_priority(std::string_view text) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == "INFO")
        return Priority::informational;
    for (size_t i = 0; i < std::size(kPriorityNames); ++i)
        if (upper == kPriorityNames[i])
            return static_cast<Priority>(i);
    return std::nullopt;
}
std::string_view priority_name(Priority priority) {
    // Falco prints priorities capitalised: "Warning".
    static const std::string_view names[] = {"Emergency", "Alert",  "Critical",      "Error",
                                             "Warning",   "Notice", "Informational", "Debug"};
    return names[static_cast<int>(priority)];
}

namespace {

constexpr auto S = FieldType::string;
constexpr auto N = FieldType::number;
constexpr auto B = FieldType::boolean;
constexpr std::string_view kReturn = "the syscall's return value: brig gives it for opens only";
constexpr std::string_view kNotInEvent = "brig's events do not carry it";

// Fields brig gives its events, with Falco's meaning.
const std::vector<FieldInfo> kSupplied = {
    {"evt.type", S, false,
     "syscall: execve, open, openat, openat2, creat, unlink, unlinkat, "
     "rmdir, rename, renameat, renameat2, chmod, fchmodat, fchmodat2, "
     "mkdir, mkdirat, link, linkat, symlink, symlinkat, mknod, mknodat, truncate, "
     "socket, connect, bind, ptrace, memfd_create, init_module, finit_module, bpf"},
    {"evt.num", N, false, "event number, from 1 in each container's watcher"},
    {"evt.hostname", S, true, "the host's name"},
    {"evt.is_open_write", B, false, "open for writing, creating or truncating"},
    {"evt.is_open_read", B, false, "open for reading"},
    {"evt.arg.flags", S, false, "open flags as Falco prints them: O_WRONLY|O_CREAT|O_CLOEXEC"},
    {"evt.arg.domain", S, false, "socket domain: AF_PACKET, AF_INET, ..."},
    {"evt.arg.request", S, false, "ptrace request by name: PTRACE_POKETEXT, PTRACE_ATTACH, ..."},
    {"evt.arg.name", S, false, "path argument of open, openat, openat2, creat, unlinkat"},
    {"evt.arg.path", S, false, "path argument of unlink, rmdir, mkdir, mkdirat, mknod, truncate"},
    {"evt.arg.filename", S, false, "execve's program, the file of chmod and fchmodat"},
    {"evt.arg.oldpath", S, false, "source of a rename or hard link"},
    {"evt.arg.newpath", S, false,
     "destination of a rename or hard link (fd.name is its source; a rule on fd.name matches "
     "either)"},
    {"evt.arg.target", S, false, "what a symlink points to, as given (not a path resolved)"},
    {"evt.arg.linkpath", S, false, "the symlink made (fd.name)"},
    {"evt.args", S, false, "the arguments brig reads, as name=value pairs"},
    {"evt.res", S, false, "an open's result: SUCCESS (opens that fail are not reported)"},
    {"evt.rawres", N, false, "an open's return value: the fd"},
    {"fd.num", N, false, "the fd an open returned"},
    {"proc.name", S, false, "process name (basename of the executable)"},
    {"proc.exe", S, false, "executable path as given to execve (argv[0] for applets)"},
    {"proc.exepath", S, false, "full path of the executable"},
    {"proc.cmdline", S, false, "name and arguments"},
    {"proc.args", S, false, "arguments"},
    {"proc.pname", S, false, "parent's name"},
    {"proc.pexe", S, false, "parent's executable (as given to execve)"},
    {"proc.pexepath", S, false, "parent's executable path"},
    {"proc.pcmdline", S, false, "parent's name and arguments"},
    {"proc.aname", S, false,
     "ancestor's name: proc.aname[1] the parent, [2] the grandparent...; "
     "without an index, any ancestor"},
    {"proc.aexe", S, false, "ancestor's executable, by index as proc.aname"},
    {"proc.aexepath", S, false, "ancestor's executable path, by index as proc.aname"},
    {"proc.pid", N, false, "process id (host)"},
    {"proc.ppid", N, false, "parent process id (host)"},
    {"proc.tty", N, false, "controlling terminal, 0 = none"},
    {"proc.exe_new", B, false, "the executable was written or changed after the container started"},
    {"proc.is_exe_upper_layer", B, false,
     "Falco's name for proc.exe_new: the executable is the container's own (written after start)"},
    {"user.uid", N, false, "uid (host view)"},
    {"user.name", S, false, "user name from the container's /etc/passwd"},
    {"fd.name", S, false, "file path (opened, unlinked, renamed, chmod-ed, made) or ip:port"},
    {"fd.nameraw", S, false, "fd.name as the process gave it"},
    {"fd.directory", S, false, "directory of fd.name"},
    {"fd.filename", S, false, "basename of fd.name"},
    {"fd.typechar", S, false, "f file, d directory (O_DIRECTORY), 4 / 6 IPv4 / IPv6 socket"},
    {"fd.type", S, false, "file, directory, ipv4, ipv6"},
    {"fd.sockfamily", S, false, "ip for IPv4 and IPv6 sockets"},
    {"fd.sip", S, false, "server ip of a connect, local ip of a bind"},
    {"fd.sport", N, false, "server port of a connect, local port of a bind"},
    {"fd.rip", S, false, "remote ip of a connect"},
    {"fd.rport", N, false, "remote port of a connect"},
    {"fd.lip", S, false, "local ip of a bind"},
    {"fd.lport", N, false, "local port of a bind"},
    {"fd.ip", S, false, "ip of either end: the connect's server, the bind's address"},
    {"fd.port", N, false, "port of either end"},
    {"fd.net", S, false, "fd.ip compared to a network: fd.net = 10.0.0.0/8"},
    {"fd.snet", S, false, "fd.sip compared to a network"},
    {"fd.rnet", S, false, "fd.rip compared to a network"},
    {"fd.lnet", S, false, "fd.lip compared to a network"},
    {"container.id", S, true, "container id"},
    {"container.name", S, true, "container name (annotation or id)"},
    {"container.image", S, true, "image reference (the CRI image-name annotation)"},
    {"container.image.repository", S, true, "image repository (container.image without tag)"},
    {"container.image.tag", S, true, "image tag"},
    {"k8s.ns.name", S, true, "pod namespace (CRI annotation)"},
    {"k8s.pod.name", S, true, "pod name (CRI annotation)"},
    {"k8s.pod.uid", S, true, "pod uid (CRI annotation)"},
};

struct Unsupplied {
    std::string_view name;
    std::string_view why;
};

// Falco fields brig cannot give: a rule whose condition needs one is skipped with a warning.
const std::vector<Unsupplied> kUnsupplied = {
    {"fd.connected", kReturn},
    {"evt.arg.res_or_fd", kReturn},
    {"evt.arg.fd", kReturn},
    {"evt.dir", "brig reports syscall entries only"},
    {"evt.buffer", "brig does not read I/O buffers"},
    {"evt.arg", kNotInEvent},
    {"evt.arg.uid", kNotInEvent},
    {"evt.arg.mode", kNotInEvent},
    {"evt.arg.cmd", kNotInEvent},
    {"evt.is_open_exec", kNotInEvent},
    {"fd.l4proto", "brig's connect and bind events do not carry the socket's protocol"},
    {"fd.name_changed", kReturn},
    {"fd.types", kNotInEvent},
    {"fd.cip", "the client address of a connect is chosen after brig sees it"},
    {"fd.cnet", "the client address of a connect is chosen after brig sees it"},
    {"fd.cip.name", "brig does not resolve names"},
    {"fd.sip.name", "brig does not resolve names"},
    {"fd.rip.name", "brig does not resolve names"},
    {"fd.lip.name", "brig does not resolve names"},
    {"proc.vpid", "brig's events carry host pids"},
    {"proc.cwd", kNotInEvent},
    {"proc.env", kNotInEvent},
    {"proc.sname", kNotInEvent},
    {"proc.duration", kNotInEvent},
    {"proc.ppid.duration", kNotInEvent},
    {"proc.is_vpgid_leader", kNotInEvent},
    {"proc.vpgid.name", kNotInEvent},
    {"proc.vpgid.exe", kNotInEvent},
    {"proc.exe_ino.ctime", kNotInEvent},
    {"proc.exe_ino.mtime", kNotInEvent},
    {"proc.exe_ino.ctime_duration_proc_start", kNotInEvent},
    {"proc.is_exe_from_memfd", kNotInEvent},
    {"thread.cap_permitted", kNotInEvent},
    {"thread.cap_effective", kNotInEvent},
    {"user.loginuid", kNotInEvent},
    {"user.loginname", "brig does not read the container's user database"},
    {"group.gid", kNotInEvent},
    {"group.name", "brig does not read the container's user database"},
    {"container.privileged", "the watcher is not given the container's capabilities"},
    {"container.mounts", "the watcher is not given the container's mounts"},
    {"container.mount.dest", "the watcher is not given the container's mounts"},
    {"container.start_ts", kNotInEvent},
};

// "proc.aname[2]" -> "proc.aname"; "annotations[k]" is not a field.
std::string_view base_name(std::string_view name) {
    auto open = name.find('[');
    if (open == std::string_view::npos || !name.ends_with("]"))
        return name;
    return name.substr(0, open);
}

}  // namespace

const std::vector<FieldInfo>& known_fields() {
    return kSupplied;
}

const FieldInfo* find_field(std::string_view name) {
    std::string_view base = base_name(name);
    for (const auto& field : kSupplied)
        if (field.name == base) {
            bool indexed = base == "proc.aname" || base == "proc.aexe" || base == "proc.aexepath";
            if (base.size() != name.size() && !indexed)
                return nullptr;
            return &field;
        }
    return nullptr;
}

std::optional<std::string_view> unsupplied_field(std::string_view name) {
    std::string_view base = base_name(name);
    for (const auto& field : kUnsupplied)
        if (field.name == base)
            return field.why;
    return std::nullopt;
}

std::string ptrace_request_name(uint64_t request) {
    static const std::map<uint64_t, std::string_view> names = {{0, "PTRACE_TRACEME"},
                                                               {1, "PTRACE_PEEKTEXT"},
                                                               {2, "PTRACE_PEEKDATA"},
                                                               {3, "PTRACE_PEEKUSR"},
                                                               {4, "PTRACE_POKETEXT"},
                                                               {5, "PTRACE_POKEDATA"},
                                                               {6, "PTRACE_POKEUSR"},
                                                               {7, "PTRACE_CONT"},
                                                               {8, "PTRACE_KILL"},
                                                               {9, "PTRACE_SINGLESTEP"},
                                                               {12, "PTRACE_GETREGS"},
                                                               {13, "PTRACE_SETREGS"},
                                                               {14, "PTRACE_GETFPREGS"},
                                                               {15, "PTRACE_SETFPREGS"},
                                                               {16, "PTRACE_ATTACH"},
                                                               {17, "PTRACE_DETACH"},
                                                               {18, "PTRACE_GETFPXREGS"},
                                                               {19, "PTRACE_SETFPXREGS"},
                                                               {24, "PTRACE_SYSCALL"},
                                                               {0x4200, "PTRACE_SETOPTIONS"},
                                                               {0x4201, "PTRACE_GETEVENTMSG"},
                                                               {0x4202, "PTRACE_GETSIGINFO"},
                                                               {0x4203, "PTRACE_SETSIGINFO"},
                                                               {0x4204, "PTRACE_GETREGSET"},
                                                               {0x4205, "PTRACE_SETREGSET"},
                                                               {0x4206, "PTRACE_SEIZE"},
                                                               {0x4207, "PTRACE_INTERRUPT"},
                                                               {0x4208, "PTRACE_LISTEN"}};
    if (auto it = names.find(request); it != names.end())
        return std::string(it->second);
    return std::to_string(request);
}

}  // namespace brig::monitor
