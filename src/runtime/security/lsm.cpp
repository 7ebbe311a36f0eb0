#include "runtime/security/lsm.hpp"

#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/linux/procfs.hpp"

namespace brig::security {
namespace {

constexpr long kSelinuxMagic = 0xf97cff8c;

std::string first_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// This thread's attr/ directory below a procfs root; thread-self is a symlink, which the
// verified open refuses, so the path is spelled out.
std::string thread_attr(const std::string& name) {
    return std::to_string(::getpid()) + "/task/" + std::to_string(::gettid()) + "/attr/" + name;
}

void write_attr(int proc_root, const std::string& relative, const std::string& value,
                const std::string& field) {
    UniqueFd fd = linux::open_in_procfs(proc_root, relative, O_WRONLY);
    linux::write_all(fd.get(), value, field + " (/proc/" + relative + ")");
}

// Label text goes into a procfs write or a quoted mount option (MCS labels have commas): no
// control characters or quotes that would change its meaning.
void check_label(const std::string& value, const std::string& field) {
    if (value.size() > 4096)
        throw Error(field + ": longer than 4096 bytes");
    for (unsigned char c : value)
        if (c < 0x20 || c == 0x7f || c == '"')
            throw Error(field + ": contains a control character or a quote");
}

}  // namespace

LsmHost detect_lsm_host() {
    LsmHost host;
    // The same test as libapparmor's aa_is_enabled(): the module says Y and its policy
    // interface exists.
    host.apparmor = first_line("/sys/module/apparmor/parameters/enabled") == "Y" &&
                    ::access("/sys/kernel/security/apparmor", F_OK) == 0;
    struct statfs fs {};
    host.selinux = ::statfs("/sys/fs/selinux", &fs) == 0 && fs.f_type == kSelinuxMagic;
    return host;
}

bool lsm_optional(const std::map<std::string, std::string>& annotations) {
    auto it = annotations.find(kLsmOptionalAnnotation);
    return it != annotations.end() && it->second == "true";
}

LsmPlan plan_lsm(const config::Process& process, const std::string& mount_label,
                 const LsmHost& host, bool optional) {
    LsmPlan plan;
    auto refuse_or_drop = [&](const std::string& field, const char* lsm) {
        std::string problem = field + ": " + lsm + " is not enabled on this host";
        if (!optional)
            throw Error(problem + " (annotation " + kLsmOptionalAnnotation +
                        "=true runs the container without it)");
        plan.warning += (plan.warning.empty() ? "" : "; ") + problem + ", running without it";
    };
    if (!process.apparmor_profile.empty()) {
        check_label(process.apparmor_profile, "process.apparmorProfile");
        if (host.apparmor)
            plan.apparmor_profile = process.apparmor_profile;
        else
            refuse_or_drop("process.apparmorProfile", "AppArmor");
    }
    if (!process.selinux_label.empty()) {
        check_label(process.selinux_label, "process.selinuxLabel");
        if (host.selinux)
            plan.selinux_label = process.selinux_label;
        else
            refuse_or_drop("process.selinuxLabel", "SELinux");
    }
    if (!mount_label.empty()) {
        check_label(mount_label, "linux.mountLabel");
        if (!host.selinux)
            refuse_or_drop("linux.mountLabel", "SELinux");
    }
    return plan;
}

std::string mount_label_option(const std::string& mount_label) {
    if (mount_label.empty())
        return "";
    check_label(mount_label, "linux.mountLabel");
    return "context=\"" + mount_label + "\"";
}

void apply_keyring_label(const LsmPlan& plan) {
    if (plan.selinux_label.empty())
        return;
    UniqueFd proc = linux::open_procfs_root();
    write_attr(proc.get(), thread_attr("keycreate"), plan.selinux_label, "process.selinuxLabel");
}

void apply_exec_labels(const LsmPlan& plan) {
    if (plan.apparmor_profile.empty() && plan.selinux_label.empty())
        return;
    UniqueFd proc = linux::open_procfs_root();
    if (!plan.apparmor_profile.empty()) {
        // With LSM stacking AppArmor has its own attr directory; older kernels share attr/exec.
        std::string relative = thread_attr("apparmor/exec");
        UniqueFd fd;
        try {
            fd = linux::open_in_procfs(proc.get(), relative, O_WRONLY);
        } catch (const Error& e) {
            if (e.errnum() != ENOENT)
                throw;
            relative = thread_attr("exec");
            fd = linux::open_in_procfs(proc.get(), relative, O_WRONLY);
        }
        // The kernel checks the profile here: an unknown one fails now, not at exec.
        linux::write_all(
            fd.get(), "exec " + plan.apparmor_profile,
            "process.apparmorProfile \"" + plan.apparmor_profile + "\" (/proc/" + relative + ")");
    }
    if (!plan.selinux_label.empty())
        write_attr(proc.get(), thread_attr("exec"), plan.selinux_label, "process.selinuxLabel");
}

}  // namespace brig::security
