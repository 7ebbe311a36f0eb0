// Configurations that would leave a container less confined than it asks, and config fields a
// tenant controls that make the runtime touch host files: refused (one line naming the field,
// nothing left behind) or confined, and the host checked afterwards.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "monitor/monitor.hpp"

namespace brig::test {
namespace {

using EscapeConfigTest = RuntimeTest;

void drop_mount_namespace(Json& config) {
    auto& namespaces = config["linux"]["namespaces"];
    Json kept = Json::array();
    for (const auto& ns : namespaces)
        if (ns.value("type", "") != "mount")
            kept.push_back(ns);
    namespaces = kept;
}

// ---- no mount namespace -------------------------------------------------------------------

// Each field that needs the container's own mounts, alone in a config without a mount namespace.
TEST_F(EscapeConfigTest, NoMountNamespaceRefusesEveryFieldThatNeedsOne) {
    struct Case {
        std::string field;
        std::function<void(Json&)> set;
    };
    std::vector<Case> cases = {
        {"mounts",
         [](Json& c) {
             c["mounts"] = {{{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
         }},
        {"root.readonly", [](Json& c) { c["root"]["readonly"] = true; }},
        {"hostname", [](Json& c) { c["hostname"] = "tenant"; }},
        {"linux.maskedPaths", [](Json& c) { c["linux"]["maskedPaths"] = {"/proc/kcore"}; }},
        {"linux.readonlyPaths", [](Json& c) { c["linux"]["readonlyPaths"] = {"/proc/sys"}; }},
        {"linux.sysctl",
         [](Json& c) {
             c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
         }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.field);
        auto& config = bundle().config();
        config = base_config();
        drop_mount_namespace(config);
        config["mounts"] = Json::array();
        config.erase("hostname");
        config["linux"].erase("maskedPaths");
        config["linux"].erase("readonlyPaths");
        c.set(config);
        bundle().set_args({"true"});
        auto id = new_id();
        auto created = create(id);
        if (runtime_kind() == RuntimeKind::brig) {
            EXPECT_NE(created.exit_code, 0) << created.describe();
            EXPECT_TRUE(is_one_line_error(created));
            EXPECT_NE(created.err.find(c.field + ":"), std::string::npos) << created.err;
            auto left = leftovers(id);
            EXPECT_TRUE(left.empty()) << join(left);
        }
    }
    // Without any of them it runs, sharing the host's mounts (runc 1.1 then fails: it closes
    // its fds through /proc/self/fd, and this rootfs's /proc is empty).
    if (runtime_kind() != RuntimeKind::brig)
        return;
    auto& config = bundle().config();
    config = base_config();
    drop_mount_namespace(config);
    config["mounts"] = Json::array();
    config.erase("hostname");
    config["linux"].erase("maskedPaths");
    config["linux"].erase("readonlyPaths");
    bundle().set_args({"true"});
    auto ran = run(new_id());
    EXPECT_TRUE(ran.ok()) << ran.describe();
}

// ---- device rules -------------------------------------------------------------------------

// Docker's --device /dev/kmsg:/dev/kmsg:r: the node, and a read-only rule for it.
TEST_F(EscapeConfigTest, LinuxDevicesDoNotWidenTheDeviceRules) {
    bundle().config()["linux"]["devices"] = {
        {{"path", "/dev/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"fileMode", 0644}}};
    bundle().config()["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "r"}});
    // Reading the kernel log wants CAP_SYSLOG; writing it nothing (but the device rule).
    for (const char* set : {"bounding", "effective", "permitted"})
        bundle().config()["process"]["capabilities"][set].push_back("CAP_SYSLOG");
    bundle().set_script(
        "true < /dev/kmsg && echo read-ok; "
        "echo brig-escape-test-write 2>&1 > /dev/kmsg && echo write-ok; true");
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(split_lines(result.out).front(), "read-ok") << result.describe();
    EXPECT_EQ(result.out.find("write-ok"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("Operation not permitted"), std::string::npos) << result.describe();
}

}  // namespace
}  // namespace brig::test
