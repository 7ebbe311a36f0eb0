// Falco's rules-file structure, operators and fields as brig loads and evaluates them; the stock
// files of falcosecurity/rules when BRIG_FALCO_RULES_DIR names a checkout's rules/ directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/bpf/syscall_table.h"
#include "monitor/container_users.hpp"
#include "monitor/monitor.hpp"
#include "monitor/rules.hpp"
#include "runtime/common/error.hpp"

using namespace brig::monitor;

namespace {

const Rule& rule_named(const RuleSet& set, const std::string& name) {
    for (const auto& rule : set.rules)
        if (rule.name == name)
            return rule;
    throw std::runtime_error("no rule " + name);
}

RuleSet test_rules_dir() {
    RuleSet set;
    load_rules_file(BRIG_TEST_DATA "/falco_rules", set);
    return set;
}

EventFields fields(std::initializer_list<std::pair<const char*, const char*>> values) {
    EventFields f;
    for (auto [k, v] : values)
        f.values[k] = v;
    return f;
}

bool matches(const std::string& condition, const EventFields& event) {
    RuleSet set;
    return evaluate(*parse_condition(condition, set, "test", 1), event);
}

std::string load_error(const std::string& text) {
    RuleSet set;
    try {
        load_rules(text, "test.yaml", set);
    } catch (const brig::Error& e) {
        return e.what();
    }
    return "";
}

// The rules compiled for container "c1".
ContainerPolicy policy_of(const RuleSet& set, Action action = Action::alert) {
    ContainerIdentity c;
    c.id = "c1";
    return compile_policy(set, c, action, std::nullopt);
}

// An event of `type` (an open, a path operation) by syscall `nr` on `path`, reported by the
// kernel for rule 1.
brig_event file_event(uint32_t type, uint32_t nr, const char* path) {
    brig_event e{};
    e.type = type;
    e.syscall_nr = nr;
    e.rule_id = 1;
    snprintf(e.path, sizeof(e.path), "%s", path);
    return e;
}

brig_event exec_event(uint32_t pid, uint32_t ppid, const char* path, const char* pcomm) {
    brig_event e{};
    e.type = BRIG_EV_EXEC;
    e.pid = pid;
    e.ppid = ppid;
    e.tty = -1;
    snprintf(e.path, sizeof(e.path), "%s", path);
    snprintf(e.pcomm, sizeof(e.pcomm), "%s", pcomm);
    std::string name = std::filesystem::path(path).filename();
    snprintf(e.comm, sizeof(e.comm), "%s", name.c_str());
    memcpy(e.args, name.c_str(), name.size() + 1);
    e.args_len = static_cast<uint32_t>(name.size() + 1);
    return e;
}

}  // namespace

TEST(FalcoRules, ARulesDirectoryLoadsInNameOrderWithEveryConstruct) {
    RuleSet set = test_rules_dir();
    // override: append on a list, legacy append on a macro.
    EXPECT_EQ(set.lists["shell_binaries"], (std::vector<std::string>{"sh", "bash", "zsh"}));
    EXPECT_NE(set.macros["container"].find("skipme"), std::string::npos);
    // override: replace of priority and output.
    const Rule& etc = rule_named(set, "Write below etc");
    EXPECT_EQ(etc.priority, Priority::critical);
    EXPECT_EQ(etc.output,
              "Write below etc by %proc.name (fd.name=%fd.name container.id=%container.id "
              "user.uid=%user.uid)");
    // enabled: false from the later file.
    EXPECT_FALSE(rule_named(set, "Noisy").enabled);
    // exceptions: appended values join the exception of the same name.
    const Rule& shell = rule_named(set, "Shell in container");
    ASSERT_EQ(shell.exceptions.size(), 2u);
    EXPECT_EQ(shell.exceptions[0].values.size(), 2u);
    ASSERT_TRUE(shell.condition);
}

TEST(FalcoRules, ExceptionsAndAppendedConditionsHaveFalcosMeaning) {
    RuleSet set = test_rules_dir();
    const Expr& shell = *rule_named(set, "Shell in container").condition;
    auto e = fields({{"evt.type", "execve"},
                     {"container.id", "c1"},
                     {"container.name", "web"},
                     {"proc.name", "zsh"},
                     {"proc.tty", "34816"},
                     {"proc.pname", "make"},
                     {"proc.cmdline", "zsh -c true"},
                     {"proc.aname[1]", "make"},
                     {"proc.aname[2]", "bash"}});
    EXPECT_TRUE(evaluate(shell, e));
    e.values["proc.tty"] = "0";  // the appended condition
    EXPECT_FALSE(evaluate(shell, e));
    e.values["proc.tty"] = "34816";
    e.values["proc.cmdline"] = "zsh -c BUILD -C build";  // by_parent: make + icontains
    EXPECT_FALSE(evaluate(shell, e));
    e.values["proc.cmdline"] = "zsh";
    e.values["proc.aname[2]"] = "dpkg";  // by_ancestor: any ancestor in package_mgmt
    EXPECT_FALSE(evaluate(shell, e));
    e.values["proc.aname[2]"] = "bash";
    e.values["proc.pname"] = "ninja";  // appended values of by_parent
    e.values["proc.cmdline"] = "zsh -j";
    EXPECT_FALSE(evaluate(shell, e));
    e.values["container.name"] = "skipme";  // the macro's appended condition
    e.values["proc.cmdline"] = "zsh";
    EXPECT_FALSE(evaluate(shell, e));
}

