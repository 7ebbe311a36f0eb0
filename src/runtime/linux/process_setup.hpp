// The container process's own settings, applied by the init (or an exec'd process) in order.
#pragma once

#include <string>
#include <vector>

#include "runtime/config/spec.hpp"

namespace brig::linux {

void apply_rlimits(const std::vector<config::Rlimit>& rlimits);
void apply_oom_score_adj(int score);
void apply_personality(const config::Personality& personality);
void apply_io_priority(const config::IoPriority& prio);
void apply_scheduler(const config::Scheduler& sched);

// setgroups/setresgid/setresuid, keeping capabilities for apply_capability_sets afterwards.
// `setgroups_allowed` is false in a user namespace whose setgroups is "deny".
void switch_user(const config::User& user, bool setgroups_allowed);

// chdir to cwd and check the result is a path inside the container (CVE-2024-21626).
void enter_cwd(const std::string& cwd);

// Marks every fd >= first_fd close-on-exec, so nothing of brig's reaches the container.
void close_fds_on_exec(int first_fd);

// Finds args[0] in PATH (from the process env) the way execvp would; absolute/relative paths
// containing '/' are returned as they are. Throws "executable file not found in $PATH".
std::string find_executable(const std::string& file, const std::vector<std::string>& env);

// Environment for the process: the config's, with LISTEN_FDS/LISTEN_PID when fds are passed.
std::vector<std::string> process_environment(const std::vector<std::string>& env, int listen_fds);

}  // namespace brig::linux
