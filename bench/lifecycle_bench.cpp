// bench/lifecycle: N sequential `run` of /bin/true (busybox) with several OCI runtimes,
// interleaved, measuring per-container wall time and the runtime process tree's peak RSS
// (wait4's ru_maxrss, which covers the runtime and every descendant it reaped).
//
//   brig_bench_lifecycle [-n N] [--warmup W] [--runtime NAME=PATH]... [--keep-cgroup2]
//                        [--hide-cgroup2-all] [--resident N,M...] [--hold-monitor]
//
// Without --runtime: brig as it comes (monitor on; $BRIG_BINARY or next to this program), brig
// with the monitor off (a --config with "enabled": false), runc and crun when installed. On a
// hybrid cgroup host crun refuses to run ("cgroups in hybrid mode not supported") unless cgroup2
// has no controllers; so, unless --keep-cgroup2, crun alone runs in a private mount namespace
// with a tmpfs over /sys/fs/cgroup/unified (brig and runc see the host as it is;
// --hide-cgroup2-all hides it from every runtime, which turns brig's monitor off too).
// --resident N,M: afterwards, N (then M) containers running `sleep` at once with brig as it
// comes, and the PSS of the processes brig keeps for them (its watchers; smaps_rollup).
// --hold-monitor: one brig container runs `sleep` for the whole bench, so that brig's pinned BPF
// programs stay loaded (and attached) throughout: on a development host, other brig builds
// remove a build's pin dir whenever it holds no container, and each `run` after that loads the
// programs again.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace brig::bench {
namespace {

namespace fs = std::filesystem;

struct Runtime {
    std::string name;
    std::string path;
    std::vector<std::string> global_args;  // before the verb: --config
    bool hide_cgroup2 = false;
    std::vector<double> wall_ms;
    std::vector<long> maxrss_kb;
    int failures = 0;
    std::string first_error;
};

struct Options {
    int runs = 100;
    int warmup = 3;
    bool keep_cgroup2 = false;
    bool hide_cgroup2_all = false;
    bool hold_monitor = false;
    std::vector<int> resident;
    std::vector<std::pair<std::string, std::string>> runtimes;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench/lifecycle: %s\n", message.c_str());
    std::exit(2);
}

bool executable(const std::string& path) {
    return access(path.c_str(), X_OK) == 0;
}

std::string self_dir() {
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

std::string default_brig() {
    if (const char* env = std::getenv("BRIG_BINARY"); env != nullptr && *env != '\0')
        return env;
#ifdef BRIG_DEFAULT_BINARY
    if (executable(BRIG_DEFAULT_BINARY))
        return BRIG_DEFAULT_BINARY;
#endif
    for (const auto& candidate : {self_dir() + "/../brig", self_dir() + "/brig"})
        if (executable(candidate))
            return fs::weakly_canonical(candidate).string();
    return {};
}

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                die(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "-n" || arg == "--runs") {
            options.runs = std::atoi(value().c_str());
        } else if (arg == "--warmup") {
            options.warmup = std::atoi(value().c_str());
        } else if (arg == "--runtime") {
            auto spec = value();
            auto eq = spec.find('=');
            if (eq == std::string::npos)
                die("--runtime wants NAME=PATH, got " + spec);
            options.runtimes.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
        } else if (arg == "--keep-cgroup2") {
            options.keep_cgroup2 = true;
        } else if (arg == "--hold-monitor") {
            options.hold_monitor = true;
        } else if (arg == "--hide-cgroup2-all") {
            options.hide_cgroup2_all = true;
        } else if (arg == "--resident") {
            std::stringstream list(value());
            for (std::string n; std::getline(list, n, ',');)
                options.resident.push_back(std::atoi(n.c_str()));
        } else if (arg == "-h" || arg == "--help") {
            std::puts(
                "usage: brig_bench_lifecycle [-n N] [--warmup W] [--runtime NAME=PATH]... "
                "[--keep-cgroup2] [--hide-cgroup2-all] [--resident N,M...] [--hold-monitor]");
            std::exit(0);
        } else {
            die("unknown argument " + arg);
        }
    }
    if (options.runs <= 0)
        die("-n must be positive");
    if (options.runtimes.empty()) {
        if (auto brig = default_brig(); !brig.empty()) {
            options.runtimes.emplace_back("brig", brig);
            options.runtimes.emplace_back("brig-off", brig);
        }
        for (const auto& [name, path] :
             {std::pair{"runc", "/usr/sbin/runc"}, std::pair{"crun", "/usr/bin/crun"}})
            if (executable(path))
                options.runtimes.emplace_back(name, path);
    }
    return options;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out)
        die("cannot write " + path.string());
}