TEST(FalcoRules, RulesBrigCannotRunAreSkippedWithTheFieldNamed) {
    RuleSet set = test_rules_dir();
    EXPECT_NE(rule_named(set, "Failed open").skipped.find("'evt.res'"), std::string::npos);
    EXPECT_NE(rule_named(set, "Failed open").skipped.find("'fd.num'"), std::string::npos);
    EXPECT_NE(rule_named(set, "Setuid").skipped.find("evt.type setuid"), std::string::npos);
    EXPECT_NE(rule_named(set, "Audit source").skipped.find("k8s_audit"), std::string::npos);
    EXPECT_TRUE(rule_named(set, "Ptrace code injection").skipped.empty());
    // Warnings name the rule (disabled rules say nothing); the others still compile.
    auto warnings = skipped_rules(set);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_NE(warnings[0].find("rule 'Setuid' skipped"), std::string::npos) << warnings[0];
    ContainerIdentity c;
    c.id = "c1";
    auto policy = compile_policy(set, c, Action::alert, std::nullopt);
    std::vector<std::string> names;
    for (const auto& rule : policy.rules)
        names.push_back(rule.name);
    EXPECT_EQ(names, (std::vector<std::string>{"Shell in container", "Write below etc",
                                               "Ptrace code injection"}));
    EXPECT_EQ(policy.kernel.syscalls[BRIG_SC_PTRACE].rule_id, 3u);
}

TEST(FalcoRules, OverrideErrorsNameTheLineAndTheKey) {
    EXPECT_NE(load_error("- list: l\n  items: [a]\n  override:\n    items: merge\n")
                  .find("test.yaml:4: list 'l': override of 'items' must be append or replace"),
              std::string::npos);
    EXPECT_NE(load_error("- list: l\n  items: [a]\n  override:\n    items: append\n")
                  .find("no earlier list of this name"),
              std::string::npos);
    std::string base = "- rule: r\n  condition: evt.type = ptrace\n  output: o\n  priority: INFO\n";
    EXPECT_NE(load_error(base + "- rule: r\n  priority: ERROR\n  override:\n    priority: append\n")
                  .find("'priority' cannot be overridden with append"),
              std::string::npos);
    EXPECT_NE(load_error(base + "- rule: r\n  desc: d\n  output: x\n  override:\n"
                                "    output: replace\n")
                  .find("test.yaml:6: rule 'r': 'desc' is not listed in override"),
              std::string::npos);
    EXPECT_NE(load_error(base + "- rule: r\n  exceptions:\n    - name: e\n      fields: [a, b]\n"
                                "      comps: [=]\n  append: true\n")
                  .find("exception 'e': fields and comps differ in length"),
              std::string::npos);
    EXPECT_NE(load_error(base.substr(0, base.size() - 1) +
                         "\n  exceptions:\n    - name: e\n      fields: [proc.name, proc.pid]\n"
                         "      values: [[sh]]\n")
                  .find("each value is a list of 2 items"),
              std::string::npos);
}

TEST(FalcoRules, FalcoOperatorsEvaluate) {
    auto e = fields({{"proc.cmdline", "curl HTTP://x"},
                     {"proc.args", "-V"},
                     {"fd.sip", "10.1.2.3"},
                     {"fd.snet", "10.1.2.3"},
                     {"fd.name",
                      "/tmp/\x7f"
                      "ELF"},
                     {"proc.aname[1]", "sh"},
                     {"proc.aname[2]", "sshd"},
                     {"evt.arg.request", "PTRACE_POKETEXT"}});
    EXPECT_TRUE(matches("proc.cmdline icontains http://", e));
    EXPECT_FALSE(matches("proc.cmdline contains http://", e));
    EXPECT_TRUE(matches("proc.args intersects (\"-V\", \"-l\")", e));
    EXPECT_TRUE(matches("fd.name bcontains 7f454c46", e));
    EXPECT_TRUE(matches("fd.name bstartswith 2f746d70", e));
    EXPECT_TRUE(matches("proc.cmdline iglob 'CURL *'", e));
    EXPECT_TRUE(matches("fd.snet = \"10.0.0.0/8\"", e));
    EXPECT_FALSE(matches("fd.snet in (\"192.168.0.0/16\", \"127.0.0.0/8\")", e));
    EXPECT_TRUE(matches("proc.aname = sshd and proc.aname[1] = sh and not proc.aname = init", e));
    EXPECT_TRUE(matches("evt.arg.request in (PTRACE_POKETEXT, PTRACE_POKEDATA)", e));
    EXPECT_TRUE(matches("evt.arg.request = 4", e));  // a number names the same request
}

