#include "runtime/cgroups/systemd/systemd_manager.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/common/error.hpp"

namespace brig::cgroups {

namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();  // systemd's "infinity"
constexpr const char* kField = "linux.cgroupsPath";

uint64_t limit_or_infinity(int64_t value) {
    return value < 0 ? kInfinity : static_cast<uint64_t>(value);
}

void add_cpu_properties(dbus::Properties& out, const config::CpuResources& cpu, bool unified) {
    if (cpu.shares && *cpu.shares)
        out.emplace_back(unified ? "CPUWeight" : "CPUShares",
                         unified ? cpu_shares_to_weight(*cpu.shares) : *cpu.shares);
    if (cpu.period && *cpu.period && unified)
        out.emplace_back("CPUQuotaPeriodUSec", *cpu.period);
    if (cpu.quota && *cpu.quota != 0) {
        uint64_t per_second = kInfinity;
        if (*cpu.quota > 0) {
            const uint64_t period = cpu.period && *cpu.period ? *cpu.period : 100000;
            per_second = static_cast<uint64_t>(*cpu.quota) * 1000000 / period;
            // systemd keeps whole percents: round up, so the file brig writes is the limit.
            per_second = (per_second + 9999) / 10000 * 10000;
        }
        out.emplace_back("CPUQuotaPerSecUSec", per_second);
    }
    if (unified && !cpu.cpus.empty())
        out.emplace_back("AllowedCPUs", cpu_list_mask(cpu.cpus, "linux.resources.cpu.cpus"));
    if (unified && !cpu.mems.empty())
        out.emplace_back("AllowedMemoryNodes", cpu_list_mask(cpu.mems, "linux.resources.cpu.mems"));
}

void add_memory_properties(dbus::Properties& out, const config::MemoryResources& memory,
                           bool unified) {
    if (memory.limit && *memory.limit != 0)
        out.emplace_back(unified ? "MemoryMax" : "MemoryLimit", limit_or_infinity(*memory.limit));
    if (!unified)
        return;
    if (memory.reservation && *memory.reservation != 0)
        out.emplace_back("MemoryLow", limit_or_infinity(*memory.reservation));
    if (memory.swap && *memory.swap != 0)
        out.emplace_back("MemorySwapMax",
                         limit_or_infinity(memory_swap_to_v2(*memory.swap, memory.limit)));
}

// A placeholder process in the new scope until the container's init is there: it does
// nothing, holds no fd, and dies with brig.
pid_t spawn_placeholder() {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("systemd: fork of the scope's placeholder");
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(0);
        ::close_range(0, ~0U, 0);
        for (;;)
            ::pause();
    }
    return pid;
}

void end_placeholder(pid_t& pid) noexcept {
    if (pid <= 0)
        return;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
}

}  // namespace

std::vector<uint8_t> cpu_list_mask(const std::string& list, const std::string& field) {
    std::vector<uint8_t> mask;
    auto set = [&mask](unsigned long bit) {
        if (mask.size() <= bit / 8)
            mask.resize(bit / 8 + 1, 0);
        mask[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
    };
    std::istringstream in(list);
    for (std::string range; std::getline(in, range, ',');) {
        const size_t dash = range.find('-');
        const std::string first = range.substr(0, dash);
        const std::string last = dash == std::string::npos ? first : range.substr(dash + 1);
        auto number = [&](const std::string& s) {
            if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit))
                throw Error(field + ": '" + list.substr(0, 64) + "' is not a CPU list");
            return std::stoul(s);
        };
        const unsigned long from = number(first), to = number(last);
        if (from > to || to >= 8192)
            throw Error(field + ": '" + list.substr(0, 64) + "' has a bad range");
        for (unsigned long bit = from; bit <= to; ++bit)
            set(bit);
    }
    return mask;
}

SystemdUnit systemd_unit_for(const std::string& cgroups_path, const std::string& container_id) {
    std::string form = cgroups_path.empty() ? "system.slice:brig:" + container_id : cgroups_path;
    if (form.front() == '/' || std::count(form.begin(), form.end(), ':') != 2)
        throw Error(std::string(kField) +
                    ": expected \"slice:prefix:name\" for systemd cgroups, got \"" +
                    cgroups_path.substr(0, 256) + "\"");
    SystemdUnit unit;
    unit.path = resolve_cgroups_path(form, container_id);
    unit.slice = form.substr(0, form.find(':'));
    if (unit.slice.empty())
        unit.slice = "system.slice";
    unit.name = unit.path.substr(unit.path.rfind('/') + 1);
    return unit;
}

