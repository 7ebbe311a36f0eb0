#include "runtime/linux/devices.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "runtime/common/error.hpp"

namespace brig::linux {
namespace {

constexpr uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

mode_t node_type(char type) {
    switch (type) {
        case 'c':
        case 'u':
            return S_IFCHR;
        case 'b':
            return S_IFBLK;
        case 'p':
            return S_IFIFO;
    }
    throw Error(std::string("unknown device type '") + type + "'");
}

// Removes a non-directory entry; a missing one is fine.
void remove_entry(Syscalls& sys, int dir_fd, const std::string& name) {
    int error = sys.try_unlinkat(dir_fd, name, 0);
    if (error == 0 || error == ENOENT)
        return;
    if (error == EISDIR)
        throw Error(name + " is a directory, refusing to replace it");
    throw Error("unlink " + name, error);
}

std::string base_name(const std::string& path) {
    auto components = path_components(path);
    if (components.empty())
        throw Error("device path \"" + path + "\" names the root");
    return components.back();
}

std::string dir_name(const std::string& path) {
    auto components = path_components(path);
    std::string dir;
    for (size_t i = 0; i + 1 < components.size(); ++i)
        dir += "/" + components[i];
    return dir.empty() ? "/" : dir;
}

}  // namespace

std::vector<config::Device> default_devices() {
    struct Known {
        const char* path;
        int64_t major, minor;
    };
    constexpr Known kKnown[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                                {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
    std::vector<config::Device> devices;
    for (const Known& k : kKnown) {
        config::Device d;
        d.type = 'c';
        d.path = k.path;
        d.major = k.major;
        d.minor = k.minor;
        d.file_mode = 0666;
        d.uid = 0;
        d.gid = 0;
        devices.push_back(d);
    }
    return devices;
}

void create_device(Syscalls& sys, const RootDir& root, const config::Device& device) {
    const std::string name = base_name(device.path);
    UniqueFd dir =
        create_in_root(sys, root, dir_name(device.path), Leaf::directory, Symlinks::follow_in_root);
    path_inside_root(root, dir.get());
    remove_entry(sys, dir.get(), name);

    const mode_t mode = device.file_mode.value_or(0666) & 07777;
    const dev_t number = device.type == 'p' ? 0
                                            : makedev(static_cast<unsigned>(device.major),
                                                      static_cast<unsigned>(device.minor));
    bool bound = false;
    try {
        sys.mknodat(dir.get(), name, node_type(device.type) | mode, number);
    } catch (const Error& e) {
        if (e.errnum() != EPERM || device.type == 'p')
            throw;
        // No CAP_MKNOD here (a user namespace): give the container the host's node.
        UniqueFd host = sys.openat2(AT_FDCWD, device.path, O_PATH, 0, RESOLVE_NO_MAGICLINKS);
        struct stat st = sys.fstat(host.get());
        if ((st.st_mode & S_IFMT) != node_type(device.type) || st.st_rdev != number)
            throw Error("host " + device.path +
                        " is not the device asked for, refusing to bind it");
        sys.openat2(dir.get(), name, O_CREAT | O_EXCL | O_WRONLY, 0600, kBeneath);
        UniqueFd target = sys.openat2(dir.get(), name, O_PATH, 0, kBeneath);
        sys.mount(fd_path(host.get()), fd_path(target.get()), "", MS_BIND, "");
        bound = true;
    }
    if (bound)
        return;  // ownership and mode are the host node's
    UniqueFd node = sys.openat2(dir.get(), name, O_PATH, 0, kBeneath);
    sys.chmod_fd(node.get(), mode);  // mknod is subject to the umask
    sys.chown_fd(node.get(), device.uid.value_or(0), device.gid.value_or(0));
}

void create_dev_links(Syscalls& sys, int dev_fd, bool link_core) {
    struct Link {
        const char* target;
        const char* name;
    };
    constexpr Link kLinks[] = {{"/proc/self/fd", "fd"},
                               {"/proc/self/fd/0", "stdin"},
                               {"/proc/self/fd/1", "stdout"},
                               {"/proc/self/fd/2", "stderr"}};
    auto link = [&](const char* target, const char* name) {
        try {
            sys.symlinkat(target, dev_fd, name);
        } catch (const Error& e) {
            if (e.errnum() != EEXIST)
                throw;
        }
    };
    for (const Link& l : kLinks)
        link(l.target, l.name);
    if (link_core)
        link("/proc/kcore", "core");
    remove_entry(sys, dev_fd, "ptmx");
    sys.symlinkat("pts/ptmx", dev_fd, "ptmx");
}

void create_console_target(Syscalls& sys, int dev_fd) {
    remove_entry(sys, dev_fd, "console");
    sys.openat2(dev_fd, "console", O_CREAT | O_EXCL | O_WRONLY, 0666, kBeneath);
}

}  // namespace brig::linux
