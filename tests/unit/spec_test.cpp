// config.json parsing and validation: good configs become the expected structs, bad ones fail
// with an error that starts with the JSON path of the offending value.
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/default_spec.hpp"
#include "runtime/common/error.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/config/spec.hpp"
#include "spec_samples.hpp"

namespace brig::config {
namespace {

using nlohmann::json;

json minimal_config() {
    return json::parse(R"({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "process": {"args": ["sh"], "cwd": "/"}
    })");
}

using samples::full_config;

// Expects parse_spec(doc) to fail with exactly `message`.
void expect_spec_error(const json& doc, const std::string& message) {
    try {
        parse_spec(doc);
        ADD_FAILURE() << "parsed without error; expected: " << message;
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), message);
    }
}

// Applies `edit` to the minimal config and expects `message`.
void expect_edit_error(const std::function<void(json&)>& edit, const std::string& message) {
    json doc = minimal_config();
    edit(doc);
    SCOPED_TRACE(message);
    expect_spec_error(doc, message);
}

// Same, with a linux section containing the given resources.
void expect_resources_error(const json& resources, const std::string& message) {
    expect_edit_error([&](json& d) { d["linux"]["resources"] = resources; }, message);
}

TEST(SpecParse, MinimalConfig) {
    Spec s = parse_spec(minimal_config());
    EXPECT_EQ(s.oci_version, "1.2.0");
    EXPECT_EQ(s.root.path, "rootfs");
    EXPECT_FALSE(s.root.readonly);
    ASSERT_TRUE(s.process);
    EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
    EXPECT_EQ(s.process->cwd, "/");
    EXPECT_EQ(s.process->user.uid, 0u);
    EXPECT_FALSE(s.process->capabilities);
    EXPECT_FALSE(s.linux);
    EXPECT_TRUE(s.mounts.empty());
}

TEST(SpecParse, FullConfigProcess) {
    Spec s = parse_spec(full_config());
    ASSERT_TRUE(s.process);
    const Process& p = *s.process;
    EXPECT_TRUE(p.terminal);
    ASSERT_TRUE(p.console_size);
    EXPECT_EQ(p.console_size->height, 24u);
    EXPECT_EQ(p.console_size->width, 80u);
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.gid, 1001u);
    EXPECT_EQ(p.user.umask, 18u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
    EXPECT_EQ(p.args, (std::vector<std::string>{"sh", "-c", "echo hi"}));
    EXPECT_EQ(p.env.size(), 3u);
    EXPECT_EQ(p.env[2], "EMPTY=");
    EXPECT_EQ(p.cwd, "/home");
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->bounding, (std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL"}));
    EXPECT_EQ(p.capabilities->effective, std::vector<std::string>{"CAP_KILL"});
    EXPECT_TRUE(p.capabilities->inheritable.empty());
    EXPECT_EQ(p.capabilities->ambient, std::vector<std::string>{"CAP_KILL"});
    ASSERT_EQ(p.rlimits.size(), 2u);
    EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(p.rlimits[0].hard, 1024u);
    EXPECT_EQ(p.rlimits[0].soft, 512u);
    EXPECT_EQ(p.rlimits[1].resource, RLIMIT_CORE);
    EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
    EXPECT_TRUE(p.no_new_privileges);
    EXPECT_EQ(p.apparmor_profile, "brig-default");
    EXPECT_EQ(p.oom_score_adj, -500);
    EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0");
    ASSERT_TRUE(p.scheduler);
    EXPECT_EQ(p.scheduler->policy, "SCHED_FIFO");
    EXPECT_EQ(p.scheduler->priority, 10);
    EXPECT_EQ(p.scheduler->flags, std::vector<std::string>{"SCHED_FLAG_RESET_ON_FORK"});
    ASSERT_TRUE(p.io_priority);
    EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_BE");
    EXPECT_EQ(p.io_priority->priority, 4);
    ASSERT_TRUE(p.exec_cpu_affinity);
    EXPECT_EQ(p.exec_cpu_affinity->initial_cpus, "0");
    EXPECT_EQ(p.exec_cpu_affinity->final_cpus, "0-1");
}

TEST(SpecParse, FullConfigRootMountsHooks) {
    Spec s = parse_spec(full_config());
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.hostname, "box");
    EXPECT_EQ(s.domainname, "example.org");
    ASSERT_EQ(s.mounts.size(), 3u);
    EXPECT_EQ(s.mounts[1].destination, "/dev");
    EXPECT_EQ(s.mounts[1].type, "tmpfs");
    EXPECT_EQ(s.mounts[1].source, "tmpfs");
    EXPECT_EQ(s.mounts[1].options.size(), 4u);
    ASSERT_EQ(s.mounts[2].uid_mappings.size(), 1u);
    EXPECT_EQ(s.mounts[2].uid_mappings[0].host_id, 100000u);
    EXPECT_EQ(s.mounts[2].gid_mappings[0].size, 65536u);
    ASSERT_EQ(s.hooks.prestart.size(), 1u);
    EXPECT_EQ(s.hooks.prestart[0].path, "/usr/bin/true");
    EXPECT_EQ(s.hooks.prestart[0].args, (std::vector<std::string>{"true", "a"}));
    EXPECT_EQ(s.hooks.prestart[0].env, std::vector<std::string>{"A=1"});
    EXPECT_EQ(s.hooks.prestart[0].timeout, 5);
    EXPECT_EQ(s.hooks.create_runtime.at(0).path, "/bin/cr");
    EXPECT_EQ(s.hooks.create_container.at(0).path, "/bin/cc");
    EXPECT_EQ(s.hooks.start_container.at(0).path, "/bin/sc");
    EXPECT_EQ(s.hooks.poststart.size(), 2u);
    EXPECT_FALSE(s.hooks.poststart[1].timeout);
    EXPECT_EQ(s.hooks.poststop.at(0).path, "/bin/stop");
    EXPECT_EQ(s.annotations.at("org.example.key"), "value");
}

