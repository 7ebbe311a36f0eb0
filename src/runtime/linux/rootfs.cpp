#include "runtime/linux/rootfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <sstream>
#include <string_view>

#include "runtime/common/elide.hpp"
#include "runtime/common/error.hpp"
#include "runtime/linux/devices.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "runtime/linux/procfs.hpp"

namespace brig::linux {
namespace {

using config::NamespaceType;

bool has_namespace(const config::Spec& spec, NamespaceType type) {
    return spec.linux && spec.linux->find_namespace(type) != nullptr;
}

bool is_under(const std::string& clean, std::string_view top) {
    return clean.size() > top.size() && clean.compare(0, top.size(), top) == 0 &&
           clean[top.size()] == '/';
}

// Files below /proc a bind mount may cover (lxcfs and the like), as runc allows.
constexpr std::array<std::string_view, 10> kProcBindAllowed{
    {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
     "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev",
     "/proc/sys/kernel/ns_last_pid"}};

// Where symlinks are refused outright rather than followed inside the root (classes 3, 8).
Symlinks symlink_policy(const std::string& clean, const std::string& type) {
    if (type == "proc" || type == "sysfs" || type == "devpts" || type == "mqueue" ||
        type == "cgroup" || type == "cgroup2")
        return Symlinks::refuse;
    for (std::string_view top : {"/proc", "/sys", "/dev"}) {
        if (clean == top)
            return Symlinks::refuse;
    }
    if (is_under(clean, "/proc") || is_under(clean, "/sys"))
        return Symlinks::refuse;
    return Symlinks::follow_in_root;
}

// After mounting onto the pinned fd: the destination, looked up again from the root without
// symlinks, must be the root of a mount at the same place (CVE-2021-30465 swaps).
UniqueFd reopen_mounted(Syscalls& sys, const RootDir& root, const std::string& inside) {
    UniqueFd fd = open_in_root(sys, root, inside, Symlinks::refuse);
    if (path_inside_root(root, fd.get()) != inside || !sys.is_mount_root(fd.get()))
        throw Error("the mount did not land on " + inside + ", refusing");
    return fd;
}

void apply_after_mount(Syscalls& sys, int mounted, const MountOptions& options) {
    for (unsigned long propagation : options.propagations) {
        MountAttrChange change;
        change.propagation = propagation & ~static_cast<unsigned long>(MS_REC);
        sys.mount_setattr(mounted, "", AT_EMPTY_PATH | (propagation & MS_REC ? AT_RECURSIVE : 0),
                          change);
    }
    if (!options.recursive.empty())
        sys.mount_setattr(mounted, "", AT_EMPTY_PATH | AT_RECURSIVE, options.recursive);
}

struct MountInfo {
    std::string root, mount_point, fstype, super_options;
};

std::string unescape_octal(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<MountInfo> parse_mountinfo(const std::string& text) {
    std::vector<MountInfo> entries;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        size_t dash = line.find(" - ");
        if (dash == std::string::npos)
            continue;
        std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
        std::string id, parent, dev;
        MountInfo entry;
        std::string source;
        if (!(head >> id >> parent >> dev >> entry.root >> entry.mount_point))
            continue;
        if (!(tail >> entry.fstype >> source >> entry.super_options))
            continue;
        entry.root = unescape_octal(entry.root);
        entry.mount_point = unescape_octal(entry.mount_point);
        entries.push_back(std::move(entry));
    }
    return entries;
}

std::vector<std::string> split(const std::string& s, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, separator))
        parts.push_back(part);
    return parts;
}

struct MountContext {
    Syscalls& sys;
    const config::Spec& spec;
    const RootDir& root;
    const RootfsOptions& options;
};

// Host ids of a mount's idmapping seen from the container's user namespace (init runs in it).
std::vector<config::IdMapping> to_container_ids(const std::vector<config::IdMapping>& mappings,
                                                const std::vector<config::IdMapping>& container,
                                                const char* what) {
    std::vector<config::IdMapping> out;
    for (config::IdMapping m : mappings) {
        auto range = std::find_if(container.begin(), container.end(), [&](const auto& c) {
            return m.host_id >= c.host_id &&
                   uint64_t{m.host_id} + m.size <= uint64_t{c.host_id} + c.size;
        });
        if (range == container.end())
            throw Error(std::string("idmap: ") + what + " " + std::to_string(m.host_id) +
                        " is not mapped into the container's user namespace");
        m.host_id = range->container_id + (m.host_id - range->host_id);
        out.push_back(m);
    }
    return out;
}

