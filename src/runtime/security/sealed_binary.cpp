#include "runtime/security/sealed_binary.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char** environ;

namespace brig::security {
namespace {

constexpr int kWriteSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

bool sealed(int fd) {
    struct statvfs fs {};
    if (fstatvfs(fd, &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0)
        return true;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_WRITE) != 0;
}

// The file alone, bind-mounted read-only outside every namespace: the mount dissolves (and no
// one can reach or remount it) once the fd is closed, while what executes from it keeps it.
UniqueFd read_only_bind(int file_fd) {
    UniqueFd tree(open_tree(file_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
    if (!tree)
        return {};
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
        return {};
    return tree;
}

UniqueFd sealed_copy(int file_fd) {
    UniqueFd memfd(memfd_create("brig", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
    if (!memfd && errno == EINVAL)  // before 6.3, memfds are executable without asking
        memfd.reset(memfd_create("brig", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    struct stat st {};
    if (!memfd || fstat(file_fd, &st) != 0)
        return {};
    off_t offset = 0;
    while (offset < st.st_size) {
        ssize_t n =
            sendfile(memfd.get(), file_fd, &offset, static_cast<size_t>(st.st_size - offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return {};
    }
    if (fcntl(memfd.get(), F_ADD_SEALS, kWriteSeals) != 0)
        return {};
    return memfd;
}

// An executable fd with the content of `file_fd` that no one can write; invalid (errno set)
// when neither a read-only bind nor a sealed copy can be made.
UniqueFd sealed_view(int file_fd) {
    UniqueFd view = read_only_bind(file_fd);
    if (!view || !sealed(view.get()))
        view = sealed_copy(file_fd);
    if (view && !sealed(view.get())) {
        view.reset();
        errno = EROFS;
    }
    return view;
}

void set_name_from(const char* argv0) {
    if (argv0 == nullptr)
        return;
    const char* slash = std::strrchr(argv0, '/');
    prctl(PR_SET_NAME, slash != nullptr ? slash + 1 : argv0, 0, 0, 0);
}

}  // namespace

bool running_from_sealed_binary() {
    UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!exe)
        exe.reset(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
    return exe && sealed(exe.get());
}

void reexec_from_sealed_binary(char** argv) {
    if (running_from_sealed_binary()) {
        set_name_from(argv[0]);
        return;
    }
    UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!exe)
        throw_errno("cannot open the runtime's own binary (/proc/self/exe)");
    UniqueFd view = sealed_view(exe.get());
    if (!view)
        throw_errno("cannot make a read-only view or a sealed copy of the runtime's binary");
    syscall(SYS_execveat, view.get(), "", argv, environ, AT_EMPTY_PATH);
    throw_errno("cannot re-execute the runtime from a sealed view of its binary");
}

void exec_sealed(const std::string& path, char* const* argv, char* const* envp) {
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file)
        return;
    UniqueFd view = sealed_view(file.get());
    if (!view)
        return;
    syscall(SYS_execveat, view.get(), "", argv, envp, AT_EMPTY_PATH);
}

}  // namespace brig::security
