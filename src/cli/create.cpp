// `create`, `run`, `start`: a container from a bundle up to (and through) its user program.
#include <unistd.h>

#include <cstdlib>

#include "cli/flags.hpp"
#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

constexpr int64_t kMaxPassedFds = 1024;

// Socket activation, read as sd_listen_fds(3) reads it: LISTEN_FDS is for brig only when
// LISTEN_PID is brig's own pid. Otherwise (another pid, none, garbage) it was left for another
// process, a parent exec'ing brig without clearing it, and is ignored with a warning, so that it
// cannot hand the caller's fds to the container. A count meant for brig that is not a number of
// fds is refused, not guessed at. The number of fds brig passes on.
int listen_fds(const Logger& log) {
    const char* fds = getenv("LISTEN_FDS");
    if (!fds)
        return 0;
    const char* pid = getenv("LISTEN_PID");
    const std::string own_pid = std::to_string(getpid());
    if (!pid || own_pid != pid) {
        std::string whose = pid ? "LISTEN_PID " + std::string(pid).substr(0, 32) : "no LISTEN_PID";
        log.warn("LISTEN_FDS ignored: " + whose + ", not brig's pid " + own_pid);
        return 0;
    }
    return static_cast<int>(parse_integer(fds, 0, kMaxPassedFds, "LISTEN_FDS"));
}

lifecycle::CreateOptions create_options(const Context& ctx, const ParsedArgs& a) {
    lifecycle::CreateOptions o;
    o.id = a.positional.at(0);
    o.bundle = a.value_or("bundle", a.value_or("b", "."));
    o.pid_file = checked_pid_file(a.value_or("pid-file", ""));
    o.console_socket = a.value_or("console-socket", "");
    o.no_pivot = a.has("no-pivot");
    o.no_new_keyring = a.has("no-new-keyring");
    o.preserve_fds = static_cast<int>(
        parse_integer(a.value_or("preserve-fds", "0"), 0, kMaxPassedFds, "--preserve-fds"));
    o.listen_fds = listen_fds(ctx.log);
    return o;
}

const FlagSpec create_flags{
    {"bundle", "b", "pid-file", "console-socket", "preserve-fds"},
    {"no-pivot", "no-new-keyring", "detach", "d", "keep", "no-subreaper"},
};

int run_create(const Context& ctx, Runtime& rt, const ParsedArgs& a) {
    rt.create(create_options(ctx, a));
    return 0;
}

int run_run(const Context& ctx, Runtime& rt, const ParsedArgs& a) {
    return rt.run(create_options(ctx, a), a.has("detach") || a.has("d"), a.has("keep"));
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
