#include "runtime/common/resident.hpp"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace brig {
namespace {

// madvise(MADV_DONTNEED) of the whole pages inside [from, to).
void drop_pages(uintptr_t from, uintptr_t to, uintptr_t page) {
    from = (from + page - 1) & ~(page - 1);
    to &= ~(page - 1);
    if (to > from)
        ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

// Called for the executable first: its non-writable PT_LOAD segments, without the RELRO range
// (written by the loader, then made read-only: dropping it would bring back the file's bytes).
int drop_read_only(dl_phdr_info* info, size_t, void*) {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    uintptr_t relro_from = 0, relro_to = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_GNU_RELRO) {
            relro_from = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
            relro_to = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
        }
    }
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W))
            continue;
        const uintptr_t from = info->dlpi_addr + ph.p_vaddr, to = from + ph.p_filesz;
        if (relro_to <= from || relro_from >= to) {
            drop_pages(from, to, page);
        } else {
            drop_pages(from, relro_from, page);
            drop_pages(relro_to, to, page);
        }
    }
    return 1;  // the executable only
}

}  // namespace

void release_resident_text() noexcept {
    ::dl_iterate_phdr(drop_read_only, nullptr);
    ::malloc_trim(0);
}

}  // namespace brig
