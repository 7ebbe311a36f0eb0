// OCI hooks: run with the container state on stdin, a timeout, and an error when they fail.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/config/spec.hpp"

namespace brig::lifecycle {

// Runs one hook to completion. Throws naming the hook kind, index and path on failure,
// non-zero exit or timeout (the hook is killed).
void run_hook(const config::Hook& hook, const std::string& state_json, const std::string& what);

// Runs every hook of a kind in order; `kind` is the config key ("createRuntime").
void run_hooks(const std::vector<config::Hook>& hooks, const std::string& state_json,
               const std::string& kind);

// As run_hooks, but a failing hook is passed to warn and the next one runs (poststart and
// poststop: the runtime-spec has the runtime log a warning and go on).
void run_hooks_warning(const std::vector<config::Hook>& hooks, const std::string& state_json,
                       const std::string& kind,
                       const std::function<void(const std::string&)>& warn);

}  // namespace brig::lifecycle