SystemdUnit systemd_unit_at(const std::string& cgroup_path) {
    const size_t slash = cgroup_path.rfind('/');
    if (slash == std::string::npos || !cgroup_path.ends_with(".scope"))
        throw Error("the container's cgroup " + cgroup_path.substr(0, 256) +
                    " is not a systemd scope");
    const size_t parent = cgroup_path.rfind('/', slash ? slash - 1 : 0);
    SystemdUnit unit;
    unit.path = cgroup_path;
    unit.name = cgroup_path.substr(slash + 1);
    unit.slice = slash == 0 ? "-.slice" : cgroup_path.substr(parent + 1, slash - parent - 1);
    return unit;
}

dbus::Properties resource_properties(const config::Resources& resources, bool unified) {
    dbus::Properties out;
    if (resources.memory)
        add_memory_properties(out, *resources.memory, unified);
    if (resources.cpu)
        add_cpu_properties(out, *resources.cpu, unified);
    if (resources.pids_limit)
        out.emplace_back("TasksMax", *resources.pids_limit > 0
                                         ? static_cast<uint64_t>(*resources.pids_limit)
                                         : kInfinity);
    if (resources.block_io && resources.block_io->weight && *resources.block_io->weight)
        out.emplace_back(unified ? "IOWeight" : "BlockIOWeight",
                         unified ? blkio_weight_to_io_weight(*resources.block_io->weight)
                                 : uint64_t{*resources.block_io->weight});
    return out;
}

dbus::Properties scope_properties(const SystemdUnit& unit, pid_t pid, bool unified) {
    return {
        {"Description", "brig container " + unit.name},
        {"Slice", unit.slice},
        {"Delegate", true},
        {"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}},
        // As runc: no ordering against shutdown targets, and a failed scope is collected.
        {"DefaultDependencies", false},
        {"CollectMode", std::string("inactive-or-failed")},
        {"MemoryAccounting", true},
        {"CPUAccounting", true},
        {unified ? "IOAccounting" : "BlockIOAccounting", true},
        {"TasksAccounting", true},
    };
}

SystemdManager::SystemdManager(SystemdUnit unit, std::unique_ptr<CgroupManager> files,
                               SystemdConnector connect, WarningSink warn)
    : unit_(std::move(unit)),
      files_(std::move(files)),
      connect_(std::move(connect)),
      warn_(std::move(warn)) {}

SystemdManager::~SystemdManager() {
    end_placeholder(placeholder_);
}

SystemdBus& SystemdManager::bus() {
    if (!bus_)
        bus_ = connect_();
    return *bus_;
}

void SystemdManager::disconnect() noexcept {
    bus_.reset();
}

void SystemdManager::create() {
    if (!started_ && placeholder_ < 0) {
        SystemdBus& systemd = bus();  // before the fork: no placeholder without systemd
        placeholder_ = spawn_placeholder();
        started_ = systemd.start_transient_unit(
            unit_.name, scope_properties(unit_, placeholder_, kind() != HierarchyKind::legacy));
        if (!started_)
            end_placeholder(placeholder_);  // the unit was there: its processes hold it
    }
    disconnect();
    files_->create();
}

void SystemdManager::apply(const config::Resources& resources) {
    dbus::Properties properties = resource_properties(resources, kind() != HierarchyKind::legacy);
    if (!properties.empty()) {
        bus().set_unit_properties(unit_.name, properties);
        disconnect();
    }
    files_->apply(resources);
}

nlohmann::json SystemdManager::stats() const {
    return files_->stats();
}

void SystemdManager::first_process_joined() noexcept {
    end_placeholder(placeholder_);
}

void SystemdManager::destroy() {
    end_placeholder(placeholder_);
    files_->destroy();
    stop_unit_noexcept();  // on failure, systemd still collects the empty scope on its own
}

void SystemdManager::stop_unit_noexcept() noexcept {
    try {
        bus().stop_unit(unit_.name);
        disconnect();
    } catch (const std::exception& e) {
        if (warn_)
            warn_(e.what());
    }
}

void SystemdManager::remove_created() noexcept {
    end_placeholder(placeholder_);
    if (started_)
        stop_unit_noexcept();
    files_->remove_created();
}

}  // namespace brig::cgroups
