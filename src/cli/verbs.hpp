// brig's command line: a table of verbs, each a thin layer over lifecycle::Runtime. Every verb
// file (create.cpp, exec.cpp, ...) describes its own entries: flags, usage, whether it needs the
// monitor, and the function that runs it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/common/command_line.hpp"
#include "runtime/common/log.hpp"
#include "runtime/lifecycle/container.hpp"

namespace brig::cli {

using lifecycle::Runtime;

struct Context {
    std::string root;
    const Logger& log;
    bool systemd_cgroup = false;
    std::string monitor_config;
};

struct Verb {
    const char* name;
    FlagSpec flags;
    size_t min_args;  // positional arguments required
    const char* usage;
    // The verbs that start, end or report on a container load the eBPF monitor; the rest stay
    // cheap (no BPF objects opened).
    bool needs_monitor;
    int (*run)(const Context&, Runtime&, const ParsedArgs&);
};

// The entries of each verb file.
std::vector<Verb> create_verbs();  // create, run, start
Verb exec_verb();
std::vector<Verb> kill_verbs();   // kill, delete
std::vector<Verb> state_verbs();  // state, list
Verb ps_verb();
std::vector<Verb> pause_verbs();  // pause, resume
Verb update_verb();
Verb events_verb();
Verb metrics_verb();
Verb spec_verb();
Verb features_verb();

// Runs the verb at args[verb_index]; returns the process exit status.
int dispatch(const Context& ctx, const std::vector<std::string>& args, size_t verb_index);

}  // namespace brig::cli
