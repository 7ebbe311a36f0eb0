// Loading and pinning the BPF programs, registering containers, and the per-container watcher.
#include "monitor/monitor.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lsm_probe.skel.h"
#include "monitor.skel.h"
#include "monitor/alerts.hpp"
#include "monitor/bpf/monitor_abi.h"
#include "monitor/cgroup_liveness.hpp"
#include "monitor_lsm.skel.h"
#include "monitor_objects_id.h"
#include "runtime/common/error.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {

namespace {

constexpr const char* kBpffsRoot = "/sys/fs/bpf";
constexpr const char* kLoadLock = "/run/brig-monitor.lock";
constexpr const char* kMapNames[] = {
    "containers", "exec_rules", "open_name_rules", "open_path_rules", "addr_rules",
    "drops",      "rings",      "verdict_rings",   "ring_owners",     "any_condemned",
    "repeats",    "shed_rules", "exec_approvals",  "written_files",   "container_levels"};
enum MapIndex {
    kContainers,
    kExecRules,
    kOpenNames,
    kOpenPaths,
    kAddrs,
    kDrops,
    kRings,
    kVerdictRings,
    kRingOwners,
    kAnyCondemned,
    kRepeats,
    kShedRules,
    kExecApprovals,
    kWrittenFiles,
    kContainerLevels,
    kMapCount
};
constexpr const char* kCgroupProgs[] = {"brig_sock_create", "brig_connect4", "brig_connect6",
                                        "brig_bind4", "brig_bind6"};
// The tracepoint programs (pinned under progs/ by name) and the raw tracepoint each attaches to
// (none for a tp_btf program: its tracepoint is part of it). They and the BPF-LSM programs
// (progs/lsm_*) are attached only while a container is registered.
struct TracepointProg {
    const char* name;
    const char* raw_tracepoint;
};
constexpr TracepointProg kTracepointProgs[] = {{"brig_exec", "sched_process_exec"},
                                               {"brig_sys_exit", nullptr},
                                               {"brig_sys_enter", "sys_enter"}};
// Pinned last at load: its presence tells every later brig that loading is complete.
constexpr const char* kLoadedMarker = "/progs/brig_sys_enter";
// Pinned last at attach: present while the programs are attached.
constexpr const char* kAttachedMarker = "/links/brig_sys_enter";
// Free rings kept in the pool, so that a create finds one made ahead of need.
constexpr uint32_t kSpareRings = 2;

int quiet_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_WARN && std::getenv("BRIG_MONITOR_DEBUG"))
        return vfprintf(stderr, format, args);
    return 0;
}

void ensure_bpffs() {
    struct statfs fs {};
    if (::statfs(kBpffsRoot, &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
        return;
    if (::mount("bpf", kBpffsRoot, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0)
        throw_errno(std::string("mount bpffs on ") + kBpffsRoot);
}

UniqueFd pinned(const std::string& path) {
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd)
        throw_errno("open pinned BPF object " + path);
    return fd;
}

constexpr const char* kLsmExecProg = "/progs/lsm_brig_lsm_exec";

// Loads the BPF-LSM object into dir (it pins the shared maps first; the tracepoint object then
// reuses them) and pins every program as progs/lsm_<name>, attaching each once to see that the
// kernel runs it (attach_programs attaches them for real). False, with nothing of it left
// pinned, where the kernel refuses it.
bool load_and_pin_lsm(const std::string& dir) {
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir.c_str());
    brig_monitor_lsm* skel = brig_monitor_lsm__open_opts(&opts);
    if (!skel)
        return false;
    ScopeGuard destroy([&] { brig_monitor_lsm__destroy(skel); });
    if (brig_monitor_lsm__load(skel) != 0)
        return false;
    std::vector<std::string> pinned_progs;
    ScopeGuard unpin([&] {
        for (const auto& path : pinned_progs)
            ::unlink(path.c_str());
    });
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, skel->obj) {
        bpf_link* link = bpf_program__attach_lsm(prog);
        if (!link)
            return false;
        bpf_link__destroy(link);
        std::string path = dir + "/progs/lsm_" + bpf_program__name(prog);
        if (bpf_program__pin(prog, path.c_str()) != 0)
            return false;
        pinned_progs.push_back(path);
    }
    unpin.dismiss();
    return true;
}

// Makes a slot's two rings (alerts, carried-out verdicts) and adds them to the pool in a free
// slot: the verdict ring first, so that a slot is in `rings`, where claims look, only once it
// has both (each map-in-map update waits for an RCU grace period, which is why the pool is
// filled ahead of need). Returns the slot.
uint32_t add_ring(int rings_fd, int verdict_rings_fd) {
    UniqueFd ring(
        bpf_map_create(BPF_MAP_TYPE_RINGBUF, "brig_ring", 0, 0, BRIG_RING_BYTES, nullptr));
    UniqueFd verdict_ring(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "brig_verdicts", 0, 0,
                                         BRIG_VERDICT_RING_BYTES, nullptr));
    if (!ring || !verdict_ring)
        throw_errno("create a BPF ring buffer");
    int ring_fd = ring.get(), verdict_fd = verdict_ring.get();
    std::set<uint32_t> taken;
    uint32_t key = 0;
    for (void* prev = nullptr; bpf_map_get_next_key(rings_fd, prev, &key) == 0; prev = &key)
        taken.insert(key);
    for (uint32_t slot = 0; slot < BRIG_RING_SLOTS; ++slot) {
        if (taken.contains(slot))
            continue;
        // Another brig may be filling this slot: whoever adds its verdict ring fills it.
        if (bpf_map_update_elem(verdict_rings_fd, &slot, &verdict_fd, BPF_NOEXIST) != 0) {
            if (errno != EEXIST)
                throw_errno("add a ring to the pool (verdict_rings)");
            continue;
        }
        if (bpf_map_update_elem(rings_fd, &slot, &ring_fd, BPF_NOEXIST) == 0)
            return slot;
        throw_errno("add a ring to the pool (rings)");
    }
    throw Error("monitor: every slot of the ring pool is in use", ENOSPC);
}