TEST(FalcoRules, EventsCarryFalcosFields) {
    ContainerIdentity c;
    c.id = "c1";
    c.annotations["io.kubernetes.cri.image-name"] = "docker.io/library/nginx:1.25";
    c.annotations["io.kubernetes.cri.sandbox-namespace"] = "prod";
    RuleSet none;
    ContainerPolicy policy = compile_policy(none, c, Action::alert, std::nullopt);
    ProcessTable processes;
    auto run = [&](const brig_event& e) {
        EventFields f = event_fields(e, policy);
        processes.complete(e, f);
        return f;
    };
    run(exec_event(10, 1, "/bin/sh", "containerd-shim"));
    run(exec_event(11, 10, "/usr/bin/python3", "sh"));
    EventFields f = run(exec_event(12, 11, "/bin/bash", "python3"));
    EXPECT_EQ(f.values["evt.num"], "3");
    EXPECT_EQ(f.values["proc.aname[1]"], "python3");
    EXPECT_EQ(f.values["proc.aname[2]"], "sh");
    EXPECT_EQ(f.values["proc.pexe"], "/usr/bin/python3");
    EXPECT_EQ(f.values["proc.pcmdline"], "python3");
    EXPECT_EQ(f.values["proc.exepath"], "/bin/bash");
    EXPECT_EQ(f.values["container.image.repository"], "docker.io/library/nginx");
    EXPECT_EQ(f.values["container.image.tag"], "1.25");
    EXPECT_EQ(f.values["k8s.ns.name"], "prod");

    brig_event open{};
    open.type = BRIG_EV_OPEN;
    open.syscall_nr = 257;
    open.pid = 12;
    open.ppid = 11;
    open.flags = 01 | 0100 | 02000000;
    snprintf(open.path, sizeof(open.path), "/etc/passwd");
    snprintf(open.comm, sizeof(open.comm), "bash");
    snprintf(open.pcomm, sizeof(open.pcomm), "python3");
    f = run(open);
    EXPECT_EQ(f.values["fd.typechar"], "f");
    EXPECT_EQ(f.values["evt.arg.flags"], "O_WRONLY|O_CREAT|O_CLOEXEC");
    EXPECT_EQ(f.values["evt.arg.name"], "/etc/passwd");
    EXPECT_EQ(f.values["proc.aname[1]"], "python3");

    brig_event connect{};
    connect.type = BRIG_EV_CONNECT;
    connect.family = AF_INET;
    connect.port = 443;
    uint8_t ip[4] = {10, 0, 0, 7};
    memcpy(connect.addr, ip, 4);
    f = run(connect);
    EXPECT_EQ(f.values["fd.rip"], "10.0.0.7");
    EXPECT_EQ(f.values["fd.rport"], "443");
    EXPECT_EQ(f.values["fd.typechar"], "4");
    EXPECT_EQ(f.values["fd.name"], "10.0.0.7:443");
}

