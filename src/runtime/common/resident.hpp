// Keeping long-lived helper processes small: a process that brig leaves running per container
// (the monitor's watcher) pays its resident memory once per container.
#pragma once

namespace brig {

// Drops this process's resident pages of the executable's read-only segments (code, read-only
// data such as the embedded BPF objects and rules) and returns free heap to the kernel. Those
// pages stay in the page cache; the next use faults back in only what it touches.
void release_resident_text() noexcept;

}  // namespace brig
