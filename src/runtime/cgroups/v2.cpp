#include "runtime/cgroups/v2.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/cgroups/device_filter.hpp"
#include "runtime/cgroups/fs_util.hpp"
#include "runtime/common/error.hpp"

namespace brig::cgroups {

using namespace detail;

namespace {

constexpr const char* kMemory = "linux.resources.memory";
constexpr const char* kCpu = "linux.resources.cpu";
constexpr const char* kBlockIo = "linux.resources.blockIO";

std::set<std::string> read_word_set(const std::string& path) {
    std::set<std::string> out;
    if (auto text = read_optional(path)) {
        std::istringstream in(*text);
        std::string word;
        while (in >> word)
            out.insert(word);
    }
    return out;
}

// Files in dir whose names look like prefix*suffix (hugetlb.<size>.max ...), returning the middle.
std::vector<std::string> file_name_middles(const std::string& dir, const std::string& prefix,
                                           const std::string& suffix) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* entry = ::readdir(d)) {
        std::string name = entry->d_name;
        if (name.size() > prefix.size() + suffix.size() && name.starts_with(prefix) &&
            name.ends_with(suffix)) {
            std::string middle =
                name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
            if (middle.find('.') == std::string::npos)
                out.push_back(middle);
        }
    }
    ::closedir(d);
    return out;
}

std::string limit_value(int64_t value) {
    return value == -1 ? "max" : std::to_string(value);
}

}  // namespace

CgroupV2::CgroupV2(std::string mount, std::string path, WarningSink warn, bool oom_group)
    : mount_(std::move(mount)),
      path_(std::move(path)),
      dir_(mount_ + path_),
      warn_(std::move(warn)),
      oom_group_(oom_group),
      host_controllers_(read_word_set(mount_ + "/cgroup.controllers")) {}

bool CgroupV2::host_has_controller(const std::string& name) const {
    return host_controllers_.count(name) > 0;
}

void CgroupV2::create() {
    make_cgroup_dirs(mount_, path_, created_);
    // Enable every controller the parent offers along the way down, as runc does; a parent
    // that holds processes refuses (EBUSY) and its resources then fail with a clear message.
    std::string current = mount_;
    std::istringstream in(path_);
    std::string segment;
    std::vector<std::string> levels;
    while (std::getline(in, segment, '/'))
        if (!segment.empty())
            levels.push_back(segment);
    for (size_t n = 0; n + 1 <= levels.size(); ++n) {
        auto offered = read_word_set(current + "/cgroup.controllers");
        auto enabled = read_word_set(current + "/cgroup.subtree_control");
        for (const auto& controller : offered)
            if (!enabled.count(controller))
                try_write_file(current + "/cgroup.subtree_control", "+" + controller);
        current += "/" + levels[n];
    }
    if (oom_group_ && path_exists(dir_ + "/memory.oom.group"))
        write_file(dir_ + "/memory.oom.group", "1", "memory.oom.group");
}

std::vector<UniqueFd> CgroupV2::sub_cgroup_fds(const SubCgroups& subs) const {
    std::vector<UniqueFd> fds;
    for (const auto& [controller, sub] : subs) {
        // One hierarchy: a controller prefix names the same cgroup, as runc takes it.
        if (!controller.empty() && !host_has_controller(controller))
            throw Error("exec --cgroup: unknown controller " + controller.substr(0, 64));
        fds.push_back(open_sub_cgroup(dir_, sub));
    }
    return fds;
}

void CgroupV2::require_controller(const std::string& controller, const std::string& field) const {
    if (read_word_set(dir_ + "/cgroup.controllers").count(controller))
        return;
    if (!host_has_controller(controller))
        throw Error(field + ": invalid configuration: the host has no cgroup2 " + controller +
                    " controller");
    throw Error(field + ": the " + controller + " controller is not enabled for " + dir_ +
                " (a parent cgroup holds processes?)");
}

