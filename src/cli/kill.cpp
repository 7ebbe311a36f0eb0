// `kill` and `delete`, with the answers runc's callers rely on: `kill ID 0` probes whether the
// init is alive, `kill --all` of a stopped container signals what is left in its cgroup (and
// succeeds when nothing is), `delete --force` of a container that does not exist succeeds.
#include <signal.h>

#include "cli/verbs.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/common/error.hpp"
#include "runtime/state/container_id.hpp"

namespace brig::cli {
namespace {

// Signal 0 sends nothing and only checks that the process exists (kill(2)).
int kill_signal(const std::string& text) {
    return text == "0" ? 0 : lifecycle::parse_signal(text);
}

// The init has exited, but in a shared pid namespace its children may live on in the cgroup
// (containerd's runc shim sends `kill --all ID KILL` then). A cgroup already gone has no pids.
void signal_leftovers(const lifecycle::ContainerInfo& info, int signal) {
    auto cgroup = cgroups::open_manager(info.state.cgroups_path, info.state.id);
    if (!cgroup->pids().empty())
        cgroup->kill_all(signal);
}

int run_kill(const Context&, Runtime& rt, const ParsedArgs& a) {
    if (a.positional.size() > 2)
        throw Error("usage: brig kill [--all] ID [SIGNAL]: too many arguments");
    const std::string& id = a.positional.at(0);
    const int signal = kill_signal(a.positional.size() > 1 ? a.positional[1] : "TERM");
    const bool all = a.has("all") || a.has("a");
    if (all) {
        auto info = rt.info(id);
        if (info.status == state::Status::stopped) {
            signal_leftovers(info, signal);
            return 0;
        }
    }
    rt.kill(id, signal, all);
    return 0;
}

int run_delete(const Context&, Runtime& rt, const ParsedArgs& a) {
    const std::string& id = a.positional.at(0);
    const bool force = a.has("force") || a.has("f");
    state::validate_container_id(id);
    if (force && !rt.store().exists(id))
        return 0;
    rt.remove(id, force);
    return 0;
}

}  // namespace

std::vector<Verb> kill_verbs() {
    return {
        {"kill", {{}, {"all", "a"}}, 1, "kill [--all] ID [SIGNAL]", false, run_kill},
        {"delete", {{}, {"force", "f"}}, 1, "delete [--force] ID", true, run_delete},
    };
}

}  // namespace brig::cli