TEST(FalcoRules, AlertsKeepFalcosTypesAndTimePrefix) {
    RuleSet set;
    load_rules(
        "- rule: r\n  condition: evt.type = execve and proc.name = sh\n"
        "  output: sh %proc.name %proc.pid %proc.exe_new %fd.name\n  priority: NOTICE\n",
        "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    ContainerPolicy policy = compile_policy(set, c, Action::alert, std::nullopt);
    ProcessTable processes;
    brig_event e = exec_event(7, 1, "/bin/sh", "init");
    auto alerts = match_event(e, policy, processes);
    ASSERT_EQ(alerts.size(), 1u);
    auto j = nlohmann::json::parse(alert_json(alerts[0]));
    EXPECT_EQ(j["source"], "syscall");
    EXPECT_EQ(j["output_fields"]["proc.pid"], 7);
    EXPECT_EQ(j["output_fields"]["proc.exe_new"], false);
    EXPECT_TRUE(j["output_fields"]["fd.name"].is_null());
    EXPECT_EQ(j["output_fields"]["proc.name"], "sh");
    // Falco's default prefix is the time of day; time_format_iso_8601 makes it the JSON time.
    std::string output = j["output"];
    EXPECT_EQ(output.find(j["time"].get<std::string>()), std::string::npos) << output;
    EXPECT_EQ(output.find(": Notice sh sh 7 false <NA>"), 18u) << output;
    policy.time_format_iso_8601 = true;
    j = nlohmann::json::parse(alert_json(match_event(e, policy, processes).at(0)));
    EXPECT_EQ(j["output"].get<std::string>().rfind(j["time"].get<std::string>() + ": Notice ", 0),
              0u);
}

// Every alert says which container and pod it is about, whatever its rule's output names; the
// fields the container lacks stay out, and a field the output names is not repeated.
TEST(FalcoRules, AlertsCarryTheContainerAndPodFields) {
    RuleSet set;
    load_rules(
        "- rule: r\n  condition: evt.type = execve and proc.name = sh\n"
        "  output: sh %proc.name %k8s.pod.name\n  priority: NOTICE\n",
        "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    c.annotations["io.kubernetes.cri.sandbox-namespace"] = "prod";
    c.annotations["io.kubernetes.cri.sandbox-name"] = "web-1";
    c.annotations["io.kubernetes.cri.sandbox-uid"] = "0c6f-uid";
    c.annotations["io.kubernetes.cri.container-name"] = "nginx";
    c.annotations["io.kubernetes.cri.image-name"] = "docker.io/library/nginx:1.25";
    ProcessTable processes;
    brig_event e = exec_event(7, 1, "/bin/sh", "init");
    ContainerPolicy policy = compile_policy(set, c, Action::alert, std::nullopt);
    auto alerts = match_event(e, policy, processes);
    ASSERT_EQ(alerts.size(), 1u);
    auto j = nlohmann::json::parse(alert_json(alerts[0]));
    const auto& of = j["output_fields"];
    EXPECT_EQ(of["container.id"], "c1");
    EXPECT_EQ(of["container.name"], "nginx");
    EXPECT_EQ(of["container.image.repository"], "docker.io/library/nginx");
    EXPECT_EQ(of["container.image.tag"], "1.25");
    EXPECT_EQ(of["k8s.ns.name"], "prod");
    EXPECT_EQ(of["k8s.pod.name"], "web-1");
    EXPECT_EQ(of["k8s.pod.uid"], "0c6f-uid");
    size_t pod_names = 0;
    for (const auto& [name, value] : alerts[0].output_fields)
        pod_names += name == "k8s.pod.name";
    EXPECT_EQ(pod_names, 1u);

    ContainerIdentity plain;
    plain.id = "c2";
    policy = compile_policy(set, plain, Action::alert, std::nullopt);
    j = nlohmann::json::parse(alert_json(match_event(e, policy, processes).at(0)));
    EXPECT_EQ(j["output_fields"]["container.id"], "c2");
    EXPECT_FALSE(j["output_fields"].contains("k8s.ns.name")) << j.dump();
    EXPECT_FALSE(j["output_fields"].contains("container.image.tag")) << j.dump();
}

// The stock files of github.com/falcosecurity/rules (fetched by whoever runs this: tests fetch
// nothing): each loads; the test prints which rules brig runs and which it skips, and why.
TEST(FalcoRules, FalcoStockFilesLoad) {
    const char* dir = std::getenv("BRIG_FALCO_RULES_DIR");
    if (!dir)
        GTEST_SKIP() << "set BRIG_FALCO_RULES_DIR to the rules/ directory of a "
                        "falcosecurity/rules checkout to load Falco's stock files";
    RuleSet set;
    for (const char* file :
         {"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"})
        ASSERT_NO_THROW(load_rules_file(std::string(dir) + "/" + file, set)) << file;
    size_t running = 0, disabled = 0;
    for (const auto& rule : set.rules) {
        running += rule.enabled && rule.skipped.empty();
        disabled += !rule.enabled;
    }
    auto warnings = skipped_rules(set);
    for (const auto& warning : warnings)
        std::cout << warning << "\n";
    std::cout << set.rules.size() << " stock rules, " << running << " load and run, "
              << warnings.size() << " skipped with a warning, " << disabled
              << " disabled by the files\n";
    EXPECT_GT(running, 0u);
    // Falco's stock rules each name their event types, however deeply nested.
    ContainerIdentity c;
    c.id = "c1";
    for (const auto& w : compile_policy(set, c, Action::alert, std::nullopt).warnings)
        EXPECT_EQ(w.find("does not restrict evt.type"), std::string::npos) << w;
}

TEST(FalcoRules, UserNamesComeFromTheContainersPasswdResolvedInsideItsRoot) {
    namespace fs = std::filesystem;
    fs::path rootfs = fs::temp_directory_path() / ("brig-users-" + std::to_string(getpid()));
    fs::create_directories(rootfs / "etc");
    const std::vector<brig::config::IdMapping> mappings = {{0, 100000, 65536}};
    std::ofstream(rootfs / "etc/passwd.real")
        << "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\nbroken\n";
    // An absolute symlink is resolved inside the root, never to the host's /etc/passwd.
    fs::create_symlink("/etc/passwd.real", rootfs / "etc/passwd");
    auto names = container_user_names(rootfs.string(), mappings);
    EXPECT_EQ(names, (std::map<uint32_t, std::string>{{100000, "root"}, {100033, "www-data"}}));
    EXPECT_EQ(container_user_names(rootfs.string(), {}).at(33), "www-data");
    fs::remove_all(rootfs);
    EXPECT_TRUE(container_user_names(rootfs.string(), mappings).empty());
}

// The image is the tenant's: a FIFO as /etc/passwd, without a writer (an open would block)
// and with one holding a line (a read would return it, then block), is neither opened nor read.
TEST(FalcoRules, UserNamesAreReadOnlyFromARegularFileWithoutBlocking) {
    namespace fs = std::filesystem;
    fs::path rootfs = fs::temp_directory_path() / ("brig-users-fifo-" + std::to_string(getpid()));
    fs::create_directories(rootfs / "etc");
    const fs::path fifo = rootfs / "etc/passwd";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto names_within_5s = [&] {
        ::alarm(5);
        _exit(container_user_names(rootfs.string(), {}).empty() ? 0 : 1);
    };
    EXPECT_EXIT(names_within_5s(), ::testing::ExitedWithCode(0), "") << "no writer";
    // Not even opened: a writer blocked in its open(2) until a reader comes stays blocked.
    int opened[2];
    ASSERT_EQ(::pipe2(opened, O_CLOEXEC), 0);
    pid_t blocked_writer = ::fork();
    ASSERT_GE(blocked_writer, 0);
    if (blocked_writer == 0) {
        ::alarm(10);
        if (::open(fifo.c_str(), O_WRONLY | O_CLOEXEC) >= 0)
            (void)!::write(opened[1], "o", 1);
        _exit(0);
    }
    ::close(opened[1]);
    ::usleep(100 * 1000);  // the writer is in its open
    EXPECT_TRUE(container_user_names(rootfs.string(), {}).empty());
    pollfd reported{opened[0], POLLIN, 0};
    EXPECT_EQ(::poll(&reported, 1, 200), 0) << "the FIFO was opened for reading";
    int release = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // lets it go
    ::waitpid(blocked_writer, nullptr, 0);
    ::close(release);
    ::close(opened[0]);
    int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(writer, 0);
    const std::string line = "fifo:x:7:7::/:/bin/sh\n";
    ASSERT_EQ(::write(writer, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    EXPECT_EXIT(names_within_5s(), ::testing::ExitedWithCode(0), "") << "a writer";
    // Nothing read it: the line is still in the pipe.
    char buf[64] = {};
    EXPECT_EQ(::read(writer, buf, sizeof(buf)), static_cast<ssize_t>(line.size()));
    ::close(writer);
    fs::remove_all(rootfs);
}

TEST(FalcoRules, NestedEventTypesAndPathArgumentsReachTheKernelPlan) {
    RuleSet set;
    load_rules(
        "- rule: below dev\n"
        "  condition: (evt.type = creat or evt.type in (open, openat, openat2))\n"
        "    and evt.arg.name startswith /dev/\n"
        "  output: o\n  priority: ERROR\n  action: kill\n"
        "- rule: rename bin\n"
        "  condition: evt.type in (rename, renameat) and evt.arg.oldpath startswith /bin/\n"
        "  output: o\n  priority: ERROR\n  action: kill\n",
        "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    auto policy = compile_policy(set, c, Action::alert, std::nullopt);
    for (const auto& w : policy.warnings)
        EXPECT_EQ(w.find("does not restrict evt.type"), std::string::npos) << w;
    ASSERT_EQ(policy.rules.size(), 2u);
    EXPECT_TRUE(policy.rules[0].decided_in_kernel);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_OPEN]["/dev/"].action, BRIG_ACT_REPORT | BRIG_ACT_KILL);
    // A key on either path of a rename matches more than the source: user space decides.
    EXPECT_FALSE(policy.rules[1].decided_in_kernel);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_RENAME]["/bin/"].action, BRIG_ACT_REPORT);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_RENAMEAT]["/bin/"].rule_id, 2u);
}

