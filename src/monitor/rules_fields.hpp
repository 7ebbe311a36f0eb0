// What a rule may say: its action and priority, and the event fields its condition may use.
#pragma once

#include <cstdint>
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
// proc.aname[N], proc.aexe[N] and proc.aexepath[N] take an index.
const FieldInfo* find_field(std::string_view name);
// A Falco field brig's events cannot supply: why not. Nothing for fields brig supplies or does
// not know at all.
std::optional<std::string_view> unsupplied_field(std::string_view name);
// PTRACE_ATTACH for 16; the number itself when it has no name.
std::string ptrace_request_name(uint64_t request);

std::string ascii_lower(std::string_view text);

}  // namespace brig::monitor