UniqueFd idmap_user_namespace(MountContext& ctx, const config::Mount& mount) {
    const bool own_userns = has_namespace(ctx.spec, NamespaceType::user);
    if (!mount.uid_mappings.empty()) {
        if (!own_userns)
            return ctx.sys.create_user_namespace(mount.uid_mappings, mount.gid_mappings);
        if (ctx.spec.linux->uid_mappings.empty())
            throw Error("idmap: mappings on a mount need the container's linux.uidMappings");
        return ctx.sys.create_user_namespace(
            to_container_ids(mount.uid_mappings, ctx.spec.linux->uid_mappings, "uid"),
            to_container_ids(mount.gid_mappings, ctx.spec.linux->gid_mappings, "gid"));
    }
    if (own_userns)
        return ctx.sys.open_own_user_namespace();
    throw Error("idmap needs uidMappings and gidMappings on the mount, or a user namespace");
}

// The source tree brig copied for mounts[index] outside the user namespace, or -1.
int source_tree_of(const MountContext& ctx, size_t index) {
    auto it = ctx.options.source_trees.find(index);
    return it == ctx.options.source_trees.end() ? -1 : it->second;
}

// A bind mount: the source pinned by fd, the target created like it (directory or file). A
// source the container's root may not reach is mounted from the copy brig made of it outside
// the user namespace (`source_tree`), as runc does with its mount fds.
void bind_mount(MountContext& ctx, const config::Mount& mount, const MountOptions& options,
                const std::string& dest, Symlinks symlinks, int source_tree) {
    UniqueFd source;
    try {
        source = ctx.sys.openat2(AT_FDCWD, mount.source, O_PATH, 0, 0);
    } catch (const Error& e) {
        const bool denied = e.errnum() == EACCES || e.errnum() == EPERM;
        if (!denied || source_tree < 0 || options.idmap)
            throw Error("bind source " + mount.source, e.errnum());
    }
    const int pinned = source ? source.get() : source_tree;
    const Leaf leaf = S_ISDIR(ctx.sys.fstat(pinned).st_mode) ? Leaf::directory : Leaf::file;
    UniqueFd target = create_in_root(ctx.sys, ctx.root, dest, leaf, symlinks);
    const std::string inside = path_inside_root(ctx.root, target.get());
    if (!source) {
        ctx.sys.move_mount(source_tree, target.get());
    } else if (options.idmap) {
        // A detached copy of the source gets the idmapping, then goes onto the pinned target.
        UniqueFd userns = idmap_user_namespace(ctx, mount);
        UniqueFd tree = ctx.sys.open_tree(
            source.get(), "",
            OPEN_TREE_CLONE | AT_EMPTY_PATH | (options.flags & MS_REC ? AT_RECURSIVE : 0));
        MountAttrChange idmap;
        idmap.set = MOUNT_ATTR_IDMAP;
        idmap.userns_fd = userns.get();
        ctx.sys.mount_setattr(tree.get(), "",
                              AT_EMPTY_PATH | (options.idmap_recursive ? AT_RECURSIVE : 0), idmap);
        ctx.sys.move_mount(tree.get(), target.get());
    } else {
        ctx.sys.mount(fd_path(source.get()), fd_path(target.get()), "",
                      MS_BIND | (options.flags & MS_REC), "");
    }
    UniqueFd mounted = reopen_mounted(ctx.sys, ctx.root, inside);
    const unsigned long per_mount = options.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    MountAttrChange change = attr_change_for_flags(per_mount, options.cleared);
    if (!change.empty())
        ctx.sys.mount_setattr(mounted.get(), "", AT_EMPTY_PATH, change);
    apply_after_mount(ctx.sys, mounted.get(), options);
}

