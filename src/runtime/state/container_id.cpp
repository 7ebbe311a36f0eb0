#include "runtime/state/container_id.hpp"

#include <string>

#include "runtime/common/error.hpp"

namespace brig::state {

void validate_container_id(std::string_view id) {
    constexpr size_t max_length = 1024;
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
            throw Error("invalid container id \"" + std::string(id.substr(0, 64)) +
                        "\": only letters, digits and _ + . - are allowed");
    }
}

}  // namespace brig::state
