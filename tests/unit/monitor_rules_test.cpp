// The monitor's rule language: loading with line-numbered errors, conditions, evaluation, and
// the compiler's split between kernel map entries and user-space evaluation.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "monitor/bpf/monitor_abi.h"
#include "monitor/metrics.hpp"
#include "monitor/monitor.hpp"
#include "monitor/rules.hpp"
#include "runtime/common/error.hpp"

using namespace brig::monitor;

namespace {

std::string load_error(const std::string& text) {
    RuleSet set;
    try {
        load_rules(text, "test.yaml", set);
    } catch (const brig::Error& e) {
        return e.what();
    }
    return "";
}

EventFields fields(std::initializer_list<std::pair<const char*, const char*>> values) {
    EventFields f;
    for (auto [k, v] : values)
        f.values[k] = v;
    return f;
}

bool matches(const std::string& condition, const EventFields& event,
             const std::string& prelude = "") {
    RuleSet set;
    load_rules(prelude, "prelude.yaml", set);
    return evaluate(*parse_condition(condition, set, "test", 1), event);
}

ContainerIdentity identity() {
    ContainerIdentity c;
    c.id = "c1";
    c.cgroup2_id = 42;
    return c;
}

}  // namespace

TEST(MonitorRules, DefaultRulesLoadAndCoverTheIssueList) {
    RuleSet set;
    load_rules(default_rules_text(), "default.yaml", set);
    std::vector<std::string> names;
    for (const auto& rule : set.rules)
        names.push_back(rule.name);
    for (const char* wanted :
         {"Terminal shell in container", "Run shell untrusted", "Write below binary dir",
          "Write below etc", "Read sensitive file untrusted",
          "Drop and execute new binary in container", "Contact K8S API Server From Container",
          "Packet socket created in container", "PTRACE attached to process",
          "Fileless execution via memfd_create", "Linux Kernel Module Injection",
          "Detect release_agent escapes"})
        EXPECT_NE(std::find(names.begin(), names.end(), wanted), names.end()) << wanted;
}

TEST(MonitorRules, YamlSyntaxErrorNamesTheLine) {
    std::string error = load_error("- rule: a\n  condition: evt.type = ptrace\n  output: [x\n");
    EXPECT_NE(error.find("test.yaml:"), std::string::npos) << error;
    EXPECT_NE(error.find("YAML syntax error"), std::string::npos) << error;
}

TEST(MonitorRules, SyntaxErrorsNameTheExactLine) {
    auto expect_error = [](const std::string& text, const std::string& wanted) {
        std::string error = load_error(text);
        EXPECT_NE(error.find(wanted), std::string::npos)
            << "wanted '" << wanted << "' in '" << error << "'";
    };
    expect_error("- rule: a\n  condition: evt.type = ptrace\n  output: [x\n",
                 "test.yaml:4: YAML syntax error");
    // JSON rules files: the same errors with the same lines.
    expect_error(
        "[{\"rule\": \"r\",\n \"condition\": \"evt.type = ptrace\",\n"
        " \"output\": \"o\" \"priority\": \"INFO\"}]",
        "test.yaml:3: YAML syntax error");
    expect_error(
        "[{\"rule\": \"r\",\n \"condition\": \"evt.type = ptrace\",\n"
        " \"output\": \"o\", \"priority\": \"INFO\",\n \"tagz\": []}]",
        "test.yaml:4: rule 'r': unknown field 'tagz'");
    expect_error(
        "[{\"rule\": \"r\",\n \"condition\": \"fd.nam = /x\",\n"
        " \"output\": \"o\", \"priority\": \"INFO\"}]",
        "test.yaml:2");
}

TEST(MonitorRules, UnknownKeyNamesLineAndField) {
    std::string error = load_error(
        "- rule: r\n  condition: evt.type = ptrace\n  output: o\n  priority: WARNING\n"
        "  actoin: kill\n");
    EXPECT_NE(error.find("test.yaml:5"), std::string::npos) << error;
    EXPECT_NE(error.find("rule 'r': unknown field 'actoin'"), std::string::npos) << error;
}

