#include "runtime/cgroups/v1.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/cgroups/fs_util.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cgroups {

using namespace detail;

namespace {

constexpr const char* kKnownControllers[] = {
    "cpu",  "cpuacct", "cpuset",  "memory",   "devices",    "freezer", "blkio",
    "pids", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",    "misc"};

std::string v1_limit(int64_t value) {
    return std::to_string(value);
}

std::string device_rule_line(const config::DeviceRule& rule, const std::string& field) {
    if (rule.type != 'a' && rule.type != 'b' && rule.type != 'c')
        throw Error(field + ".type: '" + std::string(1, rule.type) + "' is not a, b or c");
    for (char c : rule.access)
        if (c != 'r' && c != 'w' && c != 'm')
            throw Error(field + ".access: '" + rule.access + "' is not a subset of \"rwm\"");
    auto number = [](const std::optional<int64_t>& n) {
        return !n || *n == -1 ? std::string("*") : std::to_string(*n);
    };
    if (rule.type == 'a')
        return "a";
    return std::string(1, rule.type) + " " + number(rule.major) + ":" + number(rule.minor) + " " +
           (rule.access.empty() ? "rwm" : rule.access);
}

}  // namespace

CgroupV1::CgroupV1(std::string root, std::string path, WarningSink warn)
    : root_(std::move(root)), path_(std::move(path)), warn_(std::move(warn)) {
    for (const char* name : kKnownControllers)
        if (path_exists(root_ + "/" + name + "/tasks"))
            dirs_[name] = root_ + "/" + name + path_;
}

const std::string& CgroupV1::dir(const std::string& controller, const std::string& field) const {
    auto it = dirs_.find(controller);
    if (it == dirs_.end())
        throw Error(field + ": the host has no cgroup v1 " + controller + " controller mounted");
    return it->second;
}

void CgroupV1::create() {
    for (const auto& [name, dir] : dirs_)
        make_cgroup_dirs(root_ + "/" + name, path_, created_);
    init_cpuset();
}

// A new cpuset cgroup starts with empty cpus and mems and refuses tasks until they are set.
void CgroupV1::init_cpuset() {
    if (!has_controller("cpuset"))
        return;
    std::string current = root_ + "/cpuset";
    std::istringstream in(path_);
    std::string segment;
    while (std::getline(in, segment, '/')) {
        if (segment.empty())
            continue;
        std::string parent = current;
        current += "/" + segment;
        for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
            auto value = read_line(current + "/" + file);
            if (value && value->empty())
                write_file(current + "/" + file, read_line(parent + "/" + file).value_or(""),
                           std::string("initialising ") + file + " of " + current);
        }
    }
}

void CgroupV1::apply(const config::Resources& resources) {
    if (resources.memory)
        apply_memory(*resources.memory);
    if (resources.cpu)
        apply_cpu(*resources.cpu);
    if (resources.pids_limit && *resources.pids_limit != 0) {
        std::string field = "linux.resources.pids.limit";
        write_file(dir("pids", field) + "/pids.max",
                   *resources.pids_limit < 0 ? "max" : std::to_string(*resources.pids_limit),
                   field);
    }
    if (resources.block_io)
        apply_block_io(*resources.block_io);
    for (size_t n = 0; n < resources.hugepage_limits.size(); ++n) {
        const auto& limit = resources.hugepage_limits[n];
        std::string field = "linux.resources.hugepageLimits[" + std::to_string(n) + "]";
        std::string file =
            dir("hugetlb", field) + "/hugetlb." + limit.page_size + ".limit_in_bytes";
        if (limit.page_size.find('/') != std::string::npos || !path_exists(file))
            throw Error(field + ".pageSize: '" + limit.page_size +
                        "' is not a huge page size of this host");
        write_file(file, std::to_string(limit.limit), field + ".limit");
    }
    if (resources.network) {
        const auto& network = *resources.network;
        if (network.class_id)
            write_file(dir("net_cls", "linux.resources.network.classID") + "/net_cls.classid",
                       std::to_string(*network.class_id), "linux.resources.network.classID");
        for (size_t n = 0; n < network.priorities.size(); ++n) {
            std::string field = "linux.resources.network.priorities[" + std::to_string(n) + "]";
            const auto& [name, priority] = network.priorities[n];
            if (name.empty() || name.find_first_of(" \n/") != std::string::npos)
                throw Error(field + ".name: '" + name + "' is not an interface name");
            write_file(dir("net_prio", field) + "/net_prio.ifpriomap",
                       name + " " + std::to_string(priority), field);
        }
    }
    for (const auto& [device, limit] : resources.rdma) {
        std::string field = "linux.resources.rdma[\"" + device + "\"]";
        std::string line = device;
        if (limit.hca_handles)
            line += " hca_handle=" + std::to_string(*limit.hca_handles);
        if (limit.hca_objects)
            line += " hca_object=" + std::to_string(*limit.hca_objects);
        write_file(dir("rdma", field) + "/rdma.max", line, field);
    }
    if (!resources.devices.empty())
        apply_devices(resources.devices);
    if (!resources.unified.empty())
        throw Error("linux.resources.unified: needs cgroup v2, this host has cgroup v1 only");
}