// A bundle whose rootfs holds busybox and the links /bin/true, /bin/sh and /bin/sleep; args is
// process.args as JSON.
void make_bundle(const fs::path& bundle, const std::string& args) {
    auto rootfs = bundle / "rootfs";
    for (const char* dir : {"bin", "proc", "sys", "dev", "etc", "tmp"})
        fs::create_directories(rootfs / dir);
    fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
    fs::permissions(rootfs / "bin/busybox", static_cast<fs::perms>(0755));
    fs::create_symlink("busybox", rootfs / "bin/true");
    fs::create_symlink("busybox", rootfs / "bin/sh");
    fs::create_symlink("busybox", rootfs / "bin/sleep");
    write_text(rootfs / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    write_text(rootfs / "etc/group", "root:x:0:\n");
    // What `runc spec` writes, with Docker's capabilities and /bin/true as the process.
    write_text(bundle / "config.json", R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0}, "args": )" +
                                           args + R"(,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "bench",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
)");
}

// True when cgroup2 is mounted at /sys/fs/cgroup/unified with controllers (a hybrid host on
// which crun refuses to run).
bool hybrid_with_cgroup2_controllers() {
    struct statfs info {};
    if (statfs("/sys/fs/cgroup/unified", &info) != 0 || info.f_type != CGROUP2_SUPER_MAGIC)
        return false;
    std::ifstream controllers("/sys/fs/cgroup/unified/cgroup.controllers");
    std::string word;
    return static_cast<bool>(controllers >> word);
}

// A private mount namespace with a tmpfs over /sys/fs/cgroup/unified; "" or what failed.
std::string hide_cgroup2() {
    if (unshare(CLONE_NEWNS) != 0)
        return std::string("unshare(CLONE_NEWNS): ") + strerror(errno);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
        return std::string("make / rslave: ") + strerror(errno);
    if (mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64m") != 0)
        return std::string("tmpfs over /sys/fs/cgroup/unified: ") + strerror(errno);
    return {};
}

struct Sample {
    int status = -1;
    double wall_ms = 0;
    long maxrss_kb = 0;
    std::string error;
};

// fork+exec of argv with stdout to /dev/null and stderr to a file (cgroup2 hidden from it if
// asked); wall time from before fork to after wait4.
Sample run_once(const std::vector<std::string>& argv, const fs::path& stderr_path,
                bool hide = false) {
    std::vector<char*> c_argv;
    for (const auto& arg : argv)
        c_argv.push_back(const_cast<char*>(arg.c_str()));
    c_argv.push_back(nullptr);
    Sample sample;
    auto begin = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid < 0)
        die(std::string("fork: ") + strerror(errno));
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (null_fd < 0 || err_fd < 0)
            _exit(126);
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(err_fd, 2);
        if (hide) {
            if (auto error = hide_cgroup2(); !error.empty()) {
                std::fprintf(stderr, "bench/lifecycle: %s\n", error.c_str());
                _exit(125);
            }
        }
        execv(c_argv[0], c_argv.data());
        _exit(127);
    }
    int status = 0;
    rusage usage{};
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR)
            die(std::string("wait4: ") + strerror(errno));
    }
    auto end = std::chrono::steady_clock::now();
    sample.wall_ms = std::chrono::duration<double, std::milli>(end - begin).count();
    sample.maxrss_kb = usage.ru_maxrss;
    sample.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (sample.status != 0) {
        std::ifstream in(stderr_path);
        std::stringstream text;
        text << in.rdbuf();
        sample.error = text.str();
    }
    return sample;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    auto index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

