// Rules files: list, macro and rule entries, later files overriding and extending earlier ones.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "monitor/rules.hpp"
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

    int line_of(std::string_view key) const {
        const Node* node = find(key);
        return node ? node->line : entry_.line;
    }

private:
    const Node& entry_;
    std::string source_;
    std::string kind_;
    std::string name_;
};

void load_rule(const EntryReader& reader, const std::string& name, const std::string& source,
               RuleSet& into) {
    auto existing = std::find_if(into.rules.begin(), into.rules.end(),
                                 [&](const Rule& r) { return r.name == name; });
    bool append = reader.boolean("append").value_or(false);
    auto condition = reader.scalar("condition");
    if (existing != into.rules.end() && (append || !condition)) {
        // Overrides of an earlier rule: extend its condition or change enabled/action/priority.
        if (append && condition)
            existing->condition_text = "(" + existing->condition_text + ") " + *condition;
        if (auto enabled = reader.boolean("enabled"))
            existing->enabled = *enabled;
        if (auto action = reader.scalar("action")) {
            existing->action = parse_action(*action);
            if (!existing->action)
                reader.fail(reader.line_of("action"),
                            "action must be alert, deny or kill, not '" + *action + "'");
        }
        return;
    }
    if (append)
        reader.fail(reader.line_of("append"), "append to a rule that does not exist");
    Rule rule;
    rule.name = name;
    rule.line = reader.line_of("condition");
    rule.source = source;
    if (!condition)
        reader.fail(reader.line_of("rule"), "missing field 'condition'");
    rule.condition_text = *condition;
    auto output = reader.scalar("output");
    if (!output)
        reader.fail(reader.line_of("rule"), "missing field 'output'");
    rule.output = *output;
    auto priority = reader.scalar("priority");
    if (!priority)
        reader.fail(reader.line_of("rule"), "missing field 'priority'");
    auto parsed_priority = parse_priority(*priority);
    if (!parsed_priority)
        reader.fail(reader.line_of("priority"), "unknown priority '" + *priority + "'");
    rule.priority = *parsed_priority;
    rule.desc = reader.scalar("desc").value_or("");
    rule.tags = reader.strings("tags").value_or(std::vector<std::string>{});
    rule.enabled = reader.boolean("enabled").value_or(true);
    if (auto action = reader.scalar("action")) {
        rule.action = parse_action(*action);
        if (!rule.action)
            reader.fail(reader.line_of("action"),
                        "action must be alert, deny or kill, not '" + *action + "'");
    }
    if (existing != into.rules.end())
        *existing = std::move(rule);
    else
        into.rules.push_back(std::move(rule));
}

}  // namespace

void resolve_conditions(RuleSet& set) {
    for (auto& rule : set.rules)
        rule.condition = parse_condition(
            rule.condition_text, set,
            rule.source + ":" + std::to_string(rule.line) + ": rule '" + rule.name + "' condition",
            0);
}

void load_rules(std::string_view text, const std::string& source_name, RuleSet& into) {
    Node root = read_yaml(text, source_name);
    if (root.kind != Node::Kind::sequence)
        throw Error(source_name + ":" + std::to_string(root.line) +
                    ": a rules file is a list of rule, macro and list entries");
    RuleSet staged = into;  // nothing changes unless the whole file is valid
    for (auto& rule : staged.rules)
        rule.condition.reset();
    for (const Node& entry : root.items) {
        auto where = [&](int line) { return source_name + ":" + std::to_string(line) + ": "; };
        if (entry.kind != Node::Kind::mapping)
            throw Error(where(entry.line) + "expected a mapping with rule, macro or list");
        auto has = [&](std::string_view key) {
            return std::any_of(entry.entries.begin(), entry.entries.end(),
                               [&](const auto& kv) { return kv.first.value == key; });
        };
        int kinds = has("rule") + has("macro") + has("list");
        if (has("required_engine_version") && kinds == 0)
            continue;
        if (kinds != 1)
            throw Error(where(entry.line) +
                        "an entry must have exactly one of 'rule', 'macro' or 'list'");
        if (has("list")) {
            EntryReader probe(entry, source_name, "list", "", {});  // reads the name only
            std::string name = *probe.scalar("list");
            EntryReader reader(entry, source_name, "list", name, {"list", "items", "append"});
            auto items = reader.strings("items");
            if (!items)
                reader.fail(reader.line_of("list"), "missing field 'items'");
            auto& list = staged.lists[name];
            if (!reader.boolean("append").value_or(false))
                list.clear();
            list.insert(list.end(), items->begin(), items->end());
        } else if (has("macro")) {
            EntryReader probe(entry, source_name, "macro", "", {});  // reads the name only
            std::string name = *probe.scalar("macro");
            EntryReader reader(entry, source_name, "macro", name, {"macro", "condition", "append"});
            auto condition = reader.scalar("condition");
            if (!condition)
                reader.fail(reader.line_of("macro"), "missing field 'condition'");
            if (find_field(name))
                reader.fail(reader.line_of("macro"), "macro name is a field name");
            auto& body = staged.macros[name];
            if (reader.boolean("append").value_or(false) && !body.empty())
                body = "(" + body + ") " + *condition;
            else
                body = *condition;
            staged.macro_lines[name] = reader.line_of("condition");
            // Parse now so that the error points at the macro itself.
            parse_condition(body, staged,
                            source_name + ":" + std::to_string(reader.line_of("condition")) +
                                ": macro '" + name + "' condition",
                            0);
        } else {
            static const std::set<std::string> allowed = {
                "rule", "desc",    "condition", "output", "priority",
                "tags", "enabled", "action",    "append", "source"};
            EntryReader probe(entry, source_name, "rule", "", {});  // reads the name only
            std::string name = *probe.scalar("rule");
            EntryReader reader(entry, source_name, "rule", name, allowed);
            load_rule(reader, name, source_name, staged);
        }
    }
    resolve_conditions(staged);
    into = std::move(staged);
}

void load_rules_file(const std::string& path, RuleSet& into) {
    std::ifstream in(path);
    if (!in)
        throw Error("rules file " + path, errno);
    std::stringstream text;
    text << in.rdbuf();
    load_rules(text.str(), path, into);
}

}  // namespace brig::monitor
