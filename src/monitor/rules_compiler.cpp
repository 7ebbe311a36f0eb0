#include "monitor/rules_compiler.hpp"

#include "monitor/bpf/syscall_table.h"

#include <arpa/inet.h>
#include <linux/landlock.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>

namespace brig::monitor {

std::optional<EventClass> class_of(const std::string& evt_type) {
    static const std::map<std::string, EventClass> classes = [] {
        std::map<std::string, EventClass> out = {
            {"execve", EventClass::exec},         {"execveat", EventClass::exec},
            {"open", EventClass::open},           {"openat", EventClass::open},
            {"openat2", EventClass::open},        {"creat", EventClass::open},
            {"socket", EventClass::socket},       {"connect", EventClass::connect},
            {"bind", EventClass::bind},           {"ptrace", EventClass::ptrace},
            {"memfd_create", EventClass::memfd},  {"init_module", EventClass::module},
            {"finit_module", EventClass::module}, {"bpf", EventClass::bpf}};
#define BRIG_PATH_CLASS(name, slot) out[#name] = EventClass::path;
        BRIG_PATH_SYSCALLS(BRIG_PATH_CLASS)
#undef BRIG_PATH_CLASS
        return out;
    }();
    auto it = classes.find(evt_type);
    if (it == classes.end())
        return std::nullopt;
    return it->second;
}

void KernelKeys::add(const KernelKeys& other) {
    exec_names.insert(other.exec_names.begin(), other.exec_names.end());
    for (size_t op = 0; op < paths.size(); ++op)
        paths[op].insert(other.paths[op].begin(), other.paths[op].end());
    open_names.insert(other.open_names.begin(), other.open_names.end());
    connects.insert(other.connects.begin(), other.connects.end());
    binds.insert(other.binds.begin(), other.binds.end());
    syscalls.insert(other.syscalls.begin(), other.syscalls.end());
    exec_new_binary = exec_new_binary || other.exec_new_binary;
    every_exec = every_exec || other.every_exec;
    seccomp_deny.insert(seccomp_deny.end(), other.seccomp_deny.begin(), other.seccomp_deny.end());
}

namespace {

bool is_compare(const Expr& e, std::string_view field, std::initializer_list<CompareOp> ops) {
    return e.kind == Expr::Kind::compare && e.field == field &&
           std::find(ops.begin(), ops.end(), e.op) != ops.end();
}

ClassMatch start(const ClassTerms& in) {
    ClassMatch m;
    m.used.assign(in.terms.size(), false);
    return m;
}

// The kernel's verdict slot (brig_path_op) of each path syscall but the opens.
std::optional<uint32_t> path_op_of(const std::string& evt_type) {
#define BRIG_PATH_OP(name, slot) {#name, slot},
    static const std::map<std::string, uint32_t> ops = {BRIG_PATH_SYSCALLS(BRIG_PATH_OP)};
#undef BRIG_PATH_OP
    auto it = ops.find(evt_type);
    if (it == ops.end())
        return std::nullopt;
    return it->second;
}

std::optional<SocketAddress> parse_address(const std::string& text) {
    SocketAddress target;
    if (inet_pton(AF_INET, text.c_str(), target.addr.data()) == 1) {
        target.family = AF_INET;
        return target;
    }
    if (inet_pton(AF_INET6, text.c_str(), target.addr.data()) == 1) {
        target.family = AF_INET6;
        return target;
    }
    return std::nullopt;
}

// Adds one path prefix; false (with a warning) when the kernel cannot match it.
bool add_prefix(std::set<std::string>& into, const std::string& prefix, bool absolute,
                ClassMatch& m) {
    if (!absolute) {
        m.warnings.push_back("path '" + prefix +
                             "' is not absolute; the kernel matches absolute paths only");
        return false;
    }
    if (prefix.size() > BRIG_PREFIX_LEN) {
        m.warnings.push_back("path '" + prefix + "' is longer than " +
                             std::to_string(BRIG_PREFIX_LEN));
        return false;
    }
    into.insert(prefix);
    return true;
}

bool is_path_arg(std::string_view field) {
    return field == "evt.arg.path" || field == "evt.arg.name" || field == "evt.arg.filename" ||
           field == "evt.arg.oldpath" || field == "evt.arg.newpath" || field == "evt.arg.linkpath";
}

// A term on a symlink's target (or an and/or of such): a string the kernel cannot key (nothing
// is resolved at symlink time), so every symlink of the container goes to user space to decide.
bool is_target_term(const Expr& t) {
    if (t.kind == Expr::Kind::compare)
        return t.field == "evt.arg.target";
    return !t.children.empty() && std::all_of(t.children.begin(), t.children.end(),
                                              [](const auto& c) { return is_target_term(*c); });
}

bool is_basename_term(const Expr& t) {
    return is_compare(t, "fd.filename", {CompareOp::eq, CompareOp::in}) ||
           (is_compare(t, "fd.name", {CompareOp::endswith}) && t.values[0].starts_with("/") &&
            t.values[0].find('/', 1) == std::string::npos);
}

// Where a rule's path terms go: path prefixes (exact files end in '\0') and, for opens, the
// file names the kernel keys on their own.
struct PathKeys {
    std::set<std::string>& prefixes;
    std::set<std::string>* names = nullptr;  // null: the kernel keys no names for this class
    bool names_exact = true;                 // names match any access mode
};

std::optional<bool> add_path_term(const Expr& t, PathKeys& into, ClassMatch& m, bool& clean);

// An or of path terms keys the union of theirs (exact when each is); an and keys its first
// path term and leaves the rest to user space. Nothing when some branch of an or has no key.
std::optional<bool> add_path_terms(const Expr& t, PathKeys& into, ClassMatch& m, bool& clean) {
    if (t.kind == Expr::Kind::and_) {
        for (const auto& child : t.children)
            if (add_path_term(*child, into, m, clean))
                return false;
        return std::nullopt;
    }
    ClassMatch scratch;
    std::set<std::string> prefixes, names;
    PathKeys keys{prefixes, into.names ? &names : nullptr, into.names_exact};
    bool scratch_clean = true, consumed = true;
    for (const auto& child : t.children) {
        auto child_consumed = add_path_term(*child, keys, scratch, scratch_clean);
        if (!child_consumed)
            return std::nullopt;
        consumed = consumed && *child_consumed;
    }
    into.prefixes.insert(prefixes.begin(), prefixes.end());
    if (into.names)
        into.names->insert(names.begin(), names.end());
    m.warnings.insert(m.warnings.end(), scratch.warnings.begin(), scratch.warnings.end());
    clean = clean && scratch_clean;
    return consumed;
}

// fd.filename (or fd.name endswith /name) as names the kernel keys.
bool add_names(const Expr& t, PathKeys& into, ClassMatch& m, bool& clean) {
    for (const auto& name : t.values) {
        std::string base = name.starts_with("/") ? name.substr(1) : name;
        if (!base.empty() && base.size() < BRIG_NAME_LEN)
            into.names->insert(base);
        else
            m.warnings.push_back("file name '" + base + "' is empty or longer than " +
                                 std::to_string(BRIG_NAME_LEN - 1));
    }
    clean = clean && into.names_exact;
    return true;
}

// A term on the path (fd.name = in startswith pmatch glob, fd.directory, fd.filename where
// names are keyed, or an and/or of them) as keys: whether the kernel's match is the whole term,
// nothing when the term is not about the path. `clean` turns false when part of the term cannot
// be matched by the kernel.
std::optional<bool> add_path_term(const Expr& t, PathKeys& into, ClassMatch& m, bool& clean) {
    auto add = [&](const std::string& prefix, bool absolute) {
        clean = add_prefix(into.prefixes, prefix, absolute, m) && clean;
    };
    if (t.kind == Expr::Kind::or_ || t.kind == Expr::Kind::and_)
        return add_path_terms(t, into, m, clean);
    if (into.names && is_basename_term(t))
        return add_names(t, into, m, clean);
    // The syscall's path argument is fd.name (brig gives it absolute); a rename's source or
    // destination alone is matched by a key on either path: the kernel reports, user space
    // decides.
    if (t.kind == Expr::Kind::compare && is_path_arg(t.field)) {
        Expr as_name;
        as_name.kind = Expr::Kind::compare;
        as_name.field = "fd.name";
        as_name.op = t.op;
        as_name.values = t.values;
        auto consumed = add_path_term(as_name, into, m, clean);
        if (consumed && (t.field == "evt.arg.oldpath" || t.field == "evt.arg.newpath"))
            return false;
        return consumed;
    }
    if (is_compare(t, "fd.name", {CompareOp::eq, CompareOp::in})) {
        for (const auto& path : t.values)
            add(path + std::string(1, '\0'), true);
        return true;
    }
    if (is_compare(t, "fd.name", {CompareOp::startswith})) {
        add(t.values[0], t.values[0].starts_with("/"));
        return true;
    }
    if (is_compare(t, "fd.name", {CompareOp::glob})) {
        // The literal part before the first wildcard is a prefix; user space matches the rest.
        const std::string& pattern = t.values[0];
        size_t wildcard = pattern.find_first_of("*?[\\");
        if (wildcard == std::string::npos) {
            add(pattern + std::string(1, '\0'), true);
            return pattern.starts_with("/");
        }
        add(pattern.substr(0, wildcard), pattern.starts_with("/"));
        return false;
    }
    if (is_compare(t, "fd.name", {CompareOp::pmatch})) {
        for (const auto& dir : t.values) {
            std::string base = dir.ends_with("/") ? dir.substr(0, dir.size() - 1) : dir;
            add(base + "/", true);
            add(base + std::string(1, '\0'), true);
        }
        return true;
    }
    if (is_compare(t, "fd.directory", {CompareOp::eq, CompareOp::in})) {
        // The kernel matches the directories' whole subtrees: it reports, user space decides.
        for (const auto& dir : t.values)
            add(dir.ends_with("/") ? dir : dir + "/", dir.starts_with("/"));
        clean = false;
        return false;
    }
    return std::nullopt;
}

}  // namespace

ClassMatch compile_exec(const ClassTerms& in) {
    ClassMatch m = start(in);
    bool keyed = false;
    for (size_t i = 0; i < in.terms.size(); ++i) {
        const Expr& t = *in.terms[i];
        if (is_compare(t, "proc.name", {CompareOp::eq, CompareOp::in}) ||
            is_compare(t, "proc.exe", {CompareOp::eq, CompareOp::in})) {
            if (keyed)
                continue;  // one key per rule; further ones stay residual
            for (const auto& name : t.values) {
                if (!name.empty() && name.size() < BRIG_NAME_LEN)
                    m.keys.exec_names.insert(name);
                // The kernel sees long basenames through comm, cut at 15 bytes.
                if (name.find('/') == std::string::npos && name.size() >= BRIG_COMM_LEN)
                    m.keys.exec_names.insert(name.substr(0, BRIG_COMM_LEN - 1));
            }
            m.used[i] = keyed = true;
        } else if ((is_compare(t, "proc.exe_new", {CompareOp::eq}) ||
                    is_compare(t, "proc.is_exe_upper_layer", {CompareOp::eq})) &&
                   t.values[0] == "true") {
            m.keys.exec_new_binary = true;
            m.used[i] = keyed = true;
        }
    }
    // A rule without a key is decided in user space, on every exec.
    m.exact = keyed;
    m.keys.every_exec = !keyed;
    return m;
}

ClassMatch compile_open(const ClassTerms& in) {
    ClassMatch m = start(in);
    bool write_only = false;
    for (size_t i = 0; i < in.terms.size(); ++i)
        if (is_compare(*in.terms[i], "evt.is_open_write", {CompareOp::eq}) &&
            in.terms[i]->values[0] == "true")
            write_only = m.used[i] = true;
    bool all_types =
        in.types.contains("open") && in.types.contains("openat") && in.types.contains("openat2");
    // Names match any access mode: exact only when the rule is not write-only.
    PathKeys keys{m.keys.paths[write_only ? BRIG_PATH_OPEN_WRITE : BRIG_PATH_OPEN],
                  &m.keys.open_names, !write_only};
    bool keyed = false, clean = true;
    for (size_t i = 0; i < in.terms.size() && !keyed; ++i)
        if (auto consumed = add_path_term(*in.terms[i], keys, m, clean)) {
            m.used[i] = *consumed;
            keyed = true;
        }
    if (!keyed)
        m.warnings.push_back(
            "an open rule needs fd.name (=, in, startswith, pmatch), fd.directory or "
            "fd.filename to be observed; it never fires");
    m.exact = keyed && all_types && clean;
    return m;
}

ClassMatch compile_path(const ClassTerms& in) {
    ClassMatch m = start(in);
    std::vector<uint32_t> ops;
    for (const auto& type : in.types)
        ops.push_back(*path_op_of(type));
    bool keyed = false, clean = true;
    for (size_t i = 0; i < in.terms.size() && !keyed; ++i)
        for (uint32_t op : ops)
            if (PathKeys keys{m.keys.paths[op]};
                auto consumed = add_path_term(*in.terms[i], keys, m, clean)) {
                m.used[i] = *consumed;
                keyed = true;
            }
    const bool symlinks_only = std::all_of(in.types.begin(), in.types.end(), [](const auto& t) {
        return t == "symlink" || t == "symlinkat";
    });
    if (!keyed && symlinks_only &&
        std::any_of(in.terms.begin(), in.terms.end(), [](auto* t) { return is_target_term(*t); })) {
        for (uint32_t op : ops)
            m.keys.paths[op].insert("/");
        return m;  // not exact: user space matches the target
    }
    if (!keyed)
        m.warnings.push_back(
            "path operation rules need fd.name (=, in, startswith, pmatch) or fd.directory "
            "(a symlink's: or evt.arg.target) to be observed; it never fires");
    m.exact = keyed && clean;
    return m;
}

ClassMatch compile_socket(const ClassTerms& in) {
    ClassMatch m = start(in);
    for (size_t i = 0; i < in.terms.size(); ++i) {
        const Expr& t = *in.terms[i];
        if (is_compare(t, "evt.arg.domain", {CompareOp::eq, CompareOp::contains, CompareOp::in}) &&
            std::find(t.values.begin(), t.values.end(), "AF_PACKET") != t.values.end()) {
            m.keys.syscalls.insert(BRIG_SC_PACKET_SOCKET);
            m.used[i] = true;
            m.exact = t.values.size() == 1;
            return m;
        }
    }
    m.warnings.push_back("only AF_PACKET sockets are observed (evt.arg.domain = AF_PACKET)");
    return m;
}

namespace {

ClassMatch compile_address(const ClassTerms& in, bool bind) {
    ClassMatch m = start(in);
    std::vector<SocketAddress> addrs;
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < in.terms.size(); ++i) {
        const Expr& t = *in.terms[i];
        if (is_compare(t, "fd.sip", {CompareOp::eq, CompareOp::in}) && addrs.empty()) {
            for (const auto& text : t.values) {
                if (auto addr = parse_address(text))
                    addrs.push_back(*addr);
                else
                    m.warnings.push_back("fd.sip '" + text + "' is not an IP address");
            }
            m.used[i] = true;
        } else if (is_compare(t, "fd.sport", {CompareOp::eq, CompareOp::in}) && ports.empty()) {
            for (const auto& text : t.values)
                ports.push_back(static_cast<uint16_t>(std::stoul(text)));
            m.used[i] = true;
        }
    }
    if (addrs.empty() && !(bind && !ports.empty())) {
        m.warnings.push_back(bind ? "binds are observed by local port or address (fd.sport, fd.sip)"
                                  : "connects are observed by destination address only (fd.sip = "
                                    "...)");
        return m;
    }
    if (addrs.empty())  // a bind rule on ports: any address of either family
        addrs = {SocketAddress{AF_INET}, SocketAddress{AF_INET6}};
    if (ports.empty())
        ports.push_back(0);
    auto& into = bind ? m.keys.binds : m.keys.connects;
    for (auto addr : addrs)
        for (uint16_t port : ports) {
            addr.port = port;
            into.insert(addr);
        }
    m.exact = true;
    return m;
}

}  // namespace