double mean(const std::vector<double>& values) {
    if (values.empty())
        return 0;
    return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// The runtimes under test: brig-off gets a --config that turns the monitor off; crun alone has
// cgroup2 hidden on a hybrid host (unless told otherwise).
std::vector<Runtime> make_runtimes(const Options& options, const fs::path& work, bool hybrid) {
    std::vector<Runtime> runtimes;
    auto off_config = work / "monitor-off.json";
    write_text(off_config, R"({"monitor": {"enabled": false}})"
                           "\n");
    for (const auto& [name, path] : options.runtimes) {
        if (!executable(path))
            die(name + ": not executable: " + path);
        Runtime runtime;
        runtime.name = name;
        runtime.path = path;
        if (name == "brig-off")
            runtime.global_args = {"--config", off_config.string()};
        runtime.hide_cgroup2 =
            hybrid && (options.hide_cgroup2_all || (!options.keep_cgroup2 && name == "crun"));
        runtimes.push_back(std::move(runtime));
    }
    return runtimes;
}

std::vector<std::string> command(const Runtime& runtime, const fs::path& state_root,
                                 std::vector<std::string> verb) {
    std::vector<std::string> argv = {runtime.path, "--root", state_root.string()};
    argv.insert(argv.end(), runtime.global_args.begin(), runtime.global_args.end());
    argv.insert(argv.end(), verb.begin(), verb.end());
    return argv;
}

void print_results(const std::vector<Runtime>& runtimes) {
    std::printf("\n%-8s %6s %6s %9s %9s %9s %9s %11s %11s\n", "", "ok", "fail", "mean ms", "median",
                "p90", "min", "peak RSS MB", "median RSS");
    std::map<std::string, std::pair<double, double>> summary;  // name -> (mean ms, peak RSS MB)
    for (const auto& runtime : runtimes) {
        std::vector<double> rss_mb;
        for (long kb : runtime.maxrss_kb)
            rss_mb.push_back(static_cast<double>(kb) / 1024.0);
        double peak = rss_mb.empty() ? 0 : *std::max_element(rss_mb.begin(), rss_mb.end());
        std::printf("%-8s %6zu %6d %9.2f %9.2f %9.2f %9.2f %11.2f %11.2f\n", runtime.name.c_str(),
                    runtime.wall_ms.size(), runtime.failures, mean(runtime.wall_ms),
                    percentile(runtime.wall_ms, 0.5), percentile(runtime.wall_ms, 0.9),
                    runtime.wall_ms.empty()
                        ? 0.0
                        : *std::min_element(runtime.wall_ms.begin(), runtime.wall_ms.end()),
                    peak, percentile(rss_mb, 0.5));
        if (!runtime.wall_ms.empty())
            summary[runtime.name] = {mean(runtime.wall_ms), peak};
    }
    for (const auto& runtime : runtimes)
        if (!runtime.first_error.empty())
            std::printf("\n%s failed %d times; first error: %s", runtime.name.c_str(),
                        runtime.failures, runtime.first_error.c_str());
    std::printf("\n");
    for (const char* brig : {"brig", "brig-off"})
        for (const char* other : {"crun", "runc", "brig-off"})
            if (summary.contains(brig) && summary.contains(other) && std::string(brig) != other)
                std::printf("%s/%s: time %.2fx, peak RSS %.2fx\n", brig, other,
                            summary[brig].first / summary[other].first,
                            summary[brig].second / summary[other].second);
    if (summary.contains("brig"))
        std::printf(
            "target (issue 19): brig (monitor on) <= 0.85x crun and <= 1.1x brig-off per "
            "container\n");
}

// PSS (kB) of the processes left running for the containers by brig: its watchers
// ("brig-monitor") and anything else running brig's binary.
std::pair<int, long> brig_resident_pss(const std::string& brig_path) {
    int processes = 0;
    long pss_kb = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string pid = entry.path().filename();
        if (pid.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string comm;
        std::getline(std::ifstream(entry.path() / "comm"), comm);
        auto exe = fs::read_symlink(entry.path() / "exe", ec);
        if (comm != "brig-monitor" && (ec || exe != fs::path(brig_path)))
            continue;
        std::ifstream rollup(entry.path() / "smaps_rollup");
        for (std::string key; rollup >> key;) {
            long kb = 0;
            if (key == "Pss:" && rollup >> kb) {
                pss_kb += kb;
                ++processes;
                break;
            }
        }
    }
    return {processes, pss_kb};
}

fs::path sleep_bundle(const fs::path& work) {
    auto bundle = work / "bundle-sleep";
    if (!fs::exists(bundle))
        make_bundle(bundle, R"(["/bin/sleep", "3600"])");
    return bundle;
}

// N containers running `sleep` at once (brig as it comes), the PSS of what brig keeps for them.
void measure_resident(const Runtime& brig, int count, const fs::path& work) {
    auto bundle = sleep_bundle(work);
    auto state_root = work / "state-resident";
    auto stderr_path = work / "stderr-resident";
    std::vector<std::string> ids;
    int failed = 0;
    for (int i = 0; i < count; ++i) {
        auto id = "resident-" + std::to_string(getpid()) + "-" + std::to_string(i);
        bool ok = run_once(command(brig, state_root, {"create", "--bundle", bundle.string(), id}),
                           stderr_path)
                      .status == 0;
        ok = ok && run_once(command(brig, state_root, {"start", id}), stderr_path).status == 0;
        failed += !ok;
        ids.push_back(id);
    }
    sleep(3);  // idle watchers hand their read-only pages back after a quiet second
    auto [processes, pss_kb] = brig_resident_pss(brig.path);
    std::printf(
        "%s with %d containers running (%d failed): %d processes of brig, total PSS %.2f MB, "
        "%.3f MB per container\n",
        brig.name.c_str(), count, failed, processes, static_cast<double>(pss_kb) / 1024.0,
        static_cast<double>(pss_kb) / 1024.0 / count);
    for (const auto& id : ids)
        run_once(command(brig, state_root, {"delete", "--force", id}), stderr_path);
}

int main_impl(int argc, char** argv) {
    if (geteuid() != 0)
        die("must run as root");
    auto options = parse(argc, argv);
    if (options.runtimes.empty())
        die("no runtime found; pass --runtime NAME=PATH");
    char pattern[] = "/tmp/brig-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr)
        die("mkdtemp failed");
    fs::path work = pattern;
    const bool hybrid = hybrid_with_cgroup2_controllers();
    std::vector<Runtime> runtimes = make_runtimes(options, work, hybrid);
    auto bundle = work / "bundle";
    make_bundle(bundle, R"(["/bin/true"])");
    auto stderr_path = work / "stderr";

    std::printf(
        "bench/lifecycle: %d sequential `run` of /bin/true per runtime, interleaved "
        "(%d warm-up runs each not counted)\n",
        options.runs, options.warmup);
    for (const auto& runtime : runtimes)
        std::printf("  %-8s %s%s%s\n", runtime.name.c_str(), runtime.path.c_str(),
                    runtime.global_args.empty() ? "" : " (monitor off)",
                    runtime.hide_cgroup2 ? " (cgroup2 hidden: a private mount namespace with a "
                                           "tmpfs over /sys/fs/cgroup/unified)"
                                         : "");
    std::fflush(stdout);

    auto run_container = [&](Runtime& runtime, int index, bool counted) {
        auto state_root = work / ("state-" + runtime.name);
        auto id = "bench-" + runtime.name + "-" + std::to_string(getpid()) + "-" +
                  std::to_string(index) + (counted ? "" : "-warmup");
        auto sample =
            run_once(command(runtime, state_root, {"run", "--bundle", bundle.string(), id}),
                     stderr_path, runtime.hide_cgroup2);
        if (sample.status != 0) {
            ++runtime.failures;
            if (runtime.first_error.empty())
                runtime.first_error = "exit " + std::to_string(sample.status) + ": " + sample.error;
            run_once(command(runtime, state_root, {"delete", "--force", id}), stderr_path,
                     runtime.hide_cgroup2);
            return;
        }
        if (counted) {
            runtime.wall_ms.push_back(sample.wall_ms);
            runtime.maxrss_kb.push_back(sample.maxrss_kb);
        }
    };

    const Runtime* holder = nullptr;
    for (const auto& runtime : runtimes)
        if (options.hold_monitor && runtime.name == "brig")
            holder = &runtime;
    if (holder) {
        run_once(command(*holder, work / "state-hold",
                         {"create", "--bundle", sleep_bundle(work).string(), "hold"}),
                 stderr_path);
        run_once(command(*holder, work / "state-hold", {"start", "hold"}), stderr_path);
        std::printf("  note: a brig container runs `sleep` throughout (--hold-monitor)\n");
    }
    for (int w = 0; w < options.warmup; ++w)
        for (auto& runtime : runtimes)
            run_container(runtime, w, false);
    // Interleaved, rotating who goes first so that no runtime always follows the same one.
    for (int i = 0; i < options.runs; ++i) {
        for (size_t k = 0; k < runtimes.size(); ++k)
            run_container(runtimes[(i + k) % runtimes.size()], i, true);
    }
    print_results(runtimes);
    if (holder)
        run_once(command(*holder, work / "state-hold", {"delete", "--force", "hold"}), stderr_path);
    for (int count : options.resident)
        for (const auto& runtime : runtimes)
            if (runtime.name == "brig")
                measure_resident(runtime, count, work);

    // Never delete through a leaked mount: leave the directory for inspection instead.
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::stringstream mounts;
    mounts << mountinfo.rdbuf();
    if (mounts.str().find(work.string()) != std::string::npos) {
        std::printf("warning: mounts left below %s; not removing it\n", work.c_str());
    } else {
        std::error_code ec;
        fs::remove_all(work, ec);
    }
    int failures = 0;
    for (const auto& runtime : runtimes)
        failures += runtime.failures;
    return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace brig::bench

int main(int argc, char** argv) {
    return brig::bench::main_impl(argc, argv);
}
