// linux.seccomp.listenerPath with a real container: the listener is a host path the container
// cannot see; brig hands it the notify fd and the state, and the listener decides the call.
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <string>

#include "harness.hpp"

namespace brig::test {
namespace {

struct Notified {
    Json state;
    std::string syscall;
};

// Reads a connection from brig up to EOF (it closes its end after the message): the state into
// `payload`; returns the notify fd that came with it (-1 for none), and closes the connection.
int receive_state(int conn, std::string& payload) {
    int notify_fd = -1;
    for (;;) {
        char buf[8192];
        iovec iov{buf, sizeof buf};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            break;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                std::memcpy(&notify_fd, CMSG_DATA(c), sizeof(int));
        payload.append(buf, static_cast<size_t>(n));
    }
    close(conn);
    return notify_fd;
}

// A listening unix socket at `path`; -1 when it cannot be made.
int listen_at(const std::string& path) {
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 1) != 0) {
        if (listener >= 0)
            close(listener);
        return -1;
    }
    return listener;
}

// Accepts one connection, takes the state and the notify fd, answers the first notification
// with success (0) without the kernel running the call.
Notified serve_one(int listener) {
    Notified result;
    int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0)
        return result;
    std::string payload;
    int notify_fd = receive_state(conn, payload);
    result.state = Json::parse(payload, nullptr, false);
    if (notify_fd < 0)
        return result;
    seccomp_notif* req = nullptr;
    seccomp_notif_resp* resp = nullptr;
    if (seccomp_notify_alloc(&req, &resp) == 0 && seccomp_notify_receive(notify_fd, req) == 0) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, req->data.nr);
        result.syscall = name ? name : "?";
        free(name);
        resp->id = req->id;
        resp->val = 0;
        resp->error = 0;
        resp->flags = 0;
        seccomp_notify_respond(notify_fd, resp);
    }
    seccomp_notify_free(req, resp);
    close(notify_fd);
    return result;
}

class SeccompNotifyTest : public RuntimeTest {};

TEST_F(SeccompNotifyTest, ListenerOnTheHostReceivesTheCallAndDecidesIt) {
    // Outside the bundle and never mounted into the container.
    char dir[] = "/tmp/brig-listener-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/listener.sock";
    int listener = listen_at(path);
    ASSERT_GE(listener, 0) << path;
    auto served = std::async(std::launch::async, [listener] { return serve_one(listener); });

    Json& seccomp = bundle().config()["linux"]["seccomp"];
    seccomp = {{"defaultAction", "SCMP_ACT_ALLOW"},
               {"listenerPath", path},
               {"listenerMetadata", "brig-test"},
               {"syscalls",
                Json::array({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}})}};
    bundle().config()["root"]["readonly"] = false;
    bundle().set_script(
        "mkdir /made && echo mkdir-ok; test -d /made && echo exists || echo absent");
    bundle().write_config();
    auto id = new_id();
    auto result = run(id);
    Notified notified = served.get();
    close(listener);
    fs::remove_all(dir);

    EXPECT_EQ(result.exit_code, 0) << result.describe();
    // The listener answered success without the kernel making the directory.
    EXPECT_NE(result.out.find("mkdir-ok"), std::string::npos) << result.describe();
    EXPECT_NE(result.out.find("absent"), std::string::npos) << result.describe();
    EXPECT_FALSE(fs::exists(bundle().rootfs() / "made"));
    EXPECT_EQ(notified.syscall.rfind("mkdir", 0), 0u) << notified.syscall;
    EXPECT_EQ(notified.state.value("metadata", ""), "brig-test");
    EXPECT_EQ(notified.state["fds"], Json::array({"seccompFd"}));
    EXPECT_EQ(notified.state["state"].value("id", ""), id);
}

// Accepts one connection, takes the notify fd and lets every notified call run
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE) until the container's processes are gone. The number of
// calls it let through.
int continue_all(int listener) {
    int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0)
        return -1;
    std::string payload;
    int notify_fd = receive_state(conn, payload);
    if (notify_fd < 0)
        return -1;
    int continued = 0;
    seccomp_notif* req = nullptr;
    seccomp_notif_resp* resp = nullptr;
    if (seccomp_notify_alloc(&req, &resp) != 0)
        return -1;
    for (;;) {
        pollfd p{notify_fd, POLLIN, 0};
        if (poll(&p, 1, 20000) <= 0 || (p.revents & (POLLHUP | POLLERR)) || !(p.revents & POLLIN))
            break;
        std::memset(req, 0, sizeof(*req));  // the kernel wants it zeroed
        if (seccomp_notify_receive(notify_fd, req) != 0)
            continue;
        *resp = {};
        resp->id = req->id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (seccomp_notify_respond(notify_fd, resp) == 0)
            ++continued;
    }
    seccomp_notify_free(req, resp);
    close(notify_fd);
    return continued;
}

// runc's "SCMP_ACT_NOTIFY important syscalls": the calls brig and the program make after the
// filter is loaded (execve, open, read, close, write) may be notified; the listener answers them.
TEST_F(SeccompNotifyTest, CallsBrigMakesAfterLoadingTheFilterMayBeNotified) {
    char dir[] = "/tmp/brig-listener-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/listener.sock";
    int listener = listen_at(path);
    ASSERT_GE(listener, 0) << path;
    auto served = std::async(std::launch::async, [listener] { return continue_all(listener); });

    bundle().config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"listenerPath", path},
        {"syscalls",
         Json::array({{{"names", {"execve", "openat", "open", "read", "close", "write"}},
                       {"action", "SCMP_ACT_NOTIFY"}}})}};
    bundle().set_script("cat /etc/passwd >/dev/null && echo ran");
    auto result = run(new_id());
    int continued = served.get();
    close(listener);
    fs::remove_all(dir);
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    EXPECT_NE(result.out.find("ran"), std::string::npos) << result.describe();
    EXPECT_GT(continued, 3);
}

TEST_F(SeccompNotifyTest, UnreachableListenerFailsTheCreateNamingTheFieldAndLeavesNothing) {
    bundle().config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"listenerPath", "/nonexistent/brig/listener.sock"},
        {"syscalls", Json::array({{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}})}};
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    // runc's words, which its seccomp-notify.bats matches.
    EXPECT_NE(result.err.find("linux.seccomp.listenerPath: failed to connect with seccomp agent at "
                              "/nonexistent/brig/listener.sock"),
              std::string::npos)
        << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

}  // namespace
}  // namespace brig::test
