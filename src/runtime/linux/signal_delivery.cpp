#include "runtime/linux/signal_delivery.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <sstream>

#include "runtime/common/unique_fd.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::linux {
namespace {

uint64_t hex_mask(const std::string& text) {
    try {
        return std::stoull(text, nullptr, 16);
    } catch (const std::exception&) {
        return 0;
    }
}

// "" when the process is gone.
std::string read_status(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/status";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return "";
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0)
        text.append(buf, static_cast<size_t>(n));
    return text;
}

// How long pid has run, from its start time in clock ticks since boot.
std::chrono::milliseconds age_of(pid_t pid) {
    const uint64_t start_ticks = state::process_start_time(pid);
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    if (start_ticks == 0 || ticks_per_second <= 0)
        return std::chrono::milliseconds::max();
    const int64_t now_ms = int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
    const int64_t start_ms = static_cast<int64_t>(start_ticks) * 1000 / ticks_per_second;
    return std::chrono::milliseconds(now_ms - start_ms);
}

}  // namespace

SignalDisposition parse_signal_disposition(const std::string& status) {
    SignalDisposition d;
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        const std::string key = line.substr(0, colon);
        std::istringstream value(line.substr(colon + 1));
        if (key == "NSpid") {
            std::string last, word;
            while (value >> word)
                last = word;
            d.namespace_init = last == "1";
        } else if (key == "SigBlk" || key == "SigIgn" || key == "SigCgt") {
            std::string word;
            value >> word;
            (key == "SigBlk" ? d.blocked : key == "SigIgn" ? d.ignored : d.caught) = hex_mask(word);
        }
    }
    return d;
}

bool would_discard(const SignalDisposition& d, int signal) {
    if (!d.namespace_init || signal <= 0 || signal > 64 || signal == SIGKILL || signal == SIGSTOP)
        return false;
    const uint64_t bit = uint64_t{1} << (signal - 1);
    return !(d.blocked & bit) && !(d.ignored & bit) && !(d.caught & bit);
}

void await_signal_handler(pid_t pid, int signal, std::chrono::milliseconds max_wait,
                          std::chrono::milliseconds young) {
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    if (age_of(pid) >= young)
        return;
    for (;;) {
        const std::string status = read_status(pid);
        if (status.empty() || !would_discard(parse_signal_disposition(status), signal))
            return;
        if (std::chrono::steady_clock::now() >= deadline)
            return;
        ::usleep(2000);
    }
}

}  // namespace brig::linux
