#include "runtime/security/capabilities.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "runtime/common/error.hpp"

namespace brig::security {
namespace {

// "CAP_CHOWN" -> 0. Only the upper-case CAP_ spelling of the runtime-spec is accepted: libcap
// alone would also take "chown" or "5".
std::optional<int> capability_number(const std::string& name) {
    if (name.size() <= 4 || name.compare(0, 4, "CAP_") != 0)
        return std::nullopt;
    std::string lower;
    for (char c : name) {
        if (!(std::isupper(static_cast<unsigned char>(c)) || c == '_' ||
              std::isdigit(static_cast<unsigned char>(c))))
            return std::nullopt;
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    cap_value_t value;
    if (cap_from_name(lower.c_str(), &value) != 0)
        return std::nullopt;
    return static_cast<int>(value);
}

struct CapFree {
    void operator()(void* p) const noexcept { cap_free(p); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// The numbers of the names this kernel supports; unknown names and names the kernel lacks are
// skipped (validate_capabilities gives the warnings).
std::vector<cap_value_t> supported_numbers(const std::vector<std::string>& names) {
    const int last = last_kernel_capability();
    std::vector<cap_value_t> out;
    for (const auto& name : names) {
        auto n = capability_number(name);
        if (n && *n <= last)
            out.push_back(static_cast<cap_value_t>(*n));
    }
    return out;
}

void set_flag(cap_t state, cap_flag_t flag, const std::vector<cap_value_t>& values) {
    if (values.empty())
        return;
    if (cap_set_flag(state, flag, static_cast<int>(values.size()), values.data(), CAP_SET) != 0)
        throw_errno("process.capabilities: cap_set_flag");
}

}  // namespace

int last_kernel_capability() {
    // libcap probes the running kernel with PR_CAPBSET_READ: no procfs read needed.
    int bits = static_cast<int>(cap_max_bits());
    return bits > 0 ? bits - 1 : CAP_LAST_CAP;
}

std::vector<std::string> kernel_capability_names() {
    std::vector<std::string> out;
    for (int n = 0; n <= last_kernel_capability(); ++n) {
        char* text = cap_to_name(static_cast<cap_value_t>(n));
        if (!text)
            continue;
        std::string name(text);
        cap_free(text);
        // libcap spells capabilities newer than itself as plain numbers: no name to give.
        if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
            continue;
        for (auto& c : name)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(std::move(name));
    }
    return out;
}

uint64_t capability_mask(const std::vector<std::string>& names) {
    uint64_t mask = 0;
    for (cap_value_t v : supported_numbers(names))
        mask |= uint64_t{1} << v;
    return mask;
}

std::vector<std::string> validate_capabilities(const config::Capabilities& caps,
                                               const std::string& json_path) {
    const int last = last_kernel_capability();
    std::vector<std::string> warnings;
    const std::pair<const char*, const std::vector<std::string>*> sets[] = {
        {"bounding", &caps.bounding},       {"effective", &caps.effective},
        {"inheritable", &caps.inheritable}, {"permitted", &caps.permitted},
        {"ambient", &caps.ambient},
    };
    for (const auto& [set_name, names] : sets) {
        for (const auto& name : *names) {
            const std::string where = json_path + "." + set_name + ": ";
            auto n = capability_number(name);
            if (!n)
                warnings.push_back(where + "unknown capability \"" + name + "\", ignored");
            else if (*n > last)
                warnings.push_back(where + name + " is not known to this kernel, ignored");
        }
    }
    return warnings;
}

void apply_bounding_set(const config::Capabilities& caps) {
    const uint64_t keep = capability_mask(caps.bounding);
    for (int n = 0; n <= last_kernel_capability(); ++n) {
        if (keep & (uint64_t{1} << n))
            continue;
        // EINVAL: the kernel does not know this capability, nothing to drop.
        if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) != 0 && errno != EINVAL)
            throw_errno("process.capabilities.bounding: cannot drop capability " +
                        std::to_string(n));
    }
}

std::vector<std::string> apply_capability_sets(const config::Capabilities& caps) {
    CapState state(cap_init());
    if (!state)
        throw_errno("process.capabilities: cap_init");
    const auto effective = supported_numbers(caps.effective);
    const auto permitted = supported_numbers(caps.permitted);
    const auto inheritable = supported_numbers(caps.inheritable);
    set_flag(state.get(), CAP_EFFECTIVE, effective);
    set_flag(state.get(), CAP_PERMITTED, permitted);
    // Only what the config lists: an empty list leaves CapInh empty (CVE-2022-29162).
    set_flag(state.get(), CAP_INHERITABLE, inheritable);
    if (cap_set_proc(state.get()) != 0)
        throw_errno("process.capabilities: cannot set effective/permitted/inheritable");

    // Ambient is exact too: clear what may have been inherited, then raise the listed ones.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        throw_errno("process.capabilities.ambient: cannot clear");
    std::vector<std::string> not_raised;
    const uint64_t perm_mask = capability_mask(caps.permitted);
    const uint64_t inh_mask = capability_mask(caps.inheritable);
    const int last = last_kernel_capability();
    for (const auto& name : caps.ambient) {
        auto n = capability_number(name);
        if (!n || *n > last)
            continue;
        const uint64_t bit = uint64_t{1} << *n;
        // The kernel raises an ambient capability only if it is permitted and inheritable.
        if (!(perm_mask & bit) || !(inh_mask & bit)) {
            not_raised.push_back(name);
            continue;
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, *n, 0, 0) != 0)
            throw_errno("process.capabilities.ambient: cannot raise " + name);
    }
    return not_raised;
}

}  // namespace brig::security
