// The systemd cgroup driver without systemd: D-Bus messages byte for byte, the unit and its
// properties from a config, and the scope's life (placeholder, properties, stop) against a
// recording bus. The real systemd is in the VM (VmSystemd.*).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <filesystem>
#include <fstream>
#include <limits>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/systemd/dbus_message.hpp"
#include "runtime/cgroups/systemd/systemd_manager.hpp"
#include "runtime/common/error.hpp"

namespace fs = std::filesystem;
using namespace brig;
using namespace brig::cgroups;

namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();

const dbus::Value* find(const dbus::Properties& properties, const std::string& name) {
    for (const auto& [key, value] : properties)
        if (key == name)
            return &value;
    return nullptr;
}

template <typename T>
T value_of(const dbus::Properties& properties, const std::string& name) {
    const dbus::Value* value = find(properties, name);
    if (!value)
        throw std::runtime_error("no property " + name);
    return std::get<T>(*value);
}

struct BusLog {
    std::vector<std::string> calls;  // "start NAME", "set NAME", "stop NAME"
    dbus::Properties started_with, set_with;
    bool unit_exists = false;
};

class RecordingBus : public SystemdBus {
public:
    explicit RecordingBus(std::shared_ptr<BusLog> log) : log_(std::move(log)) {}
    bool start_transient_unit(const std::string& name, const dbus::Properties& p) override {
        log_->calls.push_back("start " + name);
        log_->started_with = p;
        return !log_->unit_exists;
    }
    void set_unit_properties(const std::string& name, const dbus::Properties& p) override {
        log_->calls.push_back("set " + name);
        log_->set_with = p;
    }
    void stop_unit(const std::string& name) override { log_->calls.push_back("stop " + name); }

private:
    std::shared_ptr<BusLog> log_;
};

bool alive(pid_t pid) {
    return ::kill(pid, 0) == 0;
}

// A cgroup2 tree in a tmpdir with the scope's directory, as systemd would have made it.
struct FakeScope {
    fs::path root;
    std::shared_ptr<BusLog> log = std::make_shared<BusLog>();
    std::unique_ptr<CgroupManager> manager;

    FakeScope() {
        std::string pattern = (fs::temp_directory_path() / "brig-systemd-XXXXXX").string();
        root = ::mkdtemp(pattern.data());
        std::ofstream(root / "cgroup.controllers") << "cpu memory pids";
        fs::create_directories(root / "system.slice/brig-c1.scope");
        for (const char* file : {"cgroup.procs", "memory.max", "pids.max", "cpu.weight"})
            std::ofstream(root / "system.slice/brig-c1.scope" / file) << "";
        for (const char* dir : {"system.slice", "system.slice/brig-c1.scope"})
            std::ofstream(root / dir / "cgroup.controllers") << "cpu memory pids";
        ManagerOptions options;
        options.root = root.string();
        SystemdUnit unit = systemd_unit_for("", "c1");
        auto files = open_manager(unit.path, "c1", options);
        manager = std::make_unique<SystemdManager>(
            unit, std::move(files), [log = log] { return std::make_unique<RecordingBus>(log); },
            nullptr);
    }
    ~FakeScope() { fs::remove_all(root); }
};

}  // namespace

TEST(DbusMessage, AMethodCallIsLaidOutAsTheSpecificationSays) {
    // Header fields aligned to 8, their array length without the final padding, body at 8.
    const std::string bytes = dbus::marshal_call({"", "/", "a", "b", {}}, 1);
    const std::string expected(
        "l\x01\x00\x01"     // little-endian, METHOD_CALL, no flags, version 1
        "\x00\x00\x00\x00"  // body length
        "\x01\x00\x00\x00"  // serial
        "\x2a\x00\x00\x00"  // header fields: 42 bytes
        "\x01\x01o\x00\x01\x00\x00\x00/\x00\x00\x00\x00\x00\x00\x00"  // PATH "/" + padding
        "\x02\x01s\x00\x01\x00\x00\x00"
        "a\x00\x00\x00\x00\x00\x00\x00"  // INTERFACE "a"
        "\x03\x01s\x00\x01\x00\x00\x00"
        "b\x00"                      // MEMBER "b"
        "\x00\x00\x00\x00\x00\x00",  // to the body's 8
        64);
    EXPECT_EQ(bytes, expected);
}

