#include "runtime/common/log.hpp"

#include "runtime/common/clock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace brig {
namespace {

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "error";
}

void write_all(int fd, const std::string& s) {
    const char* p = s.data();
    size_t left = s.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;  // logging must never fail the operation
        p += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace

Logger::Logger(LogConfig config) : config_(std::move(config)) {
    if (!config_.path.empty())
        fd_ = ::open(config_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

Logger::~Logger() {
    if (fd_ >= 0)
        ::close(fd_);
}

std::string Logger::format_line(LogFormat format, LogLevel level, const std::string& message,
                                const std::string& time) {
    if (format == LogFormat::json)
        return nlohmann::json{{"level", level_name(level)}, {"msg", message}, {"time", time}}.dump(
                   -1, ' ', false, nlohmann::json::error_handler_t::replace) +
               "\n";
    return time + " " + level_name(level) + ": " + message + "\n";
}

void Logger::log(LogLevel level, const std::string& message) const {
    if (level == LogLevel::debug && !config_.debug)
        return;
    if (fd_ >= 0)
        write_all(fd_, format_line(config_.format, level, message, rfc3339_now()));
    // stderr carries warnings and errors (and debug when asked): one line each, for people.
    if (level != LogLevel::info || config_.debug)
        write_all(STDERR_FILENO, std::string(level == LogLevel::error ? "brig: " : "brig: ") +
                                     (level == LogLevel::warning ? "warning: " : "") + message +
                                     "\n");
}

}  // namespace brig
