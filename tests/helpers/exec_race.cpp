// A static program for the exec verdict tests (tests/integration/monitor_user_verdict_test.cpp):
//   exec_race race N PATH  N times, a child execs PATH (and argv[0] PATH) while a second thread of
//                     it flips PATH's last byte between 'a' and 'b' as fast as it can: what the
//                     monitor read while the exec waited for its verdict is not what the kernel
//                     then copies. Prints "ran R refused E killed K" (exec failed, or the child
//                     died of SIGKILL before the program ran).
//   run from a file named marker-X: writes /tmp/marker-X.ran, exits 0. The name is the file's
//                     (/proc/self/exe), not argv[0]: the race can pair marker-a's file with
//                     argv[0] "/opt/marker-b", which is what the monitor approved and harmless.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

int mark(const std::string& name) {
    std::string path = "/tmp/" + name + ".ran";
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f)
        return 2;
    std::fputs("ran\n", f);
    std::fclose(f);
    return 0;
}

[[noreturn]] void flip_and_exec(const char* path) {
    static char buf[4096];
    std::strncpy(buf, path, sizeof(buf) - 1);
    size_t last = std::strlen(buf) - 1;
    std::thread([last] {
        auto* byte = reinterpret_cast<volatile char*>(&buf[last]);
        for (;;) {
            *byte = 'a';
            *byte = 'b';
        }
    }).detach();
    char* argv[] = {buf, nullptr};
    char* envp[] = {nullptr};
    ::execve(buf, argv, envp);
    _exit(10);  // refused
}

int race(long n, const char* path) {
    long ran = 0, refused = 0, killed = 0;
    for (long i = 0; i < n; ++i) {
        pid_t child = ::fork();
        if (child == 0)
            flip_and_exec(path);
        int status = 0;
        ::waitpid(child, &status, 0);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            ++killed;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 10)
            ++refused;
        else
            ++ran;
    }
    std::printf("ran %ld refused %ld killed %ld\n", ran, refused, killed);
    return 0;
}

}  // namespace

std::string own_file_name() {
    char exe[4096];
    ssize_t len = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
        return {};
    std::string self(exe, static_cast<size_t>(len));
    return self.substr(self.rfind('/') + 1);
}

int main(int argc, char** argv) {
    std::string name = own_file_name();
    if (name.starts_with("marker-"))
        return mark(name);
    if (argc == 4 && std::string(argv[1]) == "race")
        return race(std::atol(argv[2]), argv[3]);
    std::fprintf(stderr, "usage: exec_race race N PATH\n");
    return 3;
}
