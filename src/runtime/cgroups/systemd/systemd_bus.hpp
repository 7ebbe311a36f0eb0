// What the systemd cgroup driver asks of systemd (the seam the unit tests replace), and the
// real thing: systemd's Manager over D-Bus.
#pragma once

#include <memory>
#include <string>

#include "runtime/cgroups/systemd/dbus_message.hpp"

namespace brig::cgroups {

class SystemdBus {
public:
    virtual ~SystemdBus() = default;
    // StartTransientUnit(name, "fail", properties) and its job's end. False when a unit of that
    // name is loaded already (the caller decides whether sharing it is fine); throws naming the
    // unit when systemd refuses or the job does not end "done".
    virtual bool start_transient_unit(const std::string& name,
                                      const dbus::Properties& properties) = 0;
    // SetUnitProperties(name, runtime=true, properties).
    virtual void set_unit_properties(const std::string& name,
                                     const dbus::Properties& properties) = 0;
    // StopUnit(name, "replace") and its job's end, then ResetFailedUnit. A unit systemd does not
    // know (stopped and collected already) is no error.
    virtual void stop_unit(const std::string& name) = 0;
};

// Connects as root to systemd's private socket (/run/systemd/private, served by PID 1 itself,
// as systemctl does), else to the system bus (/run/dbus/system_bus_socket). Throws
// "--systemd-cgroup: ..." when neither answers: brig never falls back to cgroupfs behind
// systemd's back.
std::unique_ptr<SystemdBus> connect_systemd();

}  // namespace brig::cgroups
