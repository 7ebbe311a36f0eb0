// `create`, `run`, `start`: a container from a bundle up to (and through) its user program.
#include "cli/flags.hpp"
#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

constexpr int64_t kMaxPassedFds = 1024;

lifecycle::CreateOptions create_options(const ParsedArgs& a) {
    lifecycle::CreateOptions o;
    o.id = a.positional.at(0);
    o.bundle = a.value_or("bundle", a.value_or("b", "."));
    o.pid_file = a.value_or("pid-file", "");
    o.console_socket = a.value_or("console-socket", "");
    o.no_pivot = a.has("no-pivot");
    o.no_new_keyring = a.has("no-new-keyring");
    o.preserve_fds = static_cast<int>(
        parse_integer(a.value_or("preserve-fds", "0"), 0, kMaxPassedFds, "--preserve-fds"));
    return o;
}

const FlagSpec create_flags{
    {"bundle", "b", "pid-file", "console-socket", "preserve-fds"},
    {"no-pivot", "no-new-keyring", "detach", "d", "keep", "no-subreaper"},
};

int run_create(const Context&, Runtime& rt, const ParsedArgs& a) {
    rt.create(create_options(a));
    return 0;
}

int run_run(const Context&, Runtime& rt, const ParsedArgs& a) {
    return rt.run(create_options(a), a.has("detach") || a.has("d"), a.has("keep"));
}

int run_start(const Context&, Runtime& rt, const ParsedArgs& a) {
    rt.start(a.positional.at(0));
    return 0;
}

}  // namespace

std::vector<Verb> create_verbs() {
    return {
        {"create", create_flags, 1, "create [--bundle DIR] [--pid-file F] [--console-socket S] ID",
         true, run_create},
        {"run", create_flags, 1, "run [--bundle DIR] [--detach] [--keep] ID", true, run_run},
        {"start", {}, 1, "start ID", false, run_start},
    };
}

}  // namespace brig::cli
