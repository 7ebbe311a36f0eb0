// From rules to one container's policy: container fields are decided now, what the kernel can
// match exactly becomes map entries that act in-kernel, the rest is reported by the kernel and
// decided in user space.
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "monitor/annotation_rules.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/container_users.hpp"
#include "monitor/exec_verdicts.hpp"
#include "monitor/monitor.hpp"
#include "monitor/pod_metadata.hpp"
#include "monitor/rules_compiler.hpp"
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
        BRIG_PATH_UNLINK,   BRIG_PATH_UNLINKAT,  BRIG_PATH_RMDIR,   BRIG_PATH_RENAME,
        BRIG_PATH_RENAMEAT, BRIG_PATH_RENAMEAT2, BRIG_PATH_MKDIR,   BRIG_PATH_MKDIRAT,
        BRIG_PATH_LINK,     BRIG_PATH_LINKAT,    BRIG_PATH_SYMLINK, BRIG_PATH_SYMLINKAT,
        BRIG_PATH_MKNOD,    BRIG_PATH_MKNODAT,   BRIG_PATH_TRUNCATE};
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

// evt.hostname and the CRI's pod metadata: fixed for the container's life.
std::map<std::string, std::string> container_fields_of(const ContainerIdentity& container) {
    std::map<std::string, std::string> out = pod_fields_of(container.annotations);
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    out["evt.hostname"] = host;
    return out;
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

void fields_of(const Expr& expr, std::set<std::string>& into) {
    if (expr.kind == Expr::Kind::compare)
        into.insert(expr.field);
    for (const auto& child : expr.children)
        fields_of(*child, into);
}

// Whether a rule reads what only the container's exec events tell the watcher: the ancestry
// (the parent's command line, the grandparents), and for events other than execs the full
// executable path (theirs carry the name of the running program only).
bool needs_exec_history(const CompiledRule& rule, bool beyond_exec) {
    std::set<std::string> fields;
    fields_of(*rule.condition, fields);
    for (const auto& name : output_field_names(rule.output))
        fields.insert(name);
    for (const auto& field : fields) {
        if (field == "proc.pcmdline" || field.starts_with("proc.pexe") ||
            field.starts_with("proc.aexe") ||
            (field.starts_with("proc.aname") && field != "proc.aname[0]" &&
             field != "proc.aname[1]"))
            return true;
        if (beyond_exec && (field == "proc.exe" || field == "proc.exepath"))
            return true;
    }
    return false;
}

}  // namespace

ContainerPolicy compile_policy(const RuleSet& rules, const ContainerIdentity& container,
                               Action default_action, std::optional<Action> override_action) {
    ContainerPolicy policy;
    policy.container_id = container.id;
    policy.container_name = container_name_of(container);
    policy.annotations = container.annotations;
    policy.container_fields = container_fields_of(container);
    EventFields static_fields;
    static_fields.values.insert(policy.container_fields.begin(), policy.container_fields.end());
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
        RuleKeys keys = compile_condition(*policy.rules.back().condition);
        for (const auto& warning : keys.warnings)
            policy.warnings.push_back("rule '" + rule.name + "': " + warning);
        apply_keys(keys, static_cast<uint32_t>(policy.rules.size()), policy.rules.back().action,
                   policy);
        CompiledRule& added = policy.rules.back();
        added.decided_in_kernel = keys.exact;
        if (needs_exec_history(added, keys.beyond_exec))
            merge(policy.kernel.exec_any, {0, BRIG_ACT_REPORT});
        added.judged_before_exec =
            !keys.exact && keys.observes_execs && added.action != Action::alert;
        if (added.judged_before_exec)
            policy.exec_checks |= exec_checks_of(*added.condition);
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
    ContainerPolicy policy =
        compile_policy(rules, container, config.default_action, override_action);
    policy.time_format_iso_8601 = config.time_format_iso_8601;
    policy.user_names = container_user_names(container.rootfs, container.uid_mappings);
    for (auto& warning : skipped_rules(rules))
        policy.warnings.push_back(std::move(warning));
    return policy;
}

}  // namespace brig::monitor