ClassMatch compile_connect(const ClassTerms& in) {
    return compile_address(in, false);
}

ClassMatch compile_bind(const ClassTerms& in) {
    return compile_address(in, true);
}

ClassMatch compile_syscall(EventClass cls, const ClassTerms& in) {
    ClassMatch m = start(in);
    m.exact = true;
    switch (cls) {
        case EventClass::ptrace:
            m.keys.syscalls.insert(BRIG_SC_PTRACE);
            break;
        case EventClass::memfd:
            m.keys.syscalls.insert(BRIG_SC_MEMFD_CREATE);
            break;
        case EventClass::module:
            m.keys.syscalls.insert(BRIG_SC_INIT_MODULE);
            // Refusing matters more than the alert here (seccomp runs before sys_enter).
            m.keys.seccomp_deny.assign(in.types.begin(), in.types.end());
            break;
        case EventClass::bpf:
            m.keys.syscalls.insert(BRIG_SC_BPF);
            m.keys.seccomp_deny.push_back("bpf");
            break;
        default:
            m.exact = false;
    }
    return m;
}

ClassMatch compile_class(EventClass cls, const ClassTerms& in) {
    switch (cls) {
        case EventClass::exec:
            return compile_exec(in);
        case EventClass::open:
            return compile_open(in);
        case EventClass::path:
            return compile_path(in);
        case EventClass::socket:
            return compile_socket(in);
        case EventClass::connect:
            return compile_connect(in);
        case EventClass::bind:
            return compile_bind(in);
        default:
            return compile_syscall(cls, in);
    }
}

