// `kill` and `delete`.
#include "cli/verbs.hpp"

namespace brig::cli {
namespace {

int run_kill(const Context&, Runtime& rt, const ParsedArgs& a) {
    int sig = lifecycle::parse_signal(a.positional.size() > 1 ? a.positional[1] : "TERM");
    rt.kill(a.positional.at(0), sig, a.has("all") || a.has("a"));
    return 0;
}

int run_delete(const Context&, Runtime& rt, const ParsedArgs& a) {
    rt.remove(a.positional.at(0), a.has("force") || a.has("f"));
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
