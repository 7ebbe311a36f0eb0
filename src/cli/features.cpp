#include "cli/features.hpp"

#include <nlohmann/json.hpp>

#include "cli/flags.hpp"
#include "cli/verbs.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/common/version.hpp"
#include "runtime/config/mount_option_table.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/security/seccomp.hpp"

namespace brig::cli {

nlohmann::json features() {
    nlohmann::json mount_options = nlohmann::json::array();
    for (const auto& option : config::kMountOptions)
        mount_options.push_back(std::string(option.name));

    nlohmann::json seccomp = {
        {"enabled", true},
        {"actions", security::seccomp_known_actions()},
        {"operators", security::seccomp_known_operators()},
        {"archs", security::seccomp_known_architectures()},
        {"knownFlags", security::seccomp_known_flags()},
        {"supportedFlags", security::seccomp_supported_flags()},
    };

    nlohmann::json linux_features = {
        {"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"capabilities", security::kernel_capability_names()},
        {"cgroup", cgroups::cgroup_features()},
        {"seccomp", std::move(seccomp)},
        {"apparmor", {{"enabled", true}}},
        {"selinux", {{"enabled", true}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", true}}}}},
    };

    return {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.2.0"},
        {"hooks",
         {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
          "poststop"}},
        {"mountOptions", std::move(mount_options)},
        {"linux", std::move(linux_features)},
        {"annotations",
         {
             {"io.github.seccomp.libseccomp.version", security::libseccomp_version()},
             {"org.brig.version", brig::kVersion},
             {"org.brig.commit", brig::kCommit},
             {"org.brig.monitor.rules", "path of a rules file the monitor loads for the container"},
             {"org.brig.monitor.action", "what the monitor does on a match: alert, deny or kill"},
         }},
        // Annotations that change how brig confines a container: callers that pass through
        // untrusted annotations should filter these.
        {"potentiallyUnsafeConfigAnnotations", {"org.brig.monitor."}},
    };
}

Verb features_verb() {
    return {"features", {}, 0, "features", false, [](const Context&, Runtime&, const ParsedArgs&) {
                print_json(features());
                return 0;
            }};
}

}  // namespace brig::cli