// An or of conjunctions each naming its own event types, below an and: every alternative is
// keyed in the kernel with its own class, an exact one keeps its kill.
TEST(FalcoRules, EventTypesInsideAnOrOfConjunctionsReachTheKernelPlan) {
    RuleSet set;
    load_rules(
        "- rule: etc\n"
        "  condition: ((evt.type in (open, openat, openat2) and evt.is_open_write = true) or\n"
        "    (evt.type = mkdirat and proc.name = sh)) and\n"
        "    (fd.name startswith /etc/ or fd.directory in (/srv) or fd.name glob "
        "'/home/*/.ssh/*')\n"
        "  output: o\n  priority: ERROR\n  action: kill\n"
        "- rule: names\n"
        "  condition: (evt.type in (open, openat, openat2)) and\n"
        "    (fd.filename = .bashrc or fd.name startswith /root/)\n"
        "  output: o\n  priority: ERROR\n  action: kill\n"
        "- rule: exact\n"
        "  condition: (evt.type in (open, openat, openat2) and evt.is_open_write = true)\n"
        "    and fd.name startswith /boot/\n"
        "  output: o\n  priority: ERROR\n  action: kill\n",
        "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    auto policy = compile_policy(set, c, Action::alert, std::nullopt);
    for (const auto& w : policy.warnings)
        EXPECT_EQ(w.find("does not restrict evt.type"), std::string::npos) << w;
    ASSERT_EQ(policy.rules.size(), 3u);
    auto& writes = policy.kernel.paths[BRIG_PATH_OPEN_WRITE];
    for (const char* key : {"/etc/", "/srv/", "/home/", "/boot/"})
        EXPECT_TRUE(writes.contains(key)) << key;
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_OPEN].contains("/root/"));
    EXPECT_TRUE(policy.kernel.open_names.contains(".bashrc"));
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_MKDIRAT].contains("/srv/"));
    EXPECT_FALSE(policy.kernel.exec_any.action) << "nothing is left to execs";
    // fd.directory and the glob match more than their keys: user space decides the first rule.
    EXPECT_FALSE(policy.rules[0].decided_in_kernel);
    EXPECT_EQ(writes["/etc/"].action, BRIG_ACT_REPORT);
    EXPECT_TRUE(policy.rules[1].decided_in_kernel) << "names and prefixes both keyed exactly";
    EXPECT_TRUE(policy.rules[2].decided_in_kernel);
    EXPECT_EQ(writes["/boot/"].action, BRIG_ACT_REPORT | BRIG_ACT_KILL);
}