TEST(MonitorRules, UnknownConditionFieldNamesLineAndField) {
    std::string error = load_error(
        "- rule: r\n  desc: d\n  condition: evt.type = execve and proc.nmae = sh\n  output: o\n"
        "  priority: WARNING\n");
    EXPECT_NE(error.find("test.yaml:3"), std::string::npos) << error;
    EXPECT_NE(error.find("unknown field 'proc.nmae'"), std::string::npos) << error;
}

TEST(MonitorRules, BadActionPriorityAndMissingFields) {
    EXPECT_NE(load_error("- rule: r\n  condition: evt.type = ptrace\n  output: o\n"
                         "  priority: WARNING\n  action: explode\n")
                  .find("test.yaml:5: rule 'r': action must be alert, deny or kill"),
              std::string::npos);
    EXPECT_NE(load_error("- rule: r\n  condition: evt.type = ptrace\n  output: o\n"
                         "  priority: LOUD\n")
                  .find("unknown priority 'LOUD'"),
              std::string::npos);
    EXPECT_NE(load_error("- rule: r\n  condition: evt.type = ptrace\n  priority: INFO\n")
                  .find("missing field 'output'"),
              std::string::npos);
    EXPECT_NE(load_error("- macro: m\n  list: l\n").find("exactly one of"), std::string::npos);
    EXPECT_NE(load_error("- rule: r\n  condition: evt.type = ptrace and\n  output: o\n"
                         "  priority: INFO\n")
                  .find("expected a field, a macro or '('"),
              std::string::npos);
    EXPECT_NE(load_error("- rule: r\n  condition: user.uid = root\n  output: o\n"
                         "  priority: INFO\n")
                  .find("field 'user.uid' is a number, 'root' is not"),
              std::string::npos);
    EXPECT_NE(load_error("- macro: a\n  condition: b\n").find("unknown macro or field 'b'"),
              std::string::npos);
}

TEST(MonitorRules, JsonRulesAreAccepted) {
    RuleSet set;
    load_rules(R"json([{"list": "l", "items": ["nc", "ncat"]},
                   {"rule": "r", "condition": "evt.type = execve and proc.name in (l)",
                    "output": "o %proc.name", "priority": "ERROR", "action": "kill"}])json",
               "rules.json", set);
    ASSERT_EQ(set.rules.size(), 1u);
    EXPECT_EQ(set.rules[0].action, Action::kill);
    EXPECT_TRUE(
        evaluate(*set.rules[0].condition, fields({{"evt.type", "execve"}, {"proc.name", "ncat"}})));
}

TEST(MonitorRules, OperatorsEvaluate) {
    auto e = fields({{"evt.type", "openat"},
                     {"fd.name", "/etc/passwd"},
                     {"user.uid", "1000"},
                     {"proc.name", "bash"}});
    EXPECT_TRUE(matches("fd.name startswith /etc/", e));
    EXPECT_TRUE(matches("fd.name endswith passwd", e));
    EXPECT_TRUE(matches("fd.name contains etc/pa", e));
    EXPECT_TRUE(matches("fd.name glob '/etc/p*d'", e));
    EXPECT_TRUE(matches("fd.name pmatch (/usr, /etc)", e));
    EXPECT_FALSE(matches("fd.name pmatch (/et)", e));
    EXPECT_TRUE(matches("user.uid > 999 and user.uid < 1001 and user.uid >= 1000", e));
    EXPECT_FALSE(matches("user.uid = 0", e));
    EXPECT_TRUE(matches("user.uid != 0", e));
    EXPECT_TRUE(matches("proc.name exists and not fd.sip exists", e));
    EXPECT_FALSE(matches("fd.sip = 10.0.0.1", e));  // absent fields never match
    EXPECT_TRUE(matches("proc.name = zsh or (proc.name in (sh, bash) and evt.type = openat)", e));
    EXPECT_TRUE(matches("proc.name in (shells)", e, "- list: shells\n  items: [sh, bash]\n"));
    EXPECT_TRUE(matches("is_shell and not is_root", e,
                        "- list: shells\n  items: [sh, bash]\n"
                        "- macro: is_shell\n  condition: proc.name in (shells)\n"
                        "- macro: is_root\n  condition: user.uid = 0\n"));
}

