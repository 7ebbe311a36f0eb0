// config.json mount options ("ro", "rbind", "rnosuid", "size=64m", ...) parsed into what the
// kernel takes: mount(2) flags, propagation changes, recursive mount_setattr(2) changes and the
// file system's data string.
#pragma once

#include <string>
#include <vector>

#include "runtime/linux/syscalls.hpp"

namespace brig::linux {

struct MountOptions {
    unsigned long flags = 0;    // MS_* set, MS_BIND and MS_REC included for bind/rbind
    unsigned long cleared = 0;  // MS_* explicitly turned off (rw, suid, dev, exec, atime ...)
    std::vector<unsigned long> propagations;  // MS_SHARED|MS_REC ..., applied in order
    MountAttrChange recursive;                // the r* options, for mount_setattr AT_RECURSIVE
    std::string data;                         // everything else, comma-joined in order
    bool idmap = false;                       // idmap or ridmap: an idmapped bind mount
    bool idmap_recursive = false;             // ridmap

    bool bind() const;
    bool recursive_bind() const;
};

// Options are those of config/mount_option_table.hpp; others are file-system data. Throws
// brig::Error naming an option brig cannot honour (tmpcopyup).
MountOptions parse_mount_options(const std::vector<std::string>& options);

// The mount_setattr change that gives a bind mount the MS_* flags set and cleared (the flags
// of a bind mount are not taken from mount(2) but applied afterwards).
MountAttrChange attr_change_for_flags(unsigned long set, unsigned long cleared);

// rootfsPropagation ("rprivate", "slave", ...) to MS_* flags; "" gives MS_REC|MS_PRIVATE.
unsigned long parse_rootfs_propagation(const std::string& value);

}  // namespace brig::linux