// cgroup v1 host: a tmpfs with each of the container's hierarchies in it, mounted fresh in a
// cgroup namespace, else its own cgroup bound from the host; read-only unless asked "rw".
void mount_cgroup_v1(MountContext& ctx, const MountOptions& options, const std::string& dest) {
    UniqueFd target = create_in_root(ctx.sys, ctx.root, dest, Leaf::directory, Symlinks::refuse);
    const std::string inside = path_inside_root(ctx.root, target.get());
    const unsigned long hardening = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    ctx.sys.mount("tmpfs", fd_path(target.get()), "tmpfs", (options.flags & ~MS_RDONLY) | hardening,
                  "mode=755");
    UniqueFd tmpfs = reopen_mounted(ctx.sys, ctx.root, inside);

    const bool own_cgroupns = has_namespace(ctx.spec, NamespaceType::cgroup);
    const auto mounts = parse_mountinfo(ctx.sys.read_text_file("/proc/self/mountinfo"));
    for (const std::string& line : split(ctx.sys.read_text_file("/proc/self/cgroup"), '\n')) {
        auto fields = split(line, ':');
        if (fields.size() < 3)
            continue;
        const std::string& controllers = fields[1];
        std::string path = line.substr(fields[0].size() + fields[1].size() + 2);
        const auto tokens = split(controllers, ',');
        auto hierarchy = std::find_if(mounts.begin(), mounts.end(), [&](const MountInfo& m) {
            if (controllers.empty())
                return m.fstype == "cgroup2";
            if (m.fstype != "cgroup")
                return false;
            auto options = split(m.super_options, ',');
            return std::all_of(tokens.begin(), tokens.end(), [&](const std::string& t) {
                return std::find(options.begin(), options.end(), t) != options.end();
            });
        });
        if (hierarchy == mounts.end())
            continue;
        const std::string name = path_components(hierarchy->mount_point).empty()
                                     ? std::string()
                                     : path_components(hierarchy->mount_point).back();
        if (name.empty())
            continue;
        UniqueFd sub = create_in_root(ctx.sys, ctx.root, inside + "/" + name, Leaf::directory,
                                      Symlinks::refuse);
        if (own_cgroupns) {
            ctx.sys.mount("cgroup", fd_path(sub.get()), hierarchy->fstype, hardening, controllers);
        } else {
            // Without a cgroup namespace only the container's own cgroup is shown.
            std::string relative = path;
            if (hierarchy->root != "/") {
                if (!is_under(path, hierarchy->root) && path != hierarchy->root)
                    continue;
                relative = path.substr(hierarchy->root.size());
            }
            UniqueFd source;
            try {
                source = ctx.sys.openat2(AT_FDCWD, hierarchy->mount_point + relative,
                                         O_PATH | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS);
            } catch (const Error& e) {
                if (e.errnum() == ENOENT)
                    continue;  // the container has no cgroup in this hierarchy
                throw;
            }
            ctx.sys.mount(fd_path(source.get()), fd_path(sub.get()), "", MS_BIND | MS_REC, "");
        }
        UniqueFd mounted = reopen_mounted(ctx.sys, ctx.root, inside + "/" + name);
        MountAttrChange change = attr_change_for_flags(options.flags | hardening, options.cleared);
        ctx.sys.mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, change);
        for (const std::string& token : tokens) {
            if (token == name || token.find('=') != std::string::npos)
                continue;
            try {
                ctx.sys.symlinkat(name, tmpfs.get(), token);  // cpu -> cpu,cpuacct
            } catch (const Error& e) {
                if (e.errnum() != EEXIST)
                    throw;
            }
        }
    }
    if (options.flags & MS_RDONLY)
        ctx.sys.mount_setattr(tmpfs.get(), "", AT_EMPTY_PATH, MountAttrChange{MOUNT_ATTR_RDONLY});
    apply_after_mount(ctx.sys, tmpfs.get(), options);
}