void CgroupV2::apply(const config::Resources& resources) {
    if (resources.memory)
        apply_memory(*resources.memory);
    if (resources.cpu)
        apply_cpu(*resources.cpu);
    if (resources.pids_limit && *resources.pids_limit != 0) {
        require_controller("pids", "linux.resources.pids.limit");
        write_file(dir_ + "/pids.max",
                   *resources.pids_limit < 0 ? "max" : std::to_string(*resources.pids_limit),
                   "linux.resources.pids.limit");
    }
    if (resources.block_io)
        apply_block_io(*resources.block_io);
    for (size_t n = 0; n < resources.hugepage_limits.size(); ++n) {
        const auto& limit = resources.hugepage_limits[n];
        std::string field = "linux.resources.hugepageLimits[" + std::to_string(n) + "]";
        require_controller("hugetlb", field);
        std::string file = dir_ + "/hugetlb." + limit.page_size + ".max";
        if (limit.page_size.find('/') != std::string::npos || !path_exists(file))
            throw Error(field + ".pageSize: '" + limit.page_size +
                        "' is not a huge page size of this host");
        write_file(file, std::to_string(limit.limit), field + ".limit");
        std::string reserved = dir_ + "/hugetlb." + limit.page_size + ".rsvd.max";
        if (path_exists(reserved))
            write_file(reserved, std::to_string(limit.limit), field + ".limit");
    }
    if (resources.network &&
        (resources.network->class_id || !resources.network->priorities.empty()))
        throw Error("linux.resources.network: net_cls and net_prio do not exist on cgroup v2");
    for (const auto& [device, limit] : resources.rdma) {
        std::string field = "linux.resources.rdma[\"" + device + "\"]";
        require_controller("rdma", field);
        std::string line = device;
        if (limit.hca_handles)
            line += " hca_handle=" + std::to_string(*limit.hca_handles);
        if (limit.hca_objects)
            line += " hca_object=" + std::to_string(*limit.hca_objects);
        write_file(dir_ + "/rdma.max", line, field);
    }
    if (!resources.devices.empty())
        install_device_program(dir_, resources.devices, "linux.resources.devices");
    apply_unified(resources.unified);
}

void CgroupV2::apply_memory(const config::MemoryResources& memory) {
    std::string field = kMemory;
    bool any = (memory.limit && *memory.limit) || (memory.reservation && *memory.reservation) ||
               (memory.swap && *memory.swap);
    if (any)
        require_controller("memory", field);
    if (memory.limit && *memory.limit) {
        check_limit(*memory.limit, field + ".limit");
        write_file(dir_ + "/memory.max", limit_value(*memory.limit), field + ".limit");
    }
    if (memory.reservation && *memory.reservation) {
        check_limit(*memory.reservation, field + ".reservation");
        write_file(dir_ + "/memory.low", limit_value(*memory.reservation), field + ".reservation");
    }
    std::optional<int64_t> limit = memory.limit;
    if (!limit || *limit == 0) {
        // `update --memory-swap` alone: convert against the limit in force.
        if (auto current = read_u64(dir_ + "/memory.max"))
            limit = *current == UINT64_MAX ? -1 : static_cast<int64_t>(*current);
    }
    if ((memory.swap && *memory.swap) || (memory.limit && *memory.limit == -1)) {
        int64_t swap = memory_swap_to_v2(memory.swap.value_or(0), limit);
        if (swap != 0) {
            if (!path_exists(dir_ + "/memory.swap.max"))
                warn(warn_, field + ".swap: the kernel does not account swap; ignored");
            else
                write_file(dir_ + "/memory.swap.max", limit_value(swap), field + ".swap");
        }
    }
    if (memory.swappiness)
        warn(warn_, field + ".swappiness: not available on cgroup v2; ignored");
    if (memory.kernel)
        warn(warn_, field + ".kernel: kernel memory limits do not exist on cgroup v2; ignored");
    if (memory.kernel_tcp)
        warn(warn_, field + ".kernelTCP: not available on cgroup v2; ignored");
    if (memory.disable_oom_killer)
        warn(warn_, field + ".disableOOMKiller: not available on cgroup v2; ignored");
}

