// The rules file a container's annotation org.brig.monitor.rules names. Annotations are tenant
// input (a pod's reach config.json), read by brig as root: only a regular file of a bounded
// size, directly in one of the directories the administrator allowed (monitor.
// annotation_rules_dirs, default /etc/brig/rules.d), opened without following any link and
// without blocking. A refusal never tells whether some other host path exists.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace brig::monitor {

inline constexpr std::size_t kAnnotationRulesLimit = 1 << 20;

// The file's text; throws a one-line Error naming the annotation otherwise.
std::string read_annotation_rules(const std::string& path,
                                  const std::vector<std::string>& allowed_dirs);

}  // namespace brig::monitor