// How many rings of the pool no container holds.
uint32_t free_rings(int rings_fd, int owners_fd) {
    uint32_t count = 0, key = 0;
    uint64_t owner = 0;
    for (void* prev = nullptr; bpf_map_get_next_key(rings_fd, prev, &key) == 0; prev = &key)
        count += bpf_map_lookup_elem(owners_fd, &key, &owner) != 0;
    return count;
}

// Claims a free ring of the pool for cgid (BPF_NOEXIST in ring_owners: one winner per slot),
// adding one to the pool only when none is free. Returns its slot.
uint32_t claim_ring(int rings_fd, int verdict_rings_fd, int owners_fd, uint64_t cgid) {
    for (;;) {
        uint32_t key = 0;
        for (void* prev = nullptr; bpf_map_get_next_key(rings_fd, prev, &key) == 0; prev = &key)
            if (bpf_map_update_elem(owners_fd, &key, &cgid, BPF_NOEXIST) == 0)
                return key;
        // None free: another create may take the new one first, then we go round.
        add_ring(rings_fd, verdict_rings_fd);
    }
}

// Attaches the raw tracepoint and BPF-LSM programs pinned in dir that are not attached yet and
// pins their links under links/ (the caller holds the load lock exclusively).
void attach_programs(const std::string& dir) {
    std::filesystem::create_directories(dir + "/links");
    struct Wanted {
        std::string prog;
        bool lsm;
        const char* raw_tracepoint;
    };
    std::vector<Wanted> wanted;
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/progs"))
        if (entry.path().filename().string().starts_with("lsm_"))
            wanted.push_back({entry.path().filename().string(), true, nullptr});
    for (const auto& prog : kTracepointProgs)  // sys_enter last: kAttachedMarker
        wanted.push_back({prog.name, false, prog.raw_tracepoint});
    for (const auto& [name, is_lsm, tracepoint] : wanted) {
        std::string link_path = dir + "/links/" + name;
        if (::access(link_path.c_str(), F_OK) == 0)
            continue;
        UniqueFd prog = pinned(dir + "/progs/" + name);
        UniqueFd link(is_lsm ? bpf_link_create(prog.get(), 0, BPF_LSM_MAC, nullptr)
                             : bpf_raw_tracepoint_open(tracepoint, prog.get()));
        if (!link)
            throw_errno("attach BPF program " + name);
        if (bpf_obj_pin(link.get(), link_path.c_str()) != 0)
            throw_errno("pin BPF link " + link_path);
    }
}

// Detaches them all: the pins are the only references to the links.
void detach_programs(const std::string& dir) noexcept {
    std::error_code ec;
    ::unlink((dir + kAttachedMarker).c_str());
    std::filesystem::remove_all(dir + "/links", ec);
}

// Loads the programs (the BPF-LSM ones too where the kernel takes them), pins them and the maps
// under dir and fills the ring pool; nothing is attached until a container registers. Links and
// programs of an earlier load that did not complete are dropped first (the caller holds the load
// lock; no container is registered there).
void load_and_pin(const std::string& dir, bool try_lsm) {
    std::filesystem::remove_all(dir + "/links");
    std::filesystem::remove_all(dir + "/progs");
    std::filesystem::create_directories(dir + "/links");
    std::filesystem::create_directories(dir + "/progs");
    bool lsm = try_lsm && load_and_pin_lsm(dir);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir.c_str());
    brig_monitor* skel = brig_monitor__open_opts(&opts);
    if (!skel)
        throw_errno("open BPF skeleton");
    ScopeGuard destroy([&] { brig_monitor__destroy(skel); });
    skel->rodata->lsm_enforces = lsm;
    if (brig_monitor__load(skel) != 0)
        throw_errno("load BPF programs (raw tracepoints, cgroup sock)");
    // Attached once to see that the kernel runs them; attach_programs attaches them for real.
    for (const auto& tracepoint_prog : kTracepointProgs) {
        const char* tracepoint = tracepoint_prog.raw_tracepoint;
        bpf_program* prog = bpf_object__find_program_by_name(skel->obj, tracepoint_prog.name);
        bpf_link* link = !prog        ? nullptr
                         : tracepoint ? bpf_program__attach_raw_tracepoint(prog, tracepoint)
                                      : bpf_program__attach(prog);
        if (!link)
            throw_errno(std::string("attach tracepoint program ") + tracepoint_prog.name);
        bpf_link__destroy(link);
    }
    UniqueFd rings = pinned(dir + "/rings");
    UniqueFd verdict_rings = pinned(dir + "/verdict_rings");
    UniqueFd owners = pinned(dir + "/ring_owners");
    while (free_rings(rings.get(), owners.get()) < kSpareRings + 1)
        add_ring(rings.get(), verdict_rings.get());
    for (const char* name : kCgroupProgs) {
        bpf_program* prog = bpf_object__find_program_by_name(skel->obj, name);
        std::string path = dir + "/progs/" + name;
        if (!prog || bpf_program__pin(prog, path.c_str()) != 0)
            throw_errno("pin BPF program " + path);
    }
    for (const auto& tracepoint_prog : kTracepointProgs) {  // sys_enter last: kLoadedMarker
        const char* name = tracepoint_prog.name;
        bpf_program* prog = bpf_object__find_program_by_name(skel->obj, name);
        std::string path = dir + "/progs/" + name;
        if (!prog || bpf_program__pin(prog, path.c_str()) != 0)
            throw_errno("pin BPF program " + path);
    }
}

