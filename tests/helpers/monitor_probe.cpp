// A tiny static program copied into test containers: it makes one syscall the default monitor
// rules watch and says through its exit status what the kernel answered.
//   monitor_probe packet | ptrace | memfd | module | connect IP PORT | bind IP PORT | open N PATH
//                 | openat DIR NAME (NAME relative to an fd of DIR)
//                 | write N DIR (creates DIR/f0 .. DIR/f<N-1>: N distinct paths, one thread)
//                 | open32 PATH | packet32 (the same through the ia32 syscall ABI: int $0x80)
//                 | traceme (PTRACE_TRACEME: asks its parent to trace it)
//                 | ia32 (getpid through int $0x80: dies of SIGSEGV where the kernel has no ia32)
//                 | reopen PATH | reopen-write PATH (an O_PATH fd of PATH reopened through
//                   /proc/self/fd/N: printed, or truncated and written)
//                 | symlink TARGET LINK | link OLD NEW | mknod PATH (a FIFO) | truncate PATH
//                 | ftruncate PATH (opened for writing, then ftruncate): each its own syscall
//                 | handle PATH (opened by its file handle, then printed)
// Exit 0: the call succeeded; 1: refused (EPERM/EACCES); 2: another error; 3: bad usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace brig::test::probe {
namespace {

int verdict(long result, const char* what) {
    if (result >= 0) {
        std::printf("%s: ok\n", what);
        return 0;
    }
    int error = errno;
    std::printf("%s: %s\n", what, std::strerror(error));
    return error == EPERM || error == EACCES ? 1 : 2;
}

int packet_socket() {
    return verdict(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), "packet");
}

int ptrace_traceme() {
    return verdict(::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr), "traceme");
}

int ptrace_child() {
    pid_t child = ::fork();
    if (child == 0) {
        ::pause();
        _exit(0);
    }
    int code = verdict(::ptrace(PTRACE_ATTACH, child, nullptr, nullptr), "ptrace");
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return code;
}

int memfd() {
    return verdict(::memfd_create("probe", MFD_CLOEXEC), "memfd_create");
}

int load_module() {
    // An empty image: refused (no CAP_SYS_MODULE) before the kernel looks at it.
    return verdict(::syscall(SYS_init_module, nullptr, 0UL, ""), "init_module");
}

// Opens and closes `path` n times: a flood of events for the drop accounting test.
int open_many(long n, const char* path) {
    for (long i = 0; i < n; ++i) {
        int fd = ::open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return verdict(fd, "open");
        ::close(fd);
    }
    std::printf("opened %ld times\n", n);
    return 0;
}

// Creates n files of one byte below dir, each a path of its own: a flood no coalescing shrinks.
int write_many(long n, const char* dir) {
    for (long i = 0; i < n; ++i) {
        std::string path = std::string(dir) + "/f" + std::to_string(i);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return verdict(fd, "write");
        [[maybe_unused]] ssize_t written = ::write(fd, "x", 1);
        ::close(fd);
    }
    std::printf("wrote %ld files\n", n);
    return 0;
}

int open_beneath(const char* dir, const char* name) {
    int dir_fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return verdict(dir_fd, "open dir");
    return verdict(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC), "openat");
}