TEST(SpecParse, FullConfigLinux) {
    Spec s = parse_spec(full_config());
    ASSERT_TRUE(s.linux);
    const Linux& l = *s.linux;
    ASSERT_EQ(l.namespaces.size(), 8u);
    EXPECT_EQ(l.namespaces[0].type, NamespaceType::pid);
    EXPECT_EQ(l.namespaces[1].type, NamespaceType::network);
    EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/x");
    EXPECT_TRUE(l.namespaces[0].path.empty());
    ASSERT_NE(l.find_namespace(NamespaceType::time), nullptr);
    EXPECT_EQ(l.find_namespace(NamespaceType::network), &l.namespaces[1]);
    ASSERT_EQ(l.gid_mappings.size(), 2u);
    EXPECT_EQ(l.gid_mappings[1].container_id, 1000u);
    EXPECT_EQ(l.gid_mappings[1].host_id, 300000u);
    EXPECT_EQ(l.gid_mappings[1].size, 1u);
    EXPECT_EQ(l.time_offsets.at("monotonic"), (std::pair<int64_t, uint32_t>{-3600, 5}));
    EXPECT_EQ(l.time_offsets.at("boottime"), (std::pair<int64_t, uint32_t>{86400, 0}));
    ASSERT_EQ(l.devices.size(), 2u);
    EXPECT_EQ(l.devices[0].type, 'c');
    EXPECT_EQ(l.devices[0].path, "/dev/fuse");
    EXPECT_EQ(l.devices[0].major, 10);
    EXPECT_EQ(l.devices[0].minor, 229);
    EXPECT_EQ(l.devices[0].file_mode, 0666u);
    EXPECT_EQ(l.devices[0].uid, 0u);
    EXPECT_EQ(l.devices[1].type, 'p');
    EXPECT_FALSE(l.devices[1].file_mode);
    EXPECT_EQ(l.cgroups_path, "/brig/test");
    EXPECT_EQ(l.rootfs_propagation, "rslave");
    EXPECT_EQ(l.masked_paths, (std::vector<std::string>{"/proc/kcore", "/sys/firmware"}));
    EXPECT_EQ(l.readonly_paths, std::vector<std::string>{"/proc/sys"});
    EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0");
    EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
    ASSERT_TRUE(l.seccomp);
    EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(l.seccomp->default_errno_ret, 1u);
    EXPECT_EQ(l.seccomp->architectures.size(), 2u);
    EXPECT_EQ(l.seccomp->flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    EXPECT_EQ(l.seccomp->listener_path, "/run/seccomp.sock");
    EXPECT_EQ(l.seccomp->listener_metadata, "meta");
    ASSERT_EQ(l.seccomp->syscalls.size(), 3u);
    EXPECT_EQ(l.seccomp->syscalls[0].names, (std::vector<std::string>{"read", "write"}));
    EXPECT_EQ(l.seccomp->syscalls[1].args.at(0).value, 8u);
    EXPECT_EQ(l.seccomp->syscalls[1].args.at(0).op, "SCMP_CMP_EQ");
    EXPECT_EQ(l.seccomp->syscalls[2].errno_ret, 13u);
    ASSERT_TRUE(l.personality);
    EXPECT_EQ(l.personality->domain, "LINUX32");
}

TEST(SpecParse, FullConfigResources) {
    Spec s = parse_spec(full_config());
    ASSERT_TRUE(s.linux && s.linux->resources);
    const Resources& r = *s.linux->resources;
    ASSERT_EQ(r.devices.size(), 3u);
    EXPECT_FALSE(r.devices[0].allow);
    EXPECT_EQ(r.devices[0].type, 'a');
    EXPECT_FALSE(r.devices[0].major);
    EXPECT_EQ(r.devices[1].type, 'c');
    EXPECT_EQ(r.devices[1].major, 10);
    EXPECT_EQ(r.devices[1].access, "rw");
    EXPECT_EQ(r.devices[2].major, -1);
    EXPECT_EQ(r.devices[2].access, "rwm");  // unset means all
    ASSERT_TRUE(r.memory);
    EXPECT_EQ(r.memory->limit, 536870912);
    EXPECT_EQ(r.memory->swap, -1);
    EXPECT_EQ(r.memory->kernel_tcp, 0);
    EXPECT_EQ(r.memory->swappiness, 60u);
    EXPECT_TRUE(r.memory->disable_oom_killer);
    EXPECT_EQ(r.memory->use_hierarchy, true);
    EXPECT_EQ(r.memory->check_before_update, false);
    ASSERT_TRUE(r.cpu);
    EXPECT_EQ(r.cpu->shares, 1024u);
    EXPECT_EQ(r.cpu->quota, 50000);
    EXPECT_EQ(r.cpu->burst, 1000u);
    EXPECT_EQ(r.cpu->period, 100000u);
    EXPECT_EQ(r.cpu->realtime_runtime, 950000);
    EXPECT_EQ(r.cpu->realtime_period, 1000000u);
    EXPECT_EQ(r.cpu->cpus, "0-1");
    EXPECT_EQ(r.cpu->mems, "0");
    EXPECT_EQ(r.cpu->idle, 1);
    EXPECT_EQ(r.pids_limit, 32);
    ASSERT_TRUE(r.block_io);
    EXPECT_EQ(r.block_io->weight, 500);
    EXPECT_EQ(r.block_io->leaf_weight, 300);
    ASSERT_EQ(r.block_io->weight_device.size(), 1u);
    EXPECT_EQ(r.block_io->weight_device[0].leaf_weight, 10);
    EXPECT_EQ(r.block_io->throttle_read_bps.at(0).rate, 600u);
    EXPECT_EQ(r.block_io->throttle_write_bps.at(0).minor, 16);
    EXPECT_EQ(r.block_io->throttle_read_iops.at(0).rate, 300u);
    EXPECT_EQ(r.block_io->throttle_write_iops.at(0).rate, 400u);
    ASSERT_EQ(r.hugepage_limits.size(), 2u);
    EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r.hugepage_limits[0].limit, 209715200u);
    ASSERT_TRUE(r.network);
    EXPECT_EQ(r.network->class_id, 1048577u);
    EXPECT_EQ(r.network->priorities.at(0), (std::pair<std::string, uint32_t>{"eth0", 500}));
    EXPECT_EQ(r.rdma.at("mlx5_1").hca_handles, 3u);
    EXPECT_EQ(r.rdma.at("mlx5_1").hca_objects, 10000u);
    EXPECT_EQ(r.unified.at("io.weight"), "default 100");
}

TEST(SpecParse, UnknownFieldsAndNullsAreIgnored) {
    json doc = minimal_config();
    doc["vm"] = {{"hypervisor", {{"path", "relative"}}}};
    doc["process"]["commandLine"] = "ignored";
    doc["process"]["user"] = {{"uid", 1}, {"username", "ignored"}};
    doc["hostname"] = nullptr;  // Go's encoding/json writes null for unset pointers
    doc["linux"] = {{"netDevices", {{"eth0", {{"name", "x"}}}}}, {"resources", nullptr}};
    Spec s = parse_spec(doc);
    EXPECT_EQ(s.process->user.uid, 1u);
    EXPECT_TRUE(s.hostname.empty());
    ASSERT_TRUE(s.linux);
    EXPECT_FALSE(s.linux->resources);
}

TEST(SpecParse, DefaultSpecOfBrigSpecIsValid) {
    for (bool rootless : {false, true}) {
        SCOPED_TRACE(rootless ? "rootless" : "root");
        Spec s = parse_spec(cli::default_spec(rootless));
        ASSERT_TRUE(s.process);
        EXPECT_FALSE(s.process->args.empty());
        ASSERT_TRUE(s.linux);
        EXPECT_NE(s.linux->find_namespace(NamespaceType::mount), nullptr);
    }
}

