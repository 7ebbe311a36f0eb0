#include "runtime/state/container_id.hpp"

#include <cstdio>
#include <string>

#include "runtime/common/error.hpp"

namespace brig::state {
namespace {

// The id as it can be shown on one line: control and non-ASCII bytes as \xNN.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

}  // namespace

void validate_container_id(std::string_view id) {
    // The id names the state directory and the cgroup directory: one file name (NAME_MAX).
    constexpr size_t max_length = 255;
    if (id.empty())
        throw Error("invalid container id: must not be empty");
    if (id.size() > max_length)
        throw Error("invalid container id: longer than " + std::to_string(max_length) + " bytes (" +
                    std::to_string(id.size()) + ")");
    if (id == "." || id == "..")
        throw Error("invalid container id \"" + std::string(id) + "\": must not be . or ..");
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '.' || c == '-';
        if (!ok)
            throw Error("invalid container id \"" + printable(id.substr(0, 64)) +
                        "\": only letters, digits and _ + . - are allowed");
    }
}

}  // namespace brig::state
