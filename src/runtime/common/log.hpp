// Logging to stderr and the --log file, as text or as runc's JSON lines
// ({"level","msg","time"}), which containerd's shim reads back for the user.
#pragma once

#include <string>

namespace brig {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { text, json };

struct LogConfig {
    std::string path;  // empty: no log file
    LogFormat format = LogFormat::text;
    bool debug = false;
};

class Logger {
public:
    Logger() = default;
    explicit Logger(LogConfig config);
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;
    ~Logger();

    void log(LogLevel level, const std::string& message) const;
    void debug(const std::string& m) const { log(LogLevel::debug, m); }
    bool debug_enabled() const { return config_.debug; }
    void info(const std::string& m) const { log(LogLevel::info, m); }
    void warn(const std::string& m) const { log(LogLevel::warning, m); }
    void error(const std::string& m) const { log(LogLevel::error, m); }

    // Formats one line the way the log file gets it (exposed for tests).
    static std::string format_line(LogFormat format, LogLevel level, const std::string& message,
                                   const std::string& time);

private:
    LogConfig config_;
    int fd_ = -1;
};

}  // namespace brig
