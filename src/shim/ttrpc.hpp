// ttrpc, containerd's RPC over unix sockets: 10-byte big-endian frame headers
// (length u32, stream id u32, type u8, flags u8) around protobuf Request/Response messages.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"
#include "shim/event_loop.hpp"
#include "ttrpc.pb.h"

namespace brig::shim::ttrpc {

constexpr size_t header_size = 10;
constexpr uint32_t max_message_size = 4 << 20;

enum class MessageType : uint8_t { request = 1, response = 2, data = 3 };

// google.rpc.Code values containerd maps to its errdefs.
enum class Code : int32_t {
    ok = 0,
    unknown = 2,
    invalid_argument = 3,
    not_found = 5,
    already_exists = 6,
    resource_exhausted = 8,
    failed_precondition = 9,
    unimplemented = 12,
    internal = 13,
    unavailable = 14,
};

struct FrameHeader {
    uint32_t length = 0;
    uint32_t stream_id = 0;
    uint8_t type = 0;
    uint8_t flags = 0;
};

std::string encode_header(const FrameHeader& header);
FrameHeader decode_header(const char* bytes);
std::string encode_frame(uint32_t stream_id, MessageType type, const std::string& payload);

// An error that travels back to the caller as a ttrpc status.
class RpcError : public Error {
public:
    RpcError(Code code, const std::string& message) : Error(message), code_(code) {}
    Code code() const noexcept { return code_; }

private:
    Code code_;
};

// The status code an exception maps to: RpcError's own, else from the errno it carries.
Code code_for(const std::exception& e);

// Splits a byte stream into frames. A frame longer than max_message_size is skipped without
// buffering it and reported with `oversized`, so the server can answer and go on.
class FrameReader {
public:
    struct Frame {
        FrameHeader header;
        std::string payload;
        bool oversized = false;
    };

    void feed(const char* data, size_t size);
    std::optional<Frame> next();
    size_t buffered() const { return buffer_.size(); }

private:
    std::string buffer_;
    size_t discard_ = 0;  // bytes of an oversized payload still to drop
};

// A blocking client for one connection (the shim's event publisher and the tests).
class Client {
public:
    explicit Client(UniqueFd socket) : socket_(std::move(socket)) {}
    static Client connect(const std::string& path, int timeout_ms = 5000);

    // Returns the response payload; throws RpcError for a non-ok status.
    std::string call(const std::string& service, const std::string& method,
                     const std::string& payload, const std::string& ns = {});
    // Sends raw bytes and reads one response frame (tests of bad input use it).
    ::ttrpc::Response round_trip(const std::string& bytes, uint32_t* stream_id = nullptr);
    uint32_t next_stream_id() { return std::exchange(next_stream_, next_stream_ + 2); }
    int fd() const { return socket_.get(); }

private:
    UniqueFd socket_;
    uint32_t next_stream_ = 1;
};

// Where to send a (possibly deferred) answer.
struct CallRef {
    uint64_t connection = 0;
    uint32_t stream_id = 0;
};

struct Call {
    CallRef ref;
    ::ttrpc::Request request;
    std::string ns;  // metadata containerd-namespace-ttrpc
};

// Serves many connections from the event loop. The handler returns the response payload, throws
// (the error becomes the status), or returns nullopt and answers later through reply() (Wait).
class Server {
public:
    using Handler = std::function<std::optional<std::string>(const Call& call)>;

    Server(EventLoop& loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server();

    void listen(UniqueFd listener);
    uint64_t add_connection(UniqueFd socket);
    void reply(const CallRef& ref, const std::string& payload);
    void reply_error(const CallRef& ref, Code code, const std::string& message);
    size_t connection_count() const { return connections_.size(); }
    // Called when the last connection closes (the shim exits then after Shutdown).
    std::function<void()> on_idle;

private:
    struct Connection {
        UniqueFd socket;
        EventLoop::Token token = 0;
        FrameReader reader;
        std::string out;
    };

    void on_readable(uint64_t id);
    void on_writable(uint64_t id);
    void handle_frame(uint64_t id, FrameReader::Frame frame);
    void send(uint64_t id, uint32_t stream_id, const ::ttrpc::Response& response);
    void flush(uint64_t id);
    void close(uint64_t id);

    EventLoop& loop_;
    Handler handler_;
    UniqueFd listener_;
    EventLoop::Token listener_token_ = 0;
    uint64_t next_connection_ = 1;
    std::unordered_map<uint64_t, Connection> connections_;
};

}  // namespace brig::shim::ttrpc
