#include "shim/ttrpc.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace brig::shim::ttrpc {
namespace {

constexpr const char* namespace_key = "containerd-namespace-ttrpc";

void put_u32(std::string& out, uint32_t v) {
    out.push_back(static_cast<char>(v >> 24));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

uint32_t get_u32(const char* p) {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

void write_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw_errno("ttrpc: send");
        off += static_cast<size_t>(n);
    }
}

void read_exact(int fd, char* buf, size_t size) {
    size_t off = 0;
    while (off < size) {
        ssize_t n = ::recv(fd, buf + off, size - off, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("ttrpc: recv");
        if (n == 0)
            throw Error("ttrpc: connection closed by the server", ECONNRESET);
        off += static_cast<size_t>(n);
    }
}

::ttrpc::Response error_response(Code code, const std::string& message) {
    ::ttrpc::Response r;
    r.mutable_status()->set_code(static_cast<int32_t>(code));
    r.mutable_status()->set_message(message);
    return r;
}

}  // namespace

std::string encode_header(const FrameHeader& h) {
    std::string out;
    out.reserve(header_size);
    put_u32(out, h.length);
    put_u32(out, h.stream_id);
    out.push_back(static_cast<char>(h.type));
    out.push_back(static_cast<char>(h.flags));
    return out;
}

FrameHeader decode_header(const char* bytes) {
    FrameHeader h;
    h.length = get_u32(bytes);
    h.stream_id = get_u32(bytes + 4);
    h.type = static_cast<uint8_t>(bytes[8]);
    h.flags = static_cast<uint8_t>(bytes[9]);
    return h;
}

std::string encode_frame(uint32_t stream_id, MessageType type, const std::string& payload) {
    if (payload.size() > max_message_size)
        throw RpcError(Code::resource_exhausted, "message of " + std::to_string(payload.size()) +
                                                     " bytes exceeds the ttrpc limit of " +
                                                     std::to_string(max_message_size));
    return encode_header(
               {static_cast<uint32_t>(payload.size()), stream_id, static_cast<uint8_t>(type), 0}) +
           payload;
}

Code code_for(const std::exception& e) {
    if (auto rpc = dynamic_cast<const RpcError*>(&e))
        return rpc->code();
    if (auto err = dynamic_cast<const Error*>(&e)) {
        switch (err->errnum()) {
            case ENOENT:
            case ESRCH:
                return Code::not_found;
            case EEXIST:
                return Code::already_exists;
            case EINVAL:
                return Code::invalid_argument;
            default:
                break;
        }
    }
    return Code::unknown;
}

void FrameReader::feed(const char* data, size_t size) {
    if (discard_) {
        size_t skip = std::min(discard_, size);
        discard_ -= skip;
        data += skip;
        size -= skip;
    }
    buffer_.append(data, size);
}

std::optional<FrameReader::Frame> FrameReader::next() {
    if (discard_ || buffer_.size() < header_size)
        return std::nullopt;
    Frame frame;
    frame.header = decode_header(buffer_.data());
    if (frame.header.length > max_message_size) {
        size_t available = buffer_.size() - header_size;
        size_t skip = std::min<size_t>(available, frame.header.length);
        discard_ = frame.header.length - skip;
        buffer_.erase(0, header_size + skip);
        frame.oversized = true;
        return frame;
    }
    if (buffer_.size() < header_size + frame.header.length)
        return std::nullopt;
    frame.payload = buffer_.substr(header_size, frame.header.length);
    buffer_.erase(0, header_size + frame.header.length);
    return frame;
}

Client Client::connect(const std::string& path, int timeout_ms) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw Error("ttrpc: socket path too long: " + path, ENAMETOOLONG);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw_errno("ttrpc: socket");
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw_errno("ttrpc: cannot connect to " + path);
    return Client(std::move(fd));
}

::ttrpc::Response Client::round_trip(const std::string& bytes, uint32_t* stream_id) {
    write_all(socket_.get(), bytes);
    for (;;) {
        char header[header_size];
        read_exact(socket_.get(), header, header_size);
        FrameHeader h = decode_header(header);
        if (h.length > max_message_size)
            throw Error("ttrpc: response too large");
        std::string payload(h.length, '\0');
        read_exact(socket_.get(), payload.data(), payload.size());
        if (h.type != static_cast<uint8_t>(MessageType::response))
            continue;
        ::ttrpc::Response response;
        if (!response.ParseFromString(payload))
            throw Error("ttrpc: malformed response");
        if (stream_id)
            *stream_id = h.stream_id;
        return response;
    }
}

