// The verb table and the one place that turns a verb's failure into an exit status.
#include <memory>

#include "cli/verbs.hpp"
#include "monitor/runtime_monitor.hpp"
#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

std::vector<Verb> make_table() {
    std::vector<Verb> table;
    auto add = [&table](std::vector<Verb> verbs) {
        for (auto& v : verbs)
            table.push_back(std::move(v));
    };
    add(create_verbs());
    add({exec_verb()});
    add(kill_verbs());
    add(state_verbs());
    add({ps_verb()});
    add(pause_verbs());
    add({update_verb()});
    add({events_verb()});
    add({metrics_verb()});
    add({spec_verb()});
    add({features_verb()});
    return table;
}

const Verb* find_verb(const std::string& name) {
    static const std::vector<Verb> table = make_table();
    for (const auto& verb : table)
        if (name == verb.name)
            return &verb;
    return nullptr;
}

}  // namespace

int dispatch(const Context& ctx, const std::vector<std::string>& args, size_t verb_index) {
    const std::string& name = args.at(verb_index);
    const Verb* verb = find_verb(name);
    if (!verb) {
        ctx.log.error("unknown command \"" + name + "\"");
        return 1;
    }
    try {
        ParsedArgs parsed = parse_args(args, verb_index + 1, verb->flags);
        if (parsed.positional.size() < verb->min_args)
            throw Error(std::string("usage: brig ") + verb->usage);
        std::unique_ptr<monitor::RuntimeMonitor> monitor;
        if (verb->needs_monitor)
            monitor = std::make_unique<monitor::RuntimeMonitor>(ctx.monitor_config, ctx.log);
        const bool systemd = ctx.systemd_cgroup || (monitor && monitor->systemd_cgroup());
        Runtime runtime(ctx.root, ctx.log, systemd, monitor.get());
        return verb->run(ctx, runtime, parsed);
    } catch (const std::exception& e) {
        ctx.log.error(e.what());
        return 1;
    }
}

}  // namespace brig::cli