void CgroupV1::apply_memory(const config::MemoryResources& memory) {
    std::string field = "linux.resources.memory";
    bool limit_set = memory.limit && *memory.limit != 0;
    bool swap_set = memory.swap && *memory.swap != 0;
    if (!limit_set && !swap_set && !(memory.reservation && *memory.reservation) &&
        !memory.swappiness && !memory.kernel && !memory.kernel_tcp && !memory.disable_oom_killer &&
        !memory.use_hierarchy)
        return;
    const std::string& base = dir("memory", field);
    if (limit_set)
        check_limit(*memory.limit, field + ".limit");
    if (swap_set) {
        check_limit(*memory.swap, field + ".swap");
        if (limit_set && *memory.swap != -1 && *memory.limit != -1 && *memory.swap < *memory.limit)
            throw Error(field + ".swap: memory+swap " + std::to_string(*memory.swap) +
                        " is below the memory limit " + std::to_string(*memory.limit));
    }
    std::string memsw = base + "/memory.memsw.limit_in_bytes";
    if (swap_set && !path_exists(memsw)) {
        warn(warn_, field + ".swap: the kernel does not account swap; ignored");
        swap_set = false;
    }
    // memory.limit_in_bytes may not exceed memsw: raise memsw first when it is growing.
    bool swap_first = false;
    if (limit_set && swap_set) {
        uint64_t current = read_u64(memsw).value_or(UINT64_MAX);
        uint64_t wanted = *memory.swap == -1 ? UINT64_MAX : static_cast<uint64_t>(*memory.swap);
        swap_first = wanted > current || *memory.swap == -1;
    }
    if (swap_first)
        write_file(memsw, v1_limit(*memory.swap), field + ".swap");
    // An unlimited memory with no swap given means both unlimited (runc does the same).
    if (limit_set && *memory.limit == -1 && !swap_set && path_exists(memsw))
        write_file(memsw, "-1", field + ".limit");
    if (limit_set) {
        std::string file = base + "/memory.limit_in_bytes";
        if (int err = try_write_file(file, v1_limit(*memory.limit))) {
            if (err == EINVAL && !swap_set && path_exists(memsw))
                throw Error(field + ".limit: writing " + v1_limit(*memory.limit) + " to " + file +
                                " (above the memory+swap limit " + read_line(memsw).value_or("?") +
                                "? give linux.resources.memory.swap as well)",
                            err);
            throw Error(field + ".limit: writing '" + v1_limit(*memory.limit) + "' to " + file,
                        err);
        }
    }
    if (swap_set && !swap_first)
        write_file(memsw, v1_limit(*memory.swap), field + ".swap");

    if (memory.reservation && *memory.reservation) {
        check_limit(*memory.reservation, field + ".reservation");
        write_file(base + "/memory.soft_limit_in_bytes", v1_limit(*memory.reservation),
                   field + ".reservation");
    }
    if (memory.swappiness) {
        if (*memory.swappiness > 100)
            throw Error(field + ".swappiness: " + std::to_string(*memory.swappiness) +
                        " is outside 0..100");
        write_file(base + "/memory.swappiness", std::to_string(*memory.swappiness),
                   field + ".swappiness");
    }
    // Kernel memory limits are deprecated; the spec lets runtimes ignore them.
    auto optional_limit = [&](const std::optional<int64_t>& value, const char* file,
                              const char* name) {
        if (!value)
            return;
        check_limit(*value, field + "." + name);
        if (int err = try_write_file(base + "/" + file, v1_limit(*value)))
            warn(warn_, field + "." + name + ": the kernel refuses " + file + " (" +
                            Error::errno_text(err) + "); ignored");
    };
    optional_limit(memory.kernel, "memory.kmem.limit_in_bytes", "kernel");
    optional_limit(memory.kernel_tcp, "memory.kmem.tcp.limit_in_bytes", "kernelTCP");
    if (memory.disable_oom_killer)
        write_file(base + "/memory.oom_control", "1", field + ".disableOOMKiller");
    if (memory.use_hierarchy)
        if (int err =
                try_write_file(base + "/memory.use_hierarchy", *memory.use_hierarchy ? "1" : "0"))
            warn(warn_, field + ".useHierarchy: the kernel refuses it (" + Error::errno_text(err) +
                            "); ignored");
}