void CgroupV2::apply_cpu(const config::CpuResources& cpu) {
    std::string field = kCpu;
    if (cpu.shares && *cpu.shares) {
        require_controller("cpu", field + ".shares");
        if (*cpu.shares < 2 || *cpu.shares > 262144)
            throw Error(field + ".shares: " + std::to_string(*cpu.shares) +
                        " is outside 2..262144");
        write_file(dir_ + "/cpu.weight", std::to_string(cpu_shares_to_weight(*cpu.shares)),
                   field + ".shares");
    }
    bool quota_set = cpu.quota && *cpu.quota != 0;
    bool period_set = cpu.period && *cpu.period != 0;
    if (quota_set || period_set) {
        require_controller("cpu", field + (quota_set ? ".quota" : ".period"));
        if (quota_set && *cpu.quota < -1)
            throw Error(field + ".quota: " + std::to_string(*cpu.quota) +
                        " is invalid (use -1 for no limit)");
        // cpu.max holds both; keep the half that was not given.
        std::string quota = "max", period = "100000";
        if (auto current = read_line(dir_ + "/cpu.max")) {
            std::istringstream in(*current);
            in >> quota >> period;
        }
        if (quota_set)
            quota = *cpu.quota < 0 ? "max" : std::to_string(*cpu.quota);
        if (period_set)
            period = std::to_string(*cpu.period);
        write_file(dir_ + "/cpu.max", quota + " " + period,
                   field + (quota_set ? ".quota" : ".period"));
    }
    if (cpu.burst) {
        require_controller("cpu", field + ".burst");
        if (!path_exists(dir_ + "/cpu.max.burst"))
            throw Error(field + ".burst: the kernel has no cpu.max.burst");
        write_file(dir_ + "/cpu.max.burst", std::to_string(*cpu.burst), field + ".burst");
    }
    if (cpu.idle) {
        require_controller("cpu", field + ".idle");
        if (!path_exists(dir_ + "/cpu.idle"))
            throw Error(field + ".idle: the kernel has no cpu.idle");
        write_file(dir_ + "/cpu.idle", std::to_string(*cpu.idle), field + ".idle");
    }
    if ((cpu.realtime_runtime && *cpu.realtime_runtime) ||
        (cpu.realtime_period && *cpu.realtime_period))
        throw Error(field +
                    ".realtimeRuntime: realtime scheduling limits do not exist on cgroup v2");
    if (!cpu.cpus.empty()) {
        require_controller("cpuset", field + ".cpus");
        write_file(dir_ + "/cpuset.cpus", cpu.cpus, field + ".cpus");
    }
    if (!cpu.mems.empty()) {
        require_controller("cpuset", field + ".mems");
        write_file(dir_ + "/cpuset.mems", cpu.mems, field + ".mems");
    }
}

void CgroupV2::apply_block_io(const config::BlockIoResources& io) {
    std::string field = kBlockIo;
    bool bfq = path_exists(dir_ + "/io.bfq.weight");
    if (io.weight) {
        require_controller("io", field + ".weight");
        if (*io.weight < 10 || *io.weight > 1000)
            throw Error(field + ".weight: " + std::to_string(*io.weight) + " is outside 10..1000");
        if (bfq)
            write_file(dir_ + "/io.bfq.weight", std::to_string(*io.weight), field + ".weight");
        else
            write_file(dir_ + "/io.weight", std::to_string(blkio_weight_to_io_weight(*io.weight)),
                       field + ".weight");
    }
    if (io.leaf_weight)
        warn(warn_, field + ".leafWeight: not available on cgroup v2; ignored");
    for (size_t n = 0; n < io.weight_device.size(); ++n) {
        const auto& device = io.weight_device[n];
        std::string entry = field + ".weightDevice[" + std::to_string(n) + "]";
        if (device.leaf_weight)
            warn(warn_, entry + ".leafWeight: not available on cgroup v2; ignored");
        if (!device.weight)
            continue;
        require_controller("io", entry);
        if (*device.weight < 10 || *device.weight > 1000)
            throw Error(entry + ".weight: " + std::to_string(*device.weight) +
                        " is outside 10..1000");
        std::string key = device_key(device.major, device.minor);
        if (bfq)
            write_file(dir_ + "/io.bfq.weight", key + " " + std::to_string(*device.weight),
                       entry + ".weight");
        else
            write_file(dir_ + "/io.weight",
                       key + " " + std::to_string(blkio_weight_to_io_weight(*device.weight)),
                       entry + ".weight");
    }
    auto throttle = [&](const std::vector<config::ThrottleDevice>& list, const char* name,
                        const char* key) {
        for (size_t n = 0; n < list.size(); ++n) {
            std::string entry = field + "." + name + "[" + std::to_string(n) + "]";
            require_controller("io", entry);
            const auto& device = list[n];
            std::string rate = device.rate == 0 ? "max" : std::to_string(device.rate);
            write_file(dir_ + "/io.max",
                       device_key(device.major, device.minor) + " " + key + "=" + rate, entry);
        }
    };
    throttle(io.throttle_read_bps, "throttleReadBpsDevice", "rbps");
    throttle(io.throttle_write_bps, "throttleWriteBpsDevice", "wbps");
    throttle(io.throttle_read_iops, "throttleReadIOPSDevice", "riops");
    throttle(io.throttle_write_iops, "throttleWriteIOPSDevice", "wiops");
}