void mount_filesystem(MountContext& ctx, const config::Mount& mount, const MountOptions& options,
                      const std::string& dest, Symlinks symlinks) {
    std::string type = mount.type;
    if (type == "cgroup" || type == "cgroup2") {
        if (ctx.sys.statfs_type("/sys/fs/cgroup") != CGROUP2_SUPER_MAGIC) {
            mount_cgroup_v1(ctx, options, dest);
            return;
        }
        type = "cgroup2";
    }
    if (type.empty())
        throw Error("type is required for a mount that is not a bind mount");
    UniqueFd target = [&] {
        try {
            return create_in_root(ctx.sys, ctx.root, dest, Leaf::directory, symlinks);
        } catch (const Error& e) {
            if (e.errnum() != ELOOP || (type != "proc" && type != "sysfs"))
                throw;
            // runc's words (its mask.bats matches them).
            throw Error::passed_on(type + " must be mounted on ordinary directory: " + e.what(),
                                   ELOOP);
        }
    }();
    const std::string inside = path_inside_root(ctx.root, target.get());
    const std::string source = mount.source.empty() ? type : mount.source;
    try {
        ctx.sys.mount(source, fd_path(target.get()), type, options.flags, options.data);
    } catch (const Error& e) {
        // A user namespace without its own network namespace may not mount sysfs: show the
        // host's, as runc does, with the same flags.
        if (type != "sysfs" || e.errnum() != EPERM)
            throw;
        UniqueFd host_sys = ctx.sys.openat2(AT_FDCWD, "/sys", O_PATH | O_DIRECTORY, 0, 0);
        ctx.sys.mount(fd_path(host_sys.get()), fd_path(target.get()), "", MS_BIND | MS_REC, "");
        UniqueFd mounted = reopen_mounted(ctx.sys, ctx.root, inside);
        ctx.sys.mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE,
                              attr_change_for_flags(options.flags, options.cleared));
        apply_after_mount(ctx.sys, mounted.get(), options);
        return;
    }
    UniqueFd mounted = reopen_mounted(ctx.sys, ctx.root, inside);
    apply_after_mount(ctx.sys, mounted.get(), options);
}

void do_mount(MountContext& ctx, const config::Mount& mount, size_t index) {
    MountOptions options = parse_mount_options(mount.options);
    if (mount.type == "bind")
        options.flags |= MS_BIND;
    // linux.mountLabel labels the file systems the container writes to, as runc does.
    if (!ctx.options.mount_label_option.empty() &&
        (mount.type == "tmpfs" || mount.type == "devpts" || mount.type == "mqueue"))
        options.data += (options.data.empty() ? "" : ",") + ctx.options.mount_label_option;
    if (options.idmap && !options.bind())
        throw Error("idmap is supported on bind mounts only");
    const std::string dest = clean_path(mount.destination);
    if (dest == "/")
        throw Error("cannot mount over the rootfs itself");
    if (mount.type == "proc" && dest != "/proc")
        throw Error("proc may only be mounted on /proc");
    if (is_under(dest, "/proc") &&
        (!options.bind() || std::find(kProcBindAllowed.begin(), kProcBindAllowed.end(), dest) ==
                                kProcBindAllowed.end()))
        throw Error("mounting over " + dest + " is not allowed");
    // A read-only /dev is populated first (devices, /dev/pts, the console) and made read-only
    // by finalize_rootfs, as runc does.
    if (dest == "/dev" && !options.bind())
        options.flags &= ~MS_RDONLY;
    const Symlinks symlinks = symlink_policy(dest, mount.type);
    if (is_under(dest, "/dev"))
        create_in_root(ctx.sys, ctx.root, "/dev", Leaf::directory, Symlinks::refuse);  // class 8
    if (options.flags & MS_REMOUNT) {
        UniqueFd target = open_in_root(ctx.sys, ctx.root, dest, symlinks);
        path_inside_root(ctx.root, target.get());
        ctx.sys.mount("", fd_path(target.get()), "", options.flags, options.data);
        apply_after_mount(ctx.sys, target.get(), options);
        return;
    }
    if (options.bind())
        bind_mount(ctx, mount, options, dest, symlinks, source_tree_of(ctx, index));
    else
        mount_filesystem(ctx, mount, options, dest, symlinks);
}

// A file system mounted on /dev with "ro": do_mount mounts it writable.
bool dev_is_read_only(const config::Spec& spec) {
    for (const config::Mount& m : spec.mounts) {
        if (m.type == "bind" || clean_path(m.destination) != "/dev")
            continue;
        MountOptions options = parse_mount_options(m.options);
        if (!options.bind() && (options.flags & MS_RDONLY))
            return true;
    }
    return false;
}

bool needs_dev_setup(const config::Spec& spec) {
    for (const config::Mount& m : spec.mounts) {
        if (clean_path(m.destination) != "/dev")
            continue;
        if (m.type == "bind" ||
            std::find_if(m.options.begin(), m.options.end(), [](const std::string& o) {
                return o == "bind" || o == "rbind";
            }) != m.options.end())
            return false;
    }
    return true;
}

