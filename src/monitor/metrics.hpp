// The monitor's node-wide metrics in Prometheus's text format (version 0.0.4), named as Falco
// names its own where Falco has one (falcosecurity_falco_rules_matches_total,
// falcosecurity_scap_n_drops_total), brig_monitor_* for the rest. A pure function of what the
// state directories and the kernel's maps say, so that it is tested without root.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace brig::monitor {

struct ContainerMetrics {
    std::string id;
    std::vector<std::string> alert_lines;  // alerts.jsonl, one Falco JSON alert a line
    uint64_t kernel_drops = 0;             // events the kernel could not hand to the ring
};

struct NodeMetrics {
    std::string enforcement_path;  // "bpf_lsm", "tracepoint", or "unavailable"
    std::vector<ContainerMetrics> containers;
};

// Alerts are counted by rule, priority, source and container; internal ones (drops, rate
// limits: source "internal") carry their counts in their output fields and are summed too.
std::string prometheus_text(const NodeMetrics& node);

}  // namespace brig::monitor
