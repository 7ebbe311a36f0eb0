// Every mount option brig understands in a mount's "options", in one table: the mount code
// applies them and `brig features` lists them. Options not in the table (size=, mode=, ...) are
// file-system data passed to mount(2). (tmpcopyup, a crun extension, is not supported.)
#pragma once

#include <sys/mount.h>

#include <cstdint>
#include <string_view>

namespace brig::config {

enum class MountOptionKind {
    flag,         // mount(2) flags: add `flags`, or remove them when `clear`
    propagation,  // MS_SHARED/PRIVATE/SLAVE/UNBINDABLE (with MS_REC for the r* forms)
    recursive,    // applied to the whole tree with mount_setattr(AT_RECURSIVE): attr_set/attr_clr
    extension,    // handled by brig's mount code itself (idmap, ridmap: idmapped mounts)
};

struct MountOption {
    std::string_view name;
    MountOptionKind kind;
    bool clear = false;       // flag: remove `flags` instead of adding them
    unsigned long flags = 0;  // MS_* (flag, propagation)
    uint64_t attr_set = 0;    // MOUNT_ATTR_* (recursive)
    uint64_t attr_clr = 0;
};

namespace mount_option_detail {
constexpr MountOption flag(std::string_view n, unsigned long f) {
    return {n, MountOptionKind::flag, false, f, 0, 0};
}
constexpr MountOption unflag(std::string_view n, unsigned long f) {
    return {n, MountOptionKind::flag, true, f, 0, 0};
}
constexpr MountOption propagation(std::string_view n, unsigned long f) {
    return {n, MountOptionKind::propagation, false, f, 0, 0};
}
constexpr MountOption recursive(std::string_view n, uint64_t set, uint64_t clr) {
    return {n, MountOptionKind::recursive, false, 0, set, clr};
}
constexpr MountOption extension(std::string_view n) {
    return {n, MountOptionKind::extension, false, 0, 0, 0};
}
}  // namespace mount_option_detail

// The kernel takes the atime mode as one field: changing it means clearing MOUNT_ATTR__ATIME and
// setting the new mode (MOUNT_ATTR_RELATIME is 0).
inline constexpr MountOption kMountOptions[] = {
    mount_option_detail::flag("defaults", 0),
    mount_option_detail::flag("ro", MS_RDONLY),
    mount_option_detail::unflag("rw", MS_RDONLY),
    mount_option_detail::flag("nosuid", MS_NOSUID),
    mount_option_detail::unflag("suid", MS_NOSUID),
    mount_option_detail::flag("nodev", MS_NODEV),
    mount_option_detail::unflag("dev", MS_NODEV),
    mount_option_detail::flag("noexec", MS_NOEXEC),
    mount_option_detail::unflag("exec", MS_NOEXEC),
    mount_option_detail::flag("sync", MS_SYNCHRONOUS),
    mount_option_detail::unflag("async", MS_SYNCHRONOUS),
    mount_option_detail::flag("dirsync", MS_DIRSYNC),
    mount_option_detail::flag("remount", MS_REMOUNT),
    mount_option_detail::flag("mand", MS_MANDLOCK),
    mount_option_detail::unflag("nomand", MS_MANDLOCK),
    mount_option_detail::unflag("atime", MS_NOATIME),
    mount_option_detail::flag("noatime", MS_NOATIME),
    mount_option_detail::unflag("diratime", MS_NODIRATIME),
    mount_option_detail::flag("nodiratime", MS_NODIRATIME),
    mount_option_detail::flag("relatime", MS_RELATIME),
    mount_option_detail::unflag("norelatime", MS_RELATIME),
    mount_option_detail::flag("strictatime", MS_STRICTATIME),
    mount_option_detail::unflag("nostrictatime", MS_STRICTATIME),
    mount_option_detail::flag("lazytime", MS_LAZYTIME),
    mount_option_detail::unflag("nolazytime", MS_LAZYTIME),
    mount_option_detail::flag("nosymfollow", MS_NOSYMFOLLOW),
    mount_option_detail::unflag("symfollow", MS_NOSYMFOLLOW),
    mount_option_detail::flag("iversion", MS_I_VERSION),
    mount_option_detail::unflag("noiversion", MS_I_VERSION),
    mount_option_detail::flag("silent", MS_SILENT),
    mount_option_detail::unflag("loud", MS_SILENT),
    mount_option_detail::flag("bind", MS_BIND),
    mount_option_detail::flag("rbind", MS_BIND | MS_REC),

    mount_option_detail::propagation("private", MS_PRIVATE),
    mount_option_detail::propagation("rprivate", MS_PRIVATE | MS_REC),
    mount_option_detail::propagation("shared", MS_SHARED),
    mount_option_detail::propagation("rshared", MS_SHARED | MS_REC),
    mount_option_detail::propagation("slave", MS_SLAVE),
    mount_option_detail::propagation("rslave", MS_SLAVE | MS_REC),
    mount_option_detail::propagation("unbindable", MS_UNBINDABLE),
    mount_option_detail::propagation("runbindable", MS_UNBINDABLE | MS_REC),

    mount_option_detail::recursive("rro", MOUNT_ATTR_RDONLY, 0),
    mount_option_detail::recursive("rrw", 0, MOUNT_ATTR_RDONLY),
    mount_option_detail::recursive("rnosuid", MOUNT_ATTR_NOSUID, 0),
    mount_option_detail::recursive("rsuid", 0, MOUNT_ATTR_NOSUID),
    mount_option_detail::recursive("rnodev", MOUNT_ATTR_NODEV, 0),
    mount_option_detail::recursive("rdev", 0, MOUNT_ATTR_NODEV),
    mount_option_detail::recursive("rnoexec", MOUNT_ATTR_NOEXEC, 0),
    mount_option_detail::recursive("rexec", 0, MOUNT_ATTR_NOEXEC),
    mount_option_detail::recursive("rnodiratime", MOUNT_ATTR_NODIRATIME, 0),
    mount_option_detail::recursive("rdiratime", 0, MOUNT_ATTR_NODIRATIME),
    mount_option_detail::recursive("rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME),
    mount_option_detail::recursive("ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME),
    mount_option_detail::recursive("rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME),
    mount_option_detail::recursive("rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME),
    mount_option_detail::recursive("rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME),
    mount_option_detail::recursive("rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME),
    mount_option_detail::recursive("rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0),
    mount_option_detail::recursive("rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW),

    mount_option_detail::extension("idmap"),
    mount_option_detail::extension("ridmap"),
};

// The table entry for `name`, or nullptr (then it is file-system data).
constexpr const MountOption* find_mount_option(std::string_view name) {
    for (const auto& option : kMountOptions)
        if (option.name == name)
            return &option;
    return nullptr;
}

}  // namespace brig::config