TEST(MonitorRules, AnnotationsAndOutputFormatting) {
    EventFields e = fields({{"proc.name", "sh"}, {"container.id", "c1"}});
    e.annotations["team"] = "blue";
    EXPECT_TRUE(matches("annotations[team] = blue", e));
    EXPECT_FALSE(matches("annotations[owner] exists", e));
    EXPECT_EQ(
        format_output("shell %proc.name in %container.id (%fd.name) team=%annotations[team]", e),
        "shell sh in c1 (<NA>) team=blue");
    auto names = output_field_names("a %proc.name b %container.id %proc.name");
    EXPECT_EQ(names, (std::vector<std::string>{"proc.name", "container.id"}));
}

TEST(MonitorRules, MacroCycleIsAnError) {
    EXPECT_NE(load_error("- macro: a\n  condition: proc.name = x\n"
                         "- macro: b\n  condition: a\n"
                         "- macro: a\n  condition: or b\n  append: true\n")
                  .find("refers to itself"),
              std::string::npos);
}

TEST(MonitorRules, LaterFilesOverrideAndAppend) {
    RuleSet set;
    load_rules(default_rules_text(), "default.yaml", set);
    load_rules(
        "- rule: Write below etc\n  enabled: false\n"
        "- list: shell_binaries\n  items: [busybox]\n  append: true\n",
        "local.yaml", set);
    auto rule = std::find_if(set.rules.begin(), set.rules.end(),
                             [](const Rule& r) { return r.name == "Write below etc"; });
    ASSERT_NE(rule, set.rules.end());
    EXPECT_FALSE(rule->enabled);
    auto& shells = set.lists["shell_binaries"];
    EXPECT_NE(std::find(shells.begin(), shells.end(), "busybox"), shells.end());
}

TEST(MonitorCompiler, ExecRuleBecomesExactKernelEntry) {
    RuleSet set;
    load_rules(
        "- rule: no nc\n  condition: evt.type = execve and proc.name in (nc, /bin/ncat)\n"
        "  output: o\n  priority: ERROR\n  action: kill\n",
        "r.yaml", set);
    auto policy = compile_policy(set, identity(), Action::alert, std::nullopt);
    ASSERT_EQ(policy.rules.size(), 1u);
    EXPECT_TRUE(policy.rules[0].decided_in_kernel);
    ASSERT_TRUE(policy.kernel.exec_names.contains("nc"));
    ASSERT_TRUE(policy.kernel.exec_names.contains("/bin/ncat"));
    EXPECT_EQ(policy.kernel.exec_names["nc"].rule_id, 1u);
    EXPECT_EQ(policy.kernel.exec_names["nc"].action, BRIG_ACT_REPORT | BRIG_ACT_KILL);
}

namespace {

// exec_any: the kernel reports every exec only where a rule can match one it has no key for.
KernelVerdict exec_any_of(const std::string& rules_yaml) {
    RuleSet set;
    load_rules(default_rules_text(), "default.yaml", set);
    load_rules(rules_yaml, "r.yaml", set);
    return compile_policy(set, identity(), Action::alert, std::nullopt).kernel.exec_any;
}

}  // namespace

TEST(MonitorCompiler, EveryExecIsReportedOnlyWhereARuleNeedsIt) {
    EXPECT_EQ(exec_any_of("").action, 0u) << "the default rules key every exec rule";
    // An exec rule with no key is decided in user space on every exec.
    KernelVerdict unkeyed = exec_any_of(
        "- rule: secret arg\n  condition: evt.type = execve and proc.args contains secret\n"
        "  output: o\n  priority: ERROR\n");
    EXPECT_EQ(unkeyed.action, BRIG_ACT_REPORT);
    EXPECT_NE(unkeyed.rule_id, 0u);
    // The ancestry of an open comes from the execs before it.
    EXPECT_EQ(exec_any_of("- rule: p\n  condition: evt.type = openat and fd.name = /x\n"
                          "  output: o %proc.pcmdline\n  priority: ERROR\n")
                  .action,
              BRIG_ACT_REPORT);
    EXPECT_EQ(exec_any_of("- rule: a\n  condition: evt.type = openat and fd.name = /x and "
                          "proc.aname[2] = init\n  output: o\n  priority: ERROR\n")
                  .action,
              BRIG_ACT_REPORT);
    // An exec rule's own proc.exe is in its event; an open's is not.
    EXPECT_EQ(exec_any_of("- rule: e\n  condition: evt.type = execve and proc.name = nc\n"
                          "  output: o %proc.exe\n  priority: ERROR\n")
                  .action,
              0u);
    EXPECT_EQ(exec_any_of("- rule: o\n  condition: evt.type = openat and fd.name = /x\n"
                          "  output: o %proc.exe\n  priority: ERROR\n")
                  .action,
              BRIG_ACT_REPORT);
}

