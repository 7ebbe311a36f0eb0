// `pause` and `resume`: freeze and thaw the container's cgroup.
#include "cli/verbs.hpp"

namespace brig::cli {
namespace {

int run_pause(const Context&, Runtime& rt, const ParsedArgs& a) {
    rt.pause(a.positional.at(0));
    return 0;
}

int run_resume(const Context&, Runtime& rt, const ParsedArgs& a) {
    rt.resume(a.positional.at(0));
    return 0;
}

}  // namespace

std::vector<Verb> pause_verbs() {
    return {
        {"pause", {}, 1, "pause ID", false, run_pause},
        {"resume", {}, 1, "resume ID", false, run_resume},
    };
}

}  // namespace brig::cli