std::string Client::call(const std::string& service, const std::string& method,
                         const std::string& payload, const std::string& ns) {
    ::ttrpc::Request request;
    request.set_service(service);
    request.set_method(method);
    request.set_payload(payload);
    if (!ns.empty()) {
        auto* kv = request.add_metadata();
        kv->set_key(namespace_key);
        kv->set_value(ns);
    }
    uint32_t sent = next_stream_id(), got = 0;
    auto response =
        round_trip(encode_frame(sent, MessageType::request, request.SerializeAsString()), &got);
    if (got != sent)
        throw Error("ttrpc: response for stream " + std::to_string(got) + ", expected " +
                    std::to_string(sent));
    if (response.has_status() && response.status().code() != 0)
        throw RpcError(static_cast<Code>(response.status().code()), response.status().message());
    return response.payload();
}

Server::~Server() {
    for (auto& [id, c] : connections_)
        loop_.remove(c.token);
    if (listener_)
        loop_.remove(listener_token_);
}

void Server::listen(UniqueFd listener) {
    listener_ = std::move(listener);
    int flags = fcntl(listener_.get(), F_GETFL);
    fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK);
    listener_token_ = loop_.add(listener_.get(), EPOLLIN, [this](uint32_t) {
        for (;;) {
            UniqueFd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (!conn)
                return;  // EAGAIN, or a transient error: the listener stays
            add_connection(std::move(conn));
        }
    });
}

uint64_t Server::add_connection(UniqueFd socket) {
    int flags = fcntl(socket.get(), F_GETFL);
    fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK);
    uint64_t id = next_connection_++;
    Connection& c = connections_[id];
    c.socket = std::move(socket);
    c.token = loop_.add(c.socket.get(), EPOLLIN | EPOLLRDHUP, [this, id](uint32_t events) {
        if (events & EPOLLOUT)
            on_writable(id);
        if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
            on_readable(id);
    });
    return id;
}

void Server::on_readable(uint64_t id) {
    char buf[65536];
    for (;;) {
        auto it = connections_.find(id);
        if (it == connections_.end())
            return;
        ssize_t n = ::recv(it->second.socket.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close(id);
            return;
        }
        it->second.reader.feed(buf, static_cast<size_t>(n));
        while (true) {
            auto conn = connections_.find(id);
            if (conn == connections_.end())
                return;
            auto frame = conn->second.reader.next();
            if (!frame)
                break;
            handle_frame(id, std::move(*frame));
        }
    }
}

void Server::handle_frame(uint64_t id, FrameReader::Frame frame) {
    const uint32_t stream = frame.header.stream_id;
    if (frame.oversized) {
        send(id, stream,
             error_response(Code::resource_exhausted, "message length " +
                                                          std::to_string(frame.header.length) +
                                                          " exceeds the maximum message size " +
                                                          std::to_string(max_message_size)));
        return;
    }
    if (frame.header.type != static_cast<uint8_t>(MessageType::request))
        return;  // no streams in the shim API: data frames have nowhere to go
    if (stream % 2 == 0) {
        send(id, stream,
             error_response(Code::invalid_argument,
                            "stream id " + std::to_string(stream) +
                                " must be odd for client-initiated streams"));
        return;
    }
    Call call;
    call.ref = {id, stream};
    if (!call.request.ParseFromString(frame.payload)) {
        send(id, stream, error_response(Code::invalid_argument, "malformed ttrpc request"));
        return;
    }
    for (const auto& kv : call.request.metadata())
        if (kv.key() == namespace_key)
            call.ns = kv.value();
    try {
        auto payload = handler_(call);
        if (payload)
            reply(call.ref, *payload);
    } catch (const std::exception& e) {
        send(id, stream, error_response(code_for(e), e.what()));
    }
}

void Server::reply(const CallRef& ref, const std::string& payload) {
    ::ttrpc::Response r;
    r.set_payload(payload);
    send(ref.connection, ref.stream_id, r);
}

void Server::reply_error(const CallRef& ref, Code code, const std::string& message) {
    send(ref.connection, ref.stream_id, error_response(code, message));
}

void Server::send(uint64_t id, uint32_t stream_id, const ::ttrpc::Response& response) {
    auto it = connections_.find(id);
    if (it == connections_.end())
        return;  // the caller went away (containerd restarted): nobody to answer
    std::string bytes;
    try {
        bytes = encode_frame(stream_id, MessageType::response, response.SerializeAsString());
    } catch (const RpcError& e) {
        bytes = encode_frame(stream_id, MessageType::response,
                             error_response(e.code(), e.what()).SerializeAsString());
    }
    it->second.out += bytes;
    flush(id);
}

void Server::flush(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end())
        return;
    Connection& c = it->second;
    while (!c.out.empty()) {
        ssize_t n = ::send(c.socket.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            loop_.modify(c.token, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
            return;
        }
        if (n < 0) {
            close(id);
            return;
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
    loop_.modify(c.token, EPOLLIN | EPOLLRDHUP);
}

void Server::on_writable(uint64_t id) {
    flush(id);
}

void Server::close(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end())
        return;
    loop_.remove(it->second.token);
    connections_.erase(it);
    if (connections_.empty() && on_idle)
        on_idle();
}

}  // namespace brig::shim::ttrpc