TEST(MonitorCompiler, OpenPathsCarryEveryShorterPrefixsVerdict) {
    // The kernel's trie returns the longest prefix only: a deny on /etc/ must survive an alert
    // on /etc/hosts, and reads and writes of one path share one entry.
    KernelPlan plan;
    plan.paths[BRIG_PATH_OPEN_WRITE]["/etc/"] = {1, BRIG_ACT_REPORT | BRIG_ACT_DENY};
    plan.paths[BRIG_PATH_OPEN_WRITE][std::string("/etc/hosts") + '\0'] = {2, BRIG_ACT_REPORT};
    plan.paths[BRIG_PATH_OPEN][std::string("/etc/shadow") + '\0'] = {3, BRIG_ACT_REPORT};
    plan.paths[BRIG_PATH_OPEN]["/e"] = {4, BRIG_ACT_REPORT | BRIG_ACT_KILL};
    auto paths = plan.folded_paths();
    ASSERT_EQ(paths.size(), 4u);
    auto hosts = paths[std::string("/etc/hosts") + '\0'];
    EXPECT_EQ(hosts.ops[BRIG_PATH_OPEN_WRITE].rule_id, 1u);
    EXPECT_EQ(hosts.ops[BRIG_PATH_OPEN].rule_id, 4u);
    auto shadow = paths[std::string("/etc/shadow") + '\0'];
    EXPECT_EQ(shadow.ops[BRIG_PATH_OPEN].rule_id, 4u);
    EXPECT_EQ(shadow.ops[BRIG_PATH_OPEN_WRITE].rule_id, 1u);
    EXPECT_EQ(paths["/etc/"].ops[BRIG_PATH_OPEN_WRITE].action, BRIG_ACT_REPORT | BRIG_ACT_DENY);
    EXPECT_EQ(paths["/e"].ops[BRIG_PATH_OPEN_WRITE].action, 0u);
    EXPECT_EQ(plan.entry_count(), 4u);
}

TEST(MonitorCompiler, WritingBelowADirectoryCoversChangingItsEntriesButNotChmod) {
    KernelPlan plan;
    plan.paths[BRIG_PATH_OPEN_WRITE]["/etc/"] = {1, BRIG_ACT_REPORT | BRIG_ACT_DENY};
    plan.paths[BRIG_PATH_UNLINK]["/srv/"] = {2, BRIG_ACT_REPORT};
    auto paths = plan.folded_paths();
    for (auto op : {BRIG_PATH_UNLINK, BRIG_PATH_UNLINKAT, BRIG_PATH_RMDIR, BRIG_PATH_RENAME,
                    BRIG_PATH_RENAMEAT, BRIG_PATH_RENAMEAT2, BRIG_PATH_MKDIR, BRIG_PATH_MKDIRAT,
                    BRIG_PATH_LINK, BRIG_PATH_LINKAT, BRIG_PATH_SYMLINK, BRIG_PATH_SYMLINKAT,
                    BRIG_PATH_MKNOD, BRIG_PATH_MKNODAT, BRIG_PATH_TRUNCATE})
        EXPECT_EQ(paths["/etc/"].ops[op].rule_id, 1u) << op;
    EXPECT_EQ(paths["/etc/"].ops[BRIG_PATH_CHMOD].action, 0u);
    EXPECT_EQ(paths["/etc/"].ops[BRIG_PATH_OPEN].action, 0u);
    EXPECT_EQ(paths["/srv/"].ops[BRIG_PATH_UNLINK].rule_id, 2u);
    EXPECT_EQ(paths["/srv/"].ops[BRIG_PATH_OPEN_WRITE].action, 0u);
}

