// Rules files: list, macro and rule entries, later files overriding and extending earlier ones.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "monitor/rules.hpp"
#include "monitor/rules_compiler.hpp"
#include "monitor/rules_yaml.hpp"
#include "runtime/common/error.hpp"

namespace brig::monitor {

extern const std::string_view kDefaultRulesYaml;
std::string_view default_rules_text() {
    return kDefaultRulesYaml;
}

namespace {

class EntryReader {
public:
    // `allowed` empty: no check of the entry's keys (a reader that only looks up the name).
    EntryReader(const Node& entry, std::string source, std::string kind, std::string name,
                std::set<std::string> allowed)
        : entry_(entry),
          source_(std::move(source)),
          kind_(std::move(kind)),
          name_(std::move(name)) {
        for (const auto& [key, value] : entry.entries)
            if (!allowed.empty() && !allowed.contains(key.value)) {
                std::string list;
                for (const auto& a : allowed)
                    list += (list.empty() ? "" : ", ") + a;
                fail(key.line, "unknown field '" + key.value + "' (allowed: " + list + ")");
            }
    }

    [[noreturn]] void fail(int line, const std::string& what) const {
        throw Error(source_ + ":" + std::to_string(line) + ": " + kind_ + " '" + name_ +
                    "': " + what);
    }

    const Node* find(std::string_view key) const {
        for (const auto& [k, v] : entry_.entries)
            if (k.value == key)
                return &v;
        return nullptr;
    }

    std::optional<std::string> scalar(std::string_view key) const {
        const Node* node = find(key);
        if (!node)
            return std::nullopt;
        if (node->kind != Node::Kind::scalar)
            fail(node->line, "field '" + std::string(key) + "' must be a string");
        return node->value;
    }

    std::optional<bool> boolean(std::string_view key) const {
        auto text = scalar(key);
        if (!text)
            return std::nullopt;
        if (*text == "true")
            return true;
        if (*text == "false")
            return false;
        fail(find(key)->line,
             "field '" + std::string(key) + "' must be true or false, not '" + *text + "'");
    }

    std::optional<std::vector<std::string>> strings(std::string_view key) const {
        const Node* node = find(key);
        if (!node)
            return std::nullopt;
        if (node->kind != Node::Kind::sequence)
            fail(node->line, "field '" + std::string(key) + "' must be a list");
        std::vector<std::string> out;
        for (const auto& item : node->items) {
            if (item.kind != Node::Kind::scalar)
                fail(item.line, "items of '" + std::string(key) + "' must be strings");
            out.push_back(item.value);
        }
        return out;
    }

    const std::string& source() const { return source_; }

    int line_of(std::string_view key) const {
        const Node* node = find(key);
        return node ? node->line : entry_.line;
    }

