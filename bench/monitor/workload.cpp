// bench/monitor's workload, built static by run.sh and copied into the bench container.
//   workload openclose N      open+close of one file N times: prints "openclose <ops/s>"
//   workload exec N           fork+exec+wait of /bin/true N times: prints "exec <ops/s>"
//   workload mmap N           mmap+munmap of an anonymous page N times (what most mappings of
//                             every process are): prints "mmap <ops/s>"
//   workload mmapexec N FILE  mmap+munmap of FILE's first page PROT_READ|PROT_EXEC N times (what
//                             loading a library does): prints "mmapexec <ops/s>"
//   workload forbidden PATH   prints CLOCK_MONOTONIC (ns), then execs PATH (which a kill rule
//                             forbids); PATH writes /forbidden-ran if it runs at all
//   workload ran              the forbidden program: leaves /forbidden-ran
//   workload death PIDFILE CMD...  (host side) runs CMD (`brig start ID`), then prints the
//                             CLOCK_MONOTONIC (ns) at which the pid in PIDFILE is gone
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace brig::bench {
namespace {

long long now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

void report(const char* what, long n, long long start) {
    double seconds = static_cast<double>(now_ns() - start) / 1e9;
    std::printf("%s %.0f\n", what, static_cast<double>(n) / seconds);
}

int open_close(long n) {
    int fd = ::open("/tmp/bench-file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ::close(fd);
    long long start = now_ns();
    for (long i = 0; i < n; ++i) {
        fd = ::open("/tmp/bench-file", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return 1;
        ::close(fd);
    }
    report("openclose", n, start);
    return 0;
}

int exec_loop(long n) {
    long long start = now_ns();
    for (long i = 0; i < n; ++i) {
        pid_t child = ::fork();
        if (child == 0) {
            ::execl("/bin/true", "true", nullptr);
            _exit(127);
        }
        int status = 0;
        if (child < 0 || ::waitpid(child, &status, 0) != child || status != 0)
            return 1;
    }
    report("exec", n, start);
    return 0;
}

// fd < 0: anonymous read-write pages; else the file's first page, executable.
int map_loop(const char* what, long n, int fd) {
    int prot = fd < 0 ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC;
    int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_PRIVATE;
    long long start = now_ns();
    for (long i = 0; i < n; ++i) {
        void* page = ::mmap(nullptr, 4096, prot, flags, fd, 0);
        if (page == MAP_FAILED)
            return 1;
        ::munmap(page, 4096);
    }
    report(what, n, start);
    return 0;
}

int forbidden(const char* path) {
    std::printf("%lld\n", now_ns());
    std::fflush(stdout);
    ::execl(path, path, "ran", nullptr);
    return 127;
}

int death(const char* pid_file, char** command) {
    pid_t pid = 0;
    std::ifstream(pid_file) >> pid;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0)
        return 1;
    pid_t child = ::fork();
    if (child == 0) {
        ::execvp(command[0], command);
        _exit(127);
    }
    pollfd p{pidfd, POLLIN, 0};
    ::poll(&p, 1, 10000);
    long long dead = now_ns();
    ::waitpid(child, nullptr, 0);
    std::printf("%lld\n", dead);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "openclose" && argc == 3)
        return open_close(std::atol(argv[2]));
    if (mode == "exec" && argc == 3)
        return exec_loop(std::atol(argv[2]));
    if (mode == "mmap" && argc == 3)
        return map_loop("mmap", std::atol(argv[2]), -1);
    if (mode == "mmapexec" && argc == 4) {
        int fd = ::open(argv[3], O_RDONLY | O_CLOEXEC);
        return fd < 0 ? 1 : map_loop("mmapexec", std::atol(argv[2]), fd);
    }
    if (mode == "forbidden" && argc == 3)
        return forbidden(argv[2]);
    if (mode == "ran")
        return std::fclose(std::fopen("/forbidden-ran", "w"));
    if (mode == "death" && argc >= 4)
        return death(argv[2], argv + 3);
    std::fprintf(stderr, "usage: see the top of bench/monitor/workload.cpp\n");
    return 2;
}

}  // namespace brig::bench

int main(int argc, char** argv) {
    return brig::bench::main(argc, argv);
}