TEST(DbusMessage, StartTransientUnitRoundTrips) {
    dbus::Properties properties = {{"Delegate", true},
                                   {"PIDs", std::vector<uint32_t>{42}},
                                   {"MemoryMax", uint64_t{1} << 30},
                                   {"AllowedCPUs", std::vector<uint8_t>{0x05}},
                                   {"Slice", std::string("system.slice")}};
    const std::string bytes = dbus::marshal_call(
        {"org.freedesktop.systemd1",
         "/org/freedesktop/systemd1",
         "org.freedesktop.systemd1.Manager",
         "StartTransientUnit",
         {std::string("brig-c1.scope"), std::string("fail"), properties, dbus::EmptyAuxUnits{}}},
        7);
    ASSERT_EQ(dbus::message_length(bytes.substr(0, 16)), bytes.size());
    dbus::Message m = dbus::parse_message(bytes);
    EXPECT_EQ(m.type, dbus::MessageType::call);
    EXPECT_EQ(m.serial, 7u);
    EXPECT_EQ(m.member, "StartTransientUnit");
    EXPECT_EQ(m.interface, "org.freedesktop.systemd1.Manager");
    EXPECT_EQ(m.signature, "ssa(sv)a(sa(sv))");
    EXPECT_EQ(m.strings, (std::vector<std::string>{"brig-c1.scope", "fail"}));
    // Arrays of bytes and of uint32: their length in bytes, then the elements.
    EXPECT_NE(bytes.find(std::string("\x02"
                                     "ay\x00\x01\x00\x00\x00\x05",
                                     8)),
              std::string::npos);
    EXPECT_NE(bytes.find(std::string("\x02"
                                     "au\x00\x00\x00\x00\x04\x00\x00\x00\x2a\x00\x00\x00",
                                     15)),
              std::string::npos);
}

TEST(DbusMessage, TruncatedOrBigEndianInputIsAnError) {
    std::string bytes = dbus::marshal_call({"", "/", "a", "b", {std::string("x")}}, 1);
    EXPECT_THROW(dbus::parse_message(bytes.substr(0, bytes.size() - 3)), Error);
    bytes[0] = 'B';
    EXPECT_THROW(dbus::message_length(bytes), Error);
}

TEST(SystemdUnit, FromRuncsSliceSyntax) {
    SystemdUnit unit = systemd_unit_for("", "c1");
    EXPECT_EQ(unit.slice, "system.slice");
    EXPECT_EQ(unit.name, "brig-c1.scope");
    EXPECT_EQ(unit.path, "/system.slice/brig-c1.scope");
    unit = systemd_unit_for("kubepods-besteffort-pod1.slice:cri-containerd:abc", "x");
    EXPECT_EQ(unit.slice, "kubepods-besteffort-pod1.slice");
    EXPECT_EQ(unit.name, "cri-containerd-abc.scope");
    EXPECT_EQ(unit.path,
              "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
              "cri-containerd-abc.scope");
    try {
        systemd_unit_for("/brig/c1", "c1");
        FAIL() << "a cgroupfs path was taken for a systemd unit";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(),
                     "linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups, got "
                     "\"/brig/c1\"");
    }
    EXPECT_THROW(systemd_unit_for("a.slice:p:../x", "c1"), Error);
}

TEST(SystemdUnit, FromTheRecordedPath) {
    SystemdUnit unit =
        systemd_unit_at("/kubepods.slice/kubepods-pod1.slice/cri-containerd-a.scope");
    EXPECT_EQ(unit.name, "cri-containerd-a.scope");
    EXPECT_EQ(unit.slice, "kubepods-pod1.slice");
    EXPECT_EQ(systemd_unit_at("/x.scope").slice, "-.slice");
    EXPECT_THROW(systemd_unit_at("/brig/c1"), Error);
}

TEST(SystemdProperties, ResourcesUnderCgroup2Names) {
    config::Resources r;
    r.memory = config::MemoryResources{};
    r.memory->limit = 64 << 20;
    r.memory->reservation = 32 << 20;
    r.memory->swap = -1;
    r.cpu = config::CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = 33333;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-2,9";
    r.pids_limit = -1;
    dbus::Properties p = resource_properties(r, true);
    EXPECT_EQ(value_of<uint64_t>(p, "MemoryMax"), uint64_t{64} << 20);
    EXPECT_EQ(value_of<uint64_t>(p, "MemoryLow"), uint64_t{32} << 20);
    EXPECT_EQ(value_of<uint64_t>(p, "MemorySwapMax"), kInfinity);
    EXPECT_EQ(value_of<uint64_t>(p, "CPUWeight"), cpu_shares_to_weight(1024));
    EXPECT_EQ(value_of<uint64_t>(p, "CPUQuotaPerSecUSec"), 340000u);  // 33% rounded up to 34%
    EXPECT_EQ(value_of<uint64_t>(p, "CPUQuotaPeriodUSec"), 100000u);
    EXPECT_EQ(value_of<std::vector<uint8_t>>(p, "AllowedCPUs"), (std::vector<uint8_t>{0x07, 0x02}));
    EXPECT_EQ(value_of<uint64_t>(p, "TasksMax"), kInfinity);
    EXPECT_EQ(find(p, "MemoryLimit"), nullptr);
}

