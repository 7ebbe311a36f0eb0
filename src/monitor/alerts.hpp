// Kernel events to rule matches to Falco-format alerts.
#pragma once

#include <time.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "monitor/monitor.hpp"
#include "monitor/rate_limit.hpp"

struct brig_event;

namespace brig::monitor {

// The field values of one kernel event in one container.
EventFields event_fields(const brig_event& event, const ContainerPolicy& policy);
// fd.name, fd.directory and fd.filename of a path.
void set_path_fields(EventFields& fields, const std::string& path);

struct Alert {
    std::string time;  // RFC 3339, UTC, nanoseconds
    std::string rule;
    Priority priority = Priority::warning;
    std::string output;
    std::vector<std::pair<std::string, std::string>> output_fields;
    std::vector<std::string> tags;
    std::string hostname;
    Action action = Action::alert;
    bool enforced_in_kernel = false;
    // Judged while the exec waited (exec_verdicts.hpp): the program never ran. Output field
    // brig.before_exec.
    bool before_exec = false;
    std::string source = "syscall";  // Falco's: "internal" for brig's own alerts
    // brig.count: the events the alert stands for (itself and the repeats the kernel coalesced
    // since the last alert of the same rule, thread and object); 0 for brig's own alerts.
    uint64_t count = 0;
};
// One Falco JSON line (no trailing newline); output_fields typed as Falco's (numbers, booleans,
// null for a field the event has no value for).
std::string alert_json(const Alert& alert);
std::string rfc3339(const struct timespec& wall);

// One of brig's own alerts (source "internal"): `text` after the time and the priority, as
// Falco's output; tags brig and `tag`.
Alert internal_alert(const std::string& rule, Priority priority, const std::string& text,
                     bool time_format_iso_8601, const std::string& tag);

// Falco's internal alert for events that did not reach the watcher: rule "Falco internal:
// syscall event drop", output_fields container.id, n_drops, n_drops_buffer (the ring was full)
// and n_drops_shed (shed while the ring was more than half full; the output names the rules).
Alert drop_alert(const ContainerPolicy& policy, const EventDrops& drops,
                 const std::map<uint32_t, uint64_t>& shed_by_rule);
// The alerts the rate limit (outputs.rate, max_burst) suppressed, by rule: "Falco internal:
// alerts rate limited", output_fields container.id, n_suppressed (alerts) and brig.count (the
// events they stood for).
Alert rate_limit_alert(const ContainerPolicy& policy, const OutputConfig& outputs,
                       const std::map<std::string, AlertRateLimit::Suppressed>& suppressed);

// What the container's exec events said about its processes: later events (open, socket, ...)
// carry only the comm, but proc.exe and proc.cmdline describe the whole process, as in Falco.
class ProcessTable {
public:
    // Exec events are remembered; other events get the exe and command line of their process
    // (or of the parent they forked from without exec). Every event gets its evt.num and its
    // ancestors (proc.aname[N], proc.pcmdline, ...) as far as the container's execs tell.
    void complete(const brig_event& event, EventFields& fields);
    // The same for an exec that has not run yet (judged before the fact): nothing is recorded.
    void describe_exec(const brig_event& event, EventFields& fields) const;

private:
    void resolve_applet(const brig_event& event, EventFields& fields) const;
    struct Process {
        std::string name, exe, exepath, args;
        uint32_t ppid = 0;
    };
    std::map<uint32_t, Process>::const_iterator own_process(const brig_event& event,
                                                            const std::string& comm) const;
    void set_ancestors(uint32_t ppid, EventFields& fields) const;
    std::map<uint32_t, Process> processes_;
    uint64_t events_ = 0;
};

// The rules that match an event: user-space evaluation of every rule, plus the kernel's verdict.
// `count`: the events it stands for (brig.count).
std::vector<Alert> match_event(const brig_event& event, const ContainerPolicy& policy,
                               ProcessTable& processes, uint64_t count = 1);

// The alert of `rule` on an event's fields, stamped with the event's time (boot_ns).
Alert rule_alert(const CompiledRule& rule, const EventFields& fields, uint64_t boot_ns,
                 const ContainerPolicy& policy);
// The alerts of the rules judged before exec (CompiledRule::judged_before_exec) that match the
// fields of a pending exec event.
std::vector<Alert> match_judged_rules(const brig_event& event, const EventFields& fields,
                                      const ContainerPolicy& policy);

// The fields naming the container and its pod (container.id, container.name, image, k8s.*) that
// every alert of it carries, brig's own included, in this order.
std::vector<std::pair<std::string, std::string>> container_identity(const ContainerPolicy& policy);

// Writes alerts to the container's log and the configured outputs.
class AlertSink {
public:
    // `policy`: the container's identity (id, name, image, pod) and time format, which brig's
    // own alerts about its outputs carry as rule alerts do.
    AlertSink(const OutputConfig& outputs, const std::string& container_state_dir,
              const ContainerPolicy& policy);
    void emit(const Alert& alert);
    // Failed deliveries by output ("log", "stdout", "file", "syslog", "http", "program"); each
    // failing output is itself alerted (1st, 2nd, 4th... failure) in the container's log.
    const std::map<std::string, uint64_t>& failures() const { return failures_; }

private:
    void failed(const std::string& output, const std::string& why);
    // Appends to a file of alerts, rotating it at outputs.file_max_bytes.
    bool append(const std::string& path, const std::string& line);

    OutputConfig outputs_;
    std::string log_path_;
    std::string container_id_;
    std::vector<std::pair<std::string, std::string>> identity_;  // container_identity()
    bool time_format_iso_8601_;
    std::map<std::string, uint64_t> failures_;
};

}  // namespace brig::monitor