TEST(MonitorCompiler, ResidualTermsLeaveTheDecisionToUserSpace) {
    RuleSet set;
    load_rules(default_rules_text(), "default.yaml", set);
    auto policy = compile_policy(set, identity(), Action::kill, std::nullopt);
    auto rule = [&](const std::string& name) {
        return *std::find_if(policy.rules.begin(), policy.rules.end(),
                             [&](const CompiledRule& r) { return r.name == name; });
    };
    // proc.tty is not decided in-kernel: the kernel only reports shells.
    EXPECT_FALSE(rule("Terminal shell in container").decided_in_kernel);
    EXPECT_TRUE(rule("Write below etc").decided_in_kernel);
    EXPECT_TRUE(rule("Packet socket created in container").decided_in_kernel);
    EXPECT_TRUE(rule("Drop and execute new binary in container").decided_in_kernel);
    EXPECT_TRUE(rule("Detect release_agent escapes").decided_in_kernel);
    EXPECT_EQ(policy.kernel.exec_names["bash"].action & BRIG_ACT_KILL, 0u);
    EXPECT_EQ(policy.kernel.syscalls[BRIG_SC_PACKET_SOCKET].action,
              BRIG_ACT_REPORT | BRIG_ACT_DENY);
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_OPEN_WRITE].contains("/etc/"));
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_OPEN_WRITE].contains("/usr/bin/"));
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_OPEN].contains(std::string("/etc/shadow") + '\0'));
    EXPECT_TRUE(policy.kernel.open_names.contains("release_agent"));
    ASSERT_TRUE(policy.landlock_deny.contains("/etc"));
    EXPECT_EQ(policy.landlock_deny["/etc"], ~0ULL);
    EXPECT_FALSE(policy.kernel.connects.empty());
}

TEST(MonitorCompiler, ContainerFieldsAreDecidedAtRegistration) {
    RuleSet set;
    load_rules(
        "- rule: only prod\n"
        "  condition: evt.type = ptrace and annotations[env] = prod\n"
        "  output: o\n  priority: ERROR\n  action: kill\n"
        "- rule: not c1\n  condition: evt.type = memfd_create and container.id != c1\n"
        "  output: o\n  priority: ERROR\n",
        "r.yaml", set);
    ContainerIdentity dev = identity();
    dev.annotations["env"] = "dev";
    auto dev_policy = compile_policy(set, dev, Action::alert, std::nullopt);
    EXPECT_TRUE(dev_policy.rules.empty());
    EXPECT_EQ(dev_policy.kernel.syscalls[BRIG_SC_PTRACE].action, 0u);

    ContainerIdentity prod = identity();
    prod.annotations["env"] = "prod";
    auto prod_policy = compile_policy(set, prod, Action::alert, std::nullopt);
    ASSERT_EQ(prod_policy.rules.size(), 1u);
    EXPECT_TRUE(prod_policy.rules[0].decided_in_kernel);
    EXPECT_EQ(prod_policy.kernel.syscalls[BRIG_SC_PTRACE].action, BRIG_ACT_REPORT | BRIG_ACT_KILL);
}

