// The conversation between brig and a process it starts in a container (the init of `create`,
// the process of `exec`), over a SOCK_SEQPACKET socketpair: one message per packet,
// [type byte][text]; an error's text is "<errno> <message>".
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "runtime/common/error.hpp"

namespace brig::lifecycle {

enum class SyncType : uint8_t {
    go = 1,      // parent -> child: cgroup joined, id maps written; continue
    init_pid,    // first process -> parent: pid of the process it cloned (text: decimal pid)
    run_hooks,   // child -> parent: namespaces ready, run prestart/createRuntime hooks
    hooks_done,  // parent -> child
    ready,       // child -> parent: everything applied but the user process
    error,       // child -> parent: what failed, with its errno
};

struct SyncMessage {
    SyncType type;
    std::string text;
    int err = 0;  // an error's errno (0: none)

    // The error a child reported, as the brig::Error it threw there (same text and errno).
    Error error() const { return Error::passed_on(text, err); }
};

void sync_send(int fd, SyncType type, const std::string& text = {});
// Reports a failure to brig, with the errno of a brig::Error. Never throws (the child has
// nobody else to tell).
void sync_send_error(int fd, const std::exception& failure) noexcept;
// Throws when the peer closed the socket (it died) or on a malformed packet.
SyncMessage sync_receive(int fd);
// The same, but nothing (std::nullopt) once every peer has closed the socket (as exec does).
std::optional<SyncMessage> sync_receive_or_close(int fd);
// Receives and insists on `expected`; an `error` message is rethrown as its brig::Error.
SyncMessage sync_expect(int fd, SyncType expected);

}  // namespace brig::lifecycle