// The cgroup2 ids a containers map holds.
std::vector<uint64_t> registered_ids(int containers_fd) {
    std::vector<uint64_t> ids;
    uint64_t key = 0;
    for (void* prev = nullptr; bpf_map_get_next_key(containers_fd, prev, &key) == 0; prev = &key)
        ids.push_back(key);
    return ids;
}

// A pin dir with no links/ has nothing attached; its mtime is that of its last attach or detach.
constexpr auto kIdlePinDirLifetime = std::chrono::hours(1);

// Pin directories of other brig builds (other object hashes, or the unversioned "v1"): removed
// when no container is registered in them any more, or only ones whose cgroup has gone (their
// links detach with them); kept while one is, so that a container started by the old brig stays
// enforced by the programs it started with. One with nothing attached (a build that attaches only
// while it has containers) costs the host nothing and is kept until it has been idle for an hour:
// two builds in use side by side (a development host) do not remove each other's between
// containers, each load costing seconds.
void remove_unused_pin_dirs(const std::string& base, const std::string& current) {
    const CgroupLiveness liveness;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
        if (!entry.is_directory() || entry.path() == current)
            continue;
        UniqueFd containers(bpf_obj_get((entry.path() / "containers").c_str()));
        if (!containers)
            continue;  // not one of ours
        auto ids = registered_ids(containers.get());
        if (std::any_of(ids.begin(), ids.end(), [&](uint64_t id) { return !liveness.gone(id); }))
            continue;  // still in use
        bool attached = std::filesystem::exists(entry.path() / "links", ec);
        auto idle = std::filesystem::file_time_type::clock::now() -
                    std::filesystem::last_write_time(entry.path(), ec);
        if (!attached && !ec && idle < kIdlePinDirLifetime)
            continue;
        std::filesystem::remove_all(entry.path(), ec);
    }
}

}  // namespace

namespace {

// The kernel's verifier refusing this build's programs (too complex, an unknown helper) gives
// the same answer until the next boot: it is remembered in /run with the boot's id, so that every
// later `brig create` warns at once instead of spending seconds on the same refusal. A refusal
// that may pass (memory, a busy lock) is not remembered.
std::string refusal_file() {
    return std::string("/run/brig-monitor-") + BRIG_MONITOR_OBJECTS_ID + ".refused";
}

// This boot's id: the record names it, as /run is not a tmpfs everywhere (it is on disk here).
std::string boot_id() {
    std::string id;
    std::ifstream("/proc/sys/kernel/random/boot_id") >> id;
    return id;
}

void remember_refusal(const Error& e) {
    const int err = e.errnum();
    constexpr int kKernelNotSupp = 524;  // the kernel's ENOTSUPP: a helper this kernel lacks
    if (err != E2BIG && err != EACCES && err != EINVAL && err != kKernelNotSupp)
        return;
    std::ofstream(refusal_file()) << boot_id() << ' ' << err << ' ' << e.what() << "\n";
}

void throw_if_refused_before() {
    std::ifstream in(refusal_file());
    std::string boot, text;
    int err = 0;
    if (in >> boot >> err && boot == boot_id() && std::getline(in >> std::ws, text) &&
        !text.empty())
        throw Error::passed_on(text + " (as at this boot's first try)", err);
}

}  // namespace

std::string pin_dir_name() {
    // Both embedded objects' digest, taken at build time (objects_id.cmake): any change to the
    // programs or maps gives a new directory.
    return BRIG_MONITOR_OBJECTS_ID;
}

std::string KernelSupport::describe() const {
    std::string out = "monitor: ";
    if (bpf_lsm)
        out +=
            "BPF-LSM available; enforcement by BPF-LSM deny (EPERM) + kill, tracepoint reports "
            "and kill, cgroup BPF deny";
    else if (tracepoints)
        out +=
            "BPF-LSM unavailable (lsm programs refused); enforcement by tracepoint + "
            "bpf_send_signal kill and cgroup BPF deny";
    else
        out += "eBPF unavailable; containers run unmonitored";
    if (bpf_lsm)
        out += ", file and path denies by the BPF-LSM file hooks (Landlock unused)";
    else
        out += landlock ? ", Landlock ABI " + std::to_string(landlock_abi) + " for write denies"
                        : ", no Landlock";
    if (!btf)
        out += ", no kernel BTF (/sys/kernel/btf/vmlinux)";
    return out;
}

