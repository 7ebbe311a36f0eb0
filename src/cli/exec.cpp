// `exec`: another process in a running container. As runc, a failure to start it (no such
// container, a bad --process file, a pid file that cannot be written) exits 255, so that callers
// can tell it from the exit status of the process itself; bad flags exit 1.
#include <climits>

#include "cli/flags.hpp"
#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

constexpr int64_t kMaxPreservedFds = 1024;

std::vector<std::string> all_values(const ParsedArgs& a, const char* name, const char* alias) {
    std::vector<std::string> out = a.values(name);
    for (auto& v : a.values(alias))
        out.push_back(v);
    return out;
}

lifecycle::ExecOptions exec_options(const ParsedArgs& a) {
    lifecycle::ExecOptions o;
    o.id = a.positional.at(0);
    o.args.assign(a.positional.begin() + 1, a.positional.end());
    o.process_file = a.value_or("process", a.value_or("p", ""));
    o.cwd = a.value_or("cwd", "");
    o.env = all_values(a, "env", "e");
    o.user = a.value_or("user", a.value_or("u", ""));
    o.add_caps = all_values(a, "cap", "c");
    for (const auto& g : all_values(a, "additional-gids", "g"))
        o.additional_gids.push_back(
            static_cast<uint32_t>(parse_integer(g, 0, UINT32_MAX - 1, "--additional-gids")));
    o.tty = a.has("tty") || a.has("t");
    o.no_new_privs = a.has("no-new-privs");
    o.detach = a.has("detach") || a.has("d");
    o.ignore_paused = a.has("ignore-paused");
    o.pid_file = a.value_or("pid-file", "");
    o.console_socket = a.value_or("console-socket", "");
    o.sub_cgroups = a.values("cgroup");
    o.preserve_fds = static_cast<int>(
        parse_integer(a.value_or("preserve-fds", "0"), 0, kMaxPreservedFds, "--preserve-fds"));
    return o;
}

int run_exec(const Context& ctx, Runtime& rt, const ParsedArgs& a) {
    lifecycle::ExecOptions o = exec_options(a);
    try {
        o.pid_file = checked_pid_file(o.pid_file);
        return rt.exec(o);
    } catch (const std::exception& e) {
        ctx.log.error(e.what());
        return 255;
    }
}

}  // namespace

Verb exec_verb() {
    FlagSpec flags{
        {"process", "p", "console-socket", "pid-file", "cwd", "env", "e", "user", "u", "cap", "c",
         "preserve-fds", "additional-gids", "g", "apparmor", "process-label", "cgroup"},
        {"detach", "d", "tty", "t", "no-new-privs", "ignore-paused", "no-subreaper"},
        true,
    };
    return {"exec", std::move(flags), 1, "exec [flags] ID [COMMAND [ARG...]]", false, run_exec};
}

}  // namespace brig::cli
