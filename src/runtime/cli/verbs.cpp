#include "runtime/cli/verbs.hpp"

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "monitor/runtime_monitor.hpp"
#include "runtime/cgroups/update_flags.hpp"
#include "runtime/cli/events.hpp"
#include "runtime/common/command_line.hpp"
#include "runtime/common/error.hpp"
#include "runtime/config/default_spec.hpp"
#include "runtime/config/features.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/lifecycle/container.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::cli {
namespace {

using lifecycle::Runtime;

struct Verb {
    FlagSpec flags;
    size_t min_args;  // positional arguments required
    const char* usage;
    std::function<int(const Context&, Runtime&, const ParsedArgs&)> run;
};

lifecycle::CreateOptions create_options(const ParsedArgs& a) {
    lifecycle::CreateOptions o;
    o.id = a.positional.at(0);
    o.bundle = a.value_or("bundle", a.value_or("b", "."));
    o.pid_file = a.value_or("pid-file", "");
    o.console_socket = a.value_or("console-socket", "");
    o.no_pivot = a.has("no-pivot");
    o.no_new_keyring = a.has("no-new-keyring");
    std::string preserve = a.value_or("preserve-fds", "0");
    char* end = nullptr;
    long n = std::strtol(preserve.c_str(), &end, 10);
    if (*end || n < 0 || n > 1024)
        throw Error("--preserve-fds: must be a number of fds between 0 and 1024");
    o.preserve_fds = static_cast<int>(n);
    return o;
}

const FlagSpec create_flags{
    {"bundle", "b", "pid-file", "console-socket", "preserve-fds"},
    {"no-pivot", "no-new-keyring", "detach", "d", "keep", "no-subreaper"},
};

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2) << std::endl;
}

int verb_list(const Context&, Runtime& rt, const ParsedArgs& a) {
    auto containers = rt.list();
    std::string format = a.value_or("format", a.value_or("f", "table"));
    if (a.has("quiet") || a.has("q")) {
        for (const auto& c : containers)
            std::cout << c.state.id << "\n";
        return 0;
    }
    if (format == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& c : containers)
            out.push_back(c.state.to_oci_json(c.status));
        std::cout << out.dump() << std::endl;
        return 0;
    }
    if (format != "table")
        throw Error("--format: must be table or json, not \"" + format + "\"");
    std::printf("%-12s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                "OWNER");
    for (const auto& c : containers) {
        bool stopped = c.status == state::Status::stopped;
        std::printf("%-12s %-8d %-10s %-40s %-32s %s\n", c.state.id.c_str(),
                    stopped ? 0 : c.state.pid, state::status_name(c.status), c.state.bundle.c_str(),
                    c.state.created.c_str(), c.state.owner.c_str());
    }
    return 0;
}

int verb_ps(const Context&, Runtime& rt, const ParsedArgs& a) {
    auto pids = rt.pids(a.positional.at(0));
    std::string format = a.value_or("format", a.value_or("f", "table"));
    if (format == "json") {
        std::cout << nlohmann::json(pids).dump() << std::endl;
        return 0;
    }
    if (format != "table")
        throw Error("--format: must be table or json, not \"" + format + "\"");
    std::printf("%-8s %s\n", "PID", "CMD");
    for (pid_t pid : pids) {
        std::string cmd;
        try {
            cmd = state::read_file("/proc/" + std::to_string(pid) + "/comm", 256);
        } catch (const Error&) {
        }
        if (!cmd.empty() && cmd.back() == '\n')
            cmd.pop_back();
        std::printf("%-8d %s\n", pid, cmd.c_str());
    }
    return 0;
}

int verb_spec(const Context&, Runtime&, const ParsedArgs& a) {
    std::string bundle = a.value_or("bundle", a.value_or("b", "."));
    std::string path = bundle + "/config.json";
    if (access(path.c_str(), F_OK) == 0)
        throw Error("File " + path + " exists. Remove it first");
    state::write_file_atomic(path, config::default_spec(a.has("rootless")).dump(2) + "\n");
    return 0;
}

int verb_exec(const Context& ctx, Runtime& rt, const ParsedArgs& a) {
    lifecycle::ExecOptions o;
    o.id = a.positional.at(0);
    o.args.assign(a.positional.begin() + 1, a.positional.end());
    o.process_file = a.value_or("process", a.value_or("p", ""));
    o.cwd = a.value_or("cwd", "");
    for (const char* f : {"env", "e"})
        for (auto& e : a.values(f))
            o.env.push_back(e);
    o.user = a.value_or("user", a.value_or("u", ""));
    for (const char* f : {"cap", "c"})
        for (auto& c : a.values(f))
            o.add_caps.push_back(c);
    for (const char* f : {"additional-gids", "g"})
        for (auto& g : a.values(f))
            o.additional_gids.push_back(static_cast<uint32_t>(std::stoul(g)));
    o.tty = a.has("tty") || a.has("t");
    o.no_new_privs = a.has("no-new-privs");
    o.detach = a.has("detach") || a.has("d");
    o.pid_file = a.value_or("pid-file", "");
    o.console_socket = a.value_or("console-socket", "");
    o.preserve_fds = std::stoi(a.value_or("preserve-fds", "0"));
    try {
        return rt.exec(o);
    } catch (const lifecycle::ExecFailed& e) {
        ctx.log.error(e.what());
        return 255;
    }
}