namespace {

// `evt.type = x`, `evt.type in (...)` or an or of them (`(evt.type = creat or evt.type in
// (open, openat))`): adds the types and says yes.
bool event_types_of(const Expr& term, std::set<std::string>& types) {
    if (is_compare(term, "evt.type", {CompareOp::eq, CompareOp::in})) {
        types.insert(term.values.begin(), term.values.end());
        return true;
    }
    if (term.kind != Expr::Kind::or_)
        return false;
    std::set<std::string> found;
    for (const auto& child : term.children)
        if (!event_types_of(*child, found))
            return false;
    types.insert(found.begin(), found.end());
    return true;
}

// Whether a term names event types where they decide (outside a not).
bool names_event_types(const Expr& e) {
    if (e.kind == Expr::Kind::compare)
        return e.field == "evt.type";
    if (e.kind != Expr::Kind::and_ && e.kind != Expr::Kind::or_)
        return false;
    return std::any_of(e.children.begin(), e.children.end(),
                       [](const auto& c) { return names_event_types(*c); });
}

using Conjunction = std::vector<const Expr*>;
// Past this many conjunctions a condition is split at its top-level or only.
constexpr size_t kMaxConjunctions = 256;

// Ands `e` onto each of `into`'s conjunctions, flattening nested ands and distributing an or
// that names event types (`(open_read or open_directory) and ...`, Falco's macros), so each
// conjunction sees its own evt.type. An or of evt.type terms alone stays one term, as does
// an or that names none. False past kMaxConjunctions.
bool and_onto(const Expr& e, std::vector<Conjunction>& into) {
    std::set<std::string> alternatives;
    if (e.kind == Expr::Kind::and_) {
        for (const auto& child : e.children)
            if (!and_onto(*child, into))
                return false;
        return true;
    }
    if (e.kind != Expr::Kind::or_ || !names_event_types(e) || event_types_of(e, alternatives)) {
        for (auto& conjunction : into)
            conjunction.push_back(&e);
        return true;
    }
    std::vector<Conjunction> branches;
    for (const auto& child : e.children) {
        std::vector<Conjunction> branch = into;
        if (!and_onto(*child, branch) || branches.size() + branch.size() > kMaxConjunctions)
            return false;
        branches.insert(branches.end(), branch.begin(), branch.end());
    }
    into = std::move(branches);
    return true;
}

// The condition as an or of conjunctions (see and_onto); a warning when it is too large.
std::vector<Conjunction> conjunctions_of(const Expr& condition, RuleKeys& out) {
    std::vector<Conjunction> split{{}};
    if (and_onto(condition, split))
        return split;
    out.warnings.push_back("the condition has more than " + std::to_string(kMaxConjunctions) +
                           " alternatives; it is split at its top-level or only");
    split.clear();
    auto top = [&](const Expr& e) {
        if (e.kind == Expr::Kind::and_) {
            Conjunction terms;
            for (const auto& child : e.children)
                terms.push_back(child.get());
            split.push_back(std::move(terms));
        } else {
            split.push_back({&e});
        }
    };
    if (condition.kind == Expr::Kind::or_)
        for (const auto& child : condition.children)
            top(*child);
    else
        top(condition);
    return split;
}

// One conjunction: its evt.type terms choose the classes.
bool compile_conjunction(const Conjunction& terms, RuleKeys& out) {
    std::set<std::string> types;
    std::vector<bool> used(terms.size(), false);
    for (size_t i = 0; i < terms.size() && types.empty(); ++i)
        if (event_types_of(*terms[i], types))
            used[i] = true;
    if (types.empty()) {
        out.warnings.push_back(
            "the condition does not restrict evt.type; it is evaluated on execs only");
        types = {"execve"};
    }
    std::map<EventClass, std::set<std::string>> classes;
    for (const auto& type : types) {
        if (auto cls = class_of(type))
            classes[*cls].insert(type);
        else
            out.warnings.push_back("evt.type '" + type + "' is not observed by brig");
    }
    bool exact = !classes.empty();
    out.observes_execs = out.observes_execs || classes.contains(EventClass::exec);
    for (const auto& [cls, class_types] : classes) {
        out.beyond_exec = out.beyond_exec || cls != EventClass::exec;
        ClassMatch m = compile_class(cls, {class_types, terms});
        out.keys.add(m.keys);
        out.warnings.insert(out.warnings.end(), m.warnings.begin(), m.warnings.end());
        bool class_exact = m.exact;
        for (size_t i = 0; i < terms.size(); ++i)
            if (!used[i] && !m.used[i])
                class_exact = false;  // a residual term: user space decides
        exact = exact && class_exact;
    }
    return exact;
}

void merge(KernelVerdict& into, KernelVerdict v) {
    if (v.action > into.action)
        into = v;
}

uint32_t action_bits(Action action) {
    switch (action) {
        case Action::alert:
            return BRIG_ACT_REPORT;
        case Action::deny:
            return BRIG_ACT_REPORT | BRIG_ACT_DENY;
        case Action::kill:
            return BRIG_ACT_REPORT | BRIG_ACT_KILL;
    }
    return BRIG_ACT_REPORT;
}

// The Landlock rights that refuse, beneath a directory, what a rule on a path op forbids: every
// write for opens for writing, just the removal for unlink, ... Nothing covers chmod.
uint64_t landlock_rights(size_t op) {
    switch (op) {
        case BRIG_PATH_OPEN_WRITE:
            return ~0ULL;  // every write right the kernel's Landlock handles
        case BRIG_PATH_UNLINK:
            return LANDLOCK_ACCESS_FS_REMOVE_FILE;
        case BRIG_PATH_UNLINKAT:
            return LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR;
        case BRIG_PATH_RMDIR:
            return LANDLOCK_ACCESS_FS_REMOVE_DIR;
        case BRIG_PATH_RENAME:
        case BRIG_PATH_RENAMEAT:
        case BRIG_PATH_RENAMEAT2:
            return LANDLOCK_ACCESS_FS_REFER;  // across directories; within one, killed
        case BRIG_PATH_MKDIR:
        case BRIG_PATH_MKDIRAT:
            return LANDLOCK_ACCESS_FS_MAKE_DIR;
        case BRIG_PATH_SYMLINK:
        case BRIG_PATH_SYMLINKAT:
            return LANDLOCK_ACCESS_FS_MAKE_SYM;
        case BRIG_PATH_MKNOD:
        case BRIG_PATH_MKNODAT:
            return LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                   LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SOCK;
        default:  // links and truncate(2): no right of their own (the tracepoint kills)
            return 0;
    }
}

}  // namespace

