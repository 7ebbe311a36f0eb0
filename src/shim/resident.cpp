#include "shim/resident.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

// The linker's bounds of the executable's code (headers and .text, all read-only and never
// written). The writable and RELRO segments lie beyond etext and are left alone: dropping them
// would revert their contents to the file's.
extern "C" char __executable_start[];
extern "C" char etext[];

namespace brig::shim {

void release_resident_text() {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto start = reinterpret_cast<uintptr_t>(__executable_start) & ~(page - 1);
    const auto end = reinterpret_cast<uintptr_t>(etext) & ~(page - 1);
    if (end > start)
        madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
    malloc_trim(0);
}

}  // namespace brig::shim
