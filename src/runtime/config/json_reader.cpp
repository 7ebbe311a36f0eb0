#include "runtime/config/json_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::config {
namespace {

// Finds where nesting first exceeds max_depth, skipping string contents. The text need not be
// valid JSON: the real parser reports any other problem.
std::optional<std::size_t> too_deep_at(std::string_view text, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
            case '{':
                if (++depth > max_depth)
                    return i;
                break;
            case ']':
            case '}':
                if (depth > 0)
                    --depth;
                break;
            default:
                break;
        }
    }
    return std::nullopt;
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1,
// column 2: "; keep only the reason, which is what a user can act on.
std::string parse_reason(const std::string& what) {
    std::string reason = what;
    if (!reason.empty() && reason.front() == '[') {
        const auto close = reason.find("] ");
        if (close != std::string::npos)
            reason.erase(0, close + 2);
    }
    if (reason.rfind("parse error", 0) == 0) {
        const auto colon = reason.find(": ");
        if (colon != std::string::npos)
            reason.erase(0, colon + 2);
    }
    return printable(reason, 160);
}

[[noreturn]] void type_error(const JsonNode& node, const char* expected) {
    node.fail(std::string("must be ") + expected);
}

template <typename T>
T integer_in_range(const JsonNode& node, const char* description) {
    const auto& v = node.value();
    if (v.is_number_unsigned()) {
        const auto n = v.get<uint64_t>();
        if (n <= static_cast<uint64_t>(std::numeric_limits<T>::max()))
            return static_cast<T>(n);
    } else if (v.is_number_integer()) {
        const auto n = v.get<int64_t>();
        if (n >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
            (n < 0 ||
             static_cast<uint64_t>(n) <= static_cast<uint64_t>(std::numeric_limits<T>::max())))
            return static_cast<T>(n);
    }
    type_error(node, description);
}

}  // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& what,
                               std::size_t max_depth) {
    if (auto at = too_deep_at(text, max_depth))
        throw Error(what + ": invalid JSON at byte " + std::to_string(*at + 1) +
                    ": nested deeper than " + std::to_string(max_depth) + " levels");
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(what + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                    parse_reason(e.what()));
    } catch (const nlohmann::json::exception& e) {
        // Number overflow (1e400) is reported as out_of_range, without a position.
        throw Error(what + ": invalid JSON: " + parse_reason(e.what()));
    }
}

namespace {

// `size`: what fstat said (0 for a pipe).
std::string read_capped_fd(int fd, off_t size, const std::string& path, std::size_t limit,
                           const std::string& what) {
    auto too_large = [&](uint64_t size) {
        return Error(what + ": too large (" + std::to_string(size) + " bytes, limit " +
                     std::to_string(limit) + " bytes)");
    };
    if (static_cast<uint64_t>(size) > limit)
        throw too_large(static_cast<uint64_t>(size));

    // Read to the limit whatever fstat said: the file may grow under us. The buffer starts at
    // the file's size and grows: one of the full limit would touch megabytes at every create.
    std::string text(static_cast<std::size_t>(size) + 1, '\0');
    std::size_t used = 0;
    while (used <= limit) {
        if (used == text.size())
            text.resize(std::min(text.size() * 2, limit + 1));
        const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno(path);
        }
        if (n == 0)
            break;
        used += static_cast<std::size_t>(n);
    }
    if (used > limit)
        throw too_large(used);
    text.resize(used);
    return text;
}

// pipes: a FIFO is read too, blocking on it; otherwise O_NONBLOCK, so that a FIFO planted in
// place of the file cannot hang us, and only a regular file is read.
std::string read_capped(const std::string& path, std::size_t limit, const std::string& what,
                        bool pipes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (pipes ? 0 : O_NONBLOCK)));
    if (!fd)
        throw Error(path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw_errno(path);
    if (S_ISFIFO(st.st_mode) && pipes)
        return read_capped_fd(fd.get(), 0, path, limit, what);
    if (!S_ISREG(st.st_mode))
        throw Error(path + (pipes ? ": not a regular file or a pipe" : ": not a regular file"));
    return read_capped_fd(fd.get(), st.st_size, path, limit, what);
}

}  // namespace

std::string read_capped_file(const std::string& path, std::size_t limit, const std::string& what) {
    return read_capped(path, limit, what, false);
}

std::string read_capped_user_file(const std::string& path, std::size_t limit,
                                  const std::string& what) {
    return read_capped(path, limit, what, true);
}

