#include "shim/resident.hpp"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace brig::shim {
namespace {

struct Range {
    uintptr_t start = 0, end = 0;
};

// Drops [start, end) minus the RELRO range, page-aligned inwards.
void drop(uintptr_t start, uintptr_t end, Range relro, uintptr_t page) {
    auto drop_aligned = [page](uintptr_t from, uintptr_t to) {
        from = (from + page - 1) & ~(page - 1);
        to &= ~(page - 1);
        if (to > from)
            madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    };
    if (relro.end <= start || relro.start >= end) {
        drop_aligned(start, end);
        return;
    }
    drop_aligned(start, relro.start);
    drop_aligned(relro.end, end);
}

// The executable's (the first object's) read-only segments: code, read-only data (the embedded
// BPF objects among it) and headers. Writable segments, and RELRO (written at start-up, then
// made read-only), are left alone: dropping them would revert their contents to the file's.
int release_read_only_segments(dl_phdr_info* info, size_t, void*) {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    Range relro;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_GNU_RELRO) {
            relro.start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
            relro.end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
        }
    }
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W))
            continue;
        const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
        drop(start, start + ph.p_filesz, relro, page);
    }
    return 1;  // the executable only
}

}  // namespace

void release_resident_text() {
    dl_iterate_phdr(release_read_only_segments, nullptr);
    malloc_trim(0);
}

}  // namespace brig::shim
