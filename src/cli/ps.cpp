// `ps ID`: the container's processes. `--format json` is the array of host pids (containerd's
// Pids); the table is PID and CMD from /proc.

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::cli {
namespace {

void print_comm_table(const std::vector<pid_t>& pids) {
    std::printf("%-8s %s\n", "PID", "CMD");
    for (pid_t pid : pids) {
        std::string cmd;
        try {
            cmd = state::read_file("/proc/" + std::to_string(pid) + "/comm", 256);
        } catch (const Error&) {
            // Gone meanwhile: listed without a name.
        }
        if (!cmd.empty() && cmd.back() == '\n')
            cmd.pop_back();
        std::printf("%-8d %s\n", pid, cmd.c_str());
    }
}

int run_ps(const Context&, Runtime& rt, const ParsedArgs& a) {
    std::string format = a.value_or("format", a.value_or("f", "table"));
    if (format != "table" && format != "json")
        throw Error("--format: must be table or json, not \"" + format + "\"");
    auto pids = rt.pids(a.positional.at(0));
    if (format == "json")
        std::cout << nlohmann::json(pids).dump() << std::endl;
    else
        print_comm_table(pids);
    return 0;
}

}  // namespace

Verb ps_verb() {
    // The ps arguments follow the id unparsed, as runc takes them.
    return {"ps",  {{"format", "f"}, {}, true},
            1,     "ps [--format table|json] ID [PS ARGS...]",
            false, run_ps};
}

}  // namespace brig::cli
