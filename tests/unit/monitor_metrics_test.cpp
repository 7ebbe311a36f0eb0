// `brig metrics`: the Prometheus text a scraper reads, from the containers' alerts and drops.
#include <gtest/gtest.h>

#include <string>

#include "monitor/metrics.hpp"

namespace brig::monitor {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MonitorMetrics, CountsAlertsByRuleAndContainerAndSumsDrops) {
    NodeMetrics node{"tracepoint", {}};
    node.containers.push_back(
        {"a",
         {R"({"rule":"Write below etc","priority":"Error","source":"syscall"})",
          R"({"rule":"Write below etc","priority":"Error","source":"syscall"})",
          R"({"rule":"Falco internal: syscall event drop","priority":"Debug","source":"internal",
              "output_fields":{"n_drops":3}})",
          R"({"rule":"brig alerts rate limited","priority":"Notice","source":"internal",
              "output_fields":{"n_suppressed":40}})",
          R"({"rule": "half a li)"},
         7});
    node.containers.push_back({"b", {}, 0});
    const std::string text = prometheus_text(node);
    EXPECT_TRUE(has_line(text,
                         "falcosecurity_falco_rules_matches_total{rule_name=\"Write below etc\","
                         "priority=\"Error\",source=\"syscall\",container_id=\"a\"} 2"))
        << text;
    EXPECT_TRUE(has_line(text, "falcosecurity_scap_n_drops_total{container_id=\"a\"} 7")) << text;
    EXPECT_TRUE(has_line(text, "falcosecurity_scap_n_drops_total{container_id=\"b\"} 0")) << text;
    EXPECT_TRUE(has_line(text, "brig_monitor_alerts_suppressed_total{container_id=\"a\"} 40"))
        << text;
    EXPECT_TRUE(has_line(text, "brig_monitor_containers 2")) << text;
    EXPECT_TRUE(has_line(text, "brig_monitor_enforcement_path_info{path=\"tracepoint\"} 1"))
        << text;
    EXPECT_TRUE(has_line(text, "# TYPE falcosecurity_falco_rules_matches_total counter")) << text;
}

// Rule names and container ids are tenant input: a quote, backslash or newline cannot end the
// label or the line.
TEST(MonitorMetrics, LabelValuesAreEscaped) {
    NodeMetrics node{"bpf_lsm", {}};
    node.containers.push_back(
        {"c", {R"({"rule":"a \"quoted\\\" rule\nsecond line","priority":"Notice"})"}, 0});
    const std::string text = prometheus_text(node);
    EXPECT_TRUE(has_line(text,
                         "falcosecurity_falco_rules_matches_total{rule_name=\"a \\\"quoted\\\\\\\" "
                         "rule\\nsecond line\",priority=\"Notice\",source=\"syscall\","
                         "container_id=\"c\"} 1"))
        << text;
}

}  // namespace
}  // namespace brig::monitor
