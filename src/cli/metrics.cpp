// `metrics`: the monitor's node-wide metrics in Prometheus's text format (monitor/metrics.hpp),
// printed once, or with `--listen HOST:PORT` served at /metrics for a scraper (Falco serves its
// own on its webserver, port 8765 by default) until the process is stopped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "cli/verbs.hpp"
#include "monitor/runtime_monitor.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cli {
namespace {

std::string node_metrics(const Context& ctx, const Runtime& runtime) {
    monitor::RuntimeMonitor monitor(ctx.monitor_config, ctx.log);
    std::vector<monitor::RuntimeMonitor::Watched> watched;
    for (const auto& id : runtime.store().list()) {
        uint64_t cgroup2_id = 0;
        try {
            cgroup2_id = runtime.store().read(id).cgroup2_id;
        } catch (const Error&) {
            // A corrupt or half-made state: its alerts still count, its drops are unknown.
        }
        watched.push_back({id, runtime.store().dir(id), cgroup2_id});
    }
    return monitor.prometheus_metrics(watched);
}

// "127.0.0.1:8765" -> a listening IPv4 TCP socket.
UniqueFd listen_on(const std::string& address) {
    const size_t colon = address.rfind(':');
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    char* end = nullptr;
    const unsigned long port =
        colon == std::string::npos ? 0 : std::strtoul(address.c_str() + colon + 1, &end, 10);
    if (colon == std::string::npos || port == 0 || port > 65535 || *end != 0 ||
        inet_pton(AF_INET, address.substr(0, colon).c_str(), &sin.sin_addr) != 1)
        throw Error("--listen: must be IPV4:PORT like 127.0.0.1:8765, not \"" + address + "\"");
    sin.sin_port = htons(static_cast<uint16_t>(port));
    UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    if (!sock || setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(sock.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
        listen(sock.get(), 16) != 0)
        throw_errno("--listen " + address);
    return sock;
}

void send_all(int fd, const std::string& data) {
    for (size_t done = 0; done < data.size();) {
        ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0)
            return;  // the scraper went away
        done += static_cast<size_t>(n);
    }
}

// One request per connection (HTTP/1.0 style): GET /metrics gets the metrics, anything else 404.
void answer(const Context& ctx, const Runtime& runtime, int conn) {
    timeval timeout{5, 0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char request[1024];
    ssize_t n = ::recv(conn, request, sizeof request - 1, 0);
    if (n <= 0)
        return;
    request[n] = 0;
    const bool metrics = std::strncmp(request, "GET /metrics ", 13) == 0 ||
                         std::strncmp(request, "GET /metrics?", 13) == 0;
    std::string body = metrics ? node_metrics(ctx, runtime) : "not found\n";
    std::string head = std::string("HTTP/1.0 ") + (metrics ? "200 OK" : "404 Not Found") +
                       "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"
                       "\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    send_all(conn, head + body);
}

int run_metrics(const Context& ctx, Runtime& runtime, const ParsedArgs& args) {
    auto address = args.value("listen");
    if (!address) {
        std::cout << node_metrics(ctx, runtime) << std::flush;
        return 0;
    }
    UniqueFd sock = listen_on(*address);
    for (;;) {
        UniqueFd conn(::accept4(sock.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            throw_errno("--listen: accept");
        }
        try {
            answer(ctx, runtime, conn.get());
        } catch (const std::exception& e) {
            ctx.log.warn(std::string("metrics: ") + e.what());
        }
    }
}

}  // namespace

Verb metrics_verb() {
    return {"metrics", {{"listen"}, {}}, 0, "metrics [--listen IPV4:PORT]", false, run_metrics};
}

}  // namespace brig::cli
