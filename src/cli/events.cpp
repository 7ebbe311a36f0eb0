// `events ID`: runc's event stream ({"type":"stats"|"oom","id","data"}), one JSON object a
// line, until the container stops; `--stats` prints one stats event and returns. The monitor's
// alerts of the container come in the same stream ({"type":"alert"}).
#include <poll.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/verbs.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

// "5s", "500ms", "1m", "2" (seconds) -> milliseconds.
int parse_interval_ms(const std::string& text) {
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    std::string unit = end;
    double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : -1;
    if (end == text.c_str() || scale < 0 || value <= 0 || value * scale > 86400000)
        throw Error("--interval: must be a duration like 5s or 500ms, not \"" + text + "\"");
    return static_cast<int>(value * scale);
}

void emit(const std::string& type, const std::string& id, const nlohmann::json& data) {
    nlohmann::json event = {{"type", type}, {"id", id}};
    if (!data.is_null())
        event["data"] = data;
    std::cout << event.dump() << std::endl;
}

// The monitor's alerts of one container (<state dir>/alerts.jsonl, one Falco JSON object per
// line, appended by its watcher; alerts.jsonl.1 before it once it reached its cap), each shown
// once as {"type":"alert","id":..,"data":{..}}.
class AlertTail {
public:
    explicit AlertTail(std::string path) : path_(std::move(path)) {}

    void emit_new(const std::string& id) {
        struct stat now {};
        if (::stat(path_.c_str(), &now) != 0)
            return;
        if (inode_ == 0) {
            uint64_t from_start = 0;
            emit_from(path_ + ".1", from_start, id);  // the past alerts before the rotation
        } else if (now.st_ino != inode_) {
            // Rotated since: the rest of the file we were reading is now <path>.1.
            struct stat rotated {};
            if (::stat((path_ + ".1").c_str(), &rotated) == 0 && rotated.st_ino == inode_)
                emit_from(path_ + ".1", offset_, id);
            offset_ = 0;
        }
        inode_ = now.st_ino;
        emit_from(path_, offset_, id);
    }

private:
    // The complete lines of `file` from `offset` on: a line the watcher is still writing is read
    // next time.
    static void emit_from(const std::string& file, uint64_t& offset, const std::string& id) {
        std::ifstream in(file, std::ios::binary);
        if (!in || !in.seekg(static_cast<std::streamoff>(offset)))
            return;
        std::string line;
        while (std::getline(in, line) && !in.eof()) {
            offset += line.size() + 1;
            auto alert = nlohmann::json::parse(line, nullptr, false);
            if (!alert.is_discarded())
                emit("alert", id, alert);
        }
    }

    std::string path_;
    ino_t inode_ = 0;
    uint64_t offset_ = 0;
};

int run_events(const Context&, Runtime& runtime, const ParsedArgs& args) {
    const std::string& id = args.positional.at(0);
    if (args.has("stats")) {
        emit("stats", id, runtime.stats(id));
        return 0;
    }
    const int interval_ms = parse_interval_ms(args.value_or("interval", "5s"));
    auto info = runtime.info(id);
    AlertTail alerts(runtime.store().dir(id) + "/alerts.jsonl");  // monitor::kAlertsFile
    alerts.emit_new(id);
    if (info.status == state::Status::stopped)
        return 0;
    auto cgroup = cgroups::open_manager(info.state.cgroups_path, id);
    auto oom = cgroup->watch_oom();
    uint64_t ooms = cgroup->oom_kills();
    auto next_stats = std::chrono::steady_clock::now();
    for (;;) {
        auto status = runtime.info(id).status;
        alerts.emit_new(id);
        if (status == state::Status::stopped)
            return 0;
        auto now = std::chrono::steady_clock::now();
        if (now >= next_stats) {
            emit("stats", id, cgroup->stats());
            next_stats = now + std::chrono::milliseconds(interval_ms);
        }
        int wait_ms = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(next_stats - now).count());
        // Wake at least once a second to notice the container stopping.
        pollfd p{oom ? oom->fd() : -1, POLLIN, 0};
        poll(&p, 1, std::min(wait_ms, 1000));
        if (oom && (p.revents & POLLIN))
            oom->drain();
        if (uint64_t now_ooms = cgroup->oom_kills(); now_ooms > ooms) {
            ooms = now_ooms;
            emit("oom", id, nullptr);
        }
    }
}

}  // namespace

Verb events_verb() {
    return {"events",  {{"interval"}, {"stats"}}, 1, "events [--stats] [--interval 5s] ID", false,
            run_events};
}

}  // namespace brig::cli
