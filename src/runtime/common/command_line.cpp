#include "runtime/common/command_line.hpp"

#include "runtime/common/error.hpp"

namespace brig {

std::optional<std::string> ParsedArgs::value(const std::string& name) const {
    auto range = flags.equal_range(name);
    if (range.first == range.second)
        return std::nullopt;
    return std::prev(range.second)->second;  // the last one wins
}

std::string ParsedArgs::value_or(const std::string& name, const std::string& fallback) const {
    return value(name).value_or(fallback);
}

std::vector<std::string> ParsedArgs::values(const std::string& name) const {
    std::vector<std::string> out;
    auto range = flags.equal_range(name);
    for (auto it = range.first; it != range.second; ++it)
        out.push_back(it->second);
    return out;
}

bool ParsedArgs::has(const std::string& name) const {
    return flags.count(name) > 0;
}

ParsedArgs parse_args(const std::vector<std::string>& args, size_t begin, const FlagSpec& spec) {
    ParsedArgs out;
    bool flags_done = false;
    for (size_t i = begin; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (flags_done || a.size() < 2 || a[0] != '-') {
            if (out.positional.empty())
                out.first_positional_index = i;
            out.positional.push_back(a);
            if (spec.stop_at_first_positional)
                flags_done = true;
            continue;
        }
        if (a == "--") {
            flags_done = true;
            continue;
        }
        std::string name = a.substr(a[1] == '-' ? 2 : 1);
        std::optional<std::string> inline_value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name.resize(eq);
        }
        if (spec.with_value.count(name)) {
            if (inline_value) {
                out.flags.emplace(name, *inline_value);
            } else {
                if (i + 1 >= args.size())
                    throw Error("flag " + a + " needs a value");
                out.flags.emplace(name, args[++i]);
            }
        } else if (spec.boolean.count(name)) {
            if (inline_value && *inline_value == "false")
                continue;
            out.flags.emplace(name, "true");
        } else {
            throw Error("unknown flag " + a);
        }
    }
    return out;
}

}  // namespace brig