TEST(SpecParse, ProcessForExec) {
    // `brig exec --process FILE` reads a bare process object.
    Process p =
        parse_process(json::parse(R"({"args": ["ls"], "cwd": "/tmp", "env": ["A=b"]})"), "process");
    EXPECT_EQ(p.args, std::vector<std::string>{"ls"});
    EXPECT_EQ(p.cwd, "/tmp");
    try {
        parse_process(json::parse(R"({"args": ["ls"], "cwd": "tmp"})"), "process");
        FAIL() << "relative cwd accepted";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "process.cwd: must be an absolute path");
    }
}

TEST(SpecParse, ResourcesForUpdate) {
    Resources r = parse_resources(
        json::parse(R"({"memory": {"limit": 1048576}, "pids": {"limit": -1}})"), "resources");
    EXPECT_EQ(r.memory->limit, 1048576);
    EXPECT_EQ(r.pids_limit, -1);
    try {
        parse_resources(json::parse(R"({"pids": {"limit": -2}})"), "resources");
        FAIL() << "pids.limit -2 accepted";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(),
                     "resources.pids.limit: must be -1 (unlimited) or a non-negative integer");
    }
}

// ---- errors: top level and process -------------------------------------------------------

TEST(SpecErrors, TopLevel) {
    expect_spec_error(json::array(), "config: must be an object");
    expect_spec_error(json("text"), "config: must be an object");
    expect_edit_error([](json& d) { d.erase("ociVersion"); }, "ociVersion: required");
    expect_edit_error([](json& d) { d["ociVersion"] = 1; }, "ociVersion: must be a string");
    expect_edit_error([](json& d) { d["ociVersion"] = ""; }, "ociVersion: must not be empty");
    expect_edit_error([](json& d) { d.erase("root"); }, "root: required");
    expect_edit_error([](json& d) { d["root"] = json::object(); }, "root.path: required");
    expect_edit_error([](json& d) { d["root"]["path"] = ""; }, "root.path: must not be empty");
    expect_edit_error([](json& d) { d["root"]["readonly"] = "yes"; },
                      "root.readonly: must be a boolean");
    expect_edit_error([](json& d) { d["root"] = json::array({"rootfs"}); },
                      "root: must be an object");
    expect_edit_error([](json& d) { d["hostname"] = std::string(65, 'h'); },
                      "hostname: longer than 64 bytes");
    expect_edit_error([](json& d) { d["hostname"] = 7; }, "hostname: must be a string");
    expect_edit_error([](json& d) { d["domainname"] = std::string(65, 'd'); },
                      "domainname: longer than 64 bytes");
    expect_edit_error(
        [](json& d) {
            d["annotations"] = {{"a", 1}};
        },
        "annotations[\"a\"]: must be a string");
    expect_edit_error(
        [](json& d) {
            d["annotations"] = {{"", "x"}};
        },
        "annotations[\"\"]: key must not be empty");
}

TEST(SpecErrors, Process) {
    expect_edit_error([](json& d) { d["process"] = json::array(); }, "process: must be an object");
    expect_edit_error([](json& d) { d["process"].erase("args"); }, "process.args: required");
    expect_edit_error([](json& d) { d["process"]["args"] = json::array(); },
                      "process.args: must be a non-empty array");
    expect_edit_error([](json& d) { d["process"]["args"] = "sh"; },
                      "process.args: must be a non-empty array");
    expect_edit_error(
        [](json& d) {
            d["process"]["args"] = {"sh", 1};
        },
        "process.args[1]: must be a string");
    expect_edit_error([](json& d) { d["process"].erase("cwd"); }, "process.cwd: required");
    expect_edit_error([](json& d) { d["process"]["cwd"] = "home"; },
                      "process.cwd: must be an absolute path");
    expect_edit_error(
        [](json& d) {
            d["process"]["env"] = {"PATH=/bin", "NOEQUALS"};
        },
        "process.env[1]: must be KEY=VALUE, got \"NOEQUALS\"");
    expect_edit_error([](json& d) { d["process"]["env"] = {"=x"}; },
                      "process.env[0]: must be KEY=VALUE, got \"=x\"");
    expect_edit_error([](json& d) { d["process"]["terminal"] = 1; },
                      "process.terminal: must be a boolean");
    expect_edit_error(
        [](json& d) {
            d["process"]["consoleSize"] = {{"height", 1}};
        },
        "process.consoleSize.width: required");
    expect_edit_error(
        [](json& d) {
            d["process"]["consoleSize"] = {{"height", 70000}, {"width", 1}};
        },
        "process.consoleSize.height: must be an integer in [0, 65535]");
    expect_edit_error([](json& d) { d["process"]["oomScoreAdj"] = 1001; },
                      "process.oomScoreAdj: must be an integer in [-1000, 1000]");
    expect_edit_error([](json& d) { d["process"]["oomScoreAdj"] = -1001; },
                      "process.oomScoreAdj: must be an integer in [-1000, 1000]");
    expect_edit_error([](json& d) { d["process"]["noNewPrivileges"] = "true"; },
                      "process.noNewPrivileges: must be a boolean");
    expect_edit_error(
        [](json& d) {
            d["process"]["capabilities"] = {{"bounding", "CAP_KILL"}};
        },
        "process.capabilities.bounding: must be an array");
    expect_edit_error(
        [](json& d) {
            d["process"]["capabilities"] = {{"effective", {1}}};
        },
        "process.capabilities.effective[0]: must be a string");
    expect_edit_error([](json& d) { d["process"]["apparmorProfile"] = json::object(); },
                      "process.apparmorProfile: must be a string");
    expect_edit_error(
        [](json& d) {
            d["process"]["execCPUAffinity"] = {{"initial", "0-3;rm"}};
        },
        "process.execCPUAffinity.initial: must be a CPU list such as \"0-3,5\", "
        "got \"0-3;rm\"");
}

TEST(SpecErrors, User) {
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"uid", -1}};
        },
        "process.user.uid: must be an unsigned 32-bit integer");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"uid", 4294967296}};
        },
        "process.user.uid: must be an unsigned 32-bit integer");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"uid", "0"}};
        },
        "process.user.uid: must be an unsigned 32-bit integer");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"uid", 1.5}};
        },
        "process.user.uid: must be an unsigned 32-bit integer");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"gid", true}};
        },
        "process.user.gid: must be an unsigned 32-bit integer");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"umask", 512}};
        },
        "process.user.umask: must be an integer in [0, 511]");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"additionalGids", {1, -2}}};
        },
        "process.user.additionalGids[1]: must be an unsigned 32-bit integer");
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = {{"additionalGids", 5}};
        },
        "process.user.additionalGids: must be an array");
}

