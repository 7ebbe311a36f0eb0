// What a rule may say: its action and priority, and the event fields its condition may use.
#pragma once

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

std::string ascii_lower(std::string_view text);

}  // namespace brig::monitor