// A rule for one Kubernetes namespace is compiled into that namespace's containers only, and
// the CRI's pod metadata become the alert's fields.
TEST(MonitorCompiler, NamespaceRuleIsDecidedFromCriAnnotations) {
    RuleSet set;
    load_rules(
        "- rule: prod ptrace\n"
        "  condition: evt.type = ptrace and k8s.ns.name = prod\n"
        "  output: o %k8s.pod.name %k8s.pod.uid\n  priority: ERROR\n  action: kill\n",
        "r.yaml", set);
    auto pod = [](const std::string& ns) {
        ContainerIdentity c = identity();
        c.annotations["io.kubernetes.cri.sandbox-namespace"] = ns;
        c.annotations["io.kubernetes.cri.sandbox-name"] = "web-1";
        c.annotations["io.kubernetes.cri.sandbox-uid"] = "0c6f-uid";
        c.annotations["io.kubernetes.cri.image-name"] = "docker.io/library/nginx:1.25";
        return c;
    };
    auto dev = compile_policy(set, pod("dev"), Action::alert, std::nullopt);
    EXPECT_TRUE(dev.rules.empty());
    EXPECT_EQ(dev.kernel.syscalls[BRIG_SC_PTRACE].action, 0u);
    auto prod = compile_policy(set, pod("prod"), Action::alert, std::nullopt);
    ASSERT_EQ(prod.rules.size(), 1u);
    EXPECT_EQ(prod.kernel.syscalls[BRIG_SC_PTRACE].action, BRIG_ACT_REPORT | BRIG_ACT_KILL);
    EXPECT_EQ(prod.container_fields["k8s.pod.uid"], "0c6f-uid");
    EXPECT_EQ(prod.container_fields["k8s.pod.name"], "web-1");
    EXPECT_EQ(prod.container_fields["container.image.repository"], "docker.io/library/nginx");
    EXPECT_EQ(prod.container_fields["container.image.tag"], "1.25");
}

TEST(MonitorCompiler, PodMetadataAnnotationsAreBoundedTenantInput) {
    RuleSet set;
    ContainerIdentity c = identity();
    c.annotations["io.kubernetes.cri.sandbox-name"] = "web\nFAKE ALERT";
    try {
        compile_policy(set, c, Action::alert, std::nullopt);
        FAIL() << "a control character was accepted";
    } catch (const brig::Error& e) {
        EXPECT_STREQ(e.what(),
                     "annotation io.kubernetes.cri.sandbox-name: contains a control character");
    }
    c.annotations["io.kubernetes.cri.sandbox-name"] = std::string(2000, 'a');
    EXPECT_THROW(compile_policy(set, c, Action::alert, std::nullopt), brig::Error);
}

TEST(MonitorCompiler, ActionAnnotationOverridesEveryRule) {
    ContainerIdentity c = identity();
    c.annotations[kActionAnnotation] = "kill";
    MonitorConfig config;
    auto policy = build_policy(config, c);
    for (const auto& rule : policy.rules)
        EXPECT_EQ(rule.action, Action::kill) << rule.name;
    c.annotations[kActionAnnotation] = "maybe";
    EXPECT_THROW(build_policy(config, c), brig::Error);
}

TEST(MonitorCompiler, KubernetesServiceHostJoinsTheApiServerList) {
    ContainerIdentity c = identity();
    c.env = {"KUBERNETES_SERVICE_HOST=10.0.0.7", "KUBERNETES_SERVICE_PORT=8443"};
    auto policy = build_policy(MonitorConfig{}, c);
    SocketAddress target;
    target.family = AF_INET;
    target.addr = {10, 0, 0, 7};
    target.port = 8443;
    EXPECT_TRUE(policy.kernel.connects.contains(target));
}

TEST(MonitorConfig, ParsesAndRejectsUnknownFields) {
    auto config = MonitorConfig::from_json_text(
        R"({"monitor": {"rules_files": ["/x.yaml"], "default_action": "deny",
            "outputs": {"stdout": true, "http": "http://127.0.0.1:2801/"}}})",
        "c.json");
    EXPECT_EQ(config.default_action, Action::deny);
    EXPECT_EQ(config.rules_files, std::vector<std::string>{"/x.yaml"});
    EXPECT_TRUE(config.outputs.to_stdout);
    try {
        MonitorConfig::from_json_text(R"({"monitor": {"outputs": {"htp": "x"}}})", "c.json");
        FAIL();
    } catch (const brig::Error& e) {
        EXPECT_NE(std::string(e.what()).find("monitor.outputs.htp"), std::string::npos);
    }
    EXPECT_THROW(MonitorConfig::from_json_text(R"({"monitor": {"default_action": "nuke"}})", "c"),
                 brig::Error);
}

