// linux.namespaces: new ones, shared ones, joined ones, and user namespace mappings.
#include <sys/stat.h>
#include <unistd.h>

#include "harness.hpp"

namespace brig::test {
namespace {

using NamespacesTest = RuntimeTest;

struct NamespaceCase {
    std::string config_type;  // linux.namespaces[].type
    std::string proc_name;    // /proc/PID/ns/<name>
};

void PrintTo(const NamespaceCase& c, std::ostream* out) {
    *out << c.config_type;
}

class NewNamespaceTest : public RuntimeTest, public ::testing::WithParamInterface<NamespaceCase> {};

TEST_P(NewNamespaceTest, DiffersFromTheHost) {
    const auto& param = GetParam();
    auto& namespaces = bundle().config()["linux"]["namespaces"];
    if (std::find(namespaces.begin(), namespaces.end(), Json{{"type", param.config_type}}) ==
        namespaces.end())
        namespaces.push_back({{"type", param.config_type}});
    bundle().set_args({"readlink", "/proc/self/ns/" + param.proc_name});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    auto host = namespace_link("self", param.proc_name);
    ASSERT_FALSE(host.empty());
    EXPECT_EQ(trim(result.out).substr(0, param.proc_name.size()), param.proc_name);
    EXPECT_NE(trim(result.out), host);
}

INSTANTIATE_TEST_SUITE_P(Each, NewNamespaceTest,
                         ::testing::Values(NamespaceCase{"pid", "pid"},
                                           NamespaceCase{"network", "net"},
                                           NamespaceCase{"ipc", "ipc"}, NamespaceCase{"uts", "uts"},
                                           NamespaceCase{"mount", "mnt"},
                                           NamespaceCase{"cgroup", "cgroup"}),
                         [](const auto& info) { return info.param.proc_name; });

TEST_F(NamespacesTest, TimeNamespaceDiffersFromTheHost) {
    if (namespace_link("self", "time").empty())
        GTEST_SKIP() << "no time namespaces here";
    if (runtime_kind() == RuntimeKind::runc)
        GTEST_SKIP() << "runc 1.1 has no time namespace";
    bundle().config()["linux"]["namespaces"].push_back({{"type", "time"}});
    bundle().set_args({"readlink", "/proc/self/ns/time"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_NE(trim(result.out), namespace_link("self", "time"));
}

TEST_F(NamespacesTest, UnrequestedNamespaceIsSharedWithTheHost) {
    auto& namespaces = bundle().config()["linux"]["namespaces"];
    namespaces.erase(std::remove(namespaces.begin(), namespaces.end(), Json{{"type", "network"}}),
                     namespaces.end());
    bundle().set_args({"readlink", "/proc/self/ns/net"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(trim(result.out), namespace_link("self", "net"));
}

// A network namespace made by `ip netns add`, removed at the end of the test.
class NamedNetns {
public:
    NamedNetns() : name_("brig-itest-" + std::to_string(getpid())) {
        run_command({"ip", "netns", "del", name_});
        created_ = run_command({"ip", "netns", "add", name_}).ok();
    }
    ~NamedNetns() {
        if (created_)
            run_command({"ip", "netns", "del", name_});
    }
    bool created() const { return created_; }
    std::string path() const { return "/var/run/netns/" + name_; }

private:
    std::string name_;
    bool created_ = false;
};

TEST_F(NamespacesTest, JoinsANetworkNamespaceByPath) {
    NamedNetns netns;
    if (!netns.created())
        GTEST_SKIP() << "ip netns add failed";
    struct stat st {};
    ASSERT_EQ(stat(netns.path().c_str(), &st), 0);
    for (auto& ns : bundle().config()["linux"]["namespaces"])
        if (ns["type"] == "network")
            ns["path"] = netns.path();
    bundle().set_args({"readlink", "/proc/self/ns/net"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(trim(result.out), "net:[" + std::to_string(st.st_ino) + "]");
}

TEST_F(NamespacesTest, JoinsTheNetworkNamespaceOfAnotherContainer) {
    Bundle first_bundle = make_bundle("first");
    first_bundle.set_script("sleep 1000");
    auto first = new_id("first");
    ASSERT_TRUE(create_in(first_bundle, first).ok());
    auto first_pid = std::to_string(state(first).value("pid", 0));
    for (auto& ns : bundle().config()["linux"]["namespaces"])
        if (ns["type"] == "network")
            ns["path"] = "/proc/" + first_pid + "/ns/net";
    bundle().set_args({"readlink", "/proc/self/ns/net"});
    auto result = run(new_id());
    ASSERT_TRUE(result.ok()) << result.describe();
    EXPECT_EQ(trim(result.out), namespace_link(first_pid, "net"));
}

TEST_F(NamespacesTest, PathOfTheWrongTypeIsRefused) {
    for (auto& ns : bundle().config()["linux"]["namespaces"])
        if (ns["type"] == "network")
            ns["path"] = "/proc/" + std::to_string(getpid()) + "/ns/uts";
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_NE(result.exit_code, 0) << result.describe();
    EXPECT_FALSE(trim(result.err).empty());
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(NamespacesTest, PathThatIsNotANamespaceIsRefused) {
    write_file(tmp_dir() / "not-a-namespace", "");
    for (auto& ns : bundle().config()["linux"]["namespaces"])
        if (ns["type"] == "network")
            ns["path"] = (tmp_dir() / "not-a-namespace").string();
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_NE(result.exit_code, 0) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(NamespacesTest, UserNamespaceMapsRootToTheConfiguredHostUid) {
    auto& linux_config = bundle().config()["linux"];
    linux_config["namespaces"].push_back({{"type", "user"}});
    linux_config["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    linux_config["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    // The mapped root must be able to read the bundle.
    fs::permissions(bundle().dir(), static_cast<fs::perms>(0755));
    bundle().set_script("id -u > /tmp/ids; id -g >> /tmp/ids; echo ready > /tmp/ready; sleep 1000");
    fs::permissions(bundle().rootfs() / "tmp", fs::perms::all | fs::perms::sticky_bit);
    auto id = new_id();
    auto created = create(id);
    ASSERT_TRUE(created.ok()) << created.describe();
    auto pid = state(id).value("pid", 0);
    ASSERT_TRUE(start(id).ok());
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "tmp/ready"); }));
    auto status = read_file("/proc/" + std::to_string(pid) + "/status");
    std::string uid_line, gid_line;
    for (const auto& line : split_lines(status)) {
        if (line.rfind("Uid:", 0) == 0)
            uid_line = line;
        if (line.rfind("Gid:", 0) == 0)
            gid_line = line;
    }
    EXPECT_EQ(uid_line, "Uid:\t100000\t100000\t100000\t100000");
    EXPECT_EQ(gid_line, "Gid:\t100000\t100000\t100000\t100000");
    EXPECT_EQ(read_file(bundle().rootfs() / "tmp/ids"), "0\n0\n");
    EXPECT_NE(namespace_link(std::to_string(pid), "user"), namespace_link("self", "user"));
    // A file the container creates belongs to the mapped uid on the host.
    struct stat st {};
    ASSERT_EQ(stat((bundle().rootfs() / "tmp/ready").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 100000u);
}

// With a cgroup namespace the container sees its own cgroup as the root of every hierarchy, as
// with runc: "0::/" on cgroup2 and "N:controller:/" on v1, never the host's /brig/<id>.
void expect_rooted_cgroups(const CommandResult& result) {
    ASSERT_TRUE(result.ok()) << result.describe();
    auto lines = split_lines(result.out);
    ASSERT_FALSE(lines.empty()) << result.describe();
    for (const auto& line : lines) {
        auto colon = line.find(':', line.find(':') + 1);
        ASSERT_NE(colon, std::string::npos) << line;
        EXPECT_EQ(line.substr(colon + 1), "/") << "not rooted: " << line;
    }
}

void add_cgroup_namespace(Json& config) {
    auto& namespaces = config["linux"]["namespaces"];
    if (std::find(namespaces.begin(), namespaces.end(), Json{{"type", "cgroup"}}) ==
        namespaces.end())
        namespaces.push_back({{"type", "cgroup"}});
}

// runc's "userns with 2 inaccessible mounts" (user-namespaced pods bind host directories only
// root may enter): the sources are reached with the host's credentials, as runc's mount fds,
// and keep their flags; an exec sees them too.
TEST_F(NamespacesTest, BindSourcesTheMappedRootCannotReachAreMounted) {
    auto& linux_config = bundle().config()["linux"];
    linux_config["namespaces"].push_back({{"type", "user"}});
    linux_config["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    linux_config["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    fs::permissions(bundle().dir(), static_cast<fs::perms>(0755));
    for (const char* name : {"private-1", "private-2"}) {
        fs::create_directories(bundle().dir() / name / "dir");
        write_file(bundle().dir() / name / "dir/foo.txt", std::string(name) + "\n", 0644);
        fs::permissions(bundle().dir() / name / "dir", fs::perms::all);
        fs::permissions(bundle().dir() / name, static_cast<fs::perms>(0700));
    }
    auto& mounts = bundle().config()["mounts"];
    mounts.push_back(
        {{"source", "private-1/dir"}, {"destination", "/tmp/mount-1"}, {"options", {"bind"}}});
    mounts.push_back({{"source", (bundle().dir() / "private-2/dir").string()},
                      {"destination", "/tmp/mount-2"},
                      {"options", {"rbind", "ro"}}});
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok()) << "the mapped root cannot enter 0700 dirs of the host's root";
    ASSERT_TRUE(start(id).ok());
    auto exec = runtime({"exec", id, "cat", "/tmp/mount-1/foo.txt", "/tmp/mount-2/foo.txt"});
    EXPECT_TRUE(exec.ok()) << exec.describe();
    EXPECT_EQ(exec.out, "private-1\nprivate-2\n");
    EXPECT_TRUE(runtime({"exec", id, "touch", "/tmp/mount-1/written"}).ok());
    EXPECT_TRUE(fs::exists(bundle().dir() / "private-1/dir/written"));
    auto read_only = runtime({"exec", id, "touch", "/tmp/mount-2/x"});
    EXPECT_NE(read_only.err.find("Read-only file system"), std::string::npos)
        << read_only.describe();
    EXPECT_TRUE(delete_container(id, true).ok());
}

TEST_F(NamespacesTest, CgroupNamespaceIsRootedAtTheContainersCgroup) {
    if (namespace_link("self", "cgroup").empty())
        GTEST_SKIP() << "no cgroup namespaces here";
    add_cgroup_namespace(bundle().config());
    bundle().set_args({"cat", "/proc/self/cgroup"});
    expect_rooted_cgroups(run(new_id()));
}

TEST_F(NamespacesTest, CgroupNamespaceIsRootedWithAUserNamespace) {
    if (namespace_link("self", "cgroup").empty())
        GTEST_SKIP() << "no cgroup namespaces here";
    auto& linux_config = bundle().config()["linux"];
    add_cgroup_namespace(bundle().config());
    linux_config["namespaces"].push_back({{"type", "user"}});
    linux_config["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    linux_config["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    fs::permissions(bundle().dir(), static_cast<fs::perms>(0755));
    bundle().set_args({"cat", "/proc/self/cgroup"});
    expect_rooted_cgroups(run(new_id()));
}

TEST_F(NamespacesTest, ExecSeesTheSameRootedCgroupNamespace) {
    if (namespace_link("self", "cgroup").empty())
        GTEST_SKIP() << "no cgroup namespaces here";
    add_cgroup_namespace(bundle().config());
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    ASSERT_TRUE(start(id).ok());
    expect_rooted_cgroups(runtime({"exec", id, "cat", "/proc/self/cgroup"}));
}

}  // namespace
}  // namespace brig::test
