// Falco-style rules: files of `rule`, `macro` and `list` entries (YAML or JSON), conditions over
// event fields, and their evaluation against an event.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brig::monitor {

enum class Action { alert, deny, kill };
std::optional<Action> parse_action(std::string_view text);
std::string_view action_name(Action action);

enum class Priority { emergency, alert, critical, error, warning, notice, informational, debug };
std::optional<Priority> parse_priority(std::string_view text);
std::string_view priority_name(Priority priority);

enum class FieldType { string, number, boolean };

struct FieldInfo {
    std::string_view name;
    FieldType type;
    bool per_container;  // fixed for a container's life: decided when the container registers
    std::string_view description;
};
// The fields conditions may use; `annotations[KEY]` is handled apart.
const std::vector<FieldInfo>& known_fields();
const FieldInfo* find_field(std::string_view name);

enum class CompareOp {
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    in,
    pmatch,
    startswith,
    endswith,
    contains,
    glob,
    exists
};

// A parsed condition; macros are expanded and list names replaced by their items at parse time.
struct Expr {
    enum class Kind { and_, or_, not_, compare, constant };
    Kind kind = Kind::constant;
    std::vector<std::unique_ptr<Expr>> children;  // and_/or_/not_
    std::string field;                            // compare: "proc.name", "annotations[k]"
    CompareOp op = CompareOp::eq;
    std::vector<std::string> values;  // one for binary operators, many for in/pmatch
    bool constant = true;             // constant

    std::unique_ptr<Expr> clone() const;
    std::string to_string() const;
};

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

struct RuleSet {
    std::vector<Rule> rules;
    std::map<std::string, std::vector<std::string>> lists;
    std::map<std::string, std::string> macros;  // name -> condition text, for later files
    std::map<std::string, int> macro_lines;
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

// Parses a condition; `line` and `source` only shape error messages.
std::unique_ptr<Expr> parse_condition(std::string_view text, const RuleSet& context,
                                      const std::string& source, int line);

// The values of one event, by field name; absent fields make comparisons false (but `exists`).
struct EventFields {
    std::map<std::string, std::string, std::less<>> values;
    std::map<std::string, std::string, std::less<>> annotations;
    std::optional<std::string> get(std::string_view field) const;
};

bool evaluate(const Expr& expr, const EventFields& event);
// Falco-style output: replaces %field (and %annotations[k]) with the event's values.
std::string format_output(std::string_view format, const EventFields& event);
// Fields named in an output format, for output_fields.
std::vector<std::string> output_field_names(std::string_view format);

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace brig::monitor
