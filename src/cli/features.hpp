// `brig features`: what this runtime supports, per the runtime-spec's features.md.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace brig::cli {

nlohmann::json features();

}  // namespace brig::cli
