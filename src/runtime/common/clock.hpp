#pragma once

#include <string>

namespace brig {

// Current UTC time as RFC 3339 with nanoseconds ("2026-11-22T07:00:00.123456789Z").
std::string rfc3339_now();

}  // namespace brig
