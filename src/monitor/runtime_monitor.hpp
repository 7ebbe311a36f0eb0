// brig's eBPF monitor behind the lifecycle's ContainerMonitor interface: what `brig create`,
// `delete` and `state` call. Falls back to running containers unwatched, with a warning, when
// the kernel cannot load the monitor.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "monitor/monitor.hpp"
#include "runtime/common/log.hpp"
#include "runtime/lifecycle/container_monitor.hpp"

namespace brig::monitor {

class RuntimeMonitor final : public lifecycle::ContainerMonitor {
public:
    // config_path: --config, or "" for /etc/brig/config.json (absent is fine there).
    RuntimeMonitor(const std::string& config_path, const Logger& log);

    std::unique_ptr<lifecycle::ContainerWatch> prepare(
        const lifecycle::MonitoredContainer& container) override;
    void release(uint64_t cgroup2_id, const std::string& state_dir) override;
    std::optional<std::string> killed_by(const std::string& state_dir) override;
    // The config's "systemd_cgroup".
    bool systemd_cgroup() const { return config_.systemd_cgroup; }

    struct Watched {
        std::string id;
        std::string state_dir;
        uint64_t cgroup2_id = 0;
    };
    // `brig metrics`: the containers' alerts and drops, and the path in force, in Prometheus's
    // text format (metrics.hpp). Loads nothing the first container would not load anyway.
    std::string prometheus_metrics(const std::vector<Watched>& containers);

private:
    // Loads (or reuses the pinned) BPF side on first use; null when the kernel cannot.
    Monitor* kernel_side();

    const Logger& log_;
    MonitorConfig config_;
    std::optional<Monitor> monitor_;
    bool unavailable_ = false;
};

}  // namespace brig::monitor
