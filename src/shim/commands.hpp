// The shim binary's verbs as containerd runs them: `start`, `delete`, and the daemon (`serve`,
// which `start` re-executes with the listening socket as fd 3).
#pragma once

#include <string>
#include <vector>

namespace brig::shim {

struct ShimFlags {
    std::string ns = "default";
    std::string address;         // containerd's grpc socket
    std::string publish_binary;  // unused: events go over $TTRPC_ADDRESS
    std::string id;
    std::string bundle;  // delete: -bundle; start/serve: the working directory
    bool debug = false;
    std::string verb;
};

// Go flag syntax: -name value, -name=value, --name; the verb comes last. Throws on unknown flags.
ShimFlags parse_flags(const std::vector<std::string>& args);

// /run/containerd/s/<sha256(address/namespace/id)>, which stays under the 106-byte limit.
std::string socket_path_for(const std::string& address, const std::string& ns,
                            const std::string& id);
// Where brig keeps the state of the shim's containers: /run/containerd/brig/<namespace>.
std::string state_root_for(const std::string& ns);

int run_start(const ShimFlags& flags, const std::string& self);
int run_delete(const ShimFlags& flags);
int serve(const ShimFlags& flags);

}  // namespace brig::shim
