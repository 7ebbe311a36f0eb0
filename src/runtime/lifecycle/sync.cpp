#include "runtime/lifecycle/sync.hpp"

#include <sys/socket.h>

#include <cstdlib>

#include "runtime/common/error.hpp"

namespace brig::lifecycle {
namespace {

bool send_packet(int fd, const std::string& packet) {
    ssize_t n;
    do {
        n = send(fd, packet.data(), packet.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n >= 0;
}

}  // namespace

void sync_send(int fd, SyncType type, const std::string& text) {
    if (!send_packet(fd, std::string(1, static_cast<char>(type)) + text))
        throw_errno("sync: send");
}

void sync_send_error(int fd, const std::exception& failure) noexcept {
    try {
        const auto* error = dynamic_cast<const Error*>(&failure);
        int err = error ? error->errnum() : 0;
        send_packet(fd, std::string(1, static_cast<char>(SyncType::error)) + std::to_string(err) +
                            " " + failure.what());
    } catch (...) {
        // Out of memory in a dying child: brig sees the socket close instead.
    }
}

SyncMessage sync_receive(int fd) {
    std::optional<SyncMessage> m = sync_receive_or_close(fd);
    if (!m)
        throw Error("container process exited during setup");
    return std::move(*m);
}

std::optional<SyncMessage> sync_receive_or_close(int fd) {
    char buf[8192];
    ssize_t n;
    do {
        n = recv(fd, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        throw_errno("sync: receive");
    if (n == 0)
        return std::nullopt;
    SyncMessage m{static_cast<SyncType>(buf[0]), std::string(buf + 1, static_cast<size_t>(n - 1))};
    if (m.type == SyncType::error) {
        auto space = m.text.find(' ');
        if (space == std::string::npos)
            throw Error("sync: malformed error message from the container process");
        m.err = std::atoi(m.text.substr(0, space).c_str());
        m.text.erase(0, space + 1);
    }
    return m;
}

SyncMessage sync_expect(int fd, SyncType expected) {
    SyncMessage m = sync_receive(fd);
    if (m.type == SyncType::error)
        throw m.error();
    if (m.type != expected)
        throw Error("sync: unexpected message " + std::to_string(static_cast<int>(m.type)));
    return m;
}

}  // namespace brig::lifecycle