TEST(SpecErrors, Rlimits) {
    auto rlimits = [](json list) { return [list](json& d) { d["process"]["rlimits"] = list; }; };
    expect_edit_error(rlimits(json::parse(R"([{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1},
                                              {"type": "RLIMIT_FOO", "hard": 1, "soft": 1}])")),
                      "process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"");
    expect_edit_error(rlimits(json::parse(R"([{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1},
                                              {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 2}])")),
                      "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\" (also "
                      "process.rlimits[0])");
    expect_edit_error(rlimits(json::parse(R"([{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}])")),
                      "process.rlimits[0]: soft limit 2 exceeds hard limit 1");
    expect_edit_error(rlimits(json::parse(R"([{"type": "RLIMIT_NOFILE", "soft": 2}])")),
                      "process.rlimits[0].hard: required");
    expect_edit_error(rlimits(json::parse(R"([{"type": "RLIMIT_NOFILE", "hard": -1, "soft": 0}])")),
                      "process.rlimits[0].hard: must be an unsigned 64-bit integer");
    expect_edit_error(rlimits(json::parse(R"([{"hard": 1, "soft": 1}])")),
                      "process.rlimits[0].type: required");
    expect_edit_error(rlimits(json::parse(R"(["RLIMIT_NOFILE"])")),
                      "process.rlimits[0]: must be an object");
    expect_edit_error(rlimits(json::parse(R"({"type": "RLIMIT_NOFILE"})")),
                      "process.rlimits: must be an array");
}

TEST(SpecErrors, SchedulerAndIoPriority) {
    auto process_field = [](const char* key, json value) {
        return [key, value](json& d) { d["process"][key] = value; };
    };
    expect_edit_error(process_field("scheduler", {{"policy", "SCHED_FAST"}}),
                      "process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\" (one of "
                      "SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, "
                      "SCHED_DEADLINE)");
    expect_edit_error(process_field("scheduler", {{"nice", 1}}),
                      "process.scheduler.policy: required");
    expect_edit_error(process_field("scheduler", {{"policy", "SCHED_OTHER"}, {"nice", 20}}),
                      "process.scheduler.nice: must be an integer in [-20, 19]");
    expect_edit_error(process_field("scheduler", {{"policy", "SCHED_RR"}, {"priority", 0}}),
                      "process.scheduler.priority: must be an integer in [1, 99]");
    expect_edit_error(process_field("scheduler", {{"policy", "SCHED_OTHER"}, {"priority", 5}}),
                      "process.scheduler.priority: must be an integer in [0, 0]");
    expect_edit_error(process_field("scheduler", {{"policy", "SCHED_OTHER"}, {"flags", {"X"}}}),
                      "process.scheduler.flags[0]: unknown scheduler flag \"X\" (one of "
                      "SCHED_FLAG_RESET_ON_FORK, SCHED_FLAG_RECLAIM, SCHED_FLAG_DL_OVERRUN, "
                      "SCHED_FLAG_KEEP_POLICY, SCHED_FLAG_KEEP_PARAMS, SCHED_FLAG_UTIL_CLAMP_MIN, "
                      "SCHED_FLAG_UTIL_CLAMP_MAX)");
    expect_edit_error(
        process_field(
            "scheduler",
            {{"policy", "SCHED_DEADLINE"}, {"runtime", 10}, {"deadline", 5}, {"period", 20}}),
        "process.scheduler: runtime must not exceed deadline");
    expect_edit_error(process_field("ioPriority", {{"class", "IOPRIO_CLASS_NONE"}}),
                      "process.ioPriority.class: unknown ioPriority class \"IOPRIO_CLASS_NONE\" "
                      "(one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)");
    expect_edit_error(process_field("ioPriority", {{"class", "IOPRIO_CLASS_RT"}, {"priority", 8}}),
                      "process.ioPriority.priority: must be an integer in [0, 7]");
    expect_edit_error(process_field("ioPriority", {{"priority", 1}}),
                      "process.ioPriority.class: required");
}

// ---- errors: mounts, hooks ---------------------------------------------------------------

TEST(SpecErrors, Mounts) {
    expect_edit_error(
        [](json& d) {
            d["mounts"] = {{{"destination", "/proc"}}, {{"type", "tmpfs"}}};
        },
        "mounts[1].destination: required");
    expect_edit_error(
        [](json& d) {
            d["mounts"] = {{{"destination", "proc"}}};
        },
        "mounts[0].destination: must be an absolute path");
    expect_edit_error(
        [](json& d) {
            d["mounts"] = {{{"destination", "/x"}, {"options", "ro"}}};
        },
        "mounts[0].options: must be an array");
    expect_edit_error(
        [](json& d) {
            d["mounts"] = {{{"destination", "/x"}, {"source", 5}}};
        },
        "mounts[0].source: must be a string");
    expect_edit_error([](json& d) { d["mounts"] = json::object(); }, "mounts: must be an array");
    expect_edit_error(
        [](json& d) {
            d["mounts"] = json::parse(R"([{"destination": "/x", "uidMappings":
                [{"containerID": 0, "hostID": 1000, "size": 1}]}])");
        },
        "mounts[0]: uidMappings and gidMappings must be given together");
    expect_edit_error(
        [](json& d) {
            d["mounts"] = json::parse(R"([{"destination": "/x",
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 0}],
                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}])");
        },
        "mounts[0].uidMappings[0].size: must be greater than 0");
}

TEST(SpecErrors, Hooks) {
    expect_edit_error(
        [](json& d) {
            d["hooks"] = {{"prestart", {{{"path", "true"}}}}};
        },
        "hooks.prestart[0].path: must be an absolute path");
    expect_edit_error(
        [](json& d) {
            d["hooks"] = {{"poststop", {{{"args", {"x"}}}}}};
        },
        "hooks.poststop[0].path: required");
    expect_edit_error(
        [](json& d) {
            d["hooks"] = {{"createRuntime", {{{"path", "/bin/x"}, {"timeout", 0}}}}};
        },
        "hooks.createRuntime[0].timeout: must be an integer in [1, 2147483647]");
    expect_edit_error(
        [](json& d) {
            d["hooks"] = {{"poststart", {{{"path", "/bin/x"}, {"timeout", -5}}}}};
        },
        "hooks.poststart[0].timeout: must be an integer in [1, 2147483647]");
    expect_edit_error(
        [](json& d) {
            d["hooks"] = {{"startContainer", {{{"path", "/bin/x"}, {"env", {1}}}}}};
        },
        "hooks.startContainer[0].env[0]: must be a string");
    expect_edit_error(
        [](json& d) {
            d["hooks"] = {{"createContainer", {{"path", "/bin/x"}}}};
        },
        "hooks.createContainer: must be an array");
    expect_edit_error([](json& d) { d["hooks"] = json::array(); }, "hooks: must be an object");
}

// ---- errors: linux -----------------------------------------------------------------------

TEST(SpecErrors, Namespaces) {
    auto namespaces = [](const char* text) {
        return [text](json& d) { d["linux"]["namespaces"] = json::parse(text); };
    };
    expect_edit_error(namespaces(R"([{"type": "pid"}, {"type": "mount"}, {"type": "foo"}])"),
                      "linux.namespaces[2].type: unknown namespace type \"foo\"");
    expect_edit_error(namespaces(R"([{"type": "pid"}, {"type": "pid"}])"),
                      "linux.namespaces[1].type: duplicate namespace \"pid\" (also "
                      "linux.namespaces[0])");
    expect_edit_error(namespaces(R"([{"type": "network", "path": "netns/x"}])"),
                      "linux.namespaces[0].path: must be an absolute path");
    expect_edit_error(namespaces(R"([{"path": "/proc/1/ns/pid"}])"),
                      "linux.namespaces[0].type: required");
    expect_edit_error(namespaces(R"(["pid"])"), "linux.namespaces[0]: must be an object");
    expect_edit_error(namespaces(R"({"type": "pid"})"), "linux.namespaces: must be an array");
    expect_edit_error([](json& d) { d["linux"] = json::array(); }, "linux: must be an object");
}

