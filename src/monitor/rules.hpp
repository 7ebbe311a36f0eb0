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

// Falco's rule exceptions: the rule does not match where, for one of the value tuples, every
// field compares true (`fields: [a, b]`, `comps: [=, in]`, `values: [[x, [y, z]]]`); with one
// field (`fields: a`, `comps: in`) values is a plain list.
struct RuleException {
    std::string name;
    std::vector<std::string> fields;
    bool single = false;
    std::vector<std::string> comps;
    std::vector<std::vector<std::vector<std::string>>> values;  // tuple -> field -> items
    int line = 0;
};

struct Rule {
    std::string name;
    std::string desc;
    std::string condition_text;
    std::string output;
    Priority priority = Priority::warning;
    std::vector<std::string> tags;
    bool enabled = true;
    std::optional<Action> action;  // unset: the configured default action
    std::vector<RuleException> exceptions;
    std::string event_source = "syscall";   // Falco's `source`
    std::shared_ptr<const Expr> condition;  // parsed, macros, lists and exceptions expanded
    std::string skipped;                    // why brig cannot run it ("" = it runs)
    std::string source;                     // file, for messages
    int line = 0;
};

struct RuleSet : ConditionDefs {
    std::vector<Rule> rules;
};

// Reads one rules document (YAML or JSON) and appends to `into`: later files may use and change
// the lists, macros and rules of earlier ones (same name: replaced; `override: {key: append |
// replace}` or legacy `append: true`: extended; `enabled: false` alone: disabled). Falco's
// required_engine_version / required_plugin_versions entries are accepted. A rule that needs a
// field brig cannot give, another source or only syscalls brig does not observe is kept but
// skipped (Rule::skipped). Throws brig::Error naming the source, the line and the problem.
void load_rules(std::string_view text, const std::string& source_name, RuleSet& into);
// A file, or a directory (rules.d) whose .yaml, .yml and .json files load in name order.
void load_rules_file(const std::string& path, RuleSet& into);
// Parses (again) every rule's condition against the set's current macros and lists.
void resolve_conditions(RuleSet& set);
// "file:line: rule 'X' skipped: needs field 'fd.num' (why)" for every enabled skipped rule.
std::vector<std::string> skipped_rules(const RuleSet& set);
// The rule set compiled into brig (src/monitor/rules/default.yaml).
std::string_view default_rules_text();

// The line of every mapping key of a YAML or JSON document by dotted path ("monitor.outputs"),
// for messages about other structured files (the --config file). Throws on syntax errors.
std::map<std::string, int> key_lines(std::string_view text, const std::string& source);

}  // namespace brig::monitor