TEST(FalcoRules, AConditionWithTooManyAlternativesIsSplitAtItsTopLevelWithAWarning) {
    std::string condition = "evt.type = openat and fd.name startswith /etc/";
    for (int i = 0; i < 9; ++i)  // 2^9 alternatives once distributed
        condition += " and (evt.type = openat or evt.type = mkdir and proc.name = p" +
                     std::to_string(i) + ")";
    RuleSet set;
    load_rules("- rule: wide\n  condition: " + condition + "\n  output: o\n  priority: ERROR\n",
               "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    auto policy = compile_policy(set, c, Action::alert, std::nullopt);
    ASSERT_EQ(policy.rules.size(), 1u);
    bool warned = std::any_of(policy.warnings.begin(), policy.warnings.end(), [](const auto& w) {
        return w.find("more than 256 alternatives") != std::string::npos;
    });
    EXPECT_TRUE(warned) << ::testing::PrintToString(policy.warnings);
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_OPEN].contains("/etc/"));
}

// Falco's "Create Symlink Over Sensitive Files" and "Create Hardlink Over Sensitive Files", as
// the stock file writes them (lists, macros, an or of `in` on evt.arg.target).
constexpr const char* kLinkRules = R"yaml(
- list: sensitive_file_names
  items: [/etc/shadow, /etc/sudoers]
- list: sensitive_directory_names
  items: [/, /etc, /etc/, /root, /root/]
- macro: create_symlink
  condition: (evt.type in (symlink, symlinkat))
- macro: create_hardlink
  condition: (evt.type in (link, linkat))
- rule: Create Symlink Over Sensitive Files
  desc: d
  condition: >
    create_symlink
    and (evt.arg.target in (sensitive_file_names) or evt.arg.target in (sensitive_directory_names))
  output: Symlinks created over sensitive files | target=%evt.arg.target linkpath=%evt.arg.linkpath evt_type=%evt.type
  priority: WARNING
- rule: Create Hardlink Over Sensitive Files
  desc: d
  condition: create_hardlink and (evt.arg.oldpath in (sensitive_file_names))
  output: Hardlinks created over sensitive files | target=%evt.arg.oldpath linkpath=%evt.arg.newpath
  priority: WARNING
- rule: Device node below srv
  desc: d
  condition: evt.type in (mknod, mknodat) and fd.name startswith /srv/
  output: mknod %fd.name
  priority: ERROR
  action: kill
)yaml";

TEST(FalcoRules, LinksSymlinksAndMknodAreRuledUnderTheirOwnSlots) {
    RuleSet set;
    load_rules(kLinkRules, "links.yaml", set);
    auto policy = policy_of(set);
    for (const auto& w : policy.warnings)
        EXPECT_EQ(w.find("never fires"), std::string::npos) << w;
    for (const auto& rule : set.rules)
        EXPECT_TRUE(rule.skipped.empty()) << rule.name << ": " << rule.skipped;
    ASSERT_EQ(policy.rules.size(), 3u);
    // A target is no path the kernel resolves: every symlink is reported, user space decides.
    EXPECT_FALSE(policy.rules[0].decided_in_kernel);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_SYMLINK]["/"].action, BRIG_ACT_REPORT);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_SYMLINKAT]["/"].rule_id, 1u);
    const std::string shadow = std::string("/etc/shadow") + '\0';
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_LINK][shadow].rule_id, 2u);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_LINKAT][shadow].action, BRIG_ACT_REPORT);
    EXPECT_EQ(policy.kernel.paths[BRIG_PATH_MKNODAT]["/srv/"].action,
              BRIG_ACT_REPORT | BRIG_ACT_KILL);
    EXPECT_TRUE(policy.rules[2].decided_in_kernel);
    EXPECT_TRUE(policy.kernel.paths[BRIG_PATH_OPEN_WRITE].empty()) << "not ruled as writes";
}

TEST(FalcoRules, ASymlinksTargetAndLinkpathAreFalcosFields) {
    RuleSet set;
    load_rules(kLinkRules, "links.yaml", set);
    auto policy = policy_of(set);
    ProcessTable processes;
    brig_event link = file_event(BRIG_EV_PATH, NR_symlinkat, "/etc/shadow");  // the target
    snprintf(link.new_path, sizeof(link.new_path), "/tmp/s");
    auto alerts = match_event(link, policy, processes);
    ASSERT_EQ(alerts.size(), 1u);
    auto j = nlohmann::json::parse(alert_json(alerts[0]));
    EXPECT_EQ(j["rule"], "Create Symlink Over Sensitive Files");
    EXPECT_EQ(j["output_fields"]["evt.arg.target"], "/etc/shadow");
    EXPECT_EQ(j["output_fields"]["evt.arg.linkpath"], "/tmp/s");
    EXPECT_EQ(j["output_fields"]["evt.type"], "symlinkat");
    EXPECT_NE(j["output"].get<std::string>().find("target=/etc/shadow linkpath=/tmp/s"),
              std::string::npos)
        << j["output"];
    snprintf(link.path, sizeof(link.path), "/tmp/other");
    EXPECT_TRUE(match_event(link, policy, processes).empty()) << "another target";
    snprintf(link.path, sizeof(link.path), "/etc");
    EXPECT_EQ(match_event(link, policy, processes).size(), 1u) << "a sensitive directory";
}

