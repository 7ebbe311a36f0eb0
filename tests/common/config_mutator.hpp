// Mutations of valid config.json documents for the config fuzzers (the parser's, in-process, in
// tests/unit, and brig create's, end to end, in tests/integration): a fixed seed makes a failing
// case reproducible by its number.
#pragma once

#include <cctype>
#include <cstdint>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace brig::testing {

using nlohmann::json;

// Every value's location in the document, as a JSON pointer.
inline void collect_pointers(const json& node, const json::json_pointer& at,
                             std::vector<json::json_pointer>& out) {
    out.push_back(at);
    if (node.is_object()) {
        for (const auto& [key, value] : node.items())
            collect_pointers(value, at / key, out);
    } else if (node.is_array()) {
        for (size_t i = 0; i < node.size(); ++i)
            collect_pointers(node[i], at / i, out);
    }
}

// "/process/args/0" -> "/process/args/#": the field, whichever element.
inline std::string field_of(const json::json_pointer& at) {
    std::string out;
    for (std::string rest = at.to_string(); !rest.empty();) {
        size_t next = rest.find('/', 1);
        std::string part = rest.substr(0, next);
        bool index =
            part.size() > 1 && part.find_first_not_of("0123456789", 1) == std::string::npos;
        out += index ? "/#" : part;
        rest = next == std::string::npos ? "" : rest.substr(next);
    }
    return out;
}

// A value of another shape than most fields expect: the types, the edges of the numbers, and
// strings a tenant would try (empty, huge, NUL, traversal, a host path).
inline json hostile_value(std::mt19937_64& rng) {
    static const std::vector<json> values = {
        nullptr,
        true,
        -1,
        0,
        json(INT64_MIN),
        json(UINT64_MAX),
        1.5,
        -0.0,
        "",
        std::string(10000, 'a'),
        std::string("a\0b", 3),
        "../../../../etc/shadow",
        "/proc/self/exe",
        "\xff\xfe",
        json::array(),
        json::array({1, "x", nullptr}),
        json::object(),
        json::object({{"unknown", 1}}),
    };
    return values[rng() % values.size()];
}

using FieldPlaces = std::vector<std::vector<json::json_pointer>>;

// The places of a seed document grouped by field, so that each field is equally likely,
// whatever the length of its array (seccomp's 300 names would otherwise take most cases).
inline FieldPlaces places_by_field(const json& seed) {
    std::vector<json::json_pointer> pointers;
    collect_pointers(seed, json::json_pointer(), pointers);
    std::map<std::string, std::vector<json::json_pointer>> by_field;
    for (size_t i = 1; i < pointers.size(); ++i)
        by_field[field_of(pointers[i])].push_back(pointers[i]);
    FieldPlaces out;
    for (auto& [field, places] : by_field)
        out.push_back(std::move(places));
    return out;
}

// One mutation of `doc` at a random place of its seed: a value replaced, a member removed, an
// unknown member added, an array element duplicated. Returns where ("" when an earlier
// mutation removed the place).
inline std::string mutate(json& doc, const FieldPlaces& fields, std::mt19937_64& rng) {
    const auto& places = fields[rng() % fields.size()];
    json::json_pointer at = places[rng() % places.size()];
    if (!doc.contains(at))
        return "";
    json& target = doc[at];
    switch (rng() % 4) {
        case 0:
            target = hostile_value(rng);
            break;
        case 1: {
            json& parent = doc[at.parent_pointer()];
            if (parent.is_object())
                parent.erase(at.back());
            else
                target = hostile_value(rng);
            break;
        }
        case 2:
            if (target.is_object())
                target["x-unknown-" + std::to_string(rng() % 100)] = hostile_value(rng);
            else
                target = hostile_value(rng);
            break;
        default:
            if (target.is_array() && !target.empty())
                target.push_back(target[rng() % target.size()]);
            else
                target = hostile_value(rng);
            break;
    }
    return at.to_string();
}

// "process.args[0]: ..." or "linux.resources.memory: ..." (a path, then a colon), or an error
// about the document as a whole ("config: ...").
inline bool starts_with_a_json_path(const std::string& message) {
    size_t colon = message.find(": ");
    if (colon == std::string::npos || colon == 0)
        return false;
    std::string head = message.substr(0, colon);
    // "mounts[5] (/sys): ...": the path, then what it holds in parentheses.
    if (size_t open = head.find(" ("); open != std::string::npos && head.back() == ')')
        head.resize(open);
    for (char c : head) {
        bool path_char = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '[' ||
                         c == ']' || c == '_' || c == '-' || c == '"' || c == '/' || c == '+';
        if (!path_char)
            return false;
    }
    return !head.empty();
}

// 1 to 3 mutations of `doc`; where they were, for the test's trace.
inline std::string mutate_some(json& doc, const FieldPlaces& fields, std::mt19937_64& rng) {
    std::string where;
    for (int m = 0, n = 1 + static_cast<int>(rng() % 3); m < n; ++m)
        where += mutate(doc, fields, rng) + " ";
    return where;
}

}  // namespace brig::testing