TEST(SystemdProperties, ResourcesUnderV1Names) {
    config::Resources r;
    r.memory = config::MemoryResources{};
    r.memory->limit = 1 << 20;
    r.cpu = config::CpuResources{};
    r.cpu->shares = 512;
    r.pids_limit = 10;
    dbus::Properties p = resource_properties(r, false);
    EXPECT_EQ(value_of<uint64_t>(p, "MemoryLimit"), uint64_t{1} << 20);
    EXPECT_EQ(value_of<uint64_t>(p, "CPUShares"), 512u);
    EXPECT_EQ(value_of<uint64_t>(p, "TasksMax"), 10u);
    EXPECT_EQ(find(p, "MemoryMax"), nullptr);
    EXPECT_EQ(find(p, "CPUWeight"), nullptr);
}

TEST(SystemdProperties, BadCpuListsNameTheField) {
    EXPECT_EQ(cpu_list_mask("3", "f"), (std::vector<uint8_t>{0x08}));
    for (const char* bad : {"a", "3-1", "1,,2", "-1", "99999"}) {
        try {
            cpu_list_mask(bad, "linux.resources.cpu.cpus");
            ADD_FAILURE() << bad << " was taken";
        } catch (const Error& e) {
            EXPECT_TRUE(std::string(e.what()).starts_with("linux.resources.cpu.cpus: "))
                << e.what();
        }
    }
}

TEST(SystemdManagerFake, TheScopeHoldsAPlaceholderUntilTheInitJoins) {
    FakeScope scope;
    scope.manager->create();
    ASSERT_EQ(scope.log->calls, (std::vector<std::string>{"start brig-c1.scope"}));
    const dbus::Properties& p = scope.log->started_with;
    EXPECT_EQ(value_of<std::string>(p, "Slice"), "system.slice");
    EXPECT_TRUE(value_of<bool>(p, "Delegate"));
    const auto pids = value_of<std::vector<uint32_t>>(p, "PIDs");
    ASSERT_EQ(pids.size(), 1u);
    const pid_t placeholder = static_cast<pid_t>(pids[0]);
    EXPECT_NE(placeholder, ::getpid());
    EXPECT_TRUE(alive(placeholder));
    scope.manager->first_process_joined();
    EXPECT_FALSE(alive(placeholder));  // killed and reaped
}

TEST(SystemdManagerFake, LimitsAreUnitPropertiesAndFiles) {
    FakeScope scope;
    scope.manager->create();
    config::Resources r;
    r.pids_limit = 20;
    scope.manager->apply(r);
    EXPECT_EQ(scope.log->calls.back(), "set brig-c1.scope");
    EXPECT_EQ(value_of<uint64_t>(scope.log->set_with, "TasksMax"), 20u);
    std::ifstream pids_max(scope.root / "system.slice/brig-c1.scope/pids.max");
    std::string written;
    pids_max >> written;
    EXPECT_EQ(written, "20");
}

TEST(SystemdManagerFake, DestroyStopsTheUnitAnExistingOneIsNotStoppedOnUndo) {
    {
        FakeScope scope;
        scope.manager->create();
        // Emptied as the kernel's cgroupfs would be once its processes are gone.
        for (const auto& file : fs::directory_iterator(scope.root / "system.slice/brig-c1.scope"))
            fs::remove(file.path());
        scope.manager->destroy();
        EXPECT_EQ(scope.log->calls.back(), "stop brig-c1.scope");
        EXPECT_FALSE(fs::exists(scope.root / "system.slice/brig-c1.scope"));
    }
    FakeScope shared;
    shared.log->unit_exists = true;
    shared.manager->create();
    const auto pids = value_of<std::vector<uint32_t>>(shared.log->started_with, "PIDs");
    EXPECT_FALSE(alive(static_cast<pid_t>(pids[0])));  // no placeholder kept for a unit there
    shared.manager->remove_created();
    EXPECT_EQ(shared.log->calls, (std::vector<std::string>{"start brig-c1.scope"}));
}
