#include "runtime/common/elide.hpp"

namespace brig {

std::string elide(std::string_view text, size_t limit) {
    if (text.size() <= limit)
        return std::string(text);
    const size_t head = limit / 2, tail = limit / 4;
    return std::string(text.substr(0, head)) + "...(" + std::to_string(text.size()) + " bytes)..." +
           std::string(text.substr(text.size() - tail));
}

}  // namespace brig
