// A condition evaluated against one event's fields; Falco-style output formatting.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/rules_condition.hpp"

namespace brig::monitor {

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
