// containerd's cgroups Metrics from brig's typed stats, filled as the runc shim fills them: v2
// Metrics on a cgroup2-only host, v1 Metrics otherwise.
#pragma once

#include <string>

#include "runtime/lifecycle/stats.hpp"

namespace brig::shim {

struct MetricsAny {
    std::string type_url;  // io.containerd.cgroups.v1.Metrics or ...v2.Metrics
    std::string value;     // the serialized message
};

MetricsAny metrics_of(const lifecycle::ContainerStats& stats);

}  // namespace brig::shim