void CgroupV2::apply_unified(const std::map<std::string, std::string>& unified) {
    for (const auto& [key, value] : unified) {
        std::string field = "linux.resources.unified[\"" + key + "\"]";
        if (key.empty() || key.find('/') != std::string::npos || key == "." || key == ".." ||
            key.find("..") != std::string::npos)
            throw Error(field + ": not a cgroup file name");
        auto dot = key.find('.');
        if (dot == std::string::npos || dot == 0)
            throw Error(field + ": not a cgroup file name (want <controller>.<file>)");
        std::string controller = key.substr(0, dot);
        if (controller != "cgroup")
            require_controller(controller, field);
        if (!path_exists(dir_ + "/" + key))
            throw Error(field + ": no such cgroup file in " + dir_);
        write_file(dir_ + "/" + key, value, field);
    }
}

void CgroupV2::add_process(pid_t pid) {
    write_file(dir_ + "/cgroup.procs", std::to_string(pid),
               "adding pid " + std::to_string(pid) + " to the cgroup");
}

int CgroupV2::clone_into_fd() {
    if (!clone_fd_) {
        clone_fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!clone_fd_)
            throw_errno("opening cgroup " + dir_);
    }
    return clone_fd_.get();
}

uint64_t CgroupV2::cgroup2_id() const {
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0)
        throw_errno("reading the id of cgroup " + dir_);
    return st.st_ino;
}

std::vector<pid_t> CgroupV2::pids() const {
    return read_procs_recursive(dir_);
}

void CgroupV2::set_state_frozen(bool frozen) {
    if (!path_exists(dir_ + "/cgroup.freeze"))
        throw Error("the kernel has no cgroup.freeze in " + dir_);
    write_file(dir_ + "/cgroup.freeze", frozen ? "1" : "0", frozen ? "pause" : "resume");
    // The kernel reports completion in cgroup.events; tasks in uninterruptible sleep take a while.
    for (unsigned waited = 0; waited < 10000;) {
        if (auto state = flat_keyed_value(dir_ + "/cgroup.events", "frozen"))
            if ((*state == 1) == frozen)
                return;
        unsigned step = waited < 100 ? 1 : 10;
        sleep_ms(step);
        waited += step;
    }
    throw Error(std::string(frozen ? "pause" : "resume") + ": " + dir_ +
                " did not reach the state within 10 s");
}

void CgroupV2::freeze() {
    set_state_frozen(true);
}
void CgroupV2::thaw() {
    set_state_frozen(false);
}

void CgroupV2::remove_created() noexcept {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it)
        ::rmdir(it->c_str());
    created_.clear();
}

bool CgroupV2::exists() const {
    return path_exists(dir_);
}

bool CgroupV2::frozen() const {
    return flat_keyed_value(dir_ + "/cgroup.events", "frozen").value_or(0) == 1;
}

void CgroupV2::kill_all(int signal) {
    if (signal == SIGKILL && path_exists(dir_ + "/cgroup.kill")) {
        write_file(dir_ + "/cgroup.kill", "1", "kill --all");
        return;
    }
    // Unlike v1, no freeze around the signals: a signal other than SIGKILL can be ignored
    // anyway, SIGKILL above is race-free, and in the 6.1 VM a busybox shell that trapped USR1
    // missed it far more often while its cgroup was frozen (4 of 5 runs against 1 of 7).
    int err = 0;
    pid_t failed = 0;
    for (pid_t pid : pids())
        if (::kill(pid, signal) != 0 && errno != ESRCH && !err) {
            err = errno;
            failed = pid;
        }
    if (err)
        throw Error("kill --all: signalling " + std::to_string(failed), err);
}

void CgroupV2::destroy() {
    if (path_exists(dir_)) {
        int err = 0;
        for (unsigned attempt = 0; attempt < 1000; ++attempt) {
            if (!pids().empty())
                kill_all(SIGKILL);
            err = remove_cgroup_tree(dir_);
            if (err != EBUSY)
                break;
            sleep_ms(attempt < 100 ? 1 : 10);
        }
        if (err)
            throw Error("removing cgroup " + dir_, err);
    }
    // Parents we made, innermost first; shared ones still holding other containers stay.
    for (auto it = created_.rbegin(); it != created_.rend(); ++it)
        if (*it != dir_)
            ::rmdir(it->c_str());
    created_.clear();
    clone_fd_.reset();
}

