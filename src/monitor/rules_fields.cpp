// Actions, priorities and the fields conditions may use.
#include "monitor/rules_fields.hpp"

#include <algorithm>
#include <cctype>

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

const std::vector<FieldInfo>& known_fields() {
    static const std::vector<FieldInfo> fields = {
        {"evt.type", FieldType::string, false,
         "syscall: execve, open, openat, openat2, creat, unlink, unlinkat, rmdir, rename, "
         "renameat, renameat2, chmod, fchmodat, fchmodat2, mkdir, mkdirat, socket, connect, "
         "bind, ptrace, memfd_create, init_module, finit_module, bpf"},
        {"evt.is_open_write", FieldType::boolean, false,
         "open for writing, creating or truncating"},
        {"evt.is_open_read", FieldType::boolean, false, "open for reading"},
        {"evt.arg.domain", FieldType::string, false, "socket domain: AF_PACKET, ..."},
        {"evt.arg.request", FieldType::number, false, "ptrace request"},
        {"evt.arg.newpath", FieldType::string, false,
         "destination of a rename (fd.name is its source; a rule on fd.name matches either)"},
        {"proc.name", FieldType::string, false, "process name (basename of the executable)"},
        {"proc.exe", FieldType::string, false, "executable path as given to execve"},
        {"proc.cmdline", FieldType::string, false, "name and arguments"},
        {"proc.args", FieldType::string, false, "arguments"},
        {"proc.pname", FieldType::string, false, "parent's name"},
        {"proc.pid", FieldType::number, false, "process id (host)"},
        {"proc.ppid", FieldType::number, false, "parent process id (host)"},
        {"proc.tty", FieldType::number, false, "controlling terminal, 0 = none"},
        {"proc.exe_new", FieldType::boolean, false,
         "the executable was written or changed after the container started"},
        {"fd.name", FieldType::string, false,
         "file path (opened, unlinked, renamed, chmod-ed, made) or ip:port"},
        {"fd.directory", FieldType::string, false, "directory of fd.name"},
        {"fd.filename", FieldType::string, false, "basename of fd.name"},
        {"fd.sip", FieldType::string, false, "server ip of a connect, local ip of a bind"},
        {"fd.sport", FieldType::number, false, "server port of a connect, local port of a bind"},
        {"user.uid", FieldType::number, false, "uid (host view)"},
        {"container.id", FieldType::string, true, "container id"},
        {"container.name", FieldType::string, true, "container name (annotation or id)"},
    };
    return fields;
}

const FieldInfo* find_field(std::string_view name) {
    for (const auto& field : known_fields())
        if (field.name == name)
            return &field;
    return nullptr;
}

}  // namespace brig::monitor
