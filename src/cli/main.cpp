// brig: the runc-compatible command line. Each verb is a thin layer over brig::lifecycle.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/verbs.hpp"
#include "runtime/common/command_line.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/log.hpp"
#include "runtime/common/version.hpp"
#include "runtime/security/sealed_binary.hpp"

namespace {

constexpr const char* usage =
    "usage: brig [global flags] <command> [flags] [args]\n"
    "\n"
    "commands: create start run exec kill delete state list ps pause resume update events\n"
    "          features spec\n"
    "global flags: --root DIR (default /run/brig), --log FILE, --log-format text|json, --debug,\n"
    "              --systemd-cgroup, --config FILE (monitor configuration)\n";

const brig::FlagSpec global_flags{
    {"root", "log", "log-format", "config", "criu", "rootless"},
    {"debug", "systemd-cgroup", "version", "v", "help", "h"},
    true,
};

}  // namespace

int main(int argc, char** argv) {
    // A hook or console peer that goes away must give EPIPE, not kill brig mid-operation.
    signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv, argv + argc);
    brig::LogConfig log_config;
    brig::ParsedArgs global;
    try {
        global = brig::parse_args(args, 1, global_flags);
        log_config.path = global.value_or("log", "");
        log_config.debug = global.has("debug");
        std::string format = global.value_or("log-format", "text");
        if (format == "json")
            log_config.format = brig::LogFormat::json;
        else if (format != "text")
            throw brig::Error("--log-format: must be text or json, not \"" + format + "\"");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "brig: %s\n%s", e.what(), usage);
        return 1;
    }
    brig::Logger log(log_config);

    if (global.has("version") || global.has("v")) {
        std::printf("brig version %s\ncommit: %s\nspec: 1.2.0\n", brig::kVersion, brig::kCommit);
        return 0;
    }
    if (global.positional.empty() || global.has("help") || global.has("h")) {
        std::fputs(usage, global.positional.empty() && !global.has("help") ? stderr : stdout);
        return global.positional.empty() && !global.has("help") ? 1 : 0;
    }

    // The verb and its own flags follow the global flags.
    size_t verb_index = global.first_positional_index;
    // These make processes that enter the container: they run from a binary no container can
    // write, whatever its capabilities (CVE-2019-5736).
    if (const std::string& verb = args[verb_index];
        verb == "create" || verb == "run" || verb == "exec") {
        try {
            brig::security::reexec_from_sealed_binary(argv);
        } catch (const std::exception& e) {
            log.error(e.what());
            return 1;
        }
    }
    brig::cli::Context ctx{global.value_or("root", "/run/brig"), log, global.has("systemd-cgroup"),
                           global.value_or("config", "")};
    return brig::cli::dispatch(ctx, args, verb_index);
}