TEST(SpecErrors, UserNamespaceMappings) {
    const json map0 = json::parse(R"([{"containerID": 0, "hostID": 100000, "size": 65536}])");
    expect_edit_error(
        [&](json& d) {
            d["linux"]["uidMappings"] = map0;
            d["linux"]["gidMappings"] = map0;
        },
        "linux.uidMappings: requires a user namespace in linux.namespaces");
    expect_edit_error(
        [&](json& d) {
            d["linux"]["namespaces"] = json::parse(R"([{"type": "user"}])");
            d["linux"]["uidMappings"] = map0;
        },
        "linux.gidMappings: required together with linux.uidMappings");
    // A new user namespace without mappings is left to the namespace setup (crun's rootless
    // spec has none), and joining an existing one needs none either.
    json fresh = minimal_config();
    fresh["linux"]["namespaces"] = json::parse(R"([{"type": "user"}])");
    EXPECT_NO_THROW(parse_spec(fresh));
    json joined = minimal_config();
    joined["linux"]["namespaces"] = json::parse(R"([{"type": "user", "path": "/proc/1/ns/user"}])");
    EXPECT_NO_THROW(parse_spec(joined));

    auto with_uid_maps = [](const char* text) {
        return [text](json& d) {
            d["linux"]["namespaces"] = json::parse(R"([{"type": "user"}])");
            d["linux"]["uidMappings"] = json::parse(text);
            d["linux"]["gidMappings"] =
                json::parse(R"([{"containerID": 0, "hostID": 100000, "size": 1}])");
        };
    };
    expect_edit_error(with_uid_maps(R"([{"containerID": 0, "hostID": 1000, "size": 0}])"),
                      "linux.uidMappings[0].size: must be greater than 0");
    expect_edit_error(with_uid_maps(R"([{"containerID": 0, "hostID": 1000, "size": 10},
                                        {"containerID": 5, "hostID": 5000, "size": 10}])"),
                      "linux.uidMappings[1]: container range overlaps linux.uidMappings[0]");
    expect_edit_error(with_uid_maps(R"([{"containerID": 0, "hostID": 1000, "size": 10},
                                        {"containerID": 10, "hostID": 1009, "size": 10}])"),
                      "linux.uidMappings[1]: host range overlaps linux.uidMappings[0]");
    expect_edit_error(with_uid_maps(R"([{"containerID": 4294967000, "hostID": 0, "size": 1000}])"),
                      "linux.uidMappings[0]: containerID + size overflows the 32-bit id range");
    expect_edit_error(with_uid_maps(R"([{"containerID": 0, "hostID": 4294967295, "size": 1}])"),
                      "linux.uidMappings[0]: hostID + size overflows the 32-bit id range");
    expect_edit_error(with_uid_maps(R"([{"containerID": 0, "size": 1}])"),
                      "linux.uidMappings[0].hostID: required");
    expect_edit_error(with_uid_maps(R"([{"containerID": 0, "hostID": 1, "size": 4294967296}])"),
                      "linux.uidMappings[0].size: must be an unsigned 32-bit integer");
    // Adjacent ranges do not overlap.
    json adjacent = minimal_config();
    with_uid_maps(R"([{"containerID": 0, "hostID": 1000, "size": 10},
                      {"containerID": 10, "hostID": 1010, "size": 10}])")(adjacent);
    EXPECT_NO_THROW(parse_spec(adjacent));
}

