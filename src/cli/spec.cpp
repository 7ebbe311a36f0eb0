// `spec`: writes the default config.json (default_spec.hpp) into a bundle.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/default_spec.hpp"
#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::cli {
namespace {

int run_spec(const Context&, Runtime&, const ParsedArgs& a) {
    std::string bundle = a.value_or("bundle", a.value_or("b", "."));
    std::string path = bundle + "/config.json";
    if (access(path.c_str(), F_OK) == 0)
        throw Error("File " + path + " exists. Remove it first");
    state::write_file_atomic(path, default_spec(a.has("rootless")).dump(2) + "\n");
    return 0;
}

}  // namespace

Verb spec_verb() {
    return {"spec",  {{"bundle", "b"}, {"rootless"}}, 0, "spec [--bundle DIR] [--rootless]", false,
            run_spec};
}

}  // namespace brig::cli
