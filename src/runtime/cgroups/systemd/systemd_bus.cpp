#include "runtime/cgroups/systemd/systemd_bus.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cgroups {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// runc waits as long for a unit's job.
constexpr auto kTimeout = 30s;
constexpr const char* kPrivateSocket = "/run/systemd/private";
constexpr const char* kSystemBusSocket = "/run/dbus/system_bus_socket";
constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

UniqueFd connect_unix(const char* path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        throw_errno("socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return UniqueFd();
    return fd;
}

class Connection : public SystemdBus {
public:
    Connection(UniqueFd fd, bool message_bus) : fd_(std::move(fd)) {
        authenticate();
        if (message_bus) {
            call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello",
                 {});
            call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                 "AddMatch",
                 {std::string("type='signal',sender='org.freedesktop.systemd1',"
                              "interface='org.freedesktop.systemd1.Manager',member='JobRemoved'")});
        }
        // Without a subscriber systemd sends no JobRemoved signals.
        manager("Subscribe", {});
    }

    bool start_transient_unit(const std::string& name,
                              const dbus::Properties& properties) override {
        dbus::Message reply;
        try {
            reply = manager("StartTransientUnit",
                            {name, std::string("fail"), properties, dbus::EmptyAuxUnits{}});
        } catch (const BusError& e) {
            if (e.name == "org.freedesktop.systemd1.UnitExists")
                return false;
            throw Error("systemd: starting " + name + ": " + e.what());
        }
        wait_job(reply, "starting " + name);
        return true;
    }

    void set_unit_properties(const std::string& name, const dbus::Properties& properties) override {
        try {
            manager("SetUnitProperties", {name, true, properties});
        } catch (const BusError& e) {
            throw Error("systemd: setting the properties of " + name + ": " + e.what());
        }
    }

    void stop_unit(const std::string& name) override {
        try {
            wait_job(manager("StopUnit", {name, std::string("replace")}), "stopping " + name);
            manager("ResetFailedUnit", {name});
        } catch (const BusError& e) {
            if (e.name != "org.freedesktop.systemd1.NoSuchUnit")
                throw Error("systemd: stopping " + name + ": " + e.what());
        }
    }

private:
    // An error reply, by its D-Bus name.
    struct BusError : Error {
        BusError(const std::string& error_name, const std::string& text)
            : Error(text + " (" + error_name + ")"), name(error_name) {}
        std::string name;
    };

    void authenticate() {
        // The EXTERNAL mechanism (the peer checks our uid from the socket's credentials), with
        // BEGIN sent at once as sd-bus does: systemd's server can miss a message that follows
        // a separate BEGIN too closely (seen: the first call of a connection never answered).
        std::string uid = std::to_string(::getuid()), hex;
        for (char c : uid) {
            char digits[3];
            std::snprintf(digits, sizeof digits, "%02x", static_cast<unsigned char>(c));
            hex += digits;
        }
        send(std::string(1, '\0') + "AUTH EXTERNAL " + hex + "\r\nBEGIN\r\n");
        std::string line;
        while (!line.ends_with("\r\n")) {
            line += read_exact(1);
            if (line.size() > 512)
                throw Error("systemd: a D-Bus greeting over 512 bytes");
        }
        if (!line.starts_with("OK "))
            throw Error("systemd: D-Bus authentication refused: " +
                        line.substr(0, line.size() - 2));
    }

    dbus::Message manager(const std::string& member, std::vector<dbus::Argument> args) {
        return call(kSystemd, kManagerPath, kManager, member, std::move(args));
    }

    dbus::Message call(const std::string& destination, const std::string& path,
                       const std::string& interface, const std::string& member,
                       std::vector<dbus::Argument> args) {
        const uint32_t serial = next_serial_++;
        waiting_for_ = member;
        send(dbus::marshal_call({destination, path, interface, member, std::move(args)}, serial));
        for (;;) {
            dbus::Message m = receive();
            if (m.reply_serial != serial)
                continue;
            if (m.type == dbus::MessageType::error)
                throw BusError(m.error_name, m.strings.empty() ? member + " failed" : m.strings[0]);
            return m;
        }
    }

    // Waits for the JobRemoved signal of the job a call returned.
    void wait_job(const dbus::Message& reply, const std::string& what) {
        if (reply.strings.empty())
            throw Error("systemd: " + what + ": no job in the reply");
        const std::string& job = reply.strings[0];
        waiting_for_ = "the job " + job;
        while (!finished_jobs_.count(job))
            receive();
        const std::string result = finished_jobs_[job];
        finished_jobs_.erase(job);
        if (result != "done")
            throw Error("systemd: " + what + ": the job ended '" + result + "'");
    }

    // One message; JobRemoved signals are noted on the way (they may come before the reply).
    dbus::Message receive() {
        std::string bytes = read_exact(16);
        bytes += read_exact(dbus::message_length(bytes) - 16);
        dbus::Message m = dbus::parse_message(bytes);
        if (m.type == dbus::MessageType::signal && m.member == "JobRemoved" &&
            m.interface == kManager && m.strings.size() >= 3)
            finished_jobs_[m.strings[0]] = m.strings[2];  // "uoss": id, job, unit, result
        return m;
    }

    void send(const std::string& bytes) {
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw_errno("systemd: writing to D-Bus");
            done += static_cast<size_t>(n);
        }
    }

    std::string read_exact(size_t length) {
        std::string out(length, '\0');
        size_t done = 0;
        while (done < length) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
            pollfd p{fd_.get(), POLLIN, 0};
            const int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready < 0)
                throw_errno("systemd: poll");
            if (ready == 0)
                throw Error("systemd: no answer to " + waiting_for_ + " within " +
                            std::to_string(kTimeout.count()) + " s");
            ssize_t n = ::read(fd_.get(), out.data() + done, length - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw Error("systemd: the D-Bus connection closed", n < 0 ? errno : 0);
            done += static_cast<size_t>(n);
        }
        return out;
    }

    UniqueFd fd_;
    uint32_t next_serial_ = 1;
    std::string waiting_for_ = "the authentication";    // for the timeout's message
    std::map<std::string, std::string> finished_jobs_;  // job path -> result
    Clock::time_point deadline_ = Clock::now() + kTimeout;
};

}  // namespace

std::unique_ptr<SystemdBus> connect_systemd() {
    if (UniqueFd fd = connect_unix(kPrivateSocket))
        return std::make_unique<Connection>(std::move(fd), false);
    const int private_errno = errno;
    if (UniqueFd fd = connect_unix(kSystemBusSocket))
        return std::make_unique<Connection>(std::move(fd), true);
    throw Error(std::string("--systemd-cgroup: systemd is not running here: ") + kPrivateSocket +
                ": " + Error::errno_text(private_errno) + ", " + kSystemBusSocket + ": " +
                Error::errno_text(errno));
}

}  // namespace brig::cgroups
