#pragma once

#include <string>
#include <vector>

#include "runtime/common/log.hpp"

namespace brig::cli {

struct Context {
    std::string root;
    const Logger& log;
    bool systemd_cgroup = false;
    std::string monitor_config;
};

// Runs the verb at args[verb_index]; returns the process exit status.
int dispatch(const Context& ctx, const std::vector<std::string>& args, size_t verb_index);

}  // namespace brig::cli