// An O_PATH fd names a file without opening it for reading or writing; reopening it through
// /proc/self/fd/N opens the file itself, whatever path the fd was made from.
int reopen(const char* path, bool write) {
    int path_fd = ::open(path, O_PATH | O_CLOEXEC);
    if (path_fd < 0)
        return verdict(path_fd, "open O_PATH");
    std::string self = "/proc/self/fd/" + std::to_string(path_fd);
    int fd = ::open(self.c_str(), (write ? O_WRONLY | O_TRUNC : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return verdict(fd, "reopen");
    if (write)
        return verdict(::write(fd, "evil\n", 5), "reopen");
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0)
        std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
    return verdict(n, "reopen");
}

// Opens `path` by its file handle (CAP_DAC_READ_SEARCH): open_by_handle_at names no path.
int open_by_handle(const char* path) {
    struct {
        file_handle handle;
        unsigned char bytes[MAX_HANDLE_SZ];
    } buf{};
    buf.handle.handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    if (::name_to_handle_at(AT_FDCWD, path, &buf.handle, &mount_id, 0) != 0)
        return verdict(-1, "name_to_handle_at");
    int mount_fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = ::open_by_handle_at(mount_fd, &buf.handle, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return verdict(fd, "open_by_handle_at");
    char text[4096];
    ssize_t n = ::read(fd, text, sizeof(text));
    if (n > 0)
        std::fwrite(text, 1, static_cast<size_t>(n), stdout);
    return verdict(n, "open_by_handle_at");
}

int truncate_open_file(const char* path) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return verdict(fd, "open");
    return verdict(::ftruncate(fd, 0), "ftruncate");
}

// The path operations through their own syscalls (libc may use the *at ones instead); nothing
// when `what` is none of them.
std::optional<int> path_operation(const std::string& what, int argc, char** argv) {
    if (what == "symlink" && argc == 4)
        return verdict(::syscall(SYS_symlink, argv[2], argv[3]), "symlink");
    if (what == "link" && argc == 4)
        return verdict(::syscall(SYS_link, argv[2], argv[3]), "link");
    if (what == "mknod" && argc == 3)
        return verdict(::syscall(SYS_mknod, argv[2], S_IFIFO | 0644, 0), "mknod");
    if (what == "truncate" && argc == 3)
        return verdict(::syscall(SYS_truncate, argv[2], 0), "truncate");
    if (what == "ftruncate" && argc == 3)
        return truncate_open_file(argv[2]);
    return std::nullopt;
}

// An ia32 syscall from this 64-bit program: i386 number in eax, arguments in ebx, ecx, edx.
long ia32_syscall(long nr, uint32_t a, uint32_t b, uint32_t c) {
    long result = nr;
    asm volatile("int $0x80" : "+a"(result) : "b"(a), "c"(b), "d"(c) : "memory");
    if (result < 0 && result > -4096) {
        errno = static_cast<int>(-result);
        return -1;
    }
    return result;
}

// ia32 pointers are 32 bits: the data they point at must lie below 4 GiB.
void* low_page() {
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    return page == MAP_FAILED ? nullptr : page;
}

constexpr long kIa32Open = 5;
constexpr long kIa32Getpid = 20;
constexpr long kIa32Socketcall = 102;

int open_ia32(const char* path) {
    auto* low = static_cast<char*>(low_page());
    if (!low)
        return verdict(-1, "mmap");
    std::strncpy(low, path, 4095);
    auto address = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(low));
    return verdict(ia32_syscall(kIa32Open, address, O_RDONLY, 0), "open32");
}

int packet_socket_ia32() {
    auto* args = static_cast<uint32_t*>(low_page());
    if (!args)
        return verdict(-1, "mmap");
    args[0] = AF_PACKET;
    args[1] = SOCK_RAW;
    args[2] = 0;
    auto address = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(args));
    return verdict(ia32_syscall(kIa32Socketcall, 1 /* SYS_SOCKET */, address, 0), "packet32");
}

int bind_to(const char* ip, const char* port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
    if (::inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
        return 3;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return verdict(fd, "socket");
    return verdict(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), "bind");
}

int connect_to(const char* ip, const char* port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
    if (::inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
        return 3;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return verdict(fd, "socket");
    return verdict(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), "connect");
}

}  // namespace

int main(int argc, char** argv) {
    std::string what = argc > 1 ? argv[1] : "";
    if (what == "packet")
        return packet_socket();
    if (what == "ptrace")
        return ptrace_child();
    if (what == "traceme")
        return ptrace_traceme();
    if (what == "memfd")
        return memfd();
    if (what == "module")
        return load_module();
    if (what == "open" && argc == 4)
        return open_many(std::atol(argv[2]), argv[3]);
    if (what == "write" && argc == 4)
        return write_many(std::atol(argv[2]), argv[3]);
    if (what == "open32" && argc == 3)
        return open_ia32(argv[2]);
    if (what == "packet32")
        return packet_socket_ia32();
    if (what == "ia32")
        return verdict(ia32_syscall(kIa32Getpid, 0, 0, 0), "ia32");
    if (what == "openat" && argc == 4)
        return open_beneath(argv[2], argv[3]);
    if (what == "connect" && argc == 4)
        return connect_to(argv[2], argv[3]);
    if (what == "bind" && argc == 4)
        return bind_to(argv[2], argv[3]);
    if ((what == "reopen" || what == "reopen-write") && argc == 3)
        return reopen(argv[2], what == "reopen-write");
    if (what == "handle" && argc == 3)
        return open_by_handle(argv[2]);
    if (auto code = path_operation(what, argc, argv))
        return *code;
    std::fprintf(
        stderr,
        "usage: monitor_probe packet|ptrace|memfd|module|connect IP PORT|bind IP PORT|open N "
        "PATH|write N DIR|openat DIR NAME|open32 PATH|packet32|ia32|traceme|reopen "
        "PATH|reopen-write "
        "PATH|symlink TARGET LINK|link OLD NEW|mknod PATH|truncate PATH|ftruncate PATH|handle "
        "PATH\n");
    return 3;
}

}  // namespace brig::test::probe

int main(int argc, char** argv) {
    return brig::test::probe::main(argc, argv);
}