TEST(MonitorConfig, TheRootsSystemdCgroupAndNothingElseBesideMonitor) {
    EXPECT_FALSE(MonitorConfig::from_json_text("{}", "c.json").systemd_cgroup);
    EXPECT_TRUE(
        MonitorConfig::from_json_text(R"({"systemd_cgroup": true})", "c.json").systemd_cgroup);
    for (const char* bad : {R"({"systemd_cgroup": "yes"})", R"({"monitr": {}})"}) {
        try {
            MonitorConfig::from_json_text(bad, "c.json");
            ADD_FAILURE() << bad << " was taken";
        } catch (const brig::Error& e) {
            const std::string what = e.what();
            EXPECT_TRUE(what.find("systemd_cgroup") != std::string::npos ||
                        what.find("monitr") != std::string::npos)
                << what;
        }
    }
}

namespace {

std::string config_error(const std::string& text) {
    try {
        MonitorConfig::from_json_text(text, "c.json");
    } catch (const brig::Error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST(MonitorConfig, ErrorsNameTheLineAndTheField) {
    EXPECT_EQ(config_error("{\"monitor\": {\n  \"outputs\": {\n    \"stdout\": true,\n"
                           "    \"htp\": \"x\"}}}"),
              "config c.json:4: field 'monitor.outputs.htp': unknown field");
    EXPECT_EQ(config_error("{\"monitor\": {\n\"default_action\": \"nuke\"}}"),
              "config c.json:2: field 'monitor.default_action': must be alert, deny or kill, "
              "not 'nuke'");
    EXPECT_EQ(config_error("{\"monitor\": {\"enabled\": \"yes\"}}"),
              "config c.json:1: field 'monitor.enabled': must be true or false");
    EXPECT_EQ(config_error("{\"monitor\":\n {\"outputs\": {\"file\": \"relative.jsonl\"}}}"),
              "config c.json:2: field 'monitor.outputs.file': must be an absolute path");
    // JSON syntax errors name the line (and column) too.
    EXPECT_NE(config_error("{\"monitor\":\n {\"enabled\": tru}}").find("line 2"),
              std::string::npos);
}

TEST(MonitorConfig, EveryOutputOfTheSchemaParses) {
    auto config = MonitorConfig::from_json_text(
        R"({"monitor": {"outputs": {"stdout": true, "file": "/var/log/brig.jsonl",
            "syslog": true, "syslog_socket": "/run/log.sock", "http": "http://h:2801/",
            "program": "jq . >> /tmp/x"}}})",
        "c.json");
    EXPECT_TRUE(config.outputs.to_stdout);
    EXPECT_EQ(config.outputs.file, "/var/log/brig.jsonl");
    EXPECT_TRUE(config.outputs.syslog);
    EXPECT_EQ(config.outputs.syslog_socket, "/run/log.sock");
    EXPECT_EQ(config.outputs.http_url, "http://h:2801/");
    EXPECT_EQ(config.outputs.program, "jq . >> /tmp/x");
    EXPECT_EQ(MonitorConfig{}.outputs.syslog_socket, "/dev/log");
}

TEST(MonitorConfig, FloodLimitsParseAndAreChecked) {
    MonitorConfig defaults;
    EXPECT_EQ(defaults.coalesce_ms, 1000u);
    EXPECT_EQ(defaults.outputs.rate, 100);
    EXPECT_EQ(defaults.outputs.max_burst, 1000u);
    EXPECT_EQ(defaults.outputs.file_max_bytes, 4u << 20);
    auto config = MonitorConfig::from_json_text(
        R"({"monitor": {"coalesce_ms": 0, "outputs": {"rate": 0.5, "max_burst": 7,
            "file_max_bytes": 65536}}})",
        "c.json");
    EXPECT_EQ(config.coalesce_ms, 0u);
    EXPECT_EQ(config.outputs.rate, 0.5);
    EXPECT_EQ(config.outputs.max_burst, 7u);
    EXPECT_EQ(config.outputs.file_max_bytes, 65536u);
    EXPECT_EQ(config_error(R"({"monitor": {"outputs": {"rate": -1}}})"),
              "config c.json:1: field 'monitor.outputs.rate': must be a number from 0 to "
              "1000000000");
    EXPECT_EQ(config_error(R"({"monitor": {"outputs": {"max_burst": 0.5}}})"),
              "config c.json:1: field 'monitor.outputs.max_burst': must be a whole number from 1 "
              "to 1000000000");
    EXPECT_EQ(config_error(R"({"monitor": {"coalesce_ms": "1s"}})"),
              "config c.json:1: field 'monitor.coalesce_ms': must be a whole number from 0 to "
              "60000");
}