void setup_dev(Syscalls& sys, const config::Spec& spec, const RootDir& root, bool terminal) {
    UniqueFd dev = create_in_root(sys, root, "/dev", Leaf::directory, Symlinks::refuse);
    path_inside_root(root, dev.get());
    std::vector<config::Device> devices;
    const std::vector<config::Device> none;
    const auto& configured = spec.linux ? spec.linux->devices : none;
    for (const config::Device& d : default_devices()) {
        bool overridden = std::any_of(configured.begin(), configured.end(),
                                      [&](const auto& c) { return clean_path(c.path) == d.path; });
        if (!overridden)
            devices.push_back(d);
    }
    devices.insert(devices.end(), configured.begin(), configured.end());
    for (const config::Device& device : devices) {
        try {
            create_device(sys, root, device);
        } catch (const Error& e) {
            throw Error("linux.devices (" + device.path + "): " + e.what());
        }
    }
    create_dev_links(sys, dev.get(), sys.statfs_type("/proc/kcore") != 0);
    if (terminal)
        create_console_target(sys, dev.get());
}

// The null device for masking files, verified char 1:3 and never a symlink (class 5).
UniqueFd verified_dev_null(Syscalls& sys, const RootDir& root) {
    UniqueFd null = open_in_root(sys, root, "/dev/null", Symlinks::refuse);
    struct stat st = sys.fstat(null.get());
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
        throw Error("/dev/null is not the null device (char 1:3), refusing to mask with it");
    return null;
}

void make_readonly(Syscalls& sys, const RootDir& root, const std::string& path) {
    UniqueFd target = open_in_root_if_exists(sys, root, path, Symlinks::follow_in_root);
    if (!target)
        return;
    const std::string inside = path_inside_root(root, target.get());
    sys.mount(fd_path(target.get()), fd_path(target.get()), "", MS_BIND | MS_REC, "");
    UniqueFd mounted = reopen_mounted(sys, root, inside);
    sys.mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE,
                      MountAttrChange{MOUNT_ATTR_RDONLY});
}

void mask(Syscalls& sys, const RootDir& root, const std::string& path,
          std::optional<UniqueFd>& dev_null) {
    UniqueFd target = open_in_root_if_exists(sys, root, path, Symlinks::follow_in_root);
    if (!target)
        return;
    path_inside_root(root, target.get());
    if (S_ISDIR(sys.fstat(target.get()).st_mode)) {
        sys.mount("tmpfs", fd_path(target.get()), "tmpfs", MS_RDONLY, "");
        return;
    }
    if (!dev_null)
        dev_null = verified_dev_null(sys, root);
    sys.mount(fd_path(dev_null->get()), fd_path(target.get()), "", MS_BIND, "");
}

// pivot_root refuses a new root whose parent mount is shared: with a shared rootfsPropagation,
// the mount holding the rootfs becomes private (the rootfs bind made after it is then private
// too); "/" gets the asked propagation back after pivot_root (finalize_rootfs).
void make_parent_mount_private(Syscalls& sys, const std::string& rootfs) {
    UniqueFd fd = sys.openat2(AT_FDCWD, rootfs, O_PATH | O_DIRECTORY, 0, 0);
    const std::string real = fd_target(fd.get());
    std::string parent = "/";
    for (const MountInfo& m : parse_mountinfo(sys.read_text_file("/proc/self/mountinfo"))) {
        if ((m.mount_point == real || is_under(real, m.mount_point) || m.mount_point == "/") &&
            m.mount_point.size() > parent.size())
            parent = m.mount_point;
    }
    sys.mount("", parent, "", MS_PRIVATE, "");
}

