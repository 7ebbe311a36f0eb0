// Checked values of flags and environment variables: bad input is one error naming where it
// came from ("--preserve-fds: ..."), never a bare std::stoi exception.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace brig::cli {

// A decimal integer in [min, max]: digits only (a leading '-' where min < 0), no spaces or
// units. `what` names the flag or variable in the error.
int64_t parse_integer(std::string_view text, int64_t min, int64_t max, const std::string& what);

// runc's `--pid-file`: relative to the directory brig was started in. Its directory must exist,
// checked before anything is started, so that a pid file that cannot be written fails first
// (naming the flag) rather than after a process runs.
std::string checked_pid_file(const std::string& path);

// `state`, `features`: indented JSON and a newline on stdout.
void print_json(const nlohmann::json& value);

}  // namespace brig::cli
