// SHA-256, only to name the shim's socket after (address, namespace, id) as containerd's shims do.
#pragma once

#include <string>

namespace brig::shim {

// Lowercase hex digest.
std::string sha256_hex(const std::string& data);

}  // namespace brig::shim
