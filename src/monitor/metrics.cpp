#include "monitor/metrics.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

namespace brig::monitor {
namespace {

// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string label_value(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void family(std::ostringstream& out, const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

using RuleKey = std::tuple<std::string, std::string, std::string, std::string>;  // rule, prio,
                                                                                 // source, id

struct Counts {
    std::map<RuleKey, uint64_t> matches;
    std::map<std::string, uint64_t> suppressed;  // by container
};

Counts count_alerts(const NodeMetrics& node) {
    Counts counts;
    for (const auto& c : node.containers) {
        for (const auto& line : c.alert_lines) {
            auto alert = nlohmann::json::parse(line, nullptr, false);
            if (!alert.is_object())
                continue;  // a line the watcher is still writing
            ++counts.matches[{alert.value("rule", ""), alert.value("priority", ""),
                              alert.value("source", "syscall"), c.id}];
            const auto fields = alert.find("output_fields");
            if (fields == alert.end() || !fields->is_object())
                continue;
            if (auto n = fields->find("n_suppressed");
                n != fields->end() && n->is_number_unsigned())
                counts.suppressed[c.id] += n->get<uint64_t>();
        }
    }
    return counts;
}

}  // namespace

std::string prometheus_text(const NodeMetrics& node) {
    std::ostringstream out;
    const Counts counts = count_alerts(node);
    family(out, "falcosecurity_falco_rules_matches_total", "counter",
           "Alerts of each rule, per container (brig's internal ones have source internal).");
    for (const auto& [key, n] : counts.matches) {
        const auto& [rule, priority, source, id] = key;
        out << "falcosecurity_falco_rules_matches_total{rule_name=\"" << label_value(rule)
            << "\",priority=\"" << label_value(priority) << "\",source=\"" << label_value(source)
            << "\",container_id=\"" << label_value(id) << "\"} " << n << '\n';
    }
    family(out, "falcosecurity_scap_n_drops_total", "counter",
           "Events the kernel could not hand to a container's ring, per container.");
    for (const auto& c : node.containers)
        out << "falcosecurity_scap_n_drops_total{container_id=\"" << label_value(c.id) << "\"} "
            << c.kernel_drops << '\n';
    family(out, "brig_monitor_alerts_suppressed_total", "counter",
           "Alerts the rate limit held back, per container.");
    for (const auto& c : node.containers) {
        auto it = counts.suppressed.find(c.id);
        out << "brig_monitor_alerts_suppressed_total{container_id=\"" << label_value(c.id) << "\"} "
            << (it == counts.suppressed.end() ? 0 : it->second) << '\n';
    }
    family(out, "brig_monitor_containers", "gauge", "Containers under the state root.");
    out << "brig_monitor_containers " << node.containers.size() << '\n';
    family(out, "brig_monitor_enforcement_path_info", "gauge",
           "The enforcement path in force (bpf_lsm, tracepoint or unavailable).");
    out << "brig_monitor_enforcement_path_info{path=\"" << label_value(node.enforcement_path)
        << "\"} 1\n";
    return out.str();
}

}  // namespace brig::monitor
