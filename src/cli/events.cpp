// `events ID`: runc's event stream ({"type":"stats"|"oom","id","data"}), one JSON object a
// line, until the container stops; `--stats` prints one stats event and returns. The monitor's
// alerts of the container come in the same stream ({"type":"alert"}).
// `events --all [--follow]`: the node-wide view, every container's alerts in one stream (those
// recorded so far; with --follow also new ones, and new containers', until interrupted).
#include <poll.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/verbs.hpp"
#include "runtime/common/error.hpp"
#include "runtime/lifecycle/oom_watch.hpp"

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

// Keys in runc's order (type, id, data): scripts match the line.
void emit(const std::string& type, const std::string& id, const nlohmann::json& data) {
    nlohmann::ordered_json event = {{"type", type}, {"id", id}};
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

// Every container's alerts under the state root, each once; with `follow`, forever, picking up
// containers as they are created (a deleted one's alerts go with its state directory).
int run_all_alerts(const Runtime& runtime, bool follow) {
    std::map<std::string, AlertTail> tails;
    for (;;) {
        std::map<std::string, AlertTail> current;
        for (const auto& id : runtime.store().list()) {
            auto it = tails.find(id);
            AlertTail tail = it != tails.end()
                                 ? std::move(it->second)
                                 : AlertTail(runtime.store().dir(id) + "/alerts.jsonl");
            tail.emit_new(id);
            current.emplace(id, std::move(tail));
        }
        tails = std::move(current);
        if (!follow)
            return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

int run_events(const Context&, Runtime& runtime, const ParsedArgs& args) {
    if (args.has("all")) {
        if (!args.positional.empty() || args.has("stats"))
            throw Error("--all: takes no container ID and no --stats");
        return run_all_alerts(runtime, args.has("follow"));
    }
    if (args.has("follow"))
        throw Error("--follow: only with --all (events ID follows the container already)");
    if (args.positional.empty())
        throw Error("events: a container ID, or --all");
    const std::string& id = args.positional.at(0);
    if (args.has("stats")) {
        emit("stats", id, runtime.stats(id));
        return 0;
    }
    const int interval_ms = parse_interval_ms(args.value_or("interval", "5s"));
    auto info = runtime.info(id);
    AlertTail alerts(runtime.store().dir(id) + "/alerts.jsonl");  // monitor::kAlertsFile
    if (info.status == state::Status::stopped) {
        alerts.emit_new(id);
        return 0;
    }
    std::unique_ptr<lifecycle::OomWatch> oom;
    try {
        oom = runtime.watch_oom(id);
    } catch (const Error&) {
        if (runtime.info(id).status == state::Status::stopped)
            return 0;  // it stopped meanwhile
        throw;
    }
    auto next_stats = std::chrono::steady_clock::now();
    for (;;) {
        auto status = runtime.info(id).status;
        auto now = std::chrono::steady_clock::now();
        // A running container's stream starts with its stats, as runc's (scripts read line 1).
        if (status != state::Status::stopped && now >= next_stats) {
            emit("stats", id, runtime.stats(id));
            next_stats = now + std::chrono::milliseconds(interval_ms);
        }
        alerts.emit_new(id);
        if (status == state::Status::stopped)
            return 0;
        int wait_ms = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(next_stats - now).count());
        // Wake at least once a second to notice the container stopping (and, without a
        // notifier, to count OOM kills).
        pollfd p{oom->fd(), POLLIN, 0};
        poll(&p, 1, std::min(wait_ms, 1000));
        if (oom->new_kills() > 0)
            emit("oom", id, nullptr);
    }
}

}  // namespace

Verb events_verb() {
    return {"events", {{"interval"}, {"stats", "all", "follow"}},
            0,        "events [--stats] [--interval 5s] ID | events --all [--follow]",
            false,    run_events};
}

}  // namespace brig::cli
