// The create-time conversation between brig and the container's first process, over a
// SOCK_SEQPACKET socketpair: one message per packet, [type byte][text].
#pragma once

#include <cstdint>
#include <string>

namespace brig::lifecycle {

enum class SyncType : uint8_t {
    go = 1,      // parent -> child: cgroup joined, id maps written; continue
    init_pid,    // stage 1 -> parent: pid of the init it cloned (text: decimal pid)
    run_hooks,   // child -> parent: namespaces ready, run prestart/createRuntime hooks
    hooks_done,  // parent -> child
    ready,       // child -> parent: everything applied but the user process
    error,       // child -> parent: text is the error message
};

struct SyncMessage {
    SyncType type;
    std::string text;
};

void sync_send(int fd, SyncType type, const std::string& text = {});
// Throws when the peer closed the socket (it died) or on a malformed packet.
SyncMessage sync_receive(int fd);
// Receives and insists on `expected`; an `error` message is rethrown as brig::Error.
SyncMessage sync_expect(int fd, SyncType expected);

}  // namespace brig::lifecycle