nlohmann::json CgroupV2::stats() const {
    using nlohmann::json;
    json out = json::object();

    auto cpu = parse_flat_keyed(read_optional(dir_ + "/cpu.stat").value_or(""));
    auto at = [](const std::map<std::string, uint64_t>& values, const std::string& key) {
        auto it = values.find(key);
        return it == values.end() ? uint64_t{0} : it->second;
    };
    out["cpu"] = {{"usage",
                   {{"total", at(cpu, "usage_usec") * 1000},
                    {"percpu", json::array()},
                    {"kernel", at(cpu, "system_usec") * 1000},
                    {"user", at(cpu, "user_usec") * 1000}}},
                  {"throttling",
                   {{"periods", at(cpu, "nr_periods")},
                    {"throttledPeriods", at(cpu, "nr_throttled")},
                    {"throttledTime", at(cpu, "throttled_usec") * 1000}}}};

    auto raw = parse_flat_keyed(read_optional(dir_ + "/memory.stat").value_or(""));
    auto events = parse_flat_keyed(read_optional(dir_ + "/memory.events").value_or(""));
    uint64_t usage = read_u64(dir_ + "/memory.current").value_or(0);
    uint64_t limit = read_u64(dir_ + "/memory.max").value_or(UINT64_MAX);
    uint64_t swap_usage = read_u64(dir_ + "/memory.swap.current").value_or(0);
    uint64_t swap_limit = read_u64(dir_ + "/memory.swap.max").value_or(UINT64_MAX);
    auto entry = [](uint64_t lim, uint64_t use, uint64_t max, uint64_t failcnt) {
        return json{{"limit", lim}, {"usage", use}, {"max", max}, {"failcnt", failcnt}};
    };
    // runc reports swap as memory+swap, the v1 memsw meaning.
    auto sum = [](uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
    out["memory"] = {{"cache", at(raw, "file")},
                     {"usage", entry(limit, usage, read_u64(dir_ + "/memory.peak").value_or(0),
                                     at(events, "max"))},
                     {"swap", entry(sum(limit, swap_limit), usage + swap_usage, 0, 0)},
                     {"kernel", entry(0, at(raw, "kernel"), 0, 0)},
                     {"kernelTCP", entry(0, at(raw, "sock"), 0, 0)},
                     {"raw", raw}};

    out["pids"] = {{"current", read_u64(dir_ + "/pids.current").value_or(0)},
                   {"limit", read_u64(dir_ + "/pids.max").value_or(0)}};

    json bytes = json::array(), ios = json::array();
    std::istringstream io(read_optional(dir_ + "/io.stat").value_or(""));
    std::string line;
    while (std::getline(io, line)) {
        std::istringstream words(line);
        std::string device;
        words >> device;
        unsigned major = 0, minor = 0;
        if (std::sscanf(device.c_str(), "%u:%u", &major, &minor) != 2)
            continue;
        auto values = parse_flat_keyed([&] {
            std::string text, word;
            while (words >> word) {
                auto eq = word.find('=');
                if (eq != std::string::npos)
                    text += word.substr(0, eq) + " " + word.substr(eq + 1) + "\n";
            }
            return text;
        }());
        auto add = [&](json& list, const char* op, const char* key) {
            list.push_back(
                {{"major", major}, {"minor", minor}, {"op", op}, {"value", at(values, key)}});
        };
        add(bytes, "Read", "rbytes");
        add(bytes, "Write", "wbytes");
        add(ios, "Read", "rios");
        add(ios, "Write", "wios");
    }
    out["blkio"] = {{"ioServiceBytesRecursive", bytes}, {"ioServicedRecursive", ios}};

    json hugetlb = json::object();
    for (const auto& size : file_name_middles(dir_, "hugetlb.", ".current"))
        hugetlb[size] = {
            {"usage", read_u64(dir_ + "/hugetlb." + size + ".current").value_or(0)},
            {"max", read_u64(dir_ + "/hugetlb." + size + ".max").value_or(0)},
            {"failcnt",
             flat_keyed_value(dir_ + "/hugetlb." + size + ".events", "max").value_or(0)}};
    out["hugetlb"] = hugetlb;
    return out;
}

uint64_t CgroupV2::oom_kills() const {
    return flat_keyed_value(dir_ + "/memory.events", "oom_kill").value_or(0);
}

std::unique_ptr<OomWatch> CgroupV2::watch_oom() {
    std::string events = dir_ + "/memory.events";
    if (!path_exists(events))
        return nullptr;
    UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd)
        throw_errno("watching " + events);
    if (::inotify_add_watch(fd.get(), events.c_str(), IN_MODIFY) < 0)
        throw_errno("watching " + events);
    return std::make_unique<OomWatch>(std::move(fd), OomWatch::Kind::inotify);
}

}  // namespace brig::cgroups
