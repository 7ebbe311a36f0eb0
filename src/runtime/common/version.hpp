// brig's version and the commit it was built from, defined in one generated file so that a new
// commit recompiles that file alone.
#pragma once

namespace brig {

extern const char* const kVersion;
extern const char* const kCommit;

}  // namespace brig
