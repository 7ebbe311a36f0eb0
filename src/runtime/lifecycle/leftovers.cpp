// What is left of a container after its init exited: with a pid namespace of its own the kernel
// killed the rest with the init; in a shared one (a pod's, the host's) they live on in the
// cgroup until someone kills them, which the runc shim does at once.
#include <signal.h>

#include "runtime/cgroups/manager.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/lifecycle/container.hpp"

namespace brig::lifecycle {

bool Runtime::kill_leftovers(const std::string& id) {
    auto i = info(id);
    if (i.status != state::Status::stopped)
        return false;  // the init still runs: its processes are not leftovers yet
    const config::Spec spec =
        config::parse_spec(config::parse_json_text(store_.read_config(id), "config.json"));
    const config::Namespace* pid_ns =
        spec.linux ? spec.linux->find_namespace(config::NamespaceType::pid) : nullptr;
    if (pid_ns && pid_ns->path.empty())
        return false;
    auto cgroup = cgroups::open_manager(i.state.cgroups_path, id);
    if (cgroup->pids().empty())
        return false;
    cgroup->kill_all(SIGKILL);
    if (cgroup->frozen())
        cgroup->thaw();  // a frozen process only dies of its SIGKILL once thawed
    return true;
}

}  // namespace brig::lifecycle