const FlagSpec exec_flags{
    {"process", "p", "console-socket", "pid-file", "cwd", "env", "e", "user", "u", "cap", "c",
     "preserve-fds", "additional-gids", "g", "apparmor", "process-label", "cgroup"},
    {"detach", "d", "tty", "t", "no-new-privs", "ignore-paused", "no-subreaper"},
    true,
};

// runc's update flags, each a field of linux.resources.
const char* const update_value_flags[] = {
    "memory",      "memory-reservation", "memory-swap", "kernel-memory",  "kernel-memory-tcp",
    "cpu-shares",  "cpu-quota",          "cpu-period",  "cpu-rt-runtime", "cpu-rt-period",
    "cpuset-cpus", "cpuset-mems",        "pids-limit",  "blkio-weight",   "cpu-idle",
    "cpu-burst"};

FlagSpec update_flags() {
    FlagSpec spec{{"resources", "r", "l3-cache-schema", "mem-bw-schema"}, {}};
    for (const char* f : update_value_flags)
        spec.with_value.insert(f);
    return spec;
}

int verb_update(const Context&, Runtime& rt, const ParsedArgs& a) {
    config::Resources resources;
    if (auto file = a.value("resources").value_or(a.value_or("r", "")); !file.empty()) {
        std::string text;
        if (file == "-")
            text.assign(std::istreambuf_iterator<char>(std::cin), {});
        else
            text = config::read_capped_file(file, 1 << 20, "--resources " + file);
        resources = config::parse_resources(config::parse_json_text(text, "--resources"),
                                            "linux.resources");
    } else {
        std::map<std::string, std::string> flags;
        for (const char* f : update_value_flags)
            if (auto v = a.value(f))
                flags[f] = *v;
        if (flags.empty())
            throw Error("update: give --resources or at least one resource flag");
        resources = cgroups::resources_from_update_flags(flags);
    }
    rt.update(a.positional.at(0), resources);
    return 0;
}

const std::map<std::string, Verb>& verbs() {
    static const std::map<std::string, Verb> table = {
        {"create",
         {create_flags, 1, "create [--bundle DIR] [--pid-file F] [--console-socket S] ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              rt.create(create_options(a));
              return 0;
          }}},
        {"start",
         {{},
          1,
          "start ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              rt.start(a.positional.at(0));
              return 0;
          }}},
        {"run",
         {create_flags, 1, "run [--bundle DIR] [--detach] [--keep] ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              return rt.run(create_options(a), a.has("detach") || a.has("d"), a.has("keep"));
          }}},
        {"exec", {exec_flags, 1, "exec [flags] ID [COMMAND [ARG...]]", verb_exec}},
        {"kill",
         {{{}, {"all", "a"}},
          1,
          "kill [--all] ID [SIGNAL]",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              int sig = lifecycle::parse_signal(a.positional.size() > 1 ? a.positional[1] : "TERM");
              rt.kill(a.positional.at(0), sig, a.has("all") || a.has("a"));
              return 0;
          }}},
        {"delete",
         {{{}, {"force", "f"}},
          1,
          "delete [--force] ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              rt.remove(a.positional.at(0), a.has("force") || a.has("f"));
              return 0;
          }}},
        {"state",
         {{},
          1,
          "state ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              print_json(rt.state_json(a.positional.at(0)));
              return 0;
          }}},
        {"list",
         {{{"format", "f"}, {"quiet", "q"}}, 0, "list [--format table|json] [-q]", verb_list}},
        {"ps", {{{"format", "f"}, {}}, 1, "ps [--format table|json] ID", verb_ps}},
        {"spec",
         {{{"bundle", "b"}, {"rootless"}}, 0, "spec [--bundle DIR] [--rootless]", verb_spec}},
        {"pause",
         {{},
          1,
          "pause ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              rt.pause(a.positional.at(0));
              return 0;
          }}},
        {"resume",
         {{},
          1,
          "resume ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) {
              rt.resume(a.positional.at(0));
              return 0;
          }}},
        {"update",
         {update_flags(), 1, "update [--resources FILE|-] [--memory ...] ID", verb_update}},
        {"events",
         {{{"interval"}, {"stats"}},
          1,
          "events [--stats] [--interval 5s] ID",
          [](const Context&, Runtime& rt, const ParsedArgs& a) { return events(rt, a); }}},
        {"features",
         {{},
          0,
          "features",
          [](const Context&, Runtime&, const ParsedArgs&) {
              print_json(config::features());
              return 0;
          }}},
    };
    return table;
}

}  // namespace

int dispatch(const Context& ctx, const std::vector<std::string>& args, size_t verb_index) {
    const std::string& name = args.at(verb_index);
    auto it = verbs().find(name);
    if (it == verbs().end()) {
        ctx.log.error("unknown command \"" + name + "\"");
        return 1;
    }
    const Verb& verb = it->second;
    try {
        ParsedArgs parsed = parse_args(args, verb_index + 1, verb.flags);
        if (parsed.positional.size() < verb.min_args)
            throw Error(std::string("usage: brig ") + verb.usage);
        // The monitor is loaded only by the verbs that start, end or report on a container.
        std::unique_ptr<monitor::RuntimeMonitor> monitor;
        if (name == "create" || name == "run" || name == "delete" || name == "state")
            monitor = std::make_unique<monitor::RuntimeMonitor>(ctx.monitor_config, ctx.log);
        Runtime runtime(ctx.root, ctx.log, ctx.systemd_cgroup, monitor.get());
        return verb.run(ctx, runtime, parsed);
    } catch (const std::exception& e) {
        ctx.log.error(e.what());
        return 1;
    }
}

}  // namespace brig::cli