    const Node& node() const { return entry_; }
    bool has(std::string_view key) const { return find(key) != nullptr; }

private:
    const Node& entry_;
    std::string source_;
    std::string kind_;
    std::string name_;
};

// `override: {key: append|replace}`; every other key of the entry must be named in it.
using Overrides = std::map<std::string, std::string>;
Overrides read_override(const EntryReader& reader, const std::string& kind,
                        const std::set<std::string>& appendable,
                        const std::set<std::string>& replaceable) {
    const Node* node = reader.find("override");
    if (!node)
        return {};
    if (node->kind != Node::Kind::mapping || node->entries.empty())
        reader.fail(node->line, "override must map fields to append or replace");
    Overrides out;
    for (const auto& [key, value] : node->entries) {
        if (value.kind != Node::Kind::scalar ||
            (value.value != "append" && value.value != "replace"))
            reader.fail(value.line, "override of '" + key.value + "' must be append or replace");
        const auto& allowed = value.value == "append" ? appendable : replaceable;
        if (!allowed.contains(key.value))
            reader.fail(key.line, "'" + key.value + "' cannot be overridden with " + value.value);
        if (!reader.has(key.value))
            reader.fail(key.line, "override of '" + key.value + "', which the entry does not have");
        out[key.value] = value.value;
    }
    for (const auto& [key, value] : reader.node().entries)
        if (key.value != kind && key.value != "override" && !out.contains(key.value))
            reader.fail(key.line, "'" + key.value + "' is not listed in override");
    return out;
}

bool appends(const Overrides& overrides, const std::string& key) {
    auto it = overrides.find(key);
    return it != overrides.end() && it->second == "append";
}

std::vector<std::string> cell_items(const EntryReader& reader, const Node& cell) {
    if (cell.kind == Node::Kind::scalar)
        return {cell.value};
    if (cell.kind != Node::Kind::sequence)
        reader.fail(cell.line, "exception values must be strings or lists of strings");
    std::vector<std::string> items;
    for (const auto& item : cell.items) {
        if (item.kind != Node::Kind::scalar)
            reader.fail(item.line, "exception values must be strings or lists of strings");
        items.push_back(item.value);
    }
    return items;
}

// `earlier`: the rule's exceptions so far; appended values of one of them take its fields.
RuleException read_exception(const EntryReader& reader, const Node& node,
                             const std::vector<RuleException>& earlier) {
    if (node.kind != Node::Kind::mapping)
        reader.fail(node.line, "an exception is a mapping with name, fields, comps, values");
    EntryReader e(node, reader.source(), "exception", "", {"name", "fields", "comps", "values"});
    RuleException ex;
    auto name = e.scalar("name");
    if (!name)
        reader.fail(node.line, "an exception needs a name");
    ex.name = *name;
    ex.line = node.line;
    if (const Node* fields = e.find("fields")) {
        ex.single = fields->kind == Node::Kind::scalar;
        ex.fields = ex.single ? std::vector<std::string>{fields->value} : *e.strings("fields");
    } else {
        auto same = std::find_if(earlier.begin(), earlier.end(),
                                 [&](const RuleException& x) { return x.name == ex.name; });
        if (same == earlier.end())
            reader.fail(node.line, "exception '" + ex.name + "' needs fields");
        ex.single = same->single;
        ex.fields = same->fields;
        ex.comps = same->comps;
    }
    if (const Node* comps = e.find("comps"))
        ex.comps = comps->kind == Node::Kind::scalar ? std::vector<std::string>{comps->value}
                                                     : *e.strings("comps");
    if (ex.comps.empty())
        ex.comps.assign(ex.fields.size(), ex.single ? "in" : "=");
    if (ex.comps.size() != ex.fields.size())
        reader.fail(node.line, "exception '" + ex.name + "': fields and comps differ in length");
    if (const Node* values = e.find("values")) {
        if (values->kind != Node::Kind::sequence)
            reader.fail(values->line, "exception '" + ex.name + "': values must be a list");
        for (const auto& row : values->items) {
            std::vector<std::vector<std::string>> cells;
            if (ex.single) {
                cells.push_back(cell_items(reader, row));
            } else {
                if (row.kind != Node::Kind::sequence || row.items.size() != ex.fields.size())
                    reader.fail(row.line, "exception '" + ex.name + "': each value is a list of " +
                                              std::to_string(ex.fields.size()) + " items");
                for (const auto& cell : row.items)
                    cells.push_back(cell_items(reader, cell));
            }
            ex.values.push_back(std::move(cells));
        }
    }
    return ex;
}

std::vector<RuleException> read_exceptions(const EntryReader& reader,
                                           const std::vector<RuleException>& earlier = {}) {
    std::vector<RuleException> out;
    const Node* node = reader.find("exceptions");
    if (!node)
        return out;
    if (node->kind != Node::Kind::sequence)
        reader.fail(node->line, "exceptions must be a list");
    for (const auto& item : node->items)
        out.push_back(read_exception(reader, item, earlier));
    return out;
}

// Appending exceptions: values of one already there join it, new ones are added.
void append_exceptions(std::vector<RuleException>& into, std::vector<RuleException> more) {
    for (auto& ex : more) {
        auto same = std::find_if(into.begin(), into.end(),
                                 [&](const RuleException& e) { return e.name == ex.name; });
        if (same == into.end())
            into.push_back(std::move(ex));
        else
            same->values.insert(same->values.end(), ex.values.begin(), ex.values.end());
    }
}

Action read_action(const EntryReader& reader) {
    auto text = reader.scalar("action");
    auto action = parse_action(*text);
    if (!action)
        reader.fail(reader.line_of("action"),
                    "action must be alert, deny or kill, not '" + *text + "'");
    return *action;
}

Priority read_priority(const EntryReader& reader) {
    auto text = reader.scalar("priority");
    auto priority = parse_priority(*text);
    if (!priority)
        reader.fail(reader.line_of("priority"), "unknown priority '" + *text + "'");
    return *priority;
}

// A later entry changing an earlier rule: `override` (append or replace per key), legacy
// `append: true` (condition and exceptions appended), or just `enabled` / `action`.
void change_rule(Rule& rule, const EntryReader& reader, const Overrides& overrides, bool append) {
    auto mode = [&](const std::string& key) -> std::string {
        if (!reader.has(key))
            return "";
        if (auto it = overrides.find(key); it != overrides.end())
            return it->second;
        return append && (key == "condition" || key == "exceptions") ? "append" : "replace";
    };
    if (auto m = mode("condition"); !m.empty()) {
        auto text = *reader.scalar("condition");
        rule.condition_text = m == "append" ? "(" + rule.condition_text + ") " + text : text;
        rule.line = reader.line_of("condition");
        rule.source = reader.source();
    }
    for (auto [key, field] : {std::pair{"output", &rule.output}, std::pair{"desc", &rule.desc}})
        if (auto m = mode(key); !m.empty())
            *field = m == "append" ? *field + " " + *reader.scalar(key) : *reader.scalar(key);
    if (auto m = mode("tags"); !m.empty()) {
        auto tags = *reader.strings("tags");
        if (m == "replace")
            rule.tags.clear();
        for (auto& tag : tags)
            if (std::find(rule.tags.begin(), rule.tags.end(), tag) == rule.tags.end())
                rule.tags.push_back(tag);
    }
    if (auto m = mode("exceptions"); !m.empty()) {
        auto more = read_exceptions(reader, rule.exceptions);
        if (m == "replace")
            rule.exceptions.clear();
        append_exceptions(rule.exceptions, std::move(more));
    }
    if (reader.has("enabled"))
        rule.enabled = *reader.boolean("enabled");
    if (reader.has("priority"))
        rule.priority = read_priority(reader);
    if (reader.has("action"))
        rule.action = read_action(reader);
    if (reader.has("source"))
        rule.event_source = *reader.scalar("source");
}

const std::set<std::string> kRuleKeys = {"rule",          "desc",
                                         "condition",     "output",
                                         "priority",      "tags",
                                         "enabled",       "action",
                                         "append",        "source",
                                         "exceptions",    "override",
                                         "warn_evttypes", "skip-if-unknown-filter",
                                         "capture",       "capture_duration"};

void load_rule(const EntryReader& reader, const std::string& name, RuleSet& into) {
    auto existing = std::find_if(into.rules.begin(), into.rules.end(),
                                 [&](const Rule& r) { return r.name == name; });
    bool append = reader.boolean("append").value_or(false);
    Overrides overrides = read_override(
        reader, "rule", {"condition", "output", "desc", "tags", "exceptions"},
        {"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "action",
         "source", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"});
    bool changes = append || !overrides.empty() || !reader.has("condition");
    if (changes && existing == into.rules.end())
        reader.fail(reader.line_of("rule"), append || !overrides.empty()
                                                ? "no earlier rule of this name to change"
                                                : "missing field 'condition'");
    if (changes) {
        change_rule(*existing, reader, overrides, append);
        return;
    }
    Rule rule;
    rule.name = name;
    rule.line = reader.line_of("condition");
    rule.source = reader.source();
    rule.condition_text = *reader.scalar("condition");
    for (const char* key : {"output", "priority"})
        if (!reader.has(key))
            reader.fail(reader.line_of("rule"), std::string("missing field '") + key + "'");
    rule.output = *reader.scalar("output");
    rule.priority = read_priority(reader);
    rule.desc = reader.scalar("desc").value_or("");
    rule.tags = reader.strings("tags").value_or(std::vector<std::string>{});
    rule.enabled = reader.boolean("enabled").value_or(true);
    if (reader.has("action"))
        rule.action = read_action(reader);
    rule.event_source = reader.scalar("source").value_or("syscall");
    rule.exceptions = read_exceptions(reader);
    if (existing != into.rules.end())
        *existing = std::move(rule);
    else
        into.rules.push_back(std::move(rule));
}

void load_list(const EntryReader& reader, const std::string& name, RuleSet& into) {
    Overrides overrides = read_override(reader, "list", {"items"}, {"items"});
    auto items = reader.strings("items");
    if (!items)
        reader.fail(reader.line_of("list"), "missing field 'items'");
    bool append = reader.boolean("append").value_or(false) || appends(overrides, "items");
    if (!overrides.empty() && !into.lists.contains(name))
        reader.fail(reader.line_of("list"), "no earlier list of this name to change");
    auto& list = into.lists[name];
    if (!append)
        list.clear();
    list.insert(list.end(), items->begin(), items->end());
}

void load_macro(const EntryReader& reader, const std::string& name, RuleSet& into) {
    Overrides overrides = read_override(reader, "macro", {"condition"}, {"condition"});
    auto condition = reader.scalar("condition");
    if (!condition)
        reader.fail(reader.line_of("macro"), "missing field 'condition'");
    if (find_field(name) || unsupplied_field(name))
        reader.fail(reader.line_of("macro"), "macro name is a field name");
    bool append = reader.boolean("append").value_or(false) || appends(overrides, "condition");
    if (!overrides.empty() && !into.macros.contains(name))
        reader.fail(reader.line_of("macro"), "no earlier macro of this name to change");
    auto& body = into.macros[name];
    if (append && !body.empty())
        body = "(" + body + ") " + *condition;
    else
        body = *condition;
    into.macro_lines[name] = reader.line_of("condition");
}

// `value` in a condition: a list's name stays bare (the parser expands it), the rest is quoted.
std::string condition_value(const std::string& value, const ConditionDefs& defs) {
    if (defs.lists.contains(value))
        return value;
    std::string out = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

// Falco's exceptions: `and not (f1 c1 v1 and f2 c2 v2 or ...)` per exception.
std::string exception_text(const RuleException& ex, const ConditionDefs& defs) {
    std::string rows;
    for (const auto& row : ex.values) {
        std::string terms;
        for (size_t i = 0; i < ex.fields.size(); ++i) {
            const auto& items = row[i];
            std::string value;
            bool list =
                ex.comps[i] == "in" || ex.comps[i] == "pmatch" || ex.comps[i] == "intersects";
            if (list) {
                for (const auto& item : items)
                    value += (value.empty() ? "" : ", ") + condition_value(item, defs);
                value = "(" + value + ")";
            } else {
                value = condition_value(items.empty() ? "" : items[0], defs);
            }
            terms +=
                (terms.empty() ? "" : " and ") + ex.fields[i] + " " + ex.comps[i] + " " + value;
        }
        rows += (rows.empty() ? "(" : " or (") + terms + ")";
    }
    return rows.empty() ? "" : " and not (" + rows + ")";
}

// evt.type values a condition asks for (outside `not`).
void event_types(const Expr& e, std::set<std::string>& out) {
    if (e.kind == Expr::Kind::compare && e.field == "evt.type" &&
        (e.op == CompareOp::eq || e.op == CompareOp::in))
        out.insert(e.values.begin(), e.values.end());
    if (e.kind == Expr::Kind::and_ || e.kind == Expr::Kind::or_)
        for (const auto& child : e.children)
            event_types(*child, out);
}

// The fields of the syscall's return value, which brig's events carry for opens only.
constexpr std::string_view kResultFields[] = {"evt.res", "evt.rawres", "fd.num"};

bool mentions(const Expr& e, std::string_view field) {
    return (e.kind == Expr::Kind::compare && e.field == field) ||
           std::any_of(e.children.begin(), e.children.end(),
                       [&](const auto& child) { return mentions(*child, field); });
}

// The first result field the condition names, or "".
std::string_view result_field_of(const Expr& e) {
    for (std::string_view field : kResultFields)
        if (mentions(e, field))
            return field;
    return "";
}

// Whether the condition asks for a failed syscall (fd.num = -1, evt.rawres < 0, evt.res =
// ENOENT or startswith E) outside a `not`: brig reports the opens that succeed only.
bool asks_for_failure(const Expr& e) {
    if (e.kind == Expr::Kind::not_)
        return false;
    if (e.kind != Expr::Kind::compare)
        return std::any_of(e.children.begin(), e.children.end(),
                           [](const auto& child) { return asks_for_failure(*child); });
    if (e.values.empty())
        return false;
    if (e.field == "evt.res")
        return e.op == CompareOp::ne ? e.values[0] == "SUCCESS"
                                     : std::any_of(e.values.begin(), e.values.end(),
                                                   [](const auto& v) { return v != "SUCCESS"; });
    if (e.field != "fd.num" && e.field != "evt.rawres")
        return false;
    const long value = std::strtol(e.values[0].c_str(), nullptr, 10);
    return (e.op == CompareOp::eq && value < 0) || (e.op == CompareOp::lt && value <= 0) ||
           (e.op == CompareOp::le && value < 0);
}

// What a condition asks of events of one evt.type: `never` where its evt.type terms rule the
// type out, else the first result field a branch open to that type names ("" for none).
struct AskedOfType {
    bool never = false;
    std::string_view result_field;
};

AskedOfType asked_of(const Expr& e, const std::string& type) {
    AskedOfType out;
    if (e.kind == Expr::Kind::compare) {
        if (e.field == "evt.type" && (e.op == CompareOp::eq || e.op == CompareOp::in))
            out.never = std::find(e.values.begin(), e.values.end(), type) == e.values.end();
        else
            out.result_field = result_field_of(e);
    } else if (e.kind == Expr::Kind::and_ || e.kind == Expr::Kind::or_) {
        const bool all = e.kind == Expr::Kind::and_;
        out.never = !all;
        for (const auto& child : e.children) {
            AskedOfType c = asked_of(*child, type);
            out.never = all ? out.never || c.never : out.never && c.never;
            if (!c.never && out.result_field.empty())
                out.result_field = c.result_field;
        }
        if (out.never)
            out.result_field = "";
    } else if (e.kind == Expr::Kind::not_ && !e.children.empty()) {
        AskedOfType c = asked_of(*e.children[0], type);  // `not` of a branch ruled out holds
        out.result_field = c.never ? "" : c.result_field;
    }
    return out;
}

// Why a rule on the syscall's return value cannot run: for an evt.type that is not an open it
// needs the value (a branch for opens alone may), or it asks for opens that failed.
std::string result_skip_reason(const Expr& condition, const std::set<std::string>& types) {
    if (result_field_of(condition).empty())
        return "";
    const std::set<std::string> execs = {"execve"};  // a condition on no evt.type: execs
    for (const auto& type : types.empty() ? execs : types) {
        if (class_of(type) == EventClass::open)
            continue;
        AskedOfType asked = asked_of(condition, type);
        if (!asked.never && !asked.result_field.empty())
            return "needs field '" + std::string(asked.result_field) + "' of " + type +
                   " (the syscall's return value: brig gives it for opens only)";
    }
    if (asks_for_failure(condition)) {
        std::string fields;
        for (std::string_view name : kResultFields)
            if (mentions(condition, name))
                fields += (fields.empty() ? "'" : ", '") + std::string(name) + "'";
        return "needs field " + fields + " of failed opens (brig reports the opens that succeed)";
    }
    return "";
}

// Why brig cannot run the rule, or "".
std::string skip_reason(const Rule& rule, const std::set<std::string>& missing) {
    if (!missing.empty()) {
        std::string fields;
        for (const auto& field : missing)
            fields += (fields.empty() ? "'" : ", '") + field + "' (" +
                      std::string(*unsupplied_field(field)) + ")";
        return "needs field " + fields;
    }
    std::set<std::string> types;
    event_types(*rule.condition, types);
    if (auto reason = result_skip_reason(*rule.condition, types); !reason.empty())
        return reason;
    if (types.empty() ||
        std::any_of(types.begin(), types.end(), [](const auto& t) { return class_of(t); }))
        return "";
    std::string names;
    for (const auto& type : types)
        names += (names.empty() ? "" : ", ") + type;
    return "evt.type " + names + " not observed by brig";
}

}  // namespace

void resolve_conditions(RuleSet& set) {
    for (auto& rule : set.rules) {
        if (rule.event_source != "syscall") {  // other sources have other fields
            rule.condition.reset();
            rule.skipped = "source '" + rule.event_source + "' is not brig's (syscall)";
            continue;
        }
        std::string text = "(" + rule.condition_text + ")";
        for (const auto& ex : rule.exceptions)
            text += exception_text(ex, set);
        std::set<std::string> missing;
        rule.condition = parse_condition(
            text, set,
            rule.source + ":" + std::to_string(rule.line) + ": rule '" + rule.name + "' condition",
            0, &missing);
        rule.skipped = skip_reason(rule, missing);
        if (!rule.skipped.empty())
            rule.condition.reset();
    }
}

std::vector<std::string> skipped_rules(const RuleSet& set) {
    std::vector<std::string> out;
    for (const auto& rule : set.rules)
        if (rule.enabled && !rule.skipped.empty())
            out.push_back(rule.source + ":" + std::to_string(rule.line) + ": rule '" + rule.name +
                          "' skipped: " + rule.skipped);
    return out;
}

void load_rules(std::string_view text, const std::string& source_name, RuleSet& into) {
    Node root = read_yaml(text, source_name);
    if (root.kind != Node::Kind::sequence)
        throw Error(source_name + ":" + std::to_string(root.line) +
                    ": a rules file is a list of rule, macro and list entries");
    RuleSet staged = into;  // nothing changes unless the whole file is valid
    std::set<std::string> macros_here;
    for (const Node& entry : root.items) {
        auto where = [&](int line) { return source_name + ":" + std::to_string(line) + ": "; };
        if (entry.kind != Node::Kind::mapping)
            throw Error(where(entry.line) + "expected a mapping with rule, macro or list");
        auto has = [&](std::string_view key) {
            return std::any_of(entry.entries.begin(), entry.entries.end(),
                               [&](const auto& kv) { return kv.first.value == key; });
        };
        int kinds = has("rule") + has("macro") + has("list");
        // Falco's version requirements: brig supplies the container fields itself.
        if ((has("required_engine_version") || has("required_plugin_versions")) && kinds == 0)
            continue;
        if (kinds != 1)
            throw Error(where(entry.line) +
                        "an entry must have exactly one of 'rule', 'macro' or 'list'");
        std::string kind = has("rule") ? "rule" : has("macro") ? "macro" : "list";
        std::string name = *EntryReader(entry, source_name, kind, "", {}).scalar(kind);
        if (kind == "list") {
            load_list(EntryReader(entry, source_name, kind, name,
                                  {"list", "items", "append", "override"}),
                      name, staged);
        } else if (kind == "macro") {
            load_macro(EntryReader(entry, source_name, kind, name,
                                   {"macro", "condition", "append", "override"}),
                       name, staged);
            macros_here.insert(name);
        } else {
            load_rule(EntryReader(entry, source_name, kind, name, kRuleKeys), name, staged);
        }
    }
    // Macros may name macros defined later in the file: each is checked once all are known,
    // so that an error points at the macro itself.
    for (const auto& name : macros_here)
        parse_condition(staged.macros[name], staged,
                        source_name + ":" + std::to_string(staged.macro_lines[name]) + ": macro '" +
                            name + "' condition",
                        0, nullptr);
    resolve_conditions(staged);
    into = std::move(staged);
}

void load_rules_file(const std::string& path, RuleSet& into) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        // A rules.d directory: its .yaml, .yml and .json files in name order.
        std::vector<std::string> files;
        for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
            auto ext = entry.path().extension();
            if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
                files.push_back(entry.path().string());
        }
        if (ec)
            throw Error("rules directory " + path, ec.value());
        std::sort(files.begin(), files.end());
        for (const auto& file : files)
            load_rules_file(file, into);
        return;
    }
    std::ifstream in(path);
    if (!in)
        throw Error("rules file " + path, errno);
    std::stringstream text;
    text << in.rdbuf();
    load_rules(text.str(), path, into);
}

}  // namespace brig::monitor
