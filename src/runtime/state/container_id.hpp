#pragma once

#include <string_view>

namespace brig::state {

// Container IDs: non-empty, at most 255 bytes (a file name), only [A-Za-z0-9_+.-], not "." or "..".
// Throws brig::Error explaining the problem; called before anything touches the file system.
void validate_container_id(std::string_view id);

}  // namespace brig::state
