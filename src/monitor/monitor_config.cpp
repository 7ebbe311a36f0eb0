// The --config file's "monitor" section (config.schema.json), with line-numbered errors.
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"

namespace brig::monitor {

namespace {

// Errors name the line of the field (or of its closest parent) and the field.
struct FieldError {
    const std::string& text;
    const std::string& source;

    [[noreturn]] void operator()(const std::string& field, const std::string& what) const {
        std::string where = source;
        try {
            auto lines = key_lines(text, source);
            for (std::string path = field; !path.empty();) {
                if (auto it = lines.find(path); it != lines.end()) {
                    where += ":" + std::to_string(it->second);
                    break;
                }
                auto dot = path.rfind('.');
                path = dot == std::string::npos ? "" : path.substr(0, dot);
            }
        } catch (const Error&) {
        }
        throw Error("config " + where + ": field '" + field + "': " + what);
    }
};

// Reads obj[key] into out when present, typed as the out parameter says.
struct FieldReader {
    FieldError fail;

    void boolean(const nlohmann::json& obj, const char* key, const std::string& path,
                 bool& out) const {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_boolean())
            fail(path, "must be true or false");
        out = obj[key].get<bool>();
    }
    void string(const nlohmann::json& obj, const char* key, const std::string& path,
                std::string& out) const {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_string())
            fail(path, "must be a string");
        out = obj[key].get<std::string>();
    }
    // A number from `min` to `max` (a whole one when `whole`).
    double number(const nlohmann::json& obj, const char* key, const std::string& path, double min,
                  double max, bool whole, double fallback) const {
        if (!obj.contains(key))
            return fallback;
        const auto& value = obj[key];
        std::string what = whole ? "a whole number" : "a number";
        what += " from " + number_text(min) + " to " + number_text(max);
        if (!value.is_number() || (whole && !value.is_number_integer()))
            fail(path, "must be " + what);
        double n = value.get<double>();
        if (n < min || n > max)
            fail(path, "must be " + what);
        return n;
    }
    static std::string number_text(double n) {
        std::ostringstream out;
        out << std::fixed << std::setprecision(0) << n;
        return out.str();
    }
    // A list of strings (absolute paths when `absolute`), replacing out's defaults.
    void strings(const nlohmann::json& obj, const char* key, const std::string& path,
                 const std::string& what, bool absolute, std::vector<std::string>& out) const {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_array())
            fail(path, "must be " + what);
        out.clear();
        for (const auto& item : obj[key]) {
            if (!item.is_string() || (absolute && !item.get<std::string>().starts_with("/")))
                fail(path, "must be " + what);
            out.push_back(item.get<std::string>());
        }
    }
};

void read_outputs(const nlohmann::json& o, const FieldReader& read, OutputConfig& outputs) {
    const FieldError& fail = read.fail;
    if (!o.is_object())
        fail("monitor.outputs", "must be an object");
    for (const auto& [key, value] : o.items())
        if (!OutputConfig::keys().contains(key))
            fail("monitor.outputs." + key, "unknown field");
    read.boolean(o, "stdout", "monitor.outputs.stdout", outputs.to_stdout);
    read.boolean(o, "syslog", "monitor.outputs.syslog", outputs.syslog);
    read.string(o, "file", "monitor.outputs.file", outputs.file);
    read.string(o, "syslog_socket", "monitor.outputs.syslog_socket", outputs.syslog_socket);
    read.string(o, "http", "monitor.outputs.http", outputs.http_url);
    read.string(o, "program", "monitor.outputs.program", outputs.program);
    outputs.rate = read.number(o, "rate", "monitor.outputs.rate", 0, 1e9, false, outputs.rate);
    outputs.max_burst = static_cast<uint64_t>(read.number(
        o, "max_burst", "monitor.outputs.max_burst", 1, 1e9, true, double(outputs.max_burst)));
    outputs.file_max_bytes =
        static_cast<uint64_t>(read.number(o, "file_max_bytes", "monitor.outputs.file_max_bytes", 0,
                                          1ULL << 40, true, double(outputs.file_max_bytes)));
    if (!outputs.syslog_socket.starts_with("/"))
        fail("monitor.outputs.syslog_socket", "must be an absolute path");
    if (!outputs.file.empty() && !outputs.file.starts_with("/"))
        fail("monitor.outputs.file", "must be an absolute path");
    if (!outputs.http_url.empty() && !outputs.http_url.starts_with("http://"))
        fail("monitor.outputs.http", "must be an http:// URL");
}

}  // namespace

const std::set<std::string>& OutputConfig::keys() {
    static const std::set<std::string> keys = {"stdout",        "file",      "syslog",
                                               "syslog_socket", "http",      "program",
                                               "rate",          "max_burst", "file_max_bytes"};
    return keys;
}

const std::set<std::string>& MonitorConfig::keys() {
    static const std::set<std::string> keys = {
        "enabled",        "default_rules", "rules_files", "annotation_rules_dirs",
        "default_action", "outputs",       "bpffs_dir",   "time_format_iso_8601",
        "coalesce_ms"};
    return keys;
}

MonitorConfig MonitorConfig::from_json_text(const std::string& text, const std::string& source) {
    MonitorConfig config;
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error("config " + source + ": " + e.what());
    }
    const FieldReader read{FieldError{text, source}};
    const FieldError& fail = read.fail;
    if (!doc.is_object())
        fail("(root)", "must be an object");
    for (const auto& [key, value] : doc.items())
        if (key != "monitor" && key != "systemd_cgroup")
            fail(key, "unknown field");
    read.boolean(doc, "systemd_cgroup", "systemd_cgroup", config.systemd_cgroup);
    if (!doc.contains("monitor"))
        return config;
    const auto& m = doc["monitor"];
    if (!m.is_object())
        fail("monitor", "must be an object");
    for (const auto& [key, value] : m.items())
        if (!keys().contains(key))
            fail("monitor." + key, "unknown field");
    read.boolean(m, "enabled", "monitor.enabled", config.enabled);
    read.boolean(m, "default_rules", "monitor.default_rules", config.default_rules);
    read.boolean(m, "time_format_iso_8601", "monitor.time_format_iso_8601",
                 config.time_format_iso_8601);
    read.string(m, "bpffs_dir", "monitor.bpffs_dir", config.bpffs_dir);
    config.coalesce_ms = static_cast<uint32_t>(
        read.number(m, "coalesce_ms", "monitor.coalesce_ms", 0, 60000, true, config.coalesce_ms));
    read.strings(m, "rules_files", "monitor.rules_files", "a list of paths", false,
                 config.rules_files);
    read.strings(m, "annotation_rules_dirs", "monitor.annotation_rules_dirs",
                 "a list of absolute directories", true, config.annotation_rules_dirs);
    if (m.contains("default_action")) {
        std::string text;
        read.string(m, "default_action", "monitor.default_action", text);
        auto action = parse_action(text);
        if (!action)
            fail("monitor.default_action", "must be alert, deny or kill, not '" + text + "'");
        config.default_action = *action;
    }
    if (m.contains("outputs"))
        read_outputs(m["outputs"], read, config.outputs);
    return config;
}

MonitorConfig MonitorConfig::load(const std::string& path, bool path_is_default) {
    std::ifstream in(path);
    if (!in) {
        if (path_is_default && errno == ENOENT)
            return MonitorConfig{};
        throw Error("config " + path, errno);
    }
    std::stringstream text;
    text << in.rdbuf();
    return from_json_text(text.str(), path);
}

}  // namespace brig::monitor
