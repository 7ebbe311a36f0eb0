// From rules to one container's policy: container fields are decided now, what the kernel can
// match exactly becomes map entries that act in-kernel, the rest is reported by the kernel and
// decided in user space.
#include <arpa/inet.h>
#include <linux/landlock.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "monitor/annotation_rules.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"

namespace brig::monitor {

namespace {
void merge(KernelVerdict& into, KernelVerdict v) {
    if (v.action > into.action)
        into = v;
}
}  // namespace

std::map<std::string, PathVerdicts> KernelPlan::folded_paths() const {
    std::map<std::string, PathVerdicts> folded;
    for (const auto& prefixes : paths)
        for (const auto& entry : prefixes)
            folded[entry.first];
    // Writing below a directory covers changing its entries too (what Landlock's write rights
    // refuse there): every path operation but chmod takes the open-for-writing verdict.
    constexpr brig_path_op kEntryChanges[] = {
        BRIG_PATH_UNLINK,   BRIG_PATH_UNLINKAT,  BRIG_PATH_RMDIR, BRIG_PATH_RENAME,
        BRIG_PATH_RENAMEAT, BRIG_PATH_RENAMEAT2, BRIG_PATH_MKDIR, BRIG_PATH_MKDIRAT};
    for (auto& [path, verdicts] : folded) {
        for (size_t op = 0; op < paths.size(); ++op)
            for (const auto& [prefix, verdict] : paths[op])
                if (path.starts_with(prefix))
                    merge(verdicts.ops[op], verdict);
        for (brig_path_op op : kEntryChanges)
            merge(verdicts.ops[op], verdicts.ops[BRIG_PATH_OPEN_WRITE]);
    }
    return folded;
}

size_t KernelPlan::entry_count() const {
    return exec_names.size() + folded_paths().size() + open_names.size() + connects.size() +
           binds.size();
}

uint64_t cgroup_id_of(const std::string& cgroup2_path) {
    struct stat st {};
    if (::stat(cgroup2_path.c_str(), &st) != 0)
        throw_errno("cgroup2 dir " + cgroup2_path);
    return st.st_ino;
}

namespace {

std::string container_name_of(const ContainerIdentity& container) {
    for (const char* key :
         {"io.kubernetes.cri.container-name", "io.kubernetes.container.name", "org.brig.name"})
        if (auto it = container.annotations.find(key); it != container.annotations.end())
            return it->second;
    return container.id;
}

bool is_per_container(const std::string& field) {
    if (field.starts_with("annotations["))
        return true;
    const FieldInfo* info = find_field(field);
    return info && info->per_container;
}

std::unique_ptr<Expr> constant(bool value) {
    auto node = std::make_unique<Expr>();
    node->constant = value;
    return node;
}

// Replaces comparisons of per-container fields by their value and folds constants.
std::unique_ptr<Expr> decide_container_fields(const Expr& expr, const EventFields& container) {
    switch (expr.kind) {
        case Expr::Kind::constant:
            return expr.clone();
        case Expr::Kind::compare:
            if (is_per_container(expr.field))
                return constant(evaluate(expr, container));
            return expr.clone();
        case Expr::Kind::not_: {
            auto inner = decide_container_fields(*expr.children[0], container);
            if (inner->kind == Expr::Kind::constant)
                return constant(!inner->constant);
            auto node = std::make_unique<Expr>();
            node->kind = Expr::Kind::not_;
            node->children.push_back(std::move(inner));
            return node;
        }
        case Expr::Kind::and_:
        case Expr::Kind::or_: {
            bool is_and = expr.kind == Expr::Kind::and_;
            auto node = std::make_unique<Expr>();
            node->kind = expr.kind;
            for (const auto& child : expr.children) {
                auto decided = decide_container_fields(*child, container);
                if (decided->kind == Expr::Kind::constant) {
                    if (decided->constant != is_and)
                        return constant(!is_and);  // false in and / true in or
                    continue;
                }
                node->children.push_back(std::move(decided));
            }
            if (node->children.empty())
                return constant(is_and);
            if (node->children.size() == 1)
                return std::move(node->children[0]);
            return node;
        }
    }
    return expr.clone();
}

enum class EventClass { exec, open, path, socket, connect, bind, ptrace, memfd, module, bpf };

std::optional<EventClass> class_of(const std::string& evt_type) {
    static const std::map<std::string, EventClass> classes = {{"execve", EventClass::exec},
                                                              {"execveat", EventClass::exec},
                                                              {"open", EventClass::open},
                                                              {"openat", EventClass::open},
                                                              {"openat2", EventClass::open},
                                                              {"creat", EventClass::open},
                                                              {"unlink", EventClass::path},
                                                              {"unlinkat", EventClass::path},
                                                              {"rmdir", EventClass::path},
                                                              {"rename", EventClass::path},
                                                              {"renameat", EventClass::path},
                                                              {"renameat2", EventClass::path},
                                                              {"chmod", EventClass::path},
                                                              {"fchmodat", EventClass::path},
                                                              {"fchmodat2", EventClass::path},
                                                              {"mkdir", EventClass::path},
                                                              {"mkdirat", EventClass::path},
                                                              {"socket", EventClass::socket},
                                                              {"connect", EventClass::connect},
                                                              {"bind", EventClass::bind},
                                                              {"ptrace", EventClass::ptrace},
                                                              {"memfd_create", EventClass::memfd},
                                                              {"init_module", EventClass::module},
                                                              {"finit_module", EventClass::module},
                                                              {"bpf", EventClass::bpf}};
    auto it = classes.find(evt_type);
    if (it == classes.end())
        return std::nullopt;
    return it->second;
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

// The kernel's verdict slot (brig_path_op) of each path syscall but the opens.
std::optional<uint32_t> path_op_of(const std::string& evt_type) {
    static const std::map<std::string, uint32_t> ops = {
        {"unlink", BRIG_PATH_UNLINK},       {"unlinkat", BRIG_PATH_UNLINKAT},
        {"rmdir", BRIG_PATH_RMDIR},         {"rename", BRIG_PATH_RENAME},
        {"renameat", BRIG_PATH_RENAMEAT},   {"renameat2", BRIG_PATH_RENAMEAT2},
        {"chmod", BRIG_PATH_CHMOD},         {"fchmodat", BRIG_PATH_FCHMODAT},
        {"fchmodat2", BRIG_PATH_FCHMODAT2}, {"mkdir", BRIG_PATH_MKDIR},
        {"mkdirat", BRIG_PATH_MKDIRAT}};
    auto it = ops.find(evt_type);
    if (it == ops.end())
        return std::nullopt;
    return it->second;
}

bool is_compare(const Expr& e, std::string_view field, std::initializer_list<CompareOp> ops) {
    return e.kind == Expr::Kind::compare && e.field == field &&
           std::find(ops.begin(), ops.end(), e.op) != ops.end();
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

class RuleCompiler {
public:
    RuleCompiler(ContainerPolicy& policy, const CompiledRule& rule, uint32_t rule_id)
        : policy_(policy), rule_(rule), rule_id_(rule_id) {}

    // Returns whether the kernel's match is exactly the rule's condition.
    bool compile(const Expr& condition) {
        if (condition.kind == Expr::Kind::or_) {
            bool exact = true;
            for (const auto& child : condition.children)
                exact = compile_conjunction(*child) && exact;
            return exact;
        }
        return compile_conjunction(condition);
    }

    void set_verdict_bits(bool exact) {
        bits_ = exact ? action_bits(rule_.action) : BRIG_ACT_REPORT;
    }

private:
    void warn(const std::string& what) {
        policy_.warnings.push_back("rule '" + rule_.name + "': " + what);
    }

    KernelVerdict verdict() const { return {rule_id_, bits_}; }

    bool compile_conjunction(const Expr& conjunction) {
        std::vector<const Expr*> terms;
        if (conjunction.kind == Expr::Kind::and_)
            for (const auto& child : conjunction.children)
                terms.push_back(child.get());
        else
            terms.push_back(&conjunction);

        std::set<std::string> types;
        std::vector<bool> used(terms.size(), false);
        for (size_t i = 0; i < terms.size(); ++i)
            if (is_compare(*terms[i], "evt.type", {CompareOp::eq, CompareOp::in}) &&
                types.empty()) {
                types.insert(terms[i]->values.begin(), terms[i]->values.end());
                used[i] = true;
            }
        if (types.empty()) {
            warn("the condition does not restrict evt.type; it is evaluated on execs only");
            types = {"execve"};
        }
        std::map<EventClass, std::set<std::string>> classes;
        for (const auto& type : types) {
            auto cls = class_of(type);
            if (!cls) {
                warn("evt.type '" + type + "' is not observed by brig");
                continue;
            }
            classes[*cls].insert(type);
        }
        bool exact = true;
        for (const auto& [cls, class_types] : classes) {
            std::vector<bool> class_used = used;
            bool class_exact = compile_class(cls, class_types, terms, class_used);
            for (size_t i = 0; i < terms.size(); ++i)
                if (!class_used[i])
                    class_exact = false;  // a residual term: user space decides
            exact = exact && class_exact;
        }
        return exact && !classes.empty();
    }

    bool compile_class(EventClass cls, const std::set<std::string>& types,
                       const std::vector<const Expr*>& terms, std::vector<bool>& used) {
        KernelPlan& plan = policy_.kernel;
        switch (cls) {
            case EventClass::exec: {
                bool keyed = false;
                for (size_t i = 0; i < terms.size(); ++i) {
                    const Expr& t = *terms[i];
                    if (is_compare(t, "proc.name", {CompareOp::eq, CompareOp::in}) ||
                        is_compare(t, "proc.exe", {CompareOp::eq, CompareOp::in})) {
                        if (keyed)
                            continue;  // one key per rule; further ones stay residual
                        for (const auto& name : t.values) {
                            if (!name.empty() && name.size() < BRIG_NAME_LEN)
                                merge(plan.exec_names[name], verdict());
                            // The kernel sees long basenames through comm, cut at 15 bytes.
                            if (name.find('/') == std::string::npos && name.size() >= BRIG_COMM_LEN)
                                merge(plan.exec_names[name.substr(0, BRIG_COMM_LEN - 1)],
                                      verdict());
                        }
                        used[i] = keyed = true;
                    } else if (is_compare(t, "proc.exe_new", {CompareOp::eq}) &&
                               t.values[0] == "true") {
                        merge(plan.exec_new_binary, verdict());
                        used[i] = keyed = true;
                    }
                }
                // Every exec is reported anyway; a rule without a key is decided in user space.
                return keyed;
            }
            case EventClass::open: {
                bool write_only = false;
                for (size_t i = 0; i < terms.size(); ++i)
                    if (is_compare(*terms[i], "evt.is_open_write", {CompareOp::eq}) &&
                        terms[i]->values[0] == "true") {
                        write_only = used[i] = true;
                    }
                bool all_types =
                    types.contains("open") && types.contains("openat") && types.contains("openat2");
                auto& prefixes = plan.paths[write_only ? BRIG_PATH_OPEN_WRITE : BRIG_PATH_OPEN];
                bool keyed = false;
                for (size_t i = 0; i < terms.size() && !keyed; ++i) {
                    const Expr& t = *terms[i];
                    if (auto consumed = add_path_term(t, prefixes)) {
                        used[i] = *consumed;
                        keyed = true;
                    } else if (is_compare(t, "fd.filename", {CompareOp::eq, CompareOp::in}) ||
                               (is_compare(t, "fd.name", {CompareOp::endswith}) &&
                                t.values[0].starts_with("/") &&
                                t.values[0].find('/', 1) == std::string::npos)) {
                        for (const auto& name : t.values) {
                            std::string base = name.starts_with("/") ? name.substr(1) : name;
                            if (!base.empty() && base.size() < BRIG_NAME_LEN)
                                merge(plan.open_names[base], verdict());
                        }
                        // Names match any access mode: exact only when the rule is not write-only.
                        used[i] = keyed = true;
                        if (write_only)
                            exact_ = false;
                    }
                }
                if (!keyed)
                    warn(
                        "an open rule needs fd.name (=, in, startswith, pmatch), fd.directory or "
                        "fd.filename to be observed; it never fires");
                bool exact = keyed && all_types && exact_;
                exact_ = true;
                return exact;
            }
            case EventClass::path: {
                std::vector<uint32_t> ops;
                for (const auto& type : types)
                    ops.push_back(*path_op_of(type));
                bool keyed = false;
                for (size_t i = 0; i < terms.size() && !keyed; ++i) {
                    const Expr& t = *terms[i];
                    for (uint32_t op : ops)
                        if (auto consumed = add_path_term(t, plan.paths[op])) {
                            used[i] = *consumed;
                            keyed = true;
                        }
                }
                if (!keyed)
                    warn(
                        "unlink, rmdir, rename, chmod and mkdir rules need fd.name (=, in, "
                        "startswith, pmatch) or fd.directory to be observed; it never fires");
                bool exact = keyed && exact_;
                exact_ = true;
                return exact;
            }
            case EventClass::socket:
                for (size_t i = 0; i < terms.size(); ++i)
                    if (is_compare(*terms[i], "evt.arg.domain",
                                   {CompareOp::eq, CompareOp::contains, CompareOp::in}) &&
                        std::find(terms[i]->values.begin(), terms[i]->values.end(), "AF_PACKET") !=
                            terms[i]->values.end()) {
                        merge(plan.syscalls[BRIG_SC_PACKET_SOCKET], verdict());
                        used[i] = true;
                        return terms[i]->values.size() == 1;
                    }
                warn("only AF_PACKET sockets are observed (evt.arg.domain = AF_PACKET)");
                return false;
            case EventClass::connect:
            case EventClass::bind: {
                std::vector<SocketAddress> addrs;
                std::vector<uint16_t> ports;
                for (size_t i = 0; i < terms.size(); ++i) {
                    const Expr& t = *terms[i];
                    if (is_compare(t, "fd.sip", {CompareOp::eq, CompareOp::in}) && addrs.empty()) {
                        for (const auto& text : t.values) {
                            auto addr = parse_address(text);
                            if (!addr)
                                warn("fd.sip '" + text + "' is not an IP address");
                            else
                                addrs.push_back(*addr);
                        }
                        used[i] = true;
                    } else if (is_compare(t, "fd.sport", {CompareOp::eq, CompareOp::in}) &&
                               ports.empty()) {
                        for (const auto& text : t.values)
                            ports.push_back(static_cast<uint16_t>(std::stoul(text)));
                        used[i] = true;
                    }
                }
                bool bind = cls == EventClass::bind;
                if (addrs.empty() && !(bind && !ports.empty())) {
                    warn(bind ? "binds are observed by local port or address (fd.sport, fd.sip)"
                              : "connects are observed by destination address only (fd.sip = ...)");
                    return false;
                }
                if (addrs.empty())  // a bind rule on ports: any address of either family
                    addrs = {SocketAddress{AF_INET}, SocketAddress{AF_INET6}};
                if (ports.empty())
                    ports.push_back(0);
                auto& into = bind ? plan.binds : plan.connects;
                for (auto addr : addrs)
                    for (uint16_t port : ports) {
                        addr.port = port;
                        merge(into[addr], verdict());
                    }
                return true;
            }
            case EventClass::ptrace:
                merge(plan.syscalls[BRIG_SC_PTRACE], verdict());
                return true;
            case EventClass::memfd:
                merge(plan.syscalls[BRIG_SC_MEMFD_CREATE], verdict());
                return true;
            case EventClass::module:
                merge(plan.syscalls[BRIG_SC_INIT_MODULE], verdict());
                // Refusing matters more than the alert here (seccomp runs before sys_enter).
                if (bits_ & BRIG_ACT_DENY)
                    for (const auto& type : types)
                        policy_.seccomp_deny.push_back(type);
                return true;
            case EventClass::bpf:
                merge(plan.syscalls[BRIG_SC_BPF], verdict());
                if (bits_ & BRIG_ACT_DENY)
                    policy_.seccomp_deny.push_back("bpf");
                return true;
        }
        return false;
    }

    // A term on the path (fd.name = in startswith pmatch, fd.directory) as prefixes; returns
    // whether the kernel's match is the whole term, nothing when the term is not about the path.
    std::optional<bool> add_path_term(const Expr& t, std::map<std::string, KernelVerdict>& into) {
        if (is_compare(t, "fd.name", {CompareOp::eq, CompareOp::in})) {
            for (const auto& path : t.values)
                add_prefix(into, path + std::string(1, '\0'), true);
            return true;
        }
        if (is_compare(t, "fd.name", {CompareOp::startswith})) {
            add_prefix(into, t.values[0], t.values[0].starts_with("/"));
            return true;
        }
        if (is_compare(t, "fd.name", {CompareOp::pmatch})) {
            for (const auto& dir : t.values) {
                std::string base = dir.ends_with("/") ? dir.substr(0, dir.size() - 1) : dir;
                add_prefix(into, base + "/", true);
                add_prefix(into, base + std::string(1, '\0'), true);
            }
            return true;
        }
        if (is_compare(t, "fd.directory", {CompareOp::eq, CompareOp::in})) {
            add_directories(into, t.values);
            return false;
        }
        return std::nullopt;
    }

    // The kernel matches the directories' whole subtrees: the kernel reports, user space decides.
    void add_directories(std::map<std::string, KernelVerdict>& into,
                         const std::vector<std::string>& dirs) {
        for (const auto& dir : dirs)
            add_prefix(into, dir.ends_with("/") ? dir : dir + "/", dir.starts_with("/"));
        exact_ = false;
    }

    void add_prefix(std::map<std::string, KernelVerdict>& into, const std::string& prefix,
                    bool absolute) {
        if (!absolute) {
            warn("path '" + prefix + "' is not absolute; the kernel matches absolute paths only");
            exact_ = false;
            return;
        }
        if (prefix.size() > BRIG_PREFIX_LEN) {
            warn("path '" + prefix + "' is longer than " + std::to_string(BRIG_PREFIX_LEN));
            exact_ = false;
            return;
        }
        merge(into[prefix], verdict());
        if (prefix.back() != '\0' && rule_.action != Action::alert)
            if (uint64_t rights = landlock_rights(into))
                landlock_candidates_.emplace_back(prefix, rights);
    }

public:
    std::vector<std::pair<std::string, uint64_t>> landlock_candidates_;

private:
    // The Landlock rights that refuse, beneath a directory, what a rule on `into` forbids: every
    // write for opens for writing, just the removal for unlink, ... Nothing covers chmod.
    uint64_t landlock_rights(const std::map<std::string, KernelVerdict>& into) const {
        const auto& paths = policy_.kernel.paths;
        size_t op = static_cast<size_t>(&into - paths.data());
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
            default:
                return 0;
        }
    }

    ContainerPolicy& policy_;
    const CompiledRule& rule_;
    uint32_t rule_id_;
    uint32_t bits_ = BRIG_ACT_REPORT;
    bool exact_ = true;
};

}  // namespace

ContainerPolicy compile_policy(const RuleSet& rules, const ContainerIdentity& container,
                               Action default_action, std::optional<Action> override_action) {
    ContainerPolicy policy;
    policy.container_id = container.id;
    policy.container_name = container_name_of(container);
    policy.annotations = container.annotations;
    EventFields static_fields;
    static_fields.values["container.id"] = container.id;
    static_fields.values["container.name"] = policy.container_name;
    static_fields.annotations.insert(container.annotations.begin(), container.annotations.end());

    for (const Rule& rule : rules.rules) {
        if (!rule.enabled || !rule.condition)
            continue;
        auto condition = decide_container_fields(*rule.condition, static_fields);
        if (condition->kind == Expr::Kind::constant && !condition->constant)
            continue;  // cannot match in this container
        CompiledRule compiled;
        compiled.name = rule.name;
        compiled.output = rule.output;
        compiled.priority = rule.priority;
        compiled.tags = rule.tags;
        compiled.action = override_action.value_or(rule.action.value_or(default_action));
        compiled.condition = std::move(condition);
        policy.rules.push_back(std::move(compiled));
        CompiledRule& stored = policy.rules.back();
        uint32_t rule_id = static_cast<uint32_t>(policy.rules.size());

        // First pass decides exactness on a scratch plan; the second writes the real verdicts.
        ContainerPolicy scratch;
        RuleCompiler probe(scratch, stored, rule_id);
        bool exact = probe.compile(*stored.condition);
        RuleCompiler real(policy, stored, rule_id);
        real.set_verdict_bits(exact);
        real.compile(*stored.condition);
        stored.decided_in_kernel = exact;
        if (exact)
            for (const auto& [prefix, rights] : real.landlock_candidates_) {
                std::string dir =
                    prefix.ends_with("/") ? prefix.substr(0, prefix.size() - 1) : prefix;
                if (!dir.empty())
                    policy.landlock_deny[dir] |= rights;
            }
    }
    return policy;
}

namespace {

std::string env_value(const ContainerIdentity& container, std::string_view key) {
    for (const auto& entry : container.env)
        if (entry.size() > key.size() && entry.starts_with(key) && entry[key.size()] == '=')
            return entry.substr(key.size() + 1);
    return {};
}

}  // namespace

ContainerPolicy build_policy(const MonitorConfig& config, const ContainerIdentity& container) {
    RuleSet rules;
    if (config.default_rules)
        load_rules(default_rules_text(), "builtin:default.yaml", rules);
    for (const auto& file : config.rules_files)
        load_rules_file(file, rules);
    if (auto it = container.annotations.find(kRulesAnnotation); it != container.annotations.end())
        load_rules(read_annotation_rules(it->second, config.annotation_rules_dirs), it->second,
                   rules);
    std::optional<Action> override_action;
    if (auto it = container.annotations.find(kActionAnnotation);
        it != container.annotations.end()) {
        override_action = parse_action(it->second);
        if (!override_action)
            throw Error(std::string("annotation ") + kActionAnnotation +
                        ": must be alert, deny or kill, not '" + it->second + "'");
    }
    // The container's own view of the API server joins the default list.
    if (auto host = env_value(container, "KUBERNETES_SERVICE_HOST"); !host.empty()) {
        rules.lists["k8s_api_server_addrs"].push_back(host);
        if (auto port = env_value(container, "KUBERNETES_SERVICE_PORT"); !port.empty())
            rules.lists["k8s_api_server_ports"].push_back(port);
        resolve_conditions(rules);
    }
    return compile_policy(rules, container, config.default_action, override_action);
}

// ---------------------------------------------------------------------------------------------

MonitorConfig MonitorConfig::from_json_text(const std::string& text, const std::string& source) {
    MonitorConfig config;
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error("config " + source + ": " + e.what());
    }
    // Errors name the line of the field (or of its closest parent) and the field.
    auto fail = [&](const std::string& field, const std::string& what) -> void {
        std::string where = source;
        try {
            auto lines = key_lines(text, source);
            for (std::string path = field; !path.empty();) {
                if (auto it = lines.find(path); it != lines.end()) {
                    where += ":" + std::to_string(it->second);
                    break;
                }
                auto dot = path.rfind('.');
                path = dot == std::string::npos ? "" : path.substr(0, dot);
            }
        } catch (const Error&) {
        }
        throw Error("config " + where + ": field '" + field + "': " + what);
    };
    if (!doc.is_object())
        fail("(root)", "must be an object");
    if (!doc.contains("monitor"))
        return config;
    const auto& m = doc["monitor"];
    if (!m.is_object())
        fail("monitor", "must be an object");
    static const std::set<std::string> keys = {
        "enabled",        "default_rules", "rules_files", "annotation_rules_dirs",
        "default_action", "outputs",       "bpffs_dir"};
    for (const auto& [key, value] : m.items())
        if (!keys.contains(key))
            fail("monitor." + key, "unknown field");
    auto boolean = [&](const nlohmann::json& obj, const char* key, const std::string& path,
                       bool& out) {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_boolean())
            fail(path, "must be true or false");
        out = obj[key].get<bool>();
    };
    auto string = [&](const nlohmann::json& obj, const char* key, const std::string& path,
                      std::string& out) {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_string())
            fail(path, "must be a string");
        out = obj[key].get<std::string>();
    };
    boolean(m, "enabled", "monitor.enabled", config.enabled);
    boolean(m, "default_rules", "monitor.default_rules", config.default_rules);
    string(m, "bpffs_dir", "monitor.bpffs_dir", config.bpffs_dir);
    if (m.contains("rules_files")) {
        if (!m["rules_files"].is_array())
            fail("monitor.rules_files", "must be a list of paths");
        for (const auto& item : m["rules_files"]) {
            if (!item.is_string())
                fail("monitor.rules_files", "must be a list of paths");
            config.rules_files.push_back(item.get<std::string>());
        }
    }
    if (m.contains("annotation_rules_dirs")) {
        const auto& dirs = m["annotation_rules_dirs"];
        if (!dirs.is_array())
            fail("monitor.annotation_rules_dirs", "must be a list of absolute directories");
        config.annotation_rules_dirs.clear();
        for (const auto& item : dirs) {
            if (!item.is_string() || !item.get<std::string>().starts_with("/"))
                fail("monitor.annotation_rules_dirs", "must be a list of absolute directories");
            config.annotation_rules_dirs.push_back(item.get<std::string>());
        }
    }
    if (m.contains("default_action")) {
        std::string text;
        string(m, "default_action", "monitor.default_action", text);
        auto action = parse_action(text);
        if (!action)
            fail("monitor.default_action", "must be alert, deny or kill, not '" + text + "'");
        config.default_action = *action;
    }
    if (m.contains("outputs")) {
        const auto& o = m["outputs"];
        if (!o.is_object())
            fail("monitor.outputs", "must be an object");
        static const std::set<std::string> output_keys = {"stdout",        "file", "syslog",
                                                          "syslog_socket", "http", "program"};
        for (const auto& [key, value] : o.items())
            if (!output_keys.contains(key))
                fail("monitor.outputs." + key, "unknown field");
        boolean(o, "stdout", "monitor.outputs.stdout", config.outputs.to_stdout);
        boolean(o, "syslog", "monitor.outputs.syslog", config.outputs.syslog);
        string(o, "file", "monitor.outputs.file", config.outputs.file);
        string(o, "syslog_socket", "monitor.outputs.syslog_socket", config.outputs.syslog_socket);
        string(o, "http", "monitor.outputs.http", config.outputs.http_url);
        string(o, "program", "monitor.outputs.program", config.outputs.program);
        if (!config.outputs.syslog_socket.starts_with("/"))
            fail("monitor.outputs.syslog_socket", "must be an absolute path");
        if (!config.outputs.file.empty() && !config.outputs.file.starts_with("/"))
            fail("monitor.outputs.file", "must be an absolute path");
        if (!config.outputs.http_url.empty() && !config.outputs.http_url.starts_with("http://"))
            fail("monitor.outputs.http", "must be an http:// URL");
    }
    return config;
}

MonitorConfig MonitorConfig::load(const std::string& path, bool path_is_default) {
    std::ifstream in(path);
    if (!in) {
        if (path_is_default && errno == ENOENT)
            return MonitorConfig{};
        throw Error("config " + path, errno);
    }
    std::stringstream text;
    text << in.rdbuf();
    return from_json_text(text.str(), path);
}

}  // namespace brig::monitor
