#include "shim/handler_options.hpp"

#include "runtime/common/error.hpp"
#include "runtime_options.pb.h"

namespace brig::shim {

namespace {

// "runtimeoptions.v1.Options", with or without a "type.googleapis.com/" style prefix.
bool names(const std::string& type_url, const std::string& type) {
    return type_url == type || type_url.ends_with("/" + type);
}

}  // namespace

HandlerOptions parse_handler_options(const std::string& type_url, const std::string& value) {
    HandlerOptions out;
    if (type_url.empty())
        return out;
    const std::string shown = type_url.substr(0, 128);
    if (names(type_url, "runtimeoptions.v1.Options")) {
        options::RuntimeOptions o;
        if (!o.ParseFromString(value))
            throw Error("options: a malformed " + shown);
        out.config_path = o.config_path();
        if (!out.config_path.empty() &&
            (out.config_path.front() != '/' || out.config_path.size() > 4096))
            throw Error("options: ConfigPath must be an absolute path, not '" +
                        out.config_path.substr(0, 256) + "'");
    } else if (names(type_url, "containerd.runc.v1.Options")) {
        options::RuncOptions o;
        if (!o.ParseFromString(value))
            throw Error("options: a malformed " + shown);
        out.systemd_cgroup = o.systemd_cgroup();
        out.no_pivot_root = o.no_pivot_root();
        out.no_new_keyring = o.no_new_keyring();
    } else {
        throw Error("options: brig's shim does not know options of type " + shown);
    }
    return out;
}

}  // namespace brig::shim