// Falco's open_read as the stock file writes it: the fd the open returned (fd.num), which brig
// takes at the open's exit; rules on other syscalls' return values are skipped, saying why.
TEST(FalcoRules, AnOpensResultIsFdNumEvtResAndEvtRawres) {
    RuleSet set;
    load_rules(R"yaml(
- macro: open_read
  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true
    and fd.typechar='f' and fd.num>=0)
- rule: read shadow
  condition: open_read and fd.name = /etc/shadow and evt.res = SUCCESS
  output: read (fd=%fd.num res=%evt.res raw=%evt.rawres)
  priority: WARNING
- rule: connected
  condition: evt.type = connect and evt.rawres >= 0
  output: o
  priority: WARNING
- rule: history removed
  condition: >
    ((evt.type in (rename, unlink) and evt.arg.oldpath endswith history)
     or (open_read and fd.name endswith history)) and not proc.name = bash
  output: o
  priority: WARNING
)yaml",
               "r.yaml", set);
    ASSERT_EQ(set.rules.size(), 3u);
    EXPECT_TRUE(set.rules[0].skipped.empty()) << set.rules[0].skipped;
    EXPECT_NE(set.rules[1].skipped.find("needs field 'evt.rawres' of connect"), std::string::npos)
        << set.rules[1].skipped;
    // fd.num only where the branch is the opens': renames and unlinks need no return value.
    EXPECT_TRUE(set.rules[2].skipped.empty()) << set.rules[2].skipped;
    auto policy = policy_of(set);
    ProcessTable processes;
    brig_event open = file_event(BRIG_EV_OPEN, NR_openat, "/etc/shadow");
    EXPECT_TRUE(match_event(open, policy, processes).empty()) << "no result: never fd.num >= 0";
    open.has_res = 1;
    open.res = 5;
    auto alerts = match_event(open, policy, processes);
    ASSERT_EQ(alerts.size(), 1u);
    auto j = nlohmann::json::parse(alert_json(alerts[0]));
    EXPECT_EQ(j["output_fields"]["fd.num"], 5);
    EXPECT_EQ(j["output_fields"]["evt.rawres"], 5);
    EXPECT_EQ(j["output_fields"]["evt.res"], "SUCCESS");
}

TEST(FalcoRules, DroppedEventsAreAlertedUnderFalcosInternalName) {
    ContainerPolicy policy;
    policy.container_id = "c1";
    policy.rules.emplace_back().name = "Write below etc";
    EventDrops drops{12, 30};
    auto j = nlohmann::json::parse(alert_json(drop_alert(policy, drops, {{1, 30}})));
    EXPECT_EQ(j["rule"], "Falco internal: syscall event drop");
    EXPECT_EQ(j["source"], "internal");
    EXPECT_EQ(j["priority"], "Critical");
    EXPECT_EQ(j["output_fields"]["n_drops"], 42);
    EXPECT_EQ(j["output_fields"]["n_drops_buffer"], 12);
    EXPECT_EQ(j["output_fields"]["n_drops_shed"], 30);
    EXPECT_EQ(j["output_fields"]["container.id"], "c1");
    std::string output = j["output"];
    EXPECT_NE(output.find(": Critical Falco internal: syscall event drop. 42 system calls dropped "
                          "in container c1 (ring buffer full: 12; shed while the ring was more "
                          "than half full: 30, 'Write below etc' 30)."),
              std::string::npos)
        << output;
}

