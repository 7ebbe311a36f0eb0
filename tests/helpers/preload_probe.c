/* A shared library for LD_PRELOAD in test containers: its constructor writes "ran" to the file
 * $BRIG_PRELOAD_MARKER, so a marker on the host means its code ran. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void preloaded(void) {
    const char* marker = getenv("BRIG_PRELOAD_MARKER");
    if (!marker)
        return;
    int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, "ran\n", 4) != 4)
        _exit(2);
    close(fd);
}
