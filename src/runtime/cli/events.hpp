#pragma once

#include "runtime/common/command_line.hpp"
#include "runtime/lifecycle/container.hpp"

namespace brig::cli {

// `brig events ID`: runc's event stream ({"type":"stats"|"oom","id","data"}), one JSON object a
// line, until the container stops; `--stats` prints one stats event and returns.
int events(lifecycle::Runtime& runtime, const ParsedArgs& args);

}  // namespace brig::cli