// brig's own alerts about a container name its pod as rule alerts do: a Kubernetes operator
// finds a flood's drops and a dead output by namespace and pod.
TEST(FalcoRules, InternalAlertsCarryTheContainerAndPodFields) {
    ContainerIdentity c;
    c.id = "c1";
    c.annotations = {{"io.kubernetes.cri.container-name", "web"},
                     {"io.kubernetes.cri.sandbox-namespace", "shop"},
                     {"io.kubernetes.cri.sandbox-name", "web-7d4"},
                     {"io.kubernetes.cri.sandbox-uid", "0b1e"},
                     {"io.kubernetes.cri.image-name", "docker.io/library/nginx:1.27"}};
    RuleSet set;
    auto policy = compile_policy(set, c, Action::alert, std::nullopt);
    auto fields = [](const Alert& alert) {
        return nlohmann::json::parse(alert_json(alert))["output_fields"];
    };
    for (const auto& of : {fields(drop_alert(policy, EventDrops{1, 0}, {})),
                           fields(rate_limit_alert(policy, OutputConfig{}, {{"r", {2, 3}}}))}) {
        EXPECT_EQ(of["container.id"], "c1") << of;
        EXPECT_EQ(of["container.name"], "web") << of;
        EXPECT_EQ(of["k8s.ns.name"], "shop") << of;
        EXPECT_EQ(of["k8s.pod.name"], "web-7d4") << of;
        EXPECT_EQ(of["k8s.pod.uid"], "0b1e") << of;
        EXPECT_EQ(of["container.image.repository"], "docker.io/library/nginx") << of;
        EXPECT_EQ(of["container.image.tag"], "1.27") << of;
    }
    // An output that fails: alerted in the container's own log, with the same fields.
    auto dir = std::filesystem::temp_directory_path() / ("brig-sink-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    OutputConfig outputs;
    outputs.program = "exit 3";
    AlertSink sink(outputs, dir.string(), policy);
    sink.emit(drop_alert(policy, EventDrops{1, 0}, {}));
    auto lines = read_alerts(dir.string());
    std::filesystem::remove_all(dir);
    ASSERT_EQ(lines.size(), 2u);
    auto failed = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(failed["rule"], "brig alert output failed");
    EXPECT_EQ(failed["output_fields"]["k8s.pod.name"], "web-7d4") << lines[1];
}

TEST(FalcoRules, SuppressedAlertsAreCountedByRule) {
    ContainerPolicy policy;
    policy.container_id = "c1";
    OutputConfig outputs;
    outputs.rate = 0.5;
    outputs.max_burst = 5;
    auto j = nlohmann::json::parse(alert_json(
        rate_limit_alert(policy, outputs, {{"a", {3, 3}}, {"Write below etc", {45, 1000}}})));
    EXPECT_EQ(j["rule"], "Falco internal: alerts rate limited");
    EXPECT_EQ(j["source"], "internal");
    EXPECT_EQ(j["priority"], "Warning");
    EXPECT_EQ(j["output_fields"]["n_suppressed"], 48);
    EXPECT_EQ(j["output_fields"]["brig.count"], 1003);
    std::string output = j["output"];
    EXPECT_NE(output.find(": Warning Falco internal: alerts rate limited. 48 alerts of 1003 events "
                          "suppressed in container c1 (outputs.rate 0.5/s, max_burst 5): 'Write "
                          "below etc' 45, 'a' 3."),
              std::string::npos)
        << output;
}

TEST(FalcoRules, AReportOnlyKernelMatchIsDecidedByTheWholeCondition) {
    RuleSet set;
    load_rules(
        "- rule: r\n  condition: evt.type = openat and fd.directory = /dev and not fd.name in "
        "(/dev/null)\n  output: o %fd.name\n  priority: ERROR\n",
        "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    ContainerPolicy policy = compile_policy(set, c, Action::alert, std::nullopt);
    ASSERT_FALSE(policy.rules.at(0).decided_in_kernel);
    ProcessTable processes;
    brig_event open{};
    open.type = BRIG_EV_OPEN;
    open.syscall_nr = 257;
    open.rule_id = 1;  // the kernel's /dev/ entry reported it for the rule
    snprintf(open.path, sizeof(open.path), "/dev/null");
    EXPECT_TRUE(match_event(open, policy, processes).empty());
    snprintf(open.path, sizeof(open.path), "/dev/mem");
    EXPECT_EQ(match_event(open, policy, processes).size(), 1u);
}

// Code mapped executable (ld.so's program, a library) names the mapped program; the command line
// stays the process's own, and a remembered exec of the same pid does not rename it.
TEST(FalcoRules, ACodeMappingNamesTheMappedProgram) {
    RuleSet set;
    load_rules(
        "- rule: r\n  condition: evt.type = execve and proc.name = prog\n"
        "  output: o %evt.type %proc.name %proc.exe %proc.cmdline %proc.exe_new %fd.name\n"
        "  priority: ERROR\n",
        "r.yaml", set);
    ContainerIdentity c;
    c.id = "c1";
    ContainerPolicy policy = compile_policy(set, c, Action::kill, std::nullopt);
    ASSERT_TRUE(policy.rules.at(0).decided_in_kernel);
    ProcessTable processes;
    match_event(exec_event(7, 1, "/lib64/ld-linux-x86-64.so.2", "sh"), policy, processes);
    brig_event map{};
    map.type = BRIG_EV_CODE_MAP;
    map.syscall_nr = 9;  // mmap
    map.pid = 7;
    map.ppid = 1;
    map.rule_id = 1;
    map.action = BRIG_ACT_KILL;
    map.exe_new = 1;
    snprintf(map.comm, sizeof(map.comm), "ld-linux-x86-6");
    snprintf(map.path, sizeof(map.path), "/usr/bin/prog");
    const char argv[] = "/lib64/ld-linux-x86-64.so.2\0/usr/bin/prog\0-x";
    memcpy(map.args, argv, sizeof(argv));
    map.args_len = sizeof(argv);
    auto alerts = match_event(map, policy, processes);
    ASSERT_EQ(alerts.size(), 1u);
    auto j = nlohmann::json::parse(alert_json(alerts[0]));
    const auto& of = j["output_fields"];
    EXPECT_EQ(of["evt.type"], "mmap");
    EXPECT_EQ(of["proc.name"], "prog");
    EXPECT_EQ(of["proc.exe"], "/usr/bin/prog");
    EXPECT_EQ(of["proc.cmdline"], "ld-linux-x86-64.so.2 /usr/bin/prog -x");
    EXPECT_EQ(of["proc.exe_new"], true);
    EXPECT_EQ(of["fd.name"], "/usr/bin/prog");
    EXPECT_EQ(of["brig.enforced"], "kernel");
    map.syscall_nr = 10;
    j = nlohmann::json::parse(alert_json(match_event(map, policy, processes).at(0)));
    EXPECT_EQ(j["output_fields"]["evt.type"], "mprotect");
}
