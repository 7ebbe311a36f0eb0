// containerd-shim-brig-v2: `start`, `delete`, and the daemon that serves the Task API.
#include <iostream>
#include <string>
#include <vector>

#include "runtime/common/version.hpp"
#include "runtime/security/sealed_binary.hpp"
#include "shim/commands.hpp"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        auto flags = brig::shim::parse_flags(args);
        if (flags.verb == "start")
            return brig::shim::run_start(flags, argv[0]);
        if (flags.verb == "delete")
            return brig::shim::run_delete(flags);
        if (flags.verb == "serve") {
            // The shim's tasks are its clones: it runs from a binary no container can write.
            brig::security::reexec_from_sealed_binary(argv);
            return brig::shim::serve(flags);
        }
        if (flags.verb == "version") {
            std::cout << "containerd-shim-brig-v2\n  Version: " << brig::kVersion << "\n";
            return 0;
        }
        std::cerr << "containerd-shim-brig-v2: unknown command \"" << flags.verb
                  << "\" (start, delete)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "containerd-shim-brig-v2: " << e.what() << "\n";
        return 1;
    }
}
