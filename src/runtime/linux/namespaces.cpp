#include "runtime/linux/namespaces.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>

#include <algorithm>
#include <string>

#include "runtime/common/error.hpp"
#include "runtime/linux/syscalls.hpp"

namespace brig::linux {
namespace {

// A namespace file named by the config, opened only once it is known to be one: a FIFO or a
// device planted there is never opened (which could block or act, as a tape rewinds).
UniqueFd open_namespace_file(const std::string& path, const std::string& where) {
    UniqueFd handle(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!handle)
        throw_errno(where + ": cannot open " + path);
    struct statfs fs {};
    if (fstatfs(handle.get(), &fs) != 0 || fs.f_type != NSFS_MAGIC)
        throw Error(where + ": " + path + " is not a namespace file");
    std::string reopen = "/proc/self/fd/" + std::to_string(handle.get());
    UniqueFd fd(::open(reopen.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw_errno(where + ": cannot open " + path);
    return fd;
}

std::string format_mappings(const std::vector<config::IdMapping>& mappings) {
    std::string out;
    for (const auto& m : mappings)
        out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
               std::to_string(m.size) + "\n";
    return out;
}

}  // namespace

NamespacePlan plan_namespaces(const config::Linux& linux) {
    NamespacePlan plan;
    for (size_t i = 0; i < linux.namespaces.size(); ++i) {
        const auto& ns = linux.namespaces[i];
        if (ns.path.empty()) {
            if (ns.type == config::NamespaceType::time) {
                plan.new_time = true;  // entered by the init itself: offsets must precede it
                continue;
            }
            plan.clone_flags |= config::namespace_clone_flag(ns.type);
            if (ns.type == config::NamespaceType::user)
                plan.new_user = true;
            continue;
        }
        std::string where = "linux.namespaces[" + std::to_string(i) + "].path";
        UniqueFd fd = open_namespace_file(ns.path, where);
        int type = ioctl(fd.get(), NS_GET_NSTYPE);
        if (type < 0)
            throw Error(where + ": " + ns.path + " is not a namespace file");
        if (type != config::namespace_clone_flag(ns.type))
            throw Error(where + ": " + ns.path + " is not a " +
                        config::namespace_type_name(ns.type) + " namespace");
        if (ns.type == config::NamespaceType::pid)
            plan.join_pid = true;
        plan.joins.push_back({ns.type, std::move(fd)});
    }
    // Joining the user namespace first gives the rights to join the others.
    std::stable_partition(plan.joins.begin(), plan.joins.end(), [](const NamespaceToJoin& j) {
        return j.type == config::NamespaceType::user;
    });
    return plan;
}

void write_id_mappings(Syscalls& sys, pid_t pid, const std::vector<config::IdMapping>& uid_mappings,
                       const std::vector<config::IdMapping>& gid_mappings, bool deny_setgroups) {
    // setgroups must be denied before gid_map is written, or the kernel refuses the map.
    if (deny_setgroups)
        sys.write_proc_pid_file(pid, "setgroups", "deny");
    if (!uid_mappings.empty())
        sys.write_proc_pid_file(pid, "uid_map", format_mappings(uid_mappings));
    if (!gid_mappings.empty())
        sys.write_proc_pid_file(pid, "gid_map", format_mappings(gid_mappings));
}

void write_id_mappings(pid_t pid, const std::vector<config::IdMapping>& uid_mappings,
                       const std::vector<config::IdMapping>& gid_mappings, bool deny_setgroups) {
    RealSyscalls sys;
    write_id_mappings(sys, pid, uid_mappings, gid_mappings, deny_setgroups);
}

void enter_new_time_namespace(const std::map<std::string, std::pair<int64_t, uint32_t>>& offsets) {
    if (unshare(CLONE_NEWTIME) != 0)
        throw_errno("cannot create time namespace");
    std::string content;
    for (const auto& [clock, off] : offsets)
        content +=
            clock + " " + std::to_string(off.first) + " " + std::to_string(off.second) + "\n";
    if (!content.empty()) {
        UniqueFd fd(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
        if (!fd || ::write(fd.get(), content.data(), content.size()) < 0)
            throw_errno("linux.timeOffsets: cannot write /proc/self/timens_offsets");
    }
    UniqueFd ns(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!ns || setns(ns.get(), CLONE_NEWTIME) != 0)
        throw_errno("cannot enter the new time namespace");
}

}  // namespace brig::linux
