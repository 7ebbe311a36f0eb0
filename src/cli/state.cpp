// `state` and `list`: what the state directory says about one container or all of them.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/flags.hpp"
#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

int run_state(const Context&, Runtime& rt, const ParsedArgs& a) {
    print_json(rt.state_json(a.positional.at(0)));
    return 0;
}

void print_table(const std::vector<lifecycle::ContainerInfo>& containers) {
    std::printf("%-12s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                "OWNER");
    for (const auto& c : containers) {
        bool stopped = c.status == state::Status::stopped;
        const char* status = c.corrupt.empty() ? state::status_name(c.status) : "corrupt";
        std::printf("%-12s %-8d %-10s %-40s %-32s %s\n", c.state.id.c_str(),
                    stopped ? 0 : c.state.pid, status, c.state.bundle.c_str(),
                    c.state.created.c_str(), c.state.owner.c_str());
    }
}

int run_list(const Context&, Runtime& rt, const ParsedArgs& a) {
    std::string format = a.value_or("format", a.value_or("f", "table"));
    if (format != "table" && format != "json")
        throw Error("--format: must be table or json, not \"" + format + "\"");
    auto containers = rt.list();
    if (a.has("quiet") || a.has("q")) {
        for (const auto& c : containers)
            std::cout << c.state.id << "\n";
        return 0;
    }
    if (format == "table") {
        print_table(containers);
        return 0;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : containers) {
        nlohmann::json entry = c.state.to_oci_json(c.status);
        if (!c.corrupt.empty()) {
            entry["status"] = "corrupt";
            entry["error"] = c.corrupt;
        }
        out.push_back(std::move(entry));
    }
    std::cout << out.dump() << std::endl;
    return 0;
}

}  // namespace

std::vector<Verb> state_verbs() {
    return {
        {"state", {}, 1, "state ID", true, run_state},
        {"list",
         {{"format", "f"}, {"quiet", "q"}},
         0,
         "list [--format table|json] [-q]",
         false,
         run_list},
    };
}

}  // namespace brig::cli