void CgroupV1::apply_cpu(const config::CpuResources& cpu) {
    std::string field = "linux.resources.cpu";
    if (cpu.shares && *cpu.shares) {
        const std::string& base = dir("cpu", field + ".shares");
        write_file(base + "/cpu.shares", std::to_string(*cpu.shares), field + ".shares");
        auto effective = read_u64(base + "/cpu.shares");
        if (effective && *effective != *cpu.shares)
            throw Error(field + ".shares: " + std::to_string(*cpu.shares) +
                        " is outside the kernel's range (it set " + std::to_string(*effective) +
                        ")");
    }
    bool quota_set = cpu.quota && *cpu.quota != 0;
    bool period_set = cpu.period && *cpu.period != 0;
    if (quota_set && *cpu.quota < -1)
        throw Error(field + ".quota: " + std::to_string(*cpu.quota) +
                    " is invalid (use -1 for no limit)");
    if (quota_set || period_set) {
        const std::string& base = dir("cpu", field + (quota_set ? ".quota" : ".period"));
        std::string period_file = base + "/cpu.cfs_period_us";
        std::string quota_file = base + "/cpu.cfs_quota_us";
        // A new period can be refused against the old quota (and the other way round).
        int period_err = period_set ? try_write_file(period_file, std::to_string(*cpu.period)) : 0;
        if (quota_set)
            write_file(quota_file, std::to_string(*cpu.quota), field + ".quota");
        if (period_err)
            write_file(period_file, std::to_string(*cpu.period), field + ".period");
    }
    if (cpu.burst) {
        std::string file = dir("cpu", field + ".burst") + "/cpu.cfs_burst_us";
        if (!path_exists(file))
            throw Error(field + ".burst: the kernel has no cpu.cfs_burst_us");
        // The spec gives microseconds, as cfs_burst_us takes them.
        write_file(file, std::to_string(*cpu.burst), field + ".burst");
    }
    if (cpu.idle) {
        std::string file = dir("cpu", field + ".idle") + "/cpu.idle";
        if (!path_exists(file))
            throw Error(field + ".idle: the kernel has no cpu.idle");
        write_file(file, std::to_string(*cpu.idle), field + ".idle");
    }
    auto realtime = [&](bool set, const char* file, const char* name, const std::string& value) {
        if (!set)
            return;
        std::string path = dir("cpu", field + "." + name) + "/" + file;
        if (!path_exists(path))
            throw Error(field + "." + name + ": the kernel has no realtime group scheduling");
        write_file(path, value, field + "." + name);
    };
    // The period first: a runtime is checked against it.
    realtime(cpu.realtime_period && *cpu.realtime_period, "cpu.rt_period_us", "realtimePeriod",
             std::to_string(cpu.realtime_period.value_or(0)));
    realtime(cpu.realtime_runtime && *cpu.realtime_runtime, "cpu.rt_runtime_us", "realtimeRuntime",
             std::to_string(cpu.realtime_runtime.value_or(0)));
    if (!cpu.cpus.empty())
        write_file(dir("cpuset", field + ".cpus") + "/cpuset.cpus", cpu.cpus, field + ".cpus");
    if (!cpu.mems.empty())
        write_file(dir("cpuset", field + ".mems") + "/cpuset.mems", cpu.mems, field + ".mems");
}