// Without pivot_root the host's mounts stay reachable in the container's mount namespace, and
// the kernel lets a new user namespace mount proc or sysfs when a full one is visible there
// (`unshare -mrpf` then gets an unmasked /proc): each full host proc and sysfs mount outside the
// rootfs is detached (or covered with a tmpfs where it cannot be), as runc does.
void hide_host_pseudo_filesystems(Syscalls& sys, const std::string& rootfs) {
    UniqueFd fd = sys.openat2(AT_FDCWD, rootfs, O_PATH | O_DIRECTORY, 0, 0);
    const std::string real = fd_target(fd.get());
    for (const MountInfo& m : parse_mountinfo(sys.read_text_file("/proc/self/mountinfo"))) {
        if (m.root != "/" || (m.fstype != "proc" && m.fstype != "sysfs") || m.mount_point == real ||
            is_under(m.mount_point, real))
            continue;
        try {
            sys.mount("", m.mount_point, "", MS_SLAVE | MS_REC, "");  // nothing reaches the host
        } catch (const Error& e) {
            if (e.errnum() == ENOENT)
                continue;  // below a mount detached already
            throw;
        }
        try {
            sys.umount2(m.mount_point, MNT_DETACH);
        } catch (const Error& e) {
            if (e.errnum() != EINVAL && e.errnum() != EPERM)
                throw;
            sys.mount("tmpfs", m.mount_point, "tmpfs", 0, "");
        }
    }
}

}  // namespace

std::string checked_sysctl_path(const config::Spec& spec, const std::string& key) {
    const std::string field = "linux.sysctl[\"" + key + "\"]";
    std::string path;
    try {
        path = sysctl_relative_path(key);
    } catch (const Error& e) {
        throw Error(field + ": " + e.what());
    }
    static constexpr std::array<std::string_view, 11> kIpcKeys{
        {"kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/sem", "kernel/shmall",
         "kernel/shmmax", "kernel/shmmni", "kernel/shm_rmid_forced", "kernel/msg_next_id",
         "kernel/sem_next_id", "kernel/shm_next_id"}};
    std::optional<NamespaceType> needed;
    const char* name = "";
    if (std::find(kIpcKeys.begin(), kIpcKeys.end(), path) != kIpcKeys.end() ||
        path.rfind("fs/mqueue/", 0) == 0) {
        needed = NamespaceType::ipc;
        name = "ipc";
    } else if (path == "kernel/hostname" || path == "kernel/domainname") {
        needed = NamespaceType::uts;
        name = "uts";
    } else if (path.rfind("net/", 0) == 0) {
        needed = NamespaceType::network;
        name = "network";
    }
    if (!needed)
        throw Error(field + ": not namespaced, refusing");
    if (!has_namespace(spec, *needed))
        throw Error(field + ": the container has no " + name + " namespace of its own, refusing");
    return path;
}

void prepare_rootfs(Syscalls& sys, const config::Spec& spec, const RootfsOptions& options) {
    const unsigned long propagation =
        parse_rootfs_propagation(spec.linux ? spec.linux->rootfs_propagation : "");
    // An unbindable tree cannot be bound: the rootfs bind below would fail with EINVAL. Until
    // pivot_root such a tree is a slave one; "/" is made unbindable after it (finalize_rootfs).
    sys.mount("", "/", "", propagation & MS_UNBINDABLE ? MS_SLAVE | MS_REC : propagation, "");
    if (propagation & MS_SHARED)
        make_parent_mount_private(sys, options.rootfs);
    // A mount of its own, so pivot_root can take it and mounts below stay in it.
    sys.mount(options.rootfs, options.rootfs, "", MS_BIND | MS_REC, "");
    RootDir root = open_root_dir(sys, options.rootfs);

    MountContext ctx{sys, spec, root, options};
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const config::Mount& mount = spec.mounts[i];
        try {
            do_mount(ctx, mount, i);
        } catch (const Error& e) {
            throw Error::passed_on(
                "mounts[" + std::to_string(i) + "] (" + elide(mount.destination) + "): " + e.what(),
                e.errnum());
        }
    }
    if (needs_dev_setup(spec))
        setup_dev(sys, spec, root, options.terminal);
}

std::map<size_t, UniqueFd> source_trees_for_user_namespace(Syscalls& sys, const config::Spec& spec,
                                                           const std::string& bundle) {
    std::map<size_t, UniqueFd> trees;
    if (!has_namespace(spec, NamespaceType::user) || !has_namespace(spec, NamespaceType::mount))
        return trees;
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const config::Mount& mount = spec.mounts[i];
        MountOptions options = parse_mount_options(mount.options);
        if ((!options.bind() && mount.type != "bind") || options.idmap || mount.source.empty())
            continue;
        const std::string source =
            mount.source.starts_with("/") ? mount.source : bundle + "/" + mount.source;
        try {
            trees[i] = sys.open_tree(AT_FDCWD, source,
                                     OPEN_TREE_CLONE | (options.flags & MS_REC ? AT_RECURSIVE : 0));
        } catch (const Error&) {
            // Missing or not ours to copy: the init meets the same error and names the field.
        }
    }
    return trees;
}

