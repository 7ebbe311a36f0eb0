// Keeping the idle shim small: one shim runs per container, so its resident memory is paid once
// per container.
#pragma once

namespace brig::shim {

// Unmaps the resident pages of this program's read-only segments (code, read-only data such as
// the monitor's embedded BPF objects) and returns free heap to the kernel. They are read-only
// file data: the page cache keeps them (shared by every shim) and a later call faults in only
// what it uses, so an idle shim holds just its event loop's pages after Create/Start/Delete ran
// the runtime library's code once.
void release_resident_text();

}  // namespace brig::shim
