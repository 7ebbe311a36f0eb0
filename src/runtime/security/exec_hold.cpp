#include "runtime/security/exec_hold.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "runtime/common/error.hpp"
#include "runtime/linux/terminal.hpp"

namespace brig::security {
namespace {

constexpr uint32_t kX32Bit = 0x40000000;

constexpr const char* kMonitorGone =
    "the container's monitor is gone (it judges every exec before it runs): no program can "
    "start in the container";

// execve and execveat of every ABI an x86-64 kernel runs: x86-64 (59, 322), x32 (520, 545 with
// the x32 bit, masked off here) and i386 (11, 358). Everything else is allowed.
const sock_filter kExecFilter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 7),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~kX32Bit),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 59, 9, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 322, 8, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 520, 7, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 545, 6, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 11, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 358, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
};

struct SocketPath {
    UniqueFd dir;  // keeps /proc/self/fd/N valid
    sockaddr_un address{};
    std::string name;  // within dir
};

// `path` as a socket address: through /proc/self/fd/N of its directory, which is short whatever
// the path's length (a container id may be 1024 bytes).
SocketPath socket_path(const std::string& path) {
    SocketPath p;
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    p.name = path.substr(slash == std::string::npos ? 0 : slash + 1);
    p.dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!p.dir)
        throw_errno("exec verdicts: open " + dir);
    std::string via = "/proc/self/fd/" + std::to_string(p.dir.get()) + "/" + p.name;
    if (via.size() >= sizeof(p.address.sun_path))
        throw Error("exec verdicts: socket name too long: " + p.name);
    p.address.sun_family = AF_UNIX;
    std::memcpy(p.address.sun_path, via.c_str(), via.size() + 1);
    return p;
}

}  // namespace

UniqueFd listen_exec_hold(const std::string& path) {
    SocketPath p = socket_path(path);
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!sock)
        throw_errno("exec verdicts: socket");
    if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&p.address), sizeof(p.address)) != 0)
        throw_errno("exec verdicts: bind " + path);
    if (::fchmodat(p.dir.get(), p.name.c_str(), 0600, 0) != 0 || ::listen(sock.get(), 64) != 0)
        throw_errno("exec verdicts: listen on " + path);
    return sock;
}

UniqueFd connect_exec_hold(const std::string& path) {
    SocketPath p = socket_path(path);
    struct stat st {};
    if (::fstatat(p.dir.get(), p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
        return {};
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock)
        throw_errno("exec verdicts: socket");
    if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&p.address), sizeof(p.address)) !=
        0)
        throw Error(kMonitorGone, errno);
    return sock;
}

void hold_execs(int connection) {
    sock_fprog prog{static_cast<unsigned short>(std::size(kExecFilter)),
                    const_cast<sock_filter*>(kExecFilter)};
    UniqueFd listener(static_cast<int>(
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)));
    if (!listener)
        throw_errno("monitor: cannot hold execs for the monitor's verdicts (seccomp listener)");
    try {
        linux::send_fd(connection, listener.get(), "exec");
    } catch (const Error& e) {
        throw Error(kMonitorGone, e.errnum());
    }
}

}  // namespace brig::security
