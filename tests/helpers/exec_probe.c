/* A small dynamically linked program copied into test containers: it is what a forbidden or
 * dropped program would be, run by the kernel, through ld.so, or mapping a file itself.
 *   exec_probe MARKER [ARG...]       writes "ran" to MARKER: the program ran at all (as a #!
 *                                    interpreter too: `#!/usr/bin/exec_probe MARKER`)
 *   exec_probe mmap FILE MARKER      maps FILE executable, then writes MARKER
 *   exec_probe mprotect FILE MARKER  maps FILE readable, makes it executable, then writes MARKER
 * A MARKER on the host afterwards means the process went on after the code became executable.
 * Exit 0: done; 1: the kernel refused (EPERM/EACCES); 2: another error; 3: bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int write_marker(const char* path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return 2;
    int ok = write(fd, "ran\n", 4) == 4;
    close(fd);
    return ok ? 0 : 2;
}

static int failed(const char* what) {
    int error = errno;
    printf("%s: %s\n", what, strerror(error));
    return error == EPERM || error == EACCES ? 1 : 2;
}

static int map_code(const char* file, int make_executable_later, const char* marker) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return failed("open");
    long page = sysconf(_SC_PAGESIZE);
    int prot = make_executable_later ? PROT_READ : PROT_READ | PROT_EXEC;
    void* code = mmap(NULL, page, prot, MAP_PRIVATE, fd, 0);
    close(fd);
    if (code == MAP_FAILED)
        return failed("mmap");
    if (make_executable_later && mprotect(code, page, PROT_READ | PROT_EXEC) != 0)
        return failed("mprotect");
    return write_marker(marker);
}

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[1], "mmap") == 0)
        return map_code(argv[2], 0, argv[3]);
    if (argc == 4 && strcmp(argv[1], "mprotect") == 0)
        return map_code(argv[2], 1, argv[3]);
    if (argc >= 2)
        return write_marker(argv[1]);
    fprintf(stderr,
            "usage: exec_probe MARKER [ARG...] | mmap FILE MARKER | mprotect FILE MARKER\n");
    return 3;
}