RuleKeys compile_condition(const Expr& condition) {
    RuleKeys out;
    out.exact = true;
    for (const auto& conjunction : conjunctions_of(condition, out))
        out.exact = compile_conjunction(conjunction, out) && out.exact;
    return out;
}

void apply_keys(const RuleKeys& rule, uint32_t rule_id, Action action, ContainerPolicy& policy) {
    const KernelKeys& keys = rule.keys;
    KernelPlan& plan = policy.kernel;
    KernelVerdict v{rule_id, rule.exact ? action_bits(action) : BRIG_ACT_REPORT};
    for (const auto& name : keys.exec_names)
        merge(plan.exec_names[name], v);
    for (size_t op = 0; op < keys.paths.size(); ++op)
        for (const auto& prefix : keys.paths[op])
            merge(plan.paths[op][prefix], v);
    for (const auto& name : keys.open_names)
        merge(plan.open_names[name], v);
    for (const auto& addr : keys.connects)
        merge(plan.connects[addr], v);
    for (const auto& addr : keys.binds)
        merge(plan.binds[addr], v);
    for (uint32_t sc : keys.syscalls)
        merge(plan.syscalls[sc], v);
    if (keys.exec_new_binary)
        merge(plan.exec_new_binary, v);
    if (keys.every_exec)
        merge(plan.exec_any, v);
    if (!rule.exact || action == Action::alert)
        return;
    if (action == Action::deny)
        policy.seccomp_deny.insert(policy.seccomp_deny.end(), keys.seccomp_deny.begin(),
                                   keys.seccomp_deny.end());
    for (size_t op = 0; op < keys.paths.size(); ++op)
        for (const auto& prefix : keys.paths[op]) {
            uint64_t rights = landlock_rights(op);
            if (prefix.back() == '\0' || !rights)
                continue;
            std::string dir = prefix.ends_with("/") ? prefix.substr(0, prefix.size() - 1) : prefix;
            if (!dir.empty())
                policy.landlock_deny[dir] |= rights;
        }
}

}  // namespace brig::monitor
