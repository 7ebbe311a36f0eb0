// Typed, path-aware reads from a parsed JSON document. Every failure throws brig::Error whose
// message starts with the JSON path of the offending value ("process.user.uid: must be ...").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace brig::config {

// Parses JSON text, naming `what` (e.g. "config.json") in errors:
// "config.json: invalid JSON at byte N: <reason>". Nesting deeper than `max_depth` is refused
// up front, so no later recursive walk (copy, compare, dump) of the document can exhaust the stack.
nlohmann::json parse_json_text(std::string_view text, const std::string& what,
                               std::size_t max_depth = 128);

// The size cap for a bundle's config.json.
inline constexpr std::size_t config_json_size_limit = 4 << 20;

// Reads a regular file of at most `limit` bytes. Errors: "<path>: <strerror>",
// "<path>: not a regular file" (FIFOs are refused without blocking), and
// "<what>: too large (N bytes, limit L bytes)".
std::string read_capped_file(const std::string& path, std::size_t limit, const std::string& what);

// The same for a file the user names on the command line (`exec --process`, `update
// --resources`): a pipe or FIFO is read too (`-p <(...)`, as runc allows), blocking on it.
std::string read_capped_user_file(const std::string& path, std::size_t limit,
                                  const std::string& what);

// A JSON value together with the path that names it. Does not own the value.
class JsonNode {
public:
    JsonNode(const nlohmann::json& value, std::string path)
        : value_(&value), path_(std::move(path)) {}

    const nlohmann::json& value() const { return *value_; }
    const std::string& path() const { return path_; }

    [[noreturn]] void fail(const std::string& problem) const;

    // Null counts as absent, as Go's encoding/json (the spec's reference) reads it.
    bool is_null() const { return value_->is_null(); }

    // Object members. The node must be an object.
    void expect_object() const;
    bool has(const char* key) const;
    JsonNode required(const char* key) const;  // "<path>.<key>: required"
    std::optional<JsonNode> optional(const char* key) const;

    // Array elements. The node must be an array.
    std::size_t array_size() const;
    JsonNode element(std::size_t index) const;
    void for_each_element(const std::function<void(const JsonNode&)>& visit) const;
    // Object entries as "<path>[\"key\"]".
    void for_each_member(
        const std::function<void(const std::string& key, const JsonNode&)>& visit) const;

    // Scalars.
    std::string as_string() const;  // a string without NUL bytes
    bool as_bool() const;
    int32_t as_int32() const;
    int64_t as_int64() const;
    uint16_t as_uint16() const;
    uint32_t as_uint32() const;
    uint64_t as_uint64() const;
    // An integer in [min, max]; the message says "must be an integer in [min, max]".
    int64_t as_int_in(int64_t min, int64_t max) const;

    // Compound.
    std::vector<std::string> as_string_array() const;
    std::map<std::string, std::string> as_string_map() const;

private:
    const nlohmann::json* value_;
    std::string path_;
};

// Path of a member / element / map entry below `parent` ("" is the document root).
std::string member_path(const std::string& parent, std::string_view key);
std::string element_path(const std::string& parent, std::size_t index);
std::string entry_path(const std::string& parent, std::string_view key);

// A string made safe for a one-line message: control bytes escaped, long text cut.
std::string printable(std::string_view text, std::size_t limit = 64);

}  // namespace brig::config