std::string printable(std::string_view text, std::size_t limit) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (out.size() >= limit) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            static const char hex[] = "0123456789abcdef";
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else {
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            }
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string member_path(const std::string& parent, std::string_view key) {
    if (parent.empty())
        return std::string(key);
    return parent + "." + std::string(key);
}

std::string element_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

std::string entry_path(const std::string& parent, std::string_view key) {
    return parent + "[\"" + printable(key) + "\"]";
}

void JsonNode::fail(const std::string& problem) const {
    throw Error((path_.empty() ? std::string("config") : path_) + ": " + problem);
}

void JsonNode::expect_object() const {
    if (!value_->is_object())
        type_error(*this, "an object");
}

bool JsonNode::has(const char* key) const {
    expect_object();
    auto it = value_->find(key);
    return it != value_->end() && !it->is_null();
}

JsonNode JsonNode::required(const char* key) const {
    expect_object();
    auto it = value_->find(key);
    if (it == value_->end() || it->is_null())
        throw Error(member_path(path_, key) + ": required");
    return JsonNode(*it, member_path(path_, key));
}

std::optional<JsonNode> JsonNode::optional(const char* key) const {
    expect_object();
    auto it = value_->find(key);
    if (it == value_->end() || it->is_null())
        return std::nullopt;
    return JsonNode(*it, member_path(path_, key));
}

std::size_t JsonNode::array_size() const {
    if (!value_->is_array())
        type_error(*this, "an array");
    return value_->size();
}

JsonNode JsonNode::element(std::size_t index) const {
    if (index >= array_size())
        fail("index " + std::to_string(index) + " out of range");
    return JsonNode((*value_)[index], element_path(path_, index));
}

void JsonNode::for_each_element(const std::function<void(const JsonNode&)>& visit) const {
    const std::size_t n = array_size();
    for (std::size_t i = 0; i < n; ++i)
        visit(JsonNode((*value_)[i], element_path(path_, i)));
}

void JsonNode::for_each_member(
    const std::function<void(const std::string&, const JsonNode&)>& visit) const {
    expect_object();
    for (auto it = value_->begin(); it != value_->end(); ++it) {
        if (it.key().find('\0') != std::string::npos)
            throw Error(entry_path(path_, it.key()) + ": key must not contain a NUL byte");
        visit(it.key(), JsonNode(it.value(), entry_path(path_, it.key())));
    }
}

std::string JsonNode::as_string() const {
    if (!value_->is_string())
        type_error(*this, "a string");
    const auto& s = value_->get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos)
        fail("must not contain a NUL byte");
    return s;
}

bool JsonNode::as_bool() const {
    if (!value_->is_boolean())
        type_error(*this, "a boolean");
    return value_->get<bool>();
}

int32_t JsonNode::as_int32() const {
    return integer_in_range<int32_t>(*this, "a 32-bit integer");
}

int64_t JsonNode::as_int64() const {
    return integer_in_range<int64_t>(*this, "a 64-bit integer");
}

uint16_t JsonNode::as_uint16() const {
    return integer_in_range<uint16_t>(*this, "an unsigned 16-bit integer");
}

uint32_t JsonNode::as_uint32() const {
    return integer_in_range<uint32_t>(*this, "an unsigned 32-bit integer");
}

uint64_t JsonNode::as_uint64() const {
    return integer_in_range<uint64_t>(*this, "an unsigned 64-bit integer");
}

int64_t JsonNode::as_int_in(int64_t min, int64_t max) const {
    const std::string range =
        "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    int64_t n = 0;
    if (value_->is_number_unsigned()) {
        const auto u = value_->get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            type_error(*this, range.c_str());
        n = static_cast<int64_t>(u);
    } else if (value_->is_number_integer()) {
        n = value_->get<int64_t>();
    } else {
        type_error(*this, range.c_str());
    }
    if (n < min || n > max)
        type_error(*this, range.c_str());
    return n;
}

std::vector<std::string> JsonNode::as_string_array() const {
    std::vector<std::string> out;
    out.reserve(array_size());
    for_each_element([&](const JsonNode& e) { out.push_back(e.as_string()); });
    return out;
}

std::map<std::string, std::string> JsonNode::as_string_map() const {
    std::map<std::string, std::string> out;
    for_each_member([&](const std::string& key, const JsonNode& v) {
        if (key.empty())
            v.fail("key must not be empty");
        out.emplace(key, v.as_string());
    });
    return out;
}

}  // namespace brig::config
