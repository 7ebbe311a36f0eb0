// User input (a path, a value) as echoed in a one-line error message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace brig {

// text whole up to `limit` bytes, otherwise its start and end around "...(N bytes)...", so
// that a 5 KB path still gives a short line.
std::string elide(std::string_view text, size_t limit = 160);

}  // namespace brig