namespace {

// Whether a BPF-LSM program attached to file_open runs when this process opens a file.
bool lsm_hooks_run() {
    brig_lsm_probe* lsm = brig_lsm_probe__open();
    if (!lsm)
        return false;
    ScopeGuard destroy([&] { brig_lsm_probe__destroy(lsm); });
    lsm->rodata->probe_tgid = static_cast<uint32_t>(::getpid());
    if (brig_lsm_probe__load(lsm) != 0 || brig_lsm_probe__attach(lsm) != 0)
        return false;
    UniqueFd opened(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
    return lsm->bss->probe_runs > 0;
}

}  // namespace

KernelSupport probe_kernel() {
    libbpf_set_print(quiet_libbpf);
    KernelSupport support;
    support.btf = ::access("/sys/kernel/btf/vmlinux", R_OK) == 0;
    support.bpf_lsm = lsm_hooks_run();
    support.tracepoints = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr) == 1;
    long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u /* VERSION */);
    support.landlock = abi > 0;
    support.landlock_abi = abi > 0 ? static_cast<int>(abi) : 0;
    return support;
}

struct Monitor::Impl {
    MonitorConfig config;
    std::array<UniqueFd, kMapCount> maps;
    std::array<UniqueFd, std::size(kCgroupProgs)> cgroup_progs;
    EnforcementPath path = EnforcementPath::tracepoint;
    std::string dir;
};

Monitor::Monitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Monitor::Monitor(Monitor&&) noexcept = default;
Monitor& Monitor::operator=(Monitor&&) noexcept = default;
Monitor::~Monitor() = default;

