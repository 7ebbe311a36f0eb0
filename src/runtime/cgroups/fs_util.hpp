// Small file helpers shared by the cgroup implementations. Every write names the spec field it
// comes from, so a failure reads "linux.resources.memory.limit: writing ... : <errno>".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"

namespace brig::cgroups::detail {

bool path_exists(const std::string& path);
// nullopt when the file does not exist; throws on other errors.
std::optional<std::string> read_optional(const std::string& path);
std::string read_file(const std::string& path);
// Trimmed first line, nullopt when missing.
std::optional<std::string> read_line(const std::string& path);
void write_file(const std::string& path, const std::string& value, const std::string& field);
// As write_file, but returns the errno instead of throwing (0 on success).
int try_write_file(const std::string& path, const std::string& value);

// "key value" lines (cpu.stat, memory.stat, memory.events). Unparsable values are skipped.
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);
std::optional<uint64_t> read_u64(const std::string& path);  // "max" -> UINT64_MAX
std::optional<uint64_t> flat_keyed_value(const std::string& path, const std::string& key);

// cgroup.procs of dir and every cgroup below it, sorted and unique.
std::vector<pid_t> read_procs_recursive(const std::string& dir);

// mkdir -p of root + rel (rel starts with '/'); appends each directory it created.
void make_cgroup_dirs(const std::string& root, const std::string& rel,
                      std::vector<std::string>& created);
// rmdir of dir after its child cgroups, deepest first. Returns errno of the first failure or 0;
// ENOENT counts as success.
int remove_cgroup_tree(const std::string& dir);

void sleep_ms(unsigned ms);

// Calls sink if set.
void warn(const WarningSink& sink, const std::string& message);

std::string device_key(int64_t major, int64_t minor);  // "8:0"

// A memory/pids limit: -1 (no limit) or more; throws naming field otherwise.
void check_limit(int64_t value, const std::string& field);

}  // namespace brig::cgroups::detail
