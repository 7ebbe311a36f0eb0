#include "runtime/linux/mount_options.hpp"

#include <sys/mount.h>

#include <array>
#include <string_view>

#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

struct FlagOption {
    std::string_view name;
    bool clear;  // the option turns the flag off
    unsigned long flag;
};

// Options mount(2) takes as flags. "defaults" is a no-op flag option.
constexpr std::array<FlagOption, 30> kFlagOptions{{
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
}};

struct PropagationOption {
    std::string_view name;
    unsigned long flags;
};

constexpr std::array<PropagationOption, 8> kPropagationOptions{{
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

struct RecursiveOption {
    std::string_view name;
    uint64_t set;
    uint64_t clear;
};

// atime is an enum inside MOUNT_ATTR__ATIME: changing it must clear the whole field.
constexpr std::array<RecursiveOption, 18> kRecursiveOptions{{
    {"rro", MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
}};

constexpr std::array<std::string_view, 4> kUnsupportedOptions{
    {"idmap", "ridmap", "tmpcopyup", "copy-symlink"}};

void set_atime(MountAttrChange& change, uint64_t atime) {
    change.set = (change.set & ~static_cast<uint64_t>(MOUNT_ATTR__ATIME)) | atime;
    change.clear |= MOUNT_ATTR__ATIME;
}

}  // namespace

bool MountOptions::bind() const {
    return (flags & MS_BIND) != 0;
}
bool MountOptions::recursive_bind() const {
    return bind() && (flags & MS_REC) != 0;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions parsed;
    for (const std::string& option : options) {
        if (option == "bind") {
            parsed.flags |= MS_BIND;
            continue;
        }
        if (option == "rbind") {
            parsed.flags |= MS_BIND | MS_REC;
            continue;
        }
        bool known = false;
        for (const FlagOption& f : kFlagOptions) {
            if (f.name != option)
                continue;
            if (f.clear) {
                parsed.flags &= ~f.flag;
                parsed.cleared |= f.flag;
            } else {
                parsed.flags |= f.flag;
                parsed.cleared &= ~f.flag;
            }
            known = true;
            break;
        }
        for (const PropagationOption& p : kPropagationOptions) {
            if (!known && p.name == option) {
                parsed.propagations.push_back(p.flags);
                known = true;
            }
        }
        for (const RecursiveOption& r : kRecursiveOptions) {
            if (known || r.name != option)
                continue;
            if (r.clear & MOUNT_ATTR__ATIME) {
                set_atime(parsed.recursive, r.set);
            } else {
                parsed.recursive.set = (parsed.recursive.set & ~r.clear) | r.set;
                parsed.recursive.clear = (parsed.recursive.clear & ~r.set) | r.clear;
            }
            known = true;
        }
        for (std::string_view unsupported : kUnsupportedOptions) {
            if (option == unsupported)
                throw Error("option \"" + option + "\" is not supported by brig");
        }
        if (known)
            continue;
        if (option.find(',') != std::string::npos)
            throw Error("option \"" + option + "\" contains a comma");
        if (!parsed.data.empty())
            parsed.data += ',';
        parsed.data += option;
    }
    return parsed;
}

MountAttrChange attr_change_for_flags(unsigned long set, unsigned long cleared) {
    struct Pair {
        unsigned long flag;
        uint64_t attr;
    };
    constexpr std::array<Pair, 5> kPairs{{{MS_RDONLY, MOUNT_ATTR_RDONLY},
                                          {MS_NOSUID, MOUNT_ATTR_NOSUID},
                                          {MS_NODEV, MOUNT_ATTR_NODEV},
                                          {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                                          {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}}};
    MountAttrChange change;
    for (const Pair& p : kPairs) {
        if (set & p.flag)
            change.set |= p.attr;
        else if (cleared & p.flag)
            change.clear |= p.attr;
    }
    if (set & MS_NOSYMFOLLOW)
        change.set |= MOUNT_ATTR_NOSYMFOLLOW;
    else if (cleared & MS_NOSYMFOLLOW)
        change.clear |= MOUNT_ATTR_NOSYMFOLLOW;
    if (set & MS_NOATIME)
        set_atime(change, MOUNT_ATTR_NOATIME);
    else if (set & MS_STRICTATIME)
        set_atime(change, MOUNT_ATTR_STRICTATIME);
    else if (set & MS_RELATIME || cleared & (MS_NOATIME | MS_STRICTATIME))
        set_atime(change, MOUNT_ATTR_RELATIME);
    return change;
}

unsigned long parse_rootfs_propagation(const std::string& value) {
    if (value.empty())
        return MS_REC | MS_PRIVATE;
    for (const PropagationOption& p : kPropagationOptions) {
        if (p.name == value)
            return p.flags;
    }
    throw Error("linux.rootfsPropagation: unknown value \"" + value + "\"");
}

}  // namespace brig::linux
