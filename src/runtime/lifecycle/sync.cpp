#include "runtime/lifecycle/sync.hpp"

#include <sys/socket.h>

#include "runtime/common/error.hpp"

namespace brig::lifecycle {

void sync_send(int fd, SyncType type, const std::string& text) {
    std::string packet(1, static_cast<char>(type));
    packet += text;
    ssize_t n;
    do {
        n = send(fd, packet.data(), packet.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        throw_errno("sync: send");
}

SyncMessage sync_receive(int fd) {
    char buf[8192];
    ssize_t n;
    do {
        n = recv(fd, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        throw_errno("sync: receive");
    if (n == 0)
        throw Error("container process exited during setup");
    return {static_cast<SyncType>(buf[0]), std::string(buf + 1, static_cast<size_t>(n - 1))};
}

SyncMessage sync_expect(int fd, SyncType expected) {
    SyncMessage m = sync_receive(fd);
    if (m.type == SyncType::error)
        throw Error(m.text);
    if (m.type != expected)
        throw Error("sync: unexpected message " + std::to_string(static_cast<int>(m.type)));
    return m;
}

}  // namespace brig::lifecycle
