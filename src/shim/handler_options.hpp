// What a runtime handler asks of brig's shim through a task's options (CreateTaskRequest.options):
// CRI's per-handler ConfigPath (its `options` table for a runtime_type other than runc's, and
// `ctr run --runtime-config-path`), or the runc shim's options where a handler gives those.
#pragma once

#include <string>

namespace brig::shim {

struct HandlerOptions {
    // brig's --config for this handler's containers (monitor rules, default action, outputs);
    // "" for the shim's own (/etc/brig/config.json).
    std::string config_path;
    bool systemd_cgroup = false;
    bool no_pivot_root = false;
    bool no_new_keyring = false;
};

// Decodes the options Any (type_url, serialized value). Empty: the defaults. Throws naming
// "options" for a type brig does not know, a malformed value or a relative config path.
HandlerOptions parse_handler_options(const std::string& type_url, const std::string& value);

}  // namespace brig::shim