TEST(SpecErrors, TimeOffsets) {
    expect_edit_error(
        [](json& d) {
            d["linux"]["namespaces"] = json::parse(R"([{"type": "time"}])");
            d["linux"]["timeOffsets"] = {{"realtime", {{"secs", 1}}}};
        },
        "linux.timeOffsets[\"realtime\"]: unknown clock (monotonic or boottime)");
    expect_edit_error(
        [](json& d) {
            d["linux"]["namespaces"] = json::parse(R"([{"type": "time"}])");
            d["linux"]["timeOffsets"] = {{"boottime", {{"nanosecs", 1000000000}}}};
        },
        "linux.timeOffsets[\"boottime\"].nanosecs: must be an integer in [0, 999999999]");
    expect_edit_error(
        [](json& d) {
            d["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}};
        },
        "linux.timeOffsets: requires a new time namespace in linux.namespaces");
    expect_edit_error(
        [](json& d) {
            d["linux"]["namespaces"] =
                json::parse(R"([{"type": "time", "path": "/proc/1/ns/time"}])");
            d["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}};
        },
        "linux.timeOffsets: requires a new time namespace in linux.namespaces");
}

TEST(SpecErrors, Devices) {
    auto device = [](const char* text) {
        return [text](json& d) { d["linux"]["devices"] = json::array({json::parse(text)}); };
    };
    expect_edit_error(device(R"({"type": "x", "path": "/dev/x", "major": 1, "minor": 1})"),
                      "linux.devices[0].type: must be \"c\", \"b\", \"u\" or \"p\", got \"x\"");
    expect_edit_error(device(R"({"type": "cb", "path": "/dev/x", "major": 1, "minor": 1})"),
                      "linux.devices[0].type: must be \"c\", \"b\", \"u\" or \"p\", got \"cb\"");
    expect_edit_error(device(R"({"type": "c", "path": "dev/x", "major": 1, "minor": 1})"),
                      "linux.devices[0].path: must be an absolute path");
    expect_edit_error(device(R"({"type": "c", "path": "/etc/shadow", "major": 1, "minor": 1})"),
                      "linux.devices[0].path: must be a path under /dev, got \"/etc/shadow\"");
    expect_edit_error(device(R"({"type": "c", "path": "/dev/../etc/x", "major": 1, "minor": 1})"),
                      "linux.devices[0].path: must be a path under /dev, got \"/dev/../etc/x\"");
    expect_edit_error(device(R"({"type": "c", "path": "/dev/", "major": 1, "minor": 1})"),
                      "linux.devices[0].path: must be a path under /dev, got \"/dev/\"");
    expect_edit_error(device(R"({"type": "c", "path": "/dev/x", "minor": 1})"),
                      "linux.devices[0].major: required");
    expect_edit_error(device(R"({"type": "b", "path": "/dev/x", "major": 1, "minor": -1})"),
                      "linux.devices[0].minor: must be an integer in [0, 4294967295]");
    expect_edit_error(device(R"({"type": "p", "path": "/dev/f", "major": -1})"),
                      "linux.devices[0].major: must be an integer in [0, 4294967295]");
    expect_edit_error(
        device(R"({"type": "c", "path": "/dev/x", "major": 1, "minor": 1, "uid": -1})"),
        "linux.devices[0].uid: must be an unsigned 32-bit integer");
    expect_edit_error(device(R"({"path": "/dev/x"})"), "linux.devices[0].type: required");
}

TEST(SpecParse, FifoMayGiveMajorAndMinor) {
    // The runtime-spec requires them "unless type is p": optional for a FIFO, not forbidden.
    json doc = minimal_config();
    doc["linux"]["devices"] =
        json::parse(R"([{"type": "p", "path": "/dev/f", "major": 8, "minor": 1}])");
    Spec s = parse_spec(doc);
    ASSERT_TRUE(s.linux);
    ASSERT_EQ(s.linux->devices.size(), 1u);
    EXPECT_EQ(s.linux->devices[0].type, 'p');
}

TEST(SpecErrors, LongValuesAreShortenedInTheMessage) {
    json doc = minimal_config();
    const std::string path = "/etc/" + std::string(5000, 'x');
    doc["linux"]["devices"] =
        json::array({{{"type", "c"}, {"path", path}, {"major", 1}, {"minor", 1}}});
    try {
        parse_spec(doc);
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.rfind("linux.devices[0].path: must be a path under /dev, got \"/etc/", 0),
                  0u)
            << message;
        EXPECT_LT(message.size(), 300u);
    }
}

TEST(SpecErrors, LinuxMisc) {
    auto linux_field = [](const char* key, json value) {
        return [key, value](json& d) { d["linux"][key] = value; };
    };
    expect_edit_error(
        linux_field("rootfsPropagation", "weird"),
        "linux.rootfsPropagation: unknown rootfs propagation \"weird\" (one of "
        "private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable)");
    expect_edit_error(linux_field("maskedPaths", {"/proc/kcore", "proc/keys"}),
                      "linux.maskedPaths[1]: must be an absolute path");
    expect_edit_error(linux_field("readonlyPaths", {1}),
                      "linux.readonlyPaths[0]: must be a string");
    expect_edit_error(linux_field("sysctl", {{"net.ipv4.ip_forward", 1}}),
                      "linux.sysctl[\"net.ipv4.ip_forward\"]: must be a string");
    expect_edit_error(linux_field("sysctl", {{"../../sys/kernel/core_pattern", "x"}}),
                      "linux.sysctl[\"../../sys/kernel/core_pattern\"]: invalid sysctl name");
    expect_edit_error(linux_field("sysctl", {{"net/../../kernel/x", "x"}}),
                      "linux.sysctl[\"net/../../kernel/x\"]: invalid sysctl name");
    expect_edit_error(linux_field("sysctl", {"net.ipv4.ip_forward=1"}),
                      "linux.sysctl: must be an object");
    expect_edit_error(linux_field("cgroupsPath", 5), "linux.cgroupsPath: must be a string");
    expect_edit_error(linux_field("personality", {{"domain", "LINUX64"}}),
                      "linux.personality.domain: unknown personality domain \"LINUX64\" (LINUX or "
                      "LINUX32)");
    expect_edit_error(linux_field("personality", {{"flags", json::array()}}),
                      "linux.personality.domain: required");
    expect_edit_error(linux_field("mountLabel", json::array()),
                      "linux.mountLabel: must be a string");
}

TEST(SpecErrors, Seccomp) {
    auto seccomp = [](const char* text) {
        return [text](json& d) { d["linux"]["seccomp"] = json::parse(text); };
    };
    expect_edit_error(seccomp(R"({"syscalls": []})"), "linux.seccomp.defaultAction: required");
    expect_edit_error(seccomp(R"({"defaultAction": 1})"),
                      "linux.seccomp.defaultAction: must be a string");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": -1})"),
                      "linux.seccomp.defaultErrnoRet: must be an unsigned 32-bit integer");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": "x86"})"),
                      "linux.seccomp.architectures: must be an array");
    expect_edit_error(
        seccomp(
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})"),
        "linux.seccomp.syscalls[0].names: required");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})"),
                      "linux.seccomp.syscalls[0].names: must be a non-empty array");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]})"),
                      "linux.seccomp.syscalls[0].names[1]: must not be empty");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["read"]}]})"),
                      "linux.seccomp.syscalls[0].action: required");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})"),
                      "linux.seccomp.syscalls[0].args[0].index: must be an integer in [0, 5]");
    expect_edit_error(
        seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                                "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]})"),
        "linux.seccomp.syscalls[0].args[0].value: must be an unsigned 64-bit integer");
    expect_edit_error(seccomp(R"({"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                                "args": [{"index": 0, "value": 1}]}]})"),
                      "linux.seccomp.syscalls[0].args[0].op: required");
}

// ---- errors: linux.resources -------------------------------------------------------------

TEST(SpecErrors, ResourceDevices) {
    expect_resources_error(json::parse(R"({"devices": [{"access": "rwm"}]})"),
                           "linux.resources.devices[0].allow: required");
    expect_resources_error(json::parse(R"({"devices": [{"allow": "yes"}]})"),
                           "linux.resources.devices[0].allow: must be a boolean");
    expect_resources_error(
        json::parse(R"({"devices": [{"allow": true, "type": "u"}]})"),
        "linux.resources.devices[0].type: must be \"a\", \"c\" or \"b\", got \"u\"");
    expect_resources_error(
        json::parse(R"({"devices": [{"allow": true, "access": "rwx"}]})"),
        "linux.resources.devices[0].access: must be a combination of r, w and m, "
        "got \"rwx\"");
    expect_resources_error(
        json::parse(R"({"devices": [{"allow": true, "major": -2}]})"),
        "linux.resources.devices[0].major: must be an integer in [-1, 4294967295]");
}

TEST(SpecErrors, ResourceMemoryCpuPids) {
    const std::string limit_message = ": must be -1 (unlimited) or a non-negative integer";
    expect_resources_error({{"memory", {{"limit", -2}}}},
                           "linux.resources.memory.limit" + limit_message);
    expect_resources_error({{"memory", {{"swap", -100}}}},
                           "linux.resources.memory.swap" + limit_message);
    expect_resources_error({{"memory", {{"limit", "1G"}}}},
                           "linux.resources.memory.limit: must be a 64-bit integer");
    expect_resources_error({{"memory", {{"limit", 9223372036854775808ULL}}}},
                           "linux.resources.memory.limit: must be a 64-bit integer");
    expect_resources_error({{"memory", {{"swappiness", 101}}}},
                           "linux.resources.memory.swappiness: must be an integer in [0, 100]");
    expect_resources_error({{"memory", {{"disableOOMKiller", 1}}}},
                           "linux.resources.memory.disableOOMKiller: must be a boolean");
    expect_resources_error({{"cpu", {{"shares", -1}}}},
                           "linux.resources.cpu.shares: must be an unsigned 64-bit integer");
    expect_resources_error({{"cpu", {{"quota", -2}}}}, "linux.resources.cpu.quota" + limit_message);
    expect_resources_error({{"cpu", {{"period", -100000}}}},
                           "linux.resources.cpu.period: must be an unsigned 64-bit integer");
    expect_resources_error({{"cpu", {{"cpus", "0-3\n"}}}},
                           "linux.resources.cpu.cpus: must be a CPU list such as \"0-3,5\", got "
                           "\"0-3\\x0a\"");
    expect_resources_error({{"cpu", {{"idle", 2}}}},
                           "linux.resources.cpu.idle: must be an integer in [0, 1]");
    expect_resources_error({{"pids", {{"limit", -2}}}},
                           "linux.resources.pids.limit" + limit_message);
    expect_resources_error({{"pids", json::object()}}, "linux.resources.pids.limit: required");
    expect_resources_error({{"pids", 5}}, "linux.resources.pids: must be an object");
}

