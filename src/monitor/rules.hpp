// Falco-style rules: files of `rule`, `macro` and `list` entries (YAML or JSON). The grammar of
// conditions is in rules_condition.hpp, their evaluation in rules_eval.hpp, fields in
// rules_fields.hpp; this is the loader.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/rules_condition.hpp"
#include "monitor/rules_eval.hpp"
#include "monitor/rules_fields.hpp"

namespace brig::monitor {

struct Rule {
    std::string name;
    std::string desc;
    std::string condition_text;
    std::string output;
    Priority priority = Priority::warning;
    std::vector<std::string> tags;
    bool enabled = true;
    std::optional<Action> action;           // unset: the configured default action
    std::shared_ptr<const Expr> condition;  // parsed, macros and lists expanded
    std::string source;                     // "file:line" for messages
    int line = 0;
};

struct RuleSet : ConditionDefs {
    std::vector<Rule> rules;
};

// Reads one rules document (YAML or JSON) and appends to `into`: later files may use and override
// the lists, macros and rules of earlier ones (same name: replaced; `append: true`: extended).
// Throws brig::Error naming the source, the line and the problem.
void load_rules(std::string_view text, const std::string& source_name, RuleSet& into);
void load_rules_file(const std::string& path, RuleSet& into);
// Parses (again) every rule's condition against the set's current macros and lists.
void resolve_conditions(RuleSet& set);
// The rule set compiled into brig (src/monitor/rules/default.yaml).
std::string_view default_rules_text();

// The line of every mapping key of a YAML or JSON document by dotted path ("monitor.outputs"),
// for messages about other structured files (the --config file). Throws on syntax errors.
std::map<std::string, int> key_lines(std::string_view text, const std::string& source);

}  // namespace brig::monitor