void enter_rootfs(Syscalls& sys, const RootfsOptions& options) {
    if (options.no_pivot) {
        hide_host_pseudo_filesystems(sys, options.rootfs);
        sys.chdir(options.rootfs);
        sys.mount(options.rootfs, "/", "", MS_MOVE, "");
        sys.chroot(".");
        sys.chdir("/");
        return;
    }
    UniqueFd old_root = sys.openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY, 0, 0);
    UniqueFd new_root = sys.openat2(AT_FDCWD, options.rootfs, O_PATH | O_DIRECTORY, 0, 0);
    sys.fchdir(new_root.get());
    // The old root ends up stacked on "/": no directory for it is needed inside the rootfs.
    try {
        sys.pivot_root(".", ".");
    } catch (const Error& e) {
        // EBUSY: the rootfs is the current root itself; EINVAL: a root pivot_root cannot leave
        // (initramfs): --no-pivot.
        throw Error("root.path: cannot make " + elide(options.rootfs) +
                        " the container's root with pivot_root (--no-pivot does without)",
                    e.errnum());
    }
    sys.fchdir(old_root.get());
    // Detaching it must not propagate the unmounts to the host.
    sys.mount("", ".", "", MS_SLAVE | MS_REC, "");
    sys.umount2(".", MNT_DETACH);
    sys.chdir("/");
}

void finalize_rootfs(Syscalls& sys, const config::Spec& spec, const RootfsOptions&) {
    const unsigned long propagation =
        parse_rootfs_propagation(spec.linux ? spec.linux->rootfs_propagation : "");
    if (propagation & (MS_SHARED | MS_UNBINDABLE))
        sys.mount("", "/", "", propagation, "");
    if (!spec.hostname.empty()) {
        if (!has_namespace(spec, NamespaceType::uts))
            throw Error("hostname: the container has no uts namespace of its own");
        sys.sethostname(spec.hostname);
    }
    if (!spec.domainname.empty()) {
        if (!has_namespace(spec, NamespaceType::uts))
            throw Error("domainname: the container has no uts namespace of its own");
        sys.setdomainname(spec.domainname);
    }
    RootDir root = open_root_dir(sys, "/");
    if (spec.linux) {
        // Sysctls first: /proc/sys is usually among the read-only paths.
        for (const auto& [key, value] : spec.linux->sysctl) {
            std::string path = checked_sysctl_path(spec, key);
            try {
                sys.write_proc_sys(path, value);
            } catch (const Error& e) {
                throw Error("linux.sysctl[\"" + key + "\"]: " + e.what());
            }
        }
        for (size_t i = 0; i < spec.linux->readonly_paths.size(); ++i) {
            const std::string& path = spec.linux->readonly_paths[i];
            try {
                make_readonly(sys, root, path);
            } catch (const Error& e) {
                throw Error("linux.readonlyPaths[" + std::to_string(i) + "] (" + elide(path) +
                            "): " + e.what());
            }
        }
        std::optional<UniqueFd> dev_null;
        for (size_t i = 0; i < spec.linux->masked_paths.size(); ++i) {
            const std::string& path = spec.linux->masked_paths[i];
            try {
                mask(sys, root, path, dev_null);
            } catch (const Error& e) {
                throw Error("linux.maskedPaths[" + std::to_string(i) + "] (" + elide(path) +
                            "): " + e.what());
            }
        }
    }
    if (dev_is_read_only(spec)) {
        UniqueFd dev = open_in_root(sys, root, "/dev", Symlinks::refuse);
        sys.mount_setattr(dev.get(), "", AT_EMPTY_PATH, MountAttrChange{MOUNT_ATTR_RDONLY});
    }
    if (spec.root.readonly)
        sys.mount_setattr(root.fd.get(), "", AT_EMPTY_PATH, MountAttrChange{MOUNT_ATTR_RDONLY});
}

}  // namespace brig::linux