TEST(SpecErrors, ResourceBlockIoHugepagesNetwork) {
    expect_resources_error({{"blockIO", {{"weight", 5}}}},
                           "linux.resources.blockIO.weight: must be an integer in [10, 1000]");
    expect_resources_error({{"blockIO", {{"leafWeight", 1001}}}},
                           "linux.resources.blockIO.leafWeight: must be an integer in [10, 1000]");
    expect_resources_error(
        json::parse(R"({"blockIO": {"weightDevice": [{"major": 8, "weight": 100}]}})"),
        "linux.resources.blockIO.weightDevice[0].minor: required");
    expect_resources_error(
        json::parse(R"({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 2000}]}})"),
        "linux.resources.blockIO.weightDevice[0].weight: must be an integer in [10, 1000]");
    expect_resources_error(
        json::parse(
            R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": -1}]}})"),
        "linux.resources.blockIO.throttleReadBpsDevice[0].rate: must be an unsigned 64-bit "
        "integer");
    expect_resources_error(
        json::parse(R"({"blockIO": {"throttleWriteIOPSDevice": [{"major": -1, "minor": 0}]}})"),
        "linux.resources.blockIO.throttleWriteIOPSDevice[0].major: must be an integer in [0, "
        "4294967295]");
    expect_resources_error(json::parse(R"({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})"),
                           "linux.resources.hugepageLimits[0].pageSize: must look like \"2MB\" "
                           "(digits then KB, MB or GB), got \"2M\"");
    expect_resources_error(json::parse(R"({"hugepageLimits": [{"pageSize": "02MB", "limit": 1}]})"),
                           "linux.resources.hugepageLimits[0].pageSize: must look like \"2MB\" "
                           "(digits then KB, MB or GB), got \"02MB\"");
    expect_resources_error(
        json::parse(R"({"hugepageLimits": [{"pageSize": "../MB", "limit": 1}]})"),
        "linux.resources.hugepageLimits[0].pageSize: must look like \"2MB\" "
        "(digits then KB, MB or GB), got \"../MB\"");
    expect_resources_error(json::parse(R"({"hugepageLimits": [{"pageSize": "2MB"}]})"),
                           "linux.resources.hugepageLimits[0].limit: required");
    expect_resources_error(json::parse(R"({"network": {"classID": -1}})"),
                           "linux.resources.network.classID: must be an unsigned 32-bit integer");
    expect_resources_error(json::parse(R"({"network": {"priorities": [{"name": "eth0"}]}})"),
                           "linux.resources.network.priorities[0].priority: required");
    expect_resources_error(json::parse(R"({"rdma": {"mlx": {"hcaHandles": "3"}}})"),
                           "linux.resources.rdma[\"mlx\"].hcaHandles: must be an unsigned 32-bit "
                           "integer");
    expect_resources_error(json::parse(R"({"unified": {"../cgroup.procs": "1"}})"),
                           "linux.resources.unified[\"../cgroup.procs\"]: must name a cgroup file "
                           "(no \"/\")");
    expect_resources_error(json::parse(R"({"unified": {"memory.max": 1}})"),
                           "linux.resources.unified[\"memory.max\"]: must be a string");
    expect_resources_error(json::array(), "linux.resources: must be an object");
}

// ---- hostile input -----------------------------------------------------------------------

TEST(SpecHostile, DeepNestingIsRefusedWithoutRecursion) {
    const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
    try {
        parse_json_text(deep, "config.json");
        FAIL() << "a million nested arrays parsed";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(),
                     "config.json: invalid JSON at byte 129: nested deeper than 128 levels");
    }
    // Brackets inside strings are not nesting.
    json doc = parse_json_text(R"({"a": ")" + std::string(10'000, '[') + R"("})", "config.json");
    EXPECT_EQ(doc["a"].get<std::string>().size(), 10'000u);
    // Moderate nesting where a string is expected is a type error, not a crash.
    json nested = minimal_config();
    nested["annotations"]["x"] =
        parse_json_text(std::string(100, '[') + std::string(100, ']'), "t");
    expect_spec_error(nested, "annotations[\"x\"]: must be a string");
}

TEST(SpecHostile, NumbersOutOfRange) {
    try {
        parse_json_text(R"({"ociVersion": "1.2.0", "x": 1e400})", "config.json");
        FAIL() << "1e400 parsed";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("config.json: invalid JSON", 0), 0u) << e.what();
        EXPECT_NE(std::string(e.what()).find("1e400"), std::string::npos) << e.what();
    }
    // Beyond uint64: nlohmann reads it as a float, which no integer field accepts.
    json doc = minimal_config();
    doc["process"]["user"]["uid"] = parse_json_text("18446744073709551616", "t");
    expect_spec_error(doc, "process.user.uid: must be an unsigned 32-bit integer");
    doc = minimal_config();
    doc["process"]["rlimits"] =
        parse_json_text(R"([{"type": "RLIMIT_NOFILE", "hard": 1e19, "soft": 1}])", "t");
    expect_spec_error(doc, "process.rlimits[0].hard: must be an unsigned 64-bit integer");
    doc = minimal_config();
    doc["process"]["oomScoreAdj"] = parse_json_text("-9223372036854775809", "t");
    expect_spec_error(doc, "process.oomScoreAdj: must be an integer in [-1000, 1000]");
}

TEST(SpecHostile, NulBytesInStrings) {
    json doc = parse_json_text(
        R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"},
            "process": {"args": ["sh"], "cwd": "/\u0000/etc"}})",
        "config.json");
    expect_spec_error(doc, "process.cwd: must not contain a NUL byte");
    doc = minimal_config();
    doc["mounts"] = json::array({{{"destination", std::string("/x\0y", 4)}}});
    expect_spec_error(doc, "mounts[0].destination: must not contain a NUL byte");
    doc = minimal_config();
    doc["annotations"] = {{std::string("k\0x", 3), "v"}};
    expect_spec_error(doc, "annotations[\"k\\x00x\"]: key must not contain a NUL byte");
}

