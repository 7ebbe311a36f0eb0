#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "runtime/common/error.hpp"

namespace brig::linux {

UniqueFd connect_console_socket(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        throw Error("--console-socket: path too long: " + path);
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock)
        throw_errno("--console-socket: socket");
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path.c_str(), path.size());
    if (connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw_errno("--console-socket: cannot connect to " + path);
    return sock;
}

void send_fd(int socket, int fd, const std::string& name) {
    char control[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{const_cast<char*>(name.data()), name.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(socket, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        throw_errno("cannot send fd over socket");
}

UniqueFd receive_fd(int socket) {
    char control[CMSG_SPACE(sizeof(int))] = {};
    char name[4096];
    iovec iov{name, sizeof name};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        throw_errno("cannot receive fd");
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
        throw Error("no fd received");
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return UniqueFd(fd);
}

void bind_pty_onto_console(Syscalls& sys, int pty) {
    const char* refusal = "terminal: /dev/console is not a regular file made by brig, refusing";
    UniqueFd target;
    try {
        target = sys.openat2(AT_FDCWD, "/dev/console", O_PATH | O_NOFOLLOW, 0,
                             RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    } catch (const Error& e) {
        if (e.errnum() == ELOOP || e.errnum() == ENOENT)
            throw Error(refusal);
        throw;
    }
    if (!S_ISREG(sys.fstat(target.get()).st_mode))
        throw Error(refusal);
    try {
        sys.mount(fd_path(pty), fd_path(target.get()), "", MS_BIND, "");
    } catch (const Error& e) {
        throw Error("terminal: cannot bind the pty onto /dev/console", e.errnum());
    }
}

void setup_console(int console_socket, const std::optional<config::ConsoleSize>& size,
                   bool mount_dev_console, const config::User& owner) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master)
        throw_errno("terminal: cannot open /dev/ptmx");
    int unlock = 0;
    if (ioctl(master.get(), TIOCSPTLCK, &unlock) != 0)
        throw_errno("terminal: unlockpt");
    // The peer is opened through the master's own devpts: no path lookup a symlink could redirect.
    UniqueFd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave)
        throw_errno("terminal: cannot open the pty peer");
    // The group stays devpts's (tty, gid=5 in the usual mount options), as runc leaves it.
    if (fchown(slave.get(), owner.uid, static_cast<gid_t>(-1)) != 0)
        throw_errno("terminal: cannot give the pty to uid " + std::to_string(owner.uid));
    if (size) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        ioctl(master.get(), TIOCSWINSZ, &ws);
    }
    unsigned pty_number = 0;
    ioctl(master.get(), TIOCGPTN, &pty_number);
    send_fd(console_socket, master.get(), "/dev/pts/" + std::to_string(pty_number));

    if (mount_dev_console) {
        RealSyscalls sys;
        bind_pty_onto_console(sys, slave.get());
    }
    if (setsid() < 0)
        throw_errno("terminal: setsid");
    if (ioctl(slave.get(), TIOCSCTTY, 0) != 0)
        throw_errno("terminal: cannot make the pty the controlling terminal");
    for (int fd = 0; fd < 3; ++fd)
        if (dup2(slave.get(), fd) < 0)
            throw_errno("terminal: dup2");
}

}  // namespace brig::linux
