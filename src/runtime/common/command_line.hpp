// runc-style command lines: long flags with one or two dashes, "--flag value" or "--flag=value",
// boolean flags, and positional arguments; "--" ends the flags.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace brig {

struct FlagSpec {
    std::set<std::string> with_value;  // names without dashes, e.g. "bundle", "b"
    std::set<std::string> boolean;
    bool stop_at_first_positional = false;  // exec: the command's own args follow
};

class ParsedArgs {
public:
    std::optional<std::string> value(const std::string& name) const;
    std::string value_or(const std::string& name, const std::string& fallback) const;
    std::vector<std::string> values(const std::string& name) const;  // repeated flags
    bool has(const std::string& name) const;

    std::vector<std::string> positional;
    size_t first_positional_index = 0;  // index in args of positional[0]
    std::multimap<std::string, std::string> flags;
};

// Parses args[begin..]; throws brig::Error("unknown flag --x" / "flag --x needs a value").
ParsedArgs parse_args(const std::vector<std::string>& args, size_t begin, const FlagSpec& spec);

}  // namespace brig
