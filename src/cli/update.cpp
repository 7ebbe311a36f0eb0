// `update ID`: new linux.resources for a running container, from `--resources FILE|-` or from
// runc's per-resource flags.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/verbs.hpp"
#include "runtime/cgroups/update_flags.hpp"
#include "runtime/common/error.hpp"
#include "runtime/config/json_reader.hpp"

namespace brig::cli {
namespace {

// runc's update flags, each a field of linux.resources.
const char* const update_value_flags[] = {
    "memory",      "memory-reservation", "memory-swap", "kernel-memory",  "kernel-memory-tcp",
    "cpu-shares",  "cpu-quota",          "cpu-period",  "cpu-rt-runtime", "cpu-rt-period",
    "cpuset-cpus", "cpuset-mems",        "pids-limit",  "blkio-weight",   "cpu-idle",
    "cpu-burst"};
// runc spells the CPU weight --cpu-share; brig has taken --cpu-shares too.
constexpr const char* kRuncCpuShare = "cpu-share";
constexpr size_t kMaxResourcesSize = 1 << 20;

std::map<std::string, std::string> resource_flags(const ParsedArgs& a) {
    std::map<std::string, std::string> flags;
    for (const char* f : update_value_flags)
        if (auto v = a.value(f))
            flags[f] = *v;
    if (auto v = a.value(kRuncCpuShare)) {
        if (flags.contains("cpu-shares"))
            throw Error("--cpu-share: give it or --cpu-shares, not both");
        flags["cpu-shares"] = *v;
    }
    return flags;
}

config::Resources resources_from_file(const std::string& file) {
    std::string text;
    if (file == "-") {
        text.resize(kMaxResourcesSize + 1);
        std::cin.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<size_t>(std::cin.gcount()));
        if (text.size() > kMaxResourcesSize)
            throw Error("--resources -: more than 1 MiB on stdin");
    } else {
        text = config::read_capped_user_file(file, kMaxResourcesSize, "--resources " + file);
    }
    return config::parse_resources(config::parse_json_text(text, "--resources"), "linux.resources");
}

int run_update(const Context&, Runtime& rt, const ParsedArgs& a) {
    config::Resources resources;
    if (auto file = a.value("resources").value_or(a.value_or("r", "")); !file.empty()) {
        resources = resources_from_file(file);
    } else {
        auto flags = resource_flags(a);
        if (flags.empty())
            throw Error("update: give --resources or at least one resource flag");
        resources = cgroups::resources_from_update_flags(flags);
    }
    rt.update(a.positional.at(0), resources);
    return 0;
}

}  // namespace

Verb update_verb() {
    FlagSpec flags{{"resources", "r", "l3-cache-schema", "mem-bw-schema", kRuncCpuShare}, {}};
    for (const char* f : update_value_flags)
        flags.with_value.insert(f);
    return {"update", std::move(flags), 1, "update [--resources FILE|-] [--memory ...] ID",
            false,    run_update};
}

}  // namespace brig::cli