Monitor Monitor::open(const MonitorConfig& config) {
    libbpf_set_print(quiet_libbpf);
    ensure_bpffs();
    const std::string dir = config.bpffs_dir + "/" + pin_dir_name();
    if (::access((dir + kLoadedMarker).c_str(), F_OK) != 0) {
        UniqueFd lock(::open(kLoadLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!lock || ::flock(lock.get(), LOCK_EX) != 0)
            throw_errno(std::string("lock ") + kLoadLock);
        if (::access((dir + kLoadedMarker).c_str(), F_OK) != 0) {
            throw_if_refused_before();
            std::filesystem::create_directories(dir);
            try {
                load_and_pin(dir, probe_kernel().bpf_lsm);
            } catch (const Error& e) {
                std::error_code ec;
                std::filesystem::remove_all(dir, ec);  // no half-loaded dir for the next brig
                remember_refusal(e);
                throw;
            }
            remove_unused_pin_dirs(config.bpffs_dir, dir);
        }
    }
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    for (int i = 0; i < kMapCount; ++i)
        impl->maps[i] = pinned(dir + "/" + kMapNames[i]);
    for (size_t i = 0; i < std::size(kCgroupProgs); ++i)
        impl->cgroup_progs[i] = pinned(dir + "/progs/" + kCgroupProgs[i]);
    impl->dir = dir;
    impl->path = ::access((dir + kLsmExecProg).c_str(), F_OK) == 0 ? EnforcementPath::bpf_lsm
                                                                   : EnforcementPath::tracepoint;
    return Monitor(std::move(impl));
}

EnforcementPath Monitor::path() const {
    return impl_->path;
}

std::string Monitor::pin_dir() const {
    return impl_->dir;
}

std::vector<int> Monitor::fds() const {
    std::vector<int> fds;
    for (const auto& fd : impl_->maps)
        fds.push_back(fd.get());
    for (const auto& fd : impl_->cgroup_progs)
        fds.push_back(fd.get());
    return fds;
}

namespace {

void update(int map_fd, const void* key, const void* value, const char* what) {
    if (bpf_map_update_elem(map_fd, key, value, BPF_ANY) != 0)
        throw_errno(std::string("BPF map update of ") + what);
}

brig_verdict to_bpf(KernelVerdict v) {
    return {v.rule_id, v.action};
}

brig_prefix_key prefix_key(uint64_t cgid, const std::string& prefix) {
    brig_prefix_key key{};
    key.cgroup_id = cgid;
    std::memcpy(key.path, prefix.data(), std::min(prefix.size(), sizeof(key.path)));
    key.prefixlen = static_cast<uint32_t>(64 + 8 * std::min(prefix.size(), sizeof(key.path)));
    return key;
}

brig_name_key name_key(uint64_t cgid, const std::string& name) {
    brig_name_key key{};
    key.cgroup_id = cgid;
    std::memcpy(key.name, name.data(), std::min(name.size(), sizeof(key.name) - 1));
    return key;
}

// brig_container.path_first_dirs: the first-directory bit of every rule path, every bit when a
// path stops short of the end of its first directory ("/", "/e": the first directory of the
// paths it matches is not known).
uint64_t first_dirs_of(const std::map<std::string, PathVerdicts>& paths) {
    uint64_t bits = 0;
    for (const auto& [prefix, verdicts] : paths) {
        bool known = prefix.size() > BRIG_FIRST_DIR_BYTES ||
                     prefix.find_first_of(std::string_view("/\0", 2), 1) != std::string::npos;
        if (prefix.empty() || prefix[0] != '/' || !known)
            return ~0ULL;
        bits |= 1ULL << brig_first_dir_bit(prefix.c_str());
    }
    return bits;
}

// The brig_name_bit of the file name `name`.
uint32_t name_bit(std::string_view name) {
    uint64_t head = 0, tail = 0;
    std::memcpy(&head, name.data(), std::min<size_t>(name.size(), sizeof(head)));
    size_t tail_size = std::min<size_t>(name.size(), sizeof(tail));
    std::memcpy(&tail, name.data() + name.size() - tail_size, tail_size);
    return brig_name_bit(name.size(), head, tail);
}

// What sys_exit needs to skip building the path of a file opened for reading: the names of the
// exact files (brig_container.open_file_names) whose entries rule on opens in any mode, and
// BRIG_CF_OPEN_PREFIXES when a prefix entry does (then no open is skipped).
void fold_open_files(const std::map<std::string, PathVerdicts>& paths, brig_container& value) {
    for (const auto& [prefix, verdicts] : paths) {
        if (!verdicts.ops[BRIG_PATH_OPEN].action)
            continue;
        if (prefix.empty() || prefix.back() != '\0') {
            value.flags |= BRIG_CF_OPEN_PREFIXES;
            continue;
        }
        std::string_view file(prefix.data(), prefix.size() - 1);
        value.open_file_names |= 1ULL << name_bit(file.substr(file.rfind('/') + 1));
    }
}

// Deletes the keys of one container from a map whose keys start with (or, for LPM tries, hold at
// offset 4) the cgroup id.
size_t delete_keys_of(int map_fd, size_t key_size, size_t id_offset, uint64_t cgid, bool remove) {
    std::vector<std::vector<uint8_t>> doomed;
    std::vector<uint8_t> key(key_size), next(key_size);
    void* prev = nullptr;
    while (bpf_map_get_next_key(map_fd, prev, next.data()) == 0) {
        uint64_t id = 0;
        std::memcpy(&id, next.data() + id_offset, sizeof(id));
        if (id == cgid)
            doomed.push_back(next);
        key = next;
        prev = key.data();
    }
    if (remove)
        for (auto& k : doomed)
            bpf_map_delete_elem(map_fd, k.data());
    return doomed.size();
}

template <typename Key>
void delete_each(int map_fd, const std::vector<Key>& keys) noexcept {
    for (const Key& key : keys)
        bpf_map_delete_elem(map_fd, &key);
}

// cgroup programs refuse what tracepoints cannot; they live as long as the cgroup. wanted: by
// kCgroupProgs index.
void attach_cgroup_programs(const std::array<UniqueFd, std::size(kCgroupProgs)>& progs,
                            const std::string& cgroup2_path,
                            const std::array<bool, std::size(kCgroupProgs)>& wanted) {
    if (std::find(wanted.begin(), wanted.end(), true) == wanted.end())
        return;
    UniqueFd cgroup(::open(cgroup2_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup)
        throw_errno("open cgroup2 dir " + cgroup2_path);
    constexpr bpf_attach_type types[] = {BPF_CGROUP_INET_SOCK_CREATE, BPF_CGROUP_INET4_CONNECT,
                                         BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_INET4_BIND,
                                         BPF_CGROUP_INET6_BIND};
    for (size_t i = 0; i < wanted.size(); ++i)
        if (wanted[i] &&
            bpf_prog_attach(progs[i].get(), cgroup.get(), types[i], BPF_F_ALLOW_MULTI) != 0)
            throw_errno("attach cgroup BPF program to " + cgroup2_path);
}

// CLOCK_TAI - CLOCK_REALTIME: the BPF programs read TAI and compare it with inode ctimes.
int64_t tai_offset_ns() {
    struct timespec tai {
    }, real{};
    clock_gettime(CLOCK_TAI, &tai);
    clock_gettime(CLOCK_REALTIME, &real);
    return (tai.tv_sec - real.tv_sec) * 1000000000LL + (tai.tv_nsec - real.tv_nsec);
}

UniqueFd lock_file(const std::string& path, int how) {
    UniqueFd lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || ::flock(lock.get(), how) != 0)
        throw_errno("lock " + path);
    return lock;
}

// Held while a container is (un)registered: the load lock shared, against the removal of unused
// pin dirs (exclusive, at the first load of another brig build: a dir found empty is never
// removed while a container is being written into it); this build's own lock exclusive, so that
// attaching on the first registration and detaching after the last one never race (other builds
// are not held up).
struct RegistrationLock {
    explicit RegistrationLock(const std::string& dir)
        : load(lock_file(kLoadLock, LOCK_SH)),
          own(lock_file(
              "/run/brig-monitor-" + std::filesystem::path(dir).filename().string() + ".lock",
              LOCK_EX)) {}
    UniqueFd load, own;
};

// The depth of a cgroup2 directory below the hierarchy's root (which alone has no cgroup.type).
uint32_t cgroup_level(const std::string& cgroup2_path) {
    uint32_t level = 0;
    for (std::filesystem::path dir = cgroup2_path;
         dir.has_relative_path() && ::access((dir / "cgroup.type").c_str(), F_OK) == 0;
         dir = dir.parent_path())
        ++level;
    return level;
}

// Adds the level of a container's cgroup to those the programs look a task's ancestors up at
// (a container may move its tasks into cgroups below its own). Past BRIG_CONTAINER_LEVELS
// distinct levels, tasks below the containers of further levels are not followed.
void note_container_level(int levels_fd, const std::string& cgroup2_path) {
    const uint32_t level = cgroup_level(cgroup2_path);
    uint32_t zero = 0;
    brig_container_levels levels{};
    if (level == 0 || bpf_map_lookup_elem(levels_fd, &zero, &levels) != 0)
        return;
    if (levels.count >= BRIG_CONTAINER_LEVELS)
        return;
    for (uint32_t i = 0; i < levels.count; ++i)
        if (levels.level[i] == level)
            return;
    levels.level[levels.count++] = level;
    bpf_map_update_elem(levels_fd, &zero, &levels, BPF_ANY);
}

// The slot of the ring cgid holds, -1 for none: from its containers entry, or (a registration
// that did not complete) by a scan of the owners.
int64_t ring_slot_of(int containers_fd, int owners_fd, uint64_t cgid) {
    brig_container value{};
    uint64_t owner = 0;
    if (bpf_map_lookup_elem(containers_fd, &cgid, &value) == 0 &&
        bpf_map_lookup_elem(owners_fd, &value.ring_slot, &owner) == 0 && owner == cgid)
        return value.ring_slot;
    uint32_t key = 0;
    for (void* prev = nullptr; bpf_map_get_next_key(owners_fd, prev, &key) == 0; prev = &key)
        if (bpf_map_lookup_elem(owners_fd, &key, &owner) == 0 && owner == cgid)
            return key;
    return -1;
}

}  // namespace

RegisteredKeys Monitor::register_container(const ContainerIdentity& container,
                                           const ContainerPolicy& policy) {
    if (container.cgroup2_id == 0)
        throw Error("monitor: container " + container.id + ": cgroup2_id is 0");
    // The first load of another brig build removes the pin dirs that hold no container, this
    // one's too between its containers: load again, as open would, and retry.
    for (int attempt = 0;; ++attempt) {
        if (::access((impl_->dir + kLoadedMarker).c_str(), F_OK) != 0)
            *this = Monitor::open(impl_->config);
        RegistrationLock lock(impl_->dir);
        if (::access((impl_->dir + kLoadedMarker).c_str(), F_OK) == 0)
            return register_locked(container, policy);
        if (attempt == 4)
            throw Error("monitor: the pinned programs in " + impl_->dir +
                        " keep being removed by other brig builds");
    }
}

RegisteredKeys Monitor::register_locked(const ContainerIdentity& container,
                                        const ContainerPolicy& policy) {
    const uint64_t cgid = container.cgroup2_id;
    auto& maps = impl_->maps;
    RegisteredKeys keys;
    ScopeGuard undo([&] { unregister_locked(cgid, &keys); });

    // A ring of the pool, so that the container's watcher reads only its events.
    const uint32_t ring_slot =
        claim_ring(maps[kRings].get(), maps[kVerdictRings].get(), maps[kRingOwners].get(), cgid);
    std::vector<brig_drops> zero_drops(libbpf_num_possible_cpus(), brig_drops{});
    update(maps[kDrops].get(), &cgid, zero_drops.data(), "drops");

    const KernelPlan& plan = policy.kernel;
    for (const auto& [name, verdict] : plan.exec_names) {
        auto key = name_key(cgid, name);
        auto value = to_bpf(verdict);
        keys.exec_names.push_back(key);
        update(maps[kExecRules].get(), &key, &value, "exec_rules");
    }
    for (const auto& [name, verdict] : plan.open_names) {
        auto key = name_key(cgid, name);
        auto value = to_bpf(verdict);
        keys.open_names.push_back(key);
        update(maps[kOpenNames].get(), &key, &value, "open_name_rules");
    }
    const auto folded_paths = plan.folded_paths();
    for (const auto& [prefix, verdicts] : folded_paths) {
        auto key = prefix_key(cgid, prefix);
        brig_path_verdicts value{};
        for (size_t op = 0; op < verdicts.ops.size(); ++op)
            value.ops[op] = to_bpf(verdicts.ops[op]);
        keys.open_paths.push_back(key);
        update(maps[kOpenPaths].get(), &key, &value, "open_path_rules");
    }
    bool deny_connect = false, deny_bind = false;
    for (const auto& [op, addresses] :
         {std::pair{BRIG_ADDR_CONNECT, &plan.connects}, std::pair{BRIG_ADDR_BIND, &plan.binds}}) {
        for (const auto& [address, verdict] : *addresses) {
            brig_addr_key key{};
            key.cgroup_id = cgid;
            key.family = static_cast<uint16_t>(address.family);
            key.port = address.port;
            key.op = op;
            std::memcpy(key.addr, address.addr.data(), sizeof(key.addr));
            auto value = to_bpf(verdict);
            keys.addresses.push_back(key);
            update(maps[kAddrs].get(), &key, &value, "addr_rules");
            bool deny = verdict.action & BRIG_ACT_DENY;
            (op == BRIG_ADDR_BIND ? deny_bind : deny_connect) |= deny;
        }
    }

    bool deny_packet = plan.syscalls[BRIG_SC_PACKET_SOCKET].action & BRIG_ACT_DENY;
    attach_cgroup_programs(impl_->cgroup_progs, container.cgroup2_path,
                           {deny_packet, deny_connect, deny_connect, deny_bind, deny_bind});

    // The programs attached before the container entry switches them on for this cgroup (its
    // init waits for `go` until this returns): nothing of the container runs unwatched.
    if (::access((impl_->dir + kAttachedMarker).c_str(), F_OK) != 0)
        attach_programs(impl_->dir);
    brig_container value{};
    value.ring_slot = ring_slot;
    value.path_first_dirs = first_dirs_of(folded_paths);
    fold_open_files(folded_paths, value);
    value.tai_offset_ns = tai_offset_ns();
    value.coalesce_ms = impl_->config.coalesce_ms;
    value.exec_any = to_bpf(plan.exec_any);
    if (policy.exec_checks)
        value.flags |= BRIG_CF_EXEC_VERDICTS;
    for (const auto& entry : plan.exec_names)
        if (entry.first.starts_with("/"))
            value.flags |= BRIG_CF_EXEC_PATHS;
    for (int i = 0; i < BRIG_SC_MAX; ++i)
        value.syscalls[i] = to_bpf(plan.syscalls[i]);
    // "Drop and execute" is one verdict for every exec of a new binary; the exec program reads
    // it from exec_rules under the reserved name "\x01new".
    if (plan.exec_new_binary.action) {
        auto key = name_key(cgid, "\x01new");
        auto verdict = to_bpf(plan.exec_new_binary);
        keys.exec_names.push_back(key);
        update(maps[kExecRules].get(), &key, &verdict, "exec_rules");
    }
    std::set<size_t> name_lengths;
    for (const auto& entry : plan.open_names)
        name_lengths.insert(entry.first.size());
    if (name_lengths.size() > BRIG_NAME_LENS)
        value.flags |= BRIG_CF_OPEN_NAME_SCAN;
    else
        std::copy(name_lengths.begin(), name_lengths.end(), value.open_name_lens);
    note_container_level(maps[kContainerLevels].get(), container.cgroup2_path);
    update(maps[kContainers].get(), &cgid, &value, "containers");
    undo.dismiss();
    return keys;
}

void Monitor::unregister_container(uint64_t cgroup2_id, const RegisteredKeys* keys) {
    RegistrationLock lock(impl_->dir);
    unregister_locked(cgroup2_id, keys);
}

void Monitor::unregister_locked(uint64_t cgroup2_id, const RegisteredKeys* keys) noexcept {
    forget_locked(cgroup2_id, keys);
    auto& maps = impl_->maps;
    uint64_t any = 0;
    if (bpf_map_get_next_key(maps[kContainers].get(), nullptr, &any) == 0)
        forget_gone_cgroups_locked();
    // The last container gone: nothing of brig stays attached to the host's syscalls, and no
    // condemned container is left to look every syscall up for.
    if (bpf_map_get_next_key(maps[kContainers].get(), nullptr, &any) != 0) {
        detach_programs(impl_->dir);
        uint32_t zero = 0;
        bpf_map_update_elem(maps[kAnyCondemned].get(), &zero, &zero, BPF_ANY);
        brig_container_levels none{};
        bpf_map_update_elem(maps[kContainerLevels].get(), &zero, &none, BPF_ANY);
    }
}

// Registrations whose cgroup has gone with no delete to release them (a brig killed between the
// two, a cgroup removed by someone else): their keys are found by walking the maps.
void Monitor::forget_gone_cgroups_locked() noexcept {
    const CgroupLiveness liveness;
    for (uint64_t cgroup2_id : registered_ids(impl_->maps[kContainers].get()))
        if (liveness.gone(cgroup2_id))
            forget_locked(cgroup2_id, nullptr);
}

void Monitor::forget_locked(uint64_t cgroup2_id, const RegisteredKeys* keys) noexcept {
    auto& maps = impl_->maps;
    // The ring goes back to the pool (left in `rings`): its next holder's watcher skips what
    // is left in it of this container.
    int64_t slot = ring_slot_of(maps[kContainers].get(), maps[kRingOwners].get(), cgroup2_id);
    // A full scan walks every bucket of a map: the maps the kernel and the watcher fill are
    // scanned only when the container's entry says they may hold something of it (without the
    // entry, a registration cut short, everything is).
    brig_container entry{};
    const bool known =
        bpf_map_lookup_and_delete_elem(maps[kContainers].get(), &cgroup2_id, &entry) == 0;
    if (!known)  // kernels before 5.14 have no lookup_and_delete on hashes
        bpf_map_delete_elem(maps[kContainers].get(), &cgroup2_id);
    if (keys) {
        delete_each(maps[kExecRules].get(), keys->exec_names);
        delete_each(maps[kOpenNames].get(), keys->open_names);
        delete_each(maps[kOpenPaths].get(), keys->open_paths);
        delete_each(maps[kAddrs].get(), keys->addresses);
    } else {
        delete_keys_of(maps[kExecRules].get(), sizeof(brig_name_key), 0, cgroup2_id, true);
        delete_keys_of(maps[kOpenNames].get(), sizeof(brig_name_key), 0, cgroup2_id, true);
        delete_keys_of(maps[kOpenPaths].get(), sizeof(brig_prefix_key),
                       offsetof(brig_prefix_key, cgroup_id), cgroup2_id, true);
        delete_keys_of(maps[kAddrs].get(), sizeof(brig_addr_key), 0, cgroup2_id, true);
    }
    if (!known || (entry.flags & BRIG_CF_EXEC_VERDICTS))
        delete_keys_of(maps[kExecApprovals].get(), sizeof(brig_exec_key), 0, cgroup2_id, true);
    if (!known || entry.written_files > 0)
        delete_keys_of(maps[kWrittenFiles].get(), sizeof(brig_inode_key), 0, cgroup2_id, true);
    bpf_map_delete_elem(maps[kDrops].get(), &cgroup2_id);
    if (slot >= 0) {
        auto key = static_cast<uint32_t>(slot);
        bpf_map_delete_elem(maps[kRingOwners].get(), &key);
    }
}

void Monitor::top_up_rings() {
    auto& maps = impl_->maps;
    if (free_rings(maps[kRings].get(), maps[kRingOwners].get()) < kSpareRings)
        add_ring(maps[kRings].get(), maps[kVerdictRings].get());
}

bool Monitor::is_registered(uint64_t cgroup2_id) const {
    brig_container value{};
    return bpf_map_lookup_elem(impl_->maps[kContainers].get(), &cgroup2_id, &value) == 0;
}

uint32_t Monitor::condemned_by(uint64_t cgroup2_id) const {
    brig_container value{};
    if (bpf_map_lookup_elem(impl_->maps[kContainers].get(), &cgroup2_id, &value) != 0)
        return 0;
    return (value.flags & BRIG_CF_CONDEMNED) ? value.killed_by_rule : 0;
}

EventDrops Monitor::dropped_events(uint64_t cgroup2_id) const {
    std::vector<brig_drops> per_cpu(libbpf_num_possible_cpus(), brig_drops{});
    EventDrops total;
    if (bpf_map_lookup_elem(impl_->maps[kDrops].get(), &cgroup2_id, per_cpu.data()) != 0)
        return total;
    for (const brig_drops& cpu : per_cpu) {
        total.ring_full += cpu.ring_full;
        total.shed += cpu.shed;
    }
    return total;
}

std::map<uint32_t, uint64_t> Monitor::shed_by_rule(uint64_t cgroup2_id, uint32_t rule_count) const {
    std::map<uint32_t, uint64_t> shed;
    for (uint32_t rule_id = 0; rule_id <= rule_count; ++rule_id) {
        brig_shed_key key{cgroup2_id, rule_id, 0};
        brig_shed value{};
        if (bpf_map_lookup_elem(impl_->maps[kShedRules].get(), &key, &value) == 0 && value.shed)
            shed[rule_id] = value.shed;
    }
    return shed;
}

std::optional<brig_repeat> Monitor::repeat_of(const brig_repeat_key& key) const {
    brig_repeat value{};
    if (bpf_map_lookup_elem(impl_->maps[kRepeats].get(), &key, &value) != 0)
        return std::nullopt;
    return value;
}

size_t Monitor::map_entries_of(uint64_t cgroup2_id) const {
    auto& maps = impl_->maps;
    brig_container value{};
    size_t n = bpf_map_lookup_elem(maps[kContainers].get(), &cgroup2_id, &value) == 0;
    n += delete_keys_of(maps[kExecRules].get(), sizeof(brig_name_key), 0, cgroup2_id, false);
    n += delete_keys_of(maps[kOpenNames].get(), sizeof(brig_name_key), 0, cgroup2_id, false);
    n += delete_keys_of(maps[kOpenPaths].get(), sizeof(brig_prefix_key),
                        offsetof(brig_prefix_key, cgroup_id), cgroup2_id, false);
    n += delete_keys_of(maps[kAddrs].get(), sizeof(brig_addr_key), 0, cgroup2_id, false);
    n += delete_keys_of(maps[kExecApprovals].get(), sizeof(brig_exec_key), 0, cgroup2_id, false);
    n += delete_keys_of(maps[kWrittenFiles].get(), sizeof(brig_inode_key), 0, cgroup2_id, false);
    n += ring_slot_of(maps[kContainers].get(), maps[kRingOwners].get(), cgroup2_id) >= 0;
    return n;
}

void Monitor::arm_exec_verdicts(uint64_t cgroup2_id) {
    brig_exec_key key{cgroup2_id, 0, 0};
    brig_exec_approval none{};
    update(impl_->maps[kExecApprovals].get(), &key, &none, "exec_approvals");
}

bool Monitor::approve_exec(uint64_t cgroup2_id, uint32_t tid, const brig_exec_approval& exec) {
    brig_exec_key key{cgroup2_id, tid, 0};
    return bpf_map_update_elem(impl_->maps[kExecApprovals].get(), &key, &exec, BPF_ANY) == 0;
}

namespace {

// A new fd of the ring in `slot` of the pool map `rings_fd`.
int ring_in_slot(int rings_fd, int64_t slot, uint64_t cgroup2_id) {
    auto key = static_cast<uint32_t>(slot);
    uint32_t ring_id = 0;
    if (slot < 0 || bpf_map_lookup_elem(rings_fd, &key, &ring_id) != 0)
        throw_errno("monitor: no ring for cgroup " + std::to_string(cgroup2_id));
    int fd = bpf_map_get_fd_by_id(ring_id);
    if (fd < 0)
        throw_errno("open the container's ring buffer");
    return fd;
}

}  // namespace

int Monitor::ring_fd(uint64_t cgroup2_id) const {
    auto& maps = impl_->maps;
    int64_t slot = ring_slot_of(maps[kContainers].get(), maps[kRingOwners].get(), cgroup2_id);
    return ring_in_slot(maps[kRings].get(), slot, cgroup2_id);
}

int Monitor::verdict_ring_fd(uint64_t cgroup2_id) const {
    auto& maps = impl_->maps;
    int64_t slot = ring_slot_of(maps[kContainers].get(), maps[kRingOwners].get(), cgroup2_id);
    return ring_in_slot(maps[kVerdictRings].get(), slot, cgroup2_id);
}

}  // namespace brig::monitor
