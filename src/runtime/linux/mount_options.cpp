#include "runtime/linux/mount_options.hpp"

#include <sys/mount.h>

#include <array>

#include "runtime/common/error.hpp"
#include "runtime/config/mount_option_table.hpp"

namespace brig::linux {
namespace {

using config::MountOptionKind;

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
        // One table (config/mount_option_table.hpp) for what is applied and what `features` lists.
        const config::MountOption* known = config::find_mount_option(option);
        if (!known) {
            if (option == "tmpcopyup")
                throw Error("option \"tmpcopyup\" is not supported by brig");
            if (option.find(',') != std::string::npos)
                throw Error("option \"" + option + "\" contains a comma");
            if (!parsed.data.empty())
                parsed.data += ',';
            parsed.data += option;
            continue;
        }
        switch (known->kind) {
            case MountOptionKind::flag:
                if (known->clear) {
                    parsed.flags &= ~known->flags;
                    parsed.cleared |= known->flags;
                } else {
                    parsed.flags |= known->flags;
                    parsed.cleared &= ~known->flags;
                }
                break;
            case MountOptionKind::propagation:
                parsed.propagations.push_back(known->flags);
                break;
            case MountOptionKind::recursive:
                if (known->attr_clr & MOUNT_ATTR__ATIME) {
                    set_atime(parsed.recursive, known->attr_set);
                } else {
                    parsed.recursive.set =
                        (parsed.recursive.set & ~known->attr_clr) | known->attr_set;
                    parsed.recursive.clear =
                        (parsed.recursive.clear & ~known->attr_set) | known->attr_clr;
                }
                break;
            case MountOptionKind::extension:
                if (option != "idmap" && option != "ridmap")
                    throw Error("option \"" + option + "\" is not supported by brig");
                parsed.idmap = true;
                parsed.idmap_recursive = parsed.idmap_recursive || option == "ridmap";
                break;
        }
    }
    return parsed;
}

MountAttrChange attr_change_for_flags(unsigned long set, unsigned long cleared) {
    struct Pair {
        unsigned long flag;
        uint64_t attr;
    };
    constexpr std::array<Pair, 6> kPairs{{{MS_RDONLY, MOUNT_ATTR_RDONLY},
                                          {MS_NOSUID, MOUNT_ATTR_NOSUID},
                                          {MS_NODEV, MOUNT_ATTR_NODEV},
                                          {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                                          {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
                                          {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}}};
    MountAttrChange change;
    for (const Pair& p : kPairs) {
        if (set & p.flag)
            change.set |= p.attr;
        else if (cleared & p.flag)
            change.clear |= p.attr;
    }
    if (set & MS_NOATIME)
        set_atime(change, MOUNT_ATTR_NOATIME);
    else if (set & MS_STRICTATIME)
        set_atime(change, MOUNT_ATTR_STRICTATIME);
    else if (set & MS_RELATIME || cleared & (MS_NOATIME | MS_STRICTATIME))
        set_atime(change, MOUNT_ATTR_RELATIME);
    return change;
}

unsigned long parse_rootfs_propagation(const std::string& value) {
    // As runc: host mounts keep propagating into the container, never the other way.
    if (value.empty())
        return MS_REC | MS_SLAVE;
    const config::MountOption* known = config::find_mount_option(value);
    if (!known || known->kind != MountOptionKind::propagation)
        throw Error("linux.rootfsPropagation: unknown value \"" + value + "\"");
    return known->flags;
}

}  // namespace brig::linux