void CgroupV1::apply_block_io(const config::BlockIoResources& io) {
    std::string field = "linux.resources.blockIO";
    auto weight_file = [&](const std::string& base, const char* plain, const char* bfq) {
        if (path_exists(base + "/" + plain))
            return base + "/" + plain;
        if (path_exists(base + "/" + bfq))
            return base + "/" + bfq;
        return std::string();
    };
    if (io.weight) {
        const std::string& base = dir("blkio", field + ".weight");
        std::string file = weight_file(base, "blkio.weight", "blkio.bfq.weight");
        if (file.empty())
            throw Error(field + ".weight: the kernel has no blkio weight (no CFQ/BFQ scheduler)");
        write_file(file, std::to_string(*io.weight), field + ".weight");
    }
    if (io.leaf_weight) {
        const std::string& base = dir("blkio", field + ".leafWeight");
        if (int err = try_write_file(base + "/blkio.leaf_weight", std::to_string(*io.leaf_weight)))
            warn(warn_,
                 field + ".leafWeight: not available (" + Error::errno_text(err) + "); ignored");
    }
    for (size_t n = 0; n < io.weight_device.size(); ++n) {
        const auto& device = io.weight_device[n];
        std::string entry = field + ".weightDevice[" + std::to_string(n) + "]";
        const std::string& base = dir("blkio", entry);
        std::string key = device_key(device.major, device.minor);
        if (device.weight) {
            std::string file = weight_file(base, "blkio.weight_device", "blkio.bfq.weight_device");
            if (file.empty())
                throw Error(entry + ".weight: the kernel has no blkio weight_device");
            write_file(file, key + " " + std::to_string(*device.weight), entry + ".weight");
        }
        if (device.leaf_weight)
            if (int err = try_write_file(base + "/blkio.leaf_weight_device",
                                         key + " " + std::to_string(*device.leaf_weight)))
                warn(warn_, entry + ".leafWeight: not available (" + Error::errno_text(err) +
                                "); ignored");
    }
    auto throttle = [&](const std::vector<config::ThrottleDevice>& list, const char* name,
                        const char* file) {
        for (size_t n = 0; n < list.size(); ++n) {
            std::string entry = field + "." + name + "[" + std::to_string(n) + "]";
            const auto& device = list[n];
            write_file(dir("blkio", entry) + "/" + file,
                       device_key(device.major, device.minor) + " " + std::to_string(device.rate),
                       entry);
        }
    };
    throttle(io.throttle_read_bps, "throttleReadBpsDevice", "blkio.throttle.read_bps_device");
    throttle(io.throttle_write_bps, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device");
    throttle(io.throttle_read_iops, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device");
    throttle(io.throttle_write_iops, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device");
}

void CgroupV1::apply_devices(const std::vector<config::DeviceRule>& rules) {
    std::string field = "linux.resources.devices";
    const std::string& base = dir("devices", field);
    std::vector<std::string> lines;
    for (size_t n = 0; n < rules.size(); ++n)
        lines.push_back(device_rule_line(rules[n], field + "[" + std::to_string(n) + "]"));
    // Start from nothing allowed, then replay the list: later rules override earlier ones.
    write_file(base + "/devices.deny", "a", field);
    for (size_t n = 0; n < rules.size(); ++n)
        write_file(base + (rules[n].allow ? "/devices.allow" : "/devices.deny"), lines[n],
                   field + "[" + std::to_string(n) + "]");
}

void CgroupV1::add_process(pid_t pid) {
    // Co-mounted controllers (cpu,cpuacct) share a directory; a second write is harmless.
    for (const auto& [name, dir] : dirs_) {
        write_file(dir + "/cgroup.procs", std::to_string(pid),
                   "adding pid " + std::to_string(pid) + " to the " + name + " cgroup");
    }
}

std::vector<UniqueFd> CgroupV1::sub_cgroup_fds(const SubCgroups& subs) const {
    std::vector<UniqueFd> fds;
    for (const auto& [controller, sub] : subs) {
        if (controller.empty()) {
            for (const auto& [name, dir] : dirs_)
                fds.push_back(open_sub_cgroup(dir, sub));
            continue;
        }
        auto it = dirs_.find(controller);
        if (it == dirs_.end())
            throw Error("exec --cgroup: unknown controller " + controller.substr(0, 64));
        fds.push_back(open_sub_cgroup(it->second, sub));
    }
    return fds;
}

std::vector<UniqueFd> CgroupV1::self_join_fds() const {
    // Co-mounted controllers (cpu,cpuacct) share a directory: a second write costs nothing.
    std::vector<UniqueFd> fds;
    for (const auto& [name, dir] : dirs_) {
        UniqueFd fd(::open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd)
            throw_errno("opening the " + name + " cgroup " + dir);
        fds.push_back(std::move(fd));
    }
    return fds;
}

std::vector<pid_t> CgroupV1::pids() const {
    for (const char* name : {"freezer", "pids", "memory", "cpu", "devices"}) {
        auto it = dirs_.find(name);
        if (it != dirs_.end() && path_exists(it->second))
            return read_procs_recursive(it->second);
    }
    if (!dirs_.empty())
        return read_procs_recursive(dirs_.begin()->second);
    return {};
}

void CgroupV1::set_freezer_state(bool frozen) {
    const std::string& base = dir("freezer", frozen ? "pause" : "resume");
    const char* wanted = frozen ? "FROZEN" : "THAWED";
    for (unsigned waited = 0; waited < 10000;) {
        // Rewriting helps tasks that were forking while the freeze began.
        write_file(base + "/freezer.state", wanted, frozen ? "pause" : "resume");
        if (read_line(base + "/freezer.state").value_or("") == wanted)
            return;
        unsigned step = waited < 100 ? 1 : 10;
        sleep_ms(step);
        waited += step;
    }
    if (frozen)
        try_write_file(base + "/freezer.state", "THAWED");
    throw Error(std::string(frozen ? "pause" : "resume") + ": " + base + " did not reach " +
                wanted + " within 10 s");
}

void CgroupV1::freeze() {
    set_freezer_state(true);
}
void CgroupV1::thaw() {
    set_freezer_state(false);
}

void CgroupV1::remove_created() noexcept {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it)
        ::rmdir(it->c_str());
    created_.clear();
}

bool CgroupV1::exists() const {
    return std::any_of(dirs_.begin(), dirs_.end(),
                       [](const auto& entry) { return path_exists(entry.second); });
}

bool CgroupV1::frozen() const {
    auto it = dirs_.find("freezer");
    return it != dirs_.end() && read_line(it->second + "/freezer.state").value_or("") == "FROZEN";
}

void CgroupV1::kill_all(int signal) {
    // Signalled while frozen, every task has the signal pending before any of them runs: none
    // can fork away from it, and an init that exits on it cannot take the others down first.
    bool freezer = has_controller("freezer") && path_exists(dirs_.at("freezer"));
    bool thaw_after = freezer && !frozen();
    if (thaw_after)
        freeze();
    std::string error;
    for (pid_t pid : pids())
        if (::kill(pid, signal) != 0 && errno != ESRCH && error.empty())
            error =
                "kill --all: signalling " + std::to_string(pid) + ": " + Error::errno_text(errno);
    if (thaw_after)
        thaw();
    if (!error.empty())
        throw Error(error);
}

void CgroupV1::destroy() {
    if (frozen())
        thaw();
    std::string failure;
    for (const auto& [name, dir] : dirs_) {
        if (!path_exists(dir))
            continue;
        int err = 0;
        for (unsigned attempt = 0; attempt < 1000; ++attempt) {
            if (!read_procs_recursive(dir).empty())
                kill_all(SIGKILL);
            err = remove_cgroup_tree(dir);
            if (err != EBUSY)
                break;
            sleep_ms(attempt < 100 ? 1 : 10);
        }
        if (err && failure.empty())
            failure = "removing cgroup " + dir + ": " + Error::errno_text(err);
    }
    for (auto it = created_.rbegin(); it != created_.rend(); ++it)
        ::rmdir(it->c_str());
    created_.clear();
    if (!failure.empty())
        throw Error(failure);
}

nlohmann::json CgroupV1::stats() const {
    using nlohmann::json;
    json out = json::object();
    auto base = [&](const char* controller) {
        auto it = dirs_.find(controller);
        return it == dirs_.end() ? std::string("/nonexistent") : it->second;
    };
    auto at = [](const std::map<std::string, uint64_t>& values, const std::string& key) {
        auto it = values.find(key);
        return it == values.end() ? uint64_t{0} : it->second;
    };

    std::string cpuacct = base("cpuacct");
    json percpu = json::array();
    std::istringstream per(read_optional(cpuacct + "/cpuacct.usage_percpu").value_or(""));
    for (uint64_t value = 0; per >> value;)
        percpu.push_back(value);
    // cpuacct.stat counts USER_HZ ticks.
    auto ticks = parse_flat_keyed(read_optional(cpuacct + "/cpuacct.stat").value_or(""));
    uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    auto throttle = parse_flat_keyed(read_optional(base("cpu") + "/cpu.stat").value_or(""));
    out["cpu"] = {{"usage",
                   {{"total", read_u64(cpuacct + "/cpuacct.usage").value_or(0)},
                    {"percpu", percpu},
                    {"kernel", at(ticks, "system") * ns_per_tick},
                    {"user", at(ticks, "user") * ns_per_tick}}},
                  {"throttling",
                   {{"periods", at(throttle, "nr_periods")},
                    {"throttledPeriods", at(throttle, "nr_throttled")},
                    {"throttledTime", at(throttle, "throttled_time")}}}};

    std::string memory = base("memory");
    auto entry = [&](const std::string& prefix) {
        return json{{"limit", read_u64(memory + "/" + prefix + ".limit_in_bytes").value_or(0)},
                    {"usage", read_u64(memory + "/" + prefix + ".usage_in_bytes").value_or(0)},
                    {"max", read_u64(memory + "/" + prefix + ".max_usage_in_bytes").value_or(0)},
                    {"failcnt", read_u64(memory + "/" + prefix + ".failcnt").value_or(0)}};
    };
    auto raw = parse_flat_keyed(read_optional(memory + "/memory.stat").value_or(""));
    out["memory"] = {{"cache", at(raw, "total_cache")},       {"usage", entry("memory")},
                     {"swap", entry("memory.memsw")},         {"kernel", entry("memory.kmem")},
                     {"kernelTCP", entry("memory.kmem.tcp")}, {"raw", raw}};

    out["pids"] = {{"current", read_u64(base("pids") + "/pids.current").value_or(0)},
                   {"limit", read_u64(base("pids") + "/pids.max").value_or(0)}};

    auto blkio_list = [&](const char* file) {
        json list = json::array();
        std::istringstream in(read_optional(base("blkio") + "/" + file).value_or(""));
        std::string device, op;
        uint64_t value = 0;
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream words(line);
            unsigned major = 0, minor = 0;
            if (!(words >> device >> op >> value) ||
                std::sscanf(device.c_str(), "%u:%u", &major, &minor) != 2)
                continue;
            list.push_back({{"major", major}, {"minor", minor}, {"op", op}, {"value", value}});
        }
        return list;
    };
    out["blkio"] = {
        {"ioServiceBytesRecursive", blkio_list("blkio.throttle.io_service_bytes_recursive")},
        {"ioServicedRecursive", blkio_list("blkio.throttle.io_serviced_recursive")}};

    json hugetlb = json::object();
    if (has_controller("hugetlb")) {
        std::string dir = base("hugetlb");
        for (const char* size : {"2MB", "1GB", "64KB", "32MB", "512MB", "16GB"}) {
            std::string prefix = dir + "/hugetlb." + size;
            if (!path_exists(prefix + ".usage_in_bytes"))
                continue;
            hugetlb[size] = {{"usage", read_u64(prefix + ".usage_in_bytes").value_or(0)},
                             {"max", read_u64(prefix + ".max_usage_in_bytes").value_or(0)},
                             {"failcnt", read_u64(prefix + ".failcnt").value_or(0)}};
        }
    }
    out["hugetlb"] = hugetlb;
    return out;
}

std::unique_ptr<OomWatch> CgroupV1::watch_oom() {
    auto it = dirs_.find("memory");
    if (it == dirs_.end())
        return nullptr;
    std::string control = it->second + "/memory.oom_control";
    UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!event)
        throw_errno("creating an eventfd for " + control);
    UniqueFd oom_control(::open(control.c_str(), O_RDONLY | O_CLOEXEC));
    if (!oom_control)
        throw_errno("opening " + control);
    // The kernel keeps what it needs from oom_control; only the eventfd stays with us.
    write_file(it->second + "/cgroup.event_control",
               std::to_string(event.get()) + " " + std::to_string(oom_control.get()),
               "registering for OOM events");
    return std::make_unique<OomWatch>(std::move(event), OomWatch::Kind::eventfd);
}

uint64_t CgroupV1::oom_kills() const {
    auto it = dirs_.find("memory");
    if (it == dirs_.end())
        return 0;
    return flat_keyed_value(it->second + "/memory.oom_control", "oom_kill").value_or(0);
}

}  // namespace brig::cgroups
