#include "runtime/security/exec_confinement.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::security {

ExecConfinement confine_exec_to_root() {
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE;
    UniqueFd ruleset(static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0)));
    if (!ruleset) {
        if (errno == ENOSYS || errno == EOPNOTSUPP)
            return ExecConfinement::unavailable;
        throw_errno("landlock: cannot create the exec ruleset");
    }
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        throw_errno("landlock: cannot open /");
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = LANDLOCK_ACCESS_FS_EXECUTE;
    beneath.parent_fd = root.get();
    if (syscall(SYS_landlock_add_rule, ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0)
        throw_errno("landlock: cannot add the exec rule");
    if (syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0)
        throw_errno("landlock: cannot restrict exec");
    return ExecConfinement::landlock;
}

}  // namespace brig::security