TEST(SpecHostile, ArraysWhereObjectsAreExpected) {
    expect_edit_error(
        [](json& d) {
            d["process"]["user"] = json::array({0, 0});
        },
        "process.user: must be an object");
    expect_edit_error([](json& d) { d["linux"]["resources"]["memory"] = json::array(); },
                      "linux.resources.memory: must be an object");
    expect_edit_error(
        [](json& d) {
            d["annotations"] = json::array({"a", "b"});
        },
        "annotations: must be an object");
    expect_edit_error([](json& d) { d["linux"]["timeOffsets"] = json::array(); },
                      "linux.timeOffsets: must be an object");
    expect_edit_error([](json& d) { d["process"]["scheduler"] = json::array(); },
                      "process.scheduler: must be an object");
}

TEST(SpecHostile, SyntaxErrorsNameTheByte) {
    try {
        parse_json_text("{\"ociVersion\": \"1.2.0\",, }", "config.json");
        FAIL() << "syntax error accepted";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("config.json: invalid JSON at byte 24: ", 0), 0u)
            << e.what();
    }
    // Control bytes of the input do not reach the message raw.
    try {
        parse_json_text(std::string("{\"a\": \x01\x02}"), "config.json");
        FAIL() << "control bytes accepted";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.find('\x01'), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    try {
        parse_json_text("", "config.json");
        FAIL() << "empty text accepted";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("config.json: invalid JSON at byte 1: ", 0), 0u)
            << e.what();
    }
    try {
        parse_json_text("{\"a\": \"\xff\xfe\"}", "config.json");
        FAIL() << "invalid UTF-8 accepted";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("config.json: invalid JSON at byte ", 0), 0u)
            << e.what();
    }
}

// ---- load_spec ---------------------------------------------------------------------------

class LoadSpec : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/brig-spec-test.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        bundle_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(bundle_); }

    void write_config(const std::string& text) {
        std::ofstream(bundle_ + "/config.json", std::ios::binary) << text;
    }

    std::string load_error() {
        try {
            load_spec(bundle_);
        } catch (const Error& e) {
            return e.what();
        }
        return "(no error)";
    }

    std::string bundle_;
};

TEST_F(LoadSpec, ReadsConfigJson) {
    write_config(full_config().dump(2));
    Spec s = load_spec(bundle_);
    EXPECT_EQ(s.process->args.at(2), "echo hi");
    ASSERT_TRUE(s.linux);
    EXPECT_EQ(s.linux->namespaces.size(), 8u);
}

TEST_F(LoadSpec, MissingFile) {
    EXPECT_EQ(load_error(), bundle_ + "/config.json: No such file or directory");
    EXPECT_EQ(
        [&] {
            try {
                load_spec(bundle_ + "/nope");
            } catch (const Error& e) {
                return std::string(e.what());
            }
            return std::string();
        }(),
        bundle_ + "/nope/config.json: No such file or directory");
}

TEST_F(LoadSpec, TooLarge) {
    std::string text = minimal_config().dump();
    text.insert(text.size() - 1, std::string(4 << 20, ' '));
    write_config(text);
    EXPECT_EQ(load_error(), "config.json: too large (" + std::to_string(text.size()) +
                                " bytes, limit 4194304 bytes)");
}

TEST_F(LoadSpec, InvalidJson) {
    write_config("{\"ociVersion\": ");
    EXPECT_EQ(load_error().rfind("config.json: invalid JSON at byte 16: ", 0), 0u) << load_error();
}

TEST_F(LoadSpec, ValidationErrorsPassThrough) {
    json doc = minimal_config();
    doc["process"]["args"] = json::array();
    write_config(doc.dump());
    EXPECT_EQ(load_error(), "process.args: must be a non-empty array");
}

TEST_F(LoadSpec, FifoIsRefusedWithoutBlocking) {
    ASSERT_EQ(mkfifo((bundle_ + "/config.json").c_str(), 0600), 0);
    EXPECT_EQ(load_error(), bundle_ + "/config.json: not a regular file");
}

TEST_F(LoadSpec, DirectoryIsRefused) {
    ASSERT_EQ(mkdir((bundle_ + "/config.json").c_str(), 0700), 0);
    EXPECT_EQ(load_error(), bundle_ + "/config.json: not a regular file");
}

// The default configs of the peer runtimes are what users bring: they must parse as they are.
TEST_F(LoadSpec, PeerRuntimeSpecsParse) {
    int tried = 0;
    for (const char* runtime : {"runc", "crun"}) {
        for (const char* flags : {"", " --rootless"}) {
            std::filesystem::remove(bundle_ + "/config.json");
            const std::string command = std::string("cd '") + bundle_ + "' && " + runtime +
                                        " spec" + flags + " >/dev/null 2>&1";
            if (std::system(command.c_str()) != 0)
                continue;  // this runtime is not installed
            ++tried;
            SCOPED_TRACE(std::string(runtime) + " spec" + flags);
            Spec s = load_spec(bundle_);
            ASSERT_TRUE(s.process);
            EXPECT_FALSE(s.process->args.empty());
            ASSERT_TRUE(s.linux);
            EXPECT_NE(s.linux->find_namespace(NamespaceType::mount), nullptr);
        }
    }
    if (tried == 0)
        GTEST_SKIP() << "neither runc nor crun is installed";
}

// ---- namespace helpers -------------------------------------------------------------------

TEST(Namespaces, NamesAndFlags) {
    struct Expected {
        NamespaceType type;
        const char* name;
        const char* proc;
        int flag;
    };
    const Expected table[] = {
        {NamespaceType::pid, "pid", "pid", CLONE_NEWPID},
        {NamespaceType::network, "network", "net", CLONE_NEWNET},
        {NamespaceType::mount, "mount", "mnt", CLONE_NEWNS},
        {NamespaceType::ipc, "ipc", "ipc", CLONE_NEWIPC},
        {NamespaceType::uts, "uts", "uts", CLONE_NEWUTS},
        {NamespaceType::user, "user", "user", CLONE_NEWUSER},
        {NamespaceType::cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
        {NamespaceType::time, "time", "time", CLONE_NEWTIME},
    };
    for (const auto& e : table) {
        EXPECT_STREQ(namespace_type_name(e.type), e.name);
        EXPECT_STREQ(namespace_proc_name(e.type), e.proc);
        EXPECT_EQ(namespace_clone_flag(e.type), e.flag) << e.name;
        // The proc name is a real entry of /proc/self/ns on this kernel.
        EXPECT_EQ(access(("/proc/self/ns/" + std::string(e.proc)).c_str(), F_OK), 0) << e.proc;
    }
}

TEST(Namespaces, FindNamespace) {
    Linux l;
    EXPECT_EQ(l.find_namespace(NamespaceType::pid), nullptr);
    l.namespaces = {{NamespaceType::uts, ""}, {NamespaceType::pid, "/proc/1/ns/pid"}};
    ASSERT_NE(l.find_namespace(NamespaceType::pid), nullptr);
    EXPECT_EQ(l.find_namespace(NamespaceType::pid)->path, "/proc/1/ns/pid");
    EXPECT_EQ(l.find_namespace(NamespaceType::user), nullptr);
}

}  // namespace
}  // namespace brig::config
