// The --config file's "monitor" section (config.schema.json), with line-numbered errors.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "monitor/monitor.hpp"
#include "runtime/common/error.hpp"

namespace brig::monitor {

MonitorConfig MonitorConfig::from_json_text(const std::string& text, const std::string& source) {
    MonitorConfig config;
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error("config " + source + ": " + e.what());
    }
    // Errors name the line of the field (or of its closest parent) and the field.
    auto fail = [&](const std::string& field, const std::string& what) -> void {
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
    };
    if (!doc.is_object())
        fail("(root)", "must be an object");
    if (!doc.contains("monitor"))
        return config;
    const auto& m = doc["monitor"];
    if (!m.is_object())
        fail("monitor", "must be an object");
    static const std::set<std::string> keys = {
        "enabled",        "default_rules", "rules_files", "annotation_rules_dirs",
        "default_action", "outputs",       "bpffs_dir",   "time_format_iso_8601"};
    for (const auto& [key, value] : m.items())
        if (!keys.contains(key))
            fail("monitor." + key, "unknown field");
    auto boolean = [&](const nlohmann::json& obj, const char* key, const std::string& path,
                       bool& out) {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_boolean())
            fail(path, "must be true or false");
        out = obj[key].get<bool>();
    };
    auto string = [&](const nlohmann::json& obj, const char* key, const std::string& path,
                      std::string& out) {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_string())
            fail(path, "must be a string");
        out = obj[key].get<std::string>();
    };
    boolean(m, "enabled", "monitor.enabled", config.enabled);
    boolean(m, "default_rules", "monitor.default_rules", config.default_rules);
    boolean(m, "time_format_iso_8601", "monitor.time_format_iso_8601", config.time_format_iso_8601);
    string(m, "bpffs_dir", "monitor.bpffs_dir", config.bpffs_dir);
    if (m.contains("rules_files")) {
        if (!m["rules_files"].is_array())
            fail("monitor.rules_files", "must be a list of paths");
        for (const auto& item : m["rules_files"]) {
            if (!item.is_string())
                fail("monitor.rules_files", "must be a list of paths");
            config.rules_files.push_back(item.get<std::string>());
        }
    }
    if (m.contains("annotation_rules_dirs")) {
        const auto& dirs = m["annotation_rules_dirs"];
        if (!dirs.is_array())
            fail("monitor.annotation_rules_dirs", "must be a list of absolute directories");
        config.annotation_rules_dirs.clear();
        for (const auto& item : dirs) {
            if (!item.is_string() || !item.get<std::string>().starts_with("/"))
                fail("monitor.annotation_rules_dirs", "must be a list of absolute directories");
            config.annotation_rules_dirs.push_back(item.get<std::string>());
        }
    }
    if (m.contains("default_action")) {
        std::string text;
        string(m, "default_action", "monitor.default_action", text);
        auto action = parse_action(text);
        if (!action)
            fail("monitor.default_action", "must be alert, deny or kill, not '" + text + "'");
        config.default_action = *action;
    }
    if (m.contains("outputs")) {
        const auto& o = m["outputs"];
        if (!o.is_object())
            fail("monitor.outputs", "must be an object");
        static const std::set<std::string> output_keys = {"stdout",        "file", "syslog",
                                                          "syslog_socket", "http", "program"};
        for (const auto& [key, value] : o.items())
            if (!output_keys.contains(key))
                fail("monitor.outputs." + key, "unknown field");
        boolean(o, "stdout", "monitor.outputs.stdout", config.outputs.to_stdout);
        boolean(o, "syslog", "monitor.outputs.syslog", config.outputs.syslog);
        string(o, "file", "monitor.outputs.file", config.outputs.file);
        string(o, "syslog_socket", "monitor.outputs.syslog_socket", config.outputs.syslog_socket);
        string(o, "http", "monitor.outputs.http", config.outputs.http_url);
        string(o, "program", "monitor.outputs.program", config.outputs.program);
        if (!config.outputs.syslog_socket.starts_with("/"))
            fail("monitor.outputs.syslog_socket", "must be an absolute path");
        if (!config.outputs.file.empty() && !config.outputs.file.starts_with("/"))
            fail("monitor.outputs.file", "must be an absolute path");
        if (!config.outputs.http_url.empty() && !config.outputs.http_url.starts_with("http://"))
            fail("monitor.outputs.http", "must be an http:// URL");
    }
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