TEST(MonitorConfig, AnnotationRulesDirsAreAbsoluteDirectories) {
    EXPECT_EQ(MonitorConfig{}.annotation_rules_dirs, std::vector<std::string>{"/etc/brig/rules.d"});
    auto config = MonitorConfig::from_json_text(
        R"({"monitor": {"annotation_rules_dirs": ["/srv/rules", "/etc/r"]}})", "t.json");
    EXPECT_EQ(config.annotation_rules_dirs, (std::vector<std::string>{"/srv/rules", "/etc/r"}));
    EXPECT_TRUE(
        MonitorConfig::from_json_text(R"({"monitor": {"annotation_rules_dirs": []}})", "t.json")
            .annotation_rules_dirs.empty());
    for (const char* bad : {R"("/etc")", R"(["rules.d"])", R"([1])"})
        EXPECT_THROW(
            MonitorConfig::from_json_text(
                std::string(R"({"monitor": {"annotation_rules_dirs": )") + bad + "}}", "t.json"),
            brig::Error)
            << bad;
}

// The keys of a schema object's "properties".
std::set<std::string> schema_keys(const nlohmann::json& properties) {
    std::set<std::string> keys;
    for (const auto& [key, value] : properties.items())
        keys.insert(key);
    return keys;
}

nlohmann::json read_schema() {
    std::ifstream in(std::filesystem::path(__FILE__).parent_path() / "../../config.schema.json");
    if (!in)
        throw std::runtime_error("config.schema.json not found");
    return nlohmann::json::parse(in);
}

TEST(MonitorConfig, SchemaDescribesEveryField) {
    // config.schema.json and the parser must not drift apart: the schema's "monitor" and
    // "outputs" properties are exactly the keys the parser accepts.
    auto schema = read_schema();
    const auto& monitor = schema["properties"]["monitor"]["properties"];
    EXPECT_EQ(schema_keys(monitor), MonitorConfig::keys());
    EXPECT_EQ(schema_keys(monitor["outputs"]["properties"]), OutputConfig::keys());
    EXPECT_TRUE(schema["$defs"].contains("rules_file"));
}

TEST(MonitorConfig, SchemaDescribesEveryMetric) {
    // Every family `brig metrics` prints is in $defs.metrics with its type and its labels, and
    // the schema names no family it does not print.
    const auto schema = read_schema();
    const auto& described = schema["$defs"]["metrics"]["properties"];
    NodeMetrics node{"tracepoint",
                     {{"c1",
                       {R"({"rule":"r","priority":"Warning","source":"syscall"})",
                        R"({"rule":"Falco internal: alerts rate limited","priority":"Warning",)"
                        R"("source":"internal","output_fields":{"n_suppressed":3}})"},
                       2}}};
    std::istringstream text(prometheus_text(node));
    std::set<std::string> printed;
    for (std::string line; std::getline(text, line);) {
        if (line.starts_with("# TYPE ")) {
            std::istringstream words(line.substr(7));
            std::string name, type;
            words >> name >> type;
            printed.insert(name);
            ASSERT_TRUE(described.contains(name)) << name;
            EXPECT_EQ(described[name]["x-prometheus-type"], type) << name;
            continue;
        }
        if (line.starts_with("#"))
            continue;
        const auto brace = line.find('{');
        const std::string name = line.substr(0, std::min(brace, line.find(' ')));
        std::vector<std::string> labels;
        for (size_t at = brace; at != std::string::npos && at + 1 < line.size();) {
            const auto eq = line.find("=\"", at + 1);
            if (eq == std::string::npos || eq > line.find('}'))
                break;
            labels.push_back(line.substr(at + 1, eq - at - 1));
            at = line.find("\",", eq + 2);
            at = at == std::string::npos ? at : at + 1;
        }
        ASSERT_TRUE(described.contains(name)) << name;
        EXPECT_EQ(described[name]["x-labels"].get<std::vector<std::string>>(), labels) << line;
    }
    EXPECT_EQ(schema_keys(described), printed);
}
