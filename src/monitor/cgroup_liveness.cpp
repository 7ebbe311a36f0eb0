#include "monitor/cgroup_liveness.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>

namespace brig::monitor {

namespace {

// The handle type kernfs (cgroup2's file system) gives: 8 bytes, the node's id, which is the
// cgroup2 id (the directory's inode number on 64-bit kernels).
constexpr int kFileIdKernfs = 0xfe;

}  // namespace

CgroupLiveness::CgroupLiveness() {
    for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        struct statfs fs {};
        if (::statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
            mount_.reset(
                ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // not O_PATH: refused there
            return;
        }
    }
}

bool CgroupLiveness::gone(uint64_t cgroup2_id) const {
    if (!mount_)
        return false;
    alignas(file_handle) unsigned char buffer[sizeof(file_handle) + sizeof(cgroup2_id)];
    auto* handle = reinterpret_cast<file_handle*>(buffer);
    handle->handle_bytes = sizeof(cgroup2_id);
    handle->handle_type = kFileIdKernfs;
    std::memcpy(handle->f_handle, &cgroup2_id, sizeof(cgroup2_id));
    const int fd = ::open_by_handle_at(mount_.get(), handle, O_PATH | O_CLOEXEC);
    const int error = errno;
    UniqueFd cgroup(fd);
    return fd < 0 && error == ESTALE;
}

}  // namespace brig::monitor
