#include "runtime/security/seccomp.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "runtime/common/error.hpp"
#include "runtime/security/default_seccomp.hpp"

namespace brig::security {
namespace {

struct ActionName {
    std::string_view name;
    uint32_t action;   // for ERRNO and TRACE: the action with a zero return code
    bool takes_errno;  // errnoRet applies
};

constexpr ActionName kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

struct OperatorName {
    std::string_view name;
    scmp_compare op;
};

constexpr OperatorName kOperators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

// The runtime-spec's architecture names and libseccomp's spelling of each. Names libseccomp
// 2.5.4 cannot build for (loongarch64, m68k, sh) are accepted and skipped: they never match a
// syscall on this machine.
struct ArchName {
    std::string_view name;
    const char* libseccomp_name;
};

constexpr ArchName kArchitectures[] = {
    {"SCMP_ARCH_X86", "x86"},
    {"SCMP_ARCH_X86_64", "x86_64"},
    {"SCMP_ARCH_X32", "x32"},
    {"SCMP_ARCH_ARM", "arm"},
    {"SCMP_ARCH_AARCH64", "aarch64"},
    {"SCMP_ARCH_MIPS", "mips"},
    {"SCMP_ARCH_MIPS64", "mips64"},
    {"SCMP_ARCH_MIPS64N32", "mips64n32"},
    {"SCMP_ARCH_MIPSEL", "mipsel"},
    {"SCMP_ARCH_MIPSEL64", "mipsel64"},
    {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32"},
    {"SCMP_ARCH_PPC", "ppc"},
    {"SCMP_ARCH_PPC64", "ppc64"},
    {"SCMP_ARCH_PPC64LE", "ppc64le"},
    {"SCMP_ARCH_S390", "s390"},
    {"SCMP_ARCH_S390X", "s390x"},
    {"SCMP_ARCH_PARISC", "parisc"},
    {"SCMP_ARCH_PARISC64", "parisc64"},
    {"SCMP_ARCH_RISCV64", "riscv64"},
    {"SCMP_ARCH_LOONGARCH64", "loongarch64"},
    {"SCMP_ARCH_M68K", "m68k"},
    {"SCMP_ARCH_SH", "sh"},
    {"SCMP_ARCH_SHEB", "sheb"},
};

struct FlagName {
    std::string_view name;
    unsigned long kernel_flag;
};

constexpr FlagName kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

// After the filter is loaded the container process still needs these to hand the notify fd to
// the listener: a notify rule on them would deadlock it.
// What the container's process calls between loading the filter and the listener holding the
// notify fd: notified, they would wait for an answer no one can give. Every later call the
// listener answers (as runc allows execve, openat, read, close).
constexpr std::string_view kNeededAfterLoad[] = {"sendmsg", "sendto", "shutdown"};

template <typename Table>
auto find_entry(const Table& table, std::string_view name) -> decltype(&table[0]) {
    for (const auto& entry : table)
        if (entry.name == name)
            return &entry;
    return nullptr;
}

std::string in_quotes(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

void check_action(const std::string& action, const std::optional<uint32_t>& errno_ret,
                  const std::string& path, const std::string& errno_path) {
    if (action.empty())
        throw Error(path + ": must be set");
    const ActionName* a = find_entry(kActions, action);
    if (!a)
        throw Error(path + ": unknown action " + in_quotes(action));
    if (errno_ret) {
        if (!a->takes_errno)
            throw Error(errno_path + ": only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not " +
                        action);
        if (*errno_ret > 0xffff)
            throw Error(errno_path + ": " + std::to_string(*errno_ret) + " is out of range");
    }
}

uint32_t resolve_action(const std::string& action, const std::optional<uint32_t>& errno_ret) {
    const ActionName* a = find_entry(kActions, action);
    if (a->action == SCMP_ACT_ERRNO(0))
        return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
    if (a->action == SCMP_ACT_TRACE(0))
        return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
    return a->action;
}

bool uses_notify(const config::Seccomp& s) {
    return std::any_of(s.syscalls.begin(), s.syscalls.end(),
                       [](const auto& sc) { return sc.action == "SCMP_ACT_NOTIFY"; });
}

struct FilterRelease {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterRelease>;

void add_rules(scmp_filter_ctx ctx, const config::Seccomp& s, uint32_t default_action) {
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        const auto& sc = s.syscalls[i];
        const std::string path = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
        const uint32_t action = resolve_action(sc.action, sc.errno_ret);
        // libseccomp refuses rules that repeat the default action; they change nothing.
        if (action == default_action)
            continue;
        std::vector<scmp_arg_cmp> conditions;
        bool repeated_index = false;
        for (const auto& arg : sc.args) {
            for (const auto& c : conditions)
                repeated_index |= c.arg == arg.index;
            conditions.push_back(
                {arg.index, find_entry(kOperators, arg.op)->op, arg.value, arg.value_two});
        }
        for (const auto& name : sc.names) {
            const int nr = seccomp_syscall_resolve_name(name.c_str());
            // A syscall libseccomp does not know cannot be filtered; runc skips it too.
            if (nr == __NR_SCMP_ERROR)
                continue;
            auto add = [&](unsigned count, const scmp_arg_cmp* cmp) {
                int rc = seccomp_rule_add_array(ctx, action, nr, count, cmp);
                if (rc < 0)
                    throw Error(path + ": cannot add a rule for " + in_quotes(name), -rc);
            };
            if (!repeated_index) {
                add(static_cast<unsigned>(conditions.size()), conditions.data());
            } else {
                // One argument compared several times: libseccomp cannot AND those within a
                // rule, so each comparison becomes its own rule (any of them matches), as runc.
                for (const auto& c : conditions)
                    add(1, &c);
            }
        }
    }
}

// -ENOSYS for syscalls newer than the profile, as runc does: for each architecture of the
// filter, a syscall numbered above every syscall the profile names gets ENOSYS instead of the
// default action, so that programs fall back (glibc's clone3 -> clone) rather than fail on
// EPERM. Permissive defaults (allow, log, trace) and an ENOSYS default need no stub.
class EnosysStub {
public:
    explicit EnosysStub(const config::Seccomp& s) {
        std::vector<uint32_t> tokens{seccomp_arch_native()};
        for (const auto& name : s.architectures)
            if (uint32_t t =
                    seccomp_arch_resolve_name(find_entry(kArchitectures, name)->libseccomp_name))
                tokens.push_back(t);
        for (uint32_t token : tokens)
            for (const auto& sc : s.syscalls)
                for (const auto& name : sc.names) {
                    int nr = seccomp_syscall_resolve_name_arch(token, name.c_str());
                    if (nr >= 0 && static_cast<uint32_t>(nr) > last_[token])
                        last_[token] = static_cast<uint32_t>(nr);
                }
        std::erase_if(last_, [](const auto& entry) { return entry.second == 0; });
    }

    static bool needed(const config::Seccomp& s) {
        const std::string& a = s.default_action;
        if (a == "SCMP_ACT_ALLOW" || a == "SCMP_ACT_LOG" || a == "SCMP_ACT_TRACE")
            return false;
        return !(a == "SCMP_ACT_ERRNO" && s.default_errno_ret == ENOSYS);
    }

    // The stub; it falls through (or jumps) to the program that follows it.
    std::vector<sock_filter> program() {
        for (const auto& [token, last] : last_) {
            if (token == SCMP_ARCH_X32 && last_.count(SCMP_ARCH_X86_64))
                continue;  // checked in the x86_64 block: the kernel reports x32 as x86_64
            std::vector<sock_filter> body{load(offsetof(seccomp_data, nr))};
            if (token == SCMP_ARCH_X86_64 || token == SCMP_ARCH_X32) {
                auto x86_64 = below(token == SCMP_ARCH_X86_64 ? last : 0);
                body.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT,
                                        static_cast<uint8_t>(x86_64.size()), 0));
                body.insert(body.end(), x86_64.begin(), x86_64.end());
                auto x32 = below(last_.count(SCMP_ARCH_X32) ? last_[SCMP_ARCH_X32] : 0);
                body.insert(body.end(), x32.begin(), x32.end());
            } else {
                auto rest = below(last);
                body.insert(body.end(), rest.begin(), rest.end());
            }
            const uint32_t audit_arch = token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
            out_.push_back(load(offsetof(seccomp_data, arch)));
            out_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, audit_arch, 0,
                                    static_cast<uint8_t>(body.size())));
            out_.insert(out_.end(), body.begin(), body.end());
        }
        // The jumps to the user filter were written relative to their block: make them reach
        // past the stub's end.
        for (size_t i = 0; i < out_.size(); ++i)
            if (out_[i].code == (BPF_JMP | BPF_JA))
                out_[i].k = static_cast<uint32_t>(out_.size() - i - 1);
        return out_;
    }

private:
    static sock_filter load(size_t offset) {
        return BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(offset));
    }
    // ENOSYS above `last` (when there is one), then on to the user filter.
    static std::vector<sock_filter> below(uint32_t last) {
        std::vector<sock_filter> out;
        if (last != 0) {
            out.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, last, 0, 1));
            out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
        }
        out.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
        return out;
    }

    std::map<uint32_t, uint32_t> last_;
    std::vector<sock_filter> out_;
};

// The BPF libseccomp generated for `ctx`, read back through a memfd.
std::vector<sock_filter> export_program(scmp_filter_ctx ctx) {
    UniqueFd mem(static_cast<int>(syscall(SYS_memfd_create, "brig-seccomp", MFD_CLOEXEC)));
    if (!mem)
        throw_errno("linux.seccomp: memfd_create");
    int rc = seccomp_export_bpf(ctx, mem.get());
    if (rc < 0)
        throw Error("linux.seccomp: cannot compile the filter", -rc);
    off_t size = lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
        throw Error("linux.seccomp: the compiled filter has a bad size");
    std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
    if (pread(mem.get(), program.data(), static_cast<size_t>(size), 0) != size)
        throw_errno("linux.seccomp: reading the compiled filter");
    return program;
}

std::string cache_key(const config::Seccomp& s) {
    utsname u{};
    uname(&u);
    // Everything the generated program depends on: the profile, libseccomp, the kernel (whose
    // API level libseccomp probes).
    return seccomp_to_json(s).dump() + "\n" + libseccomp_version() + "\n" + u.release + "\n" +
           u.machine;
}

constexpr char kCacheMagic[8] = {'B', 'R', 'I', 'G', 'S', 'C', 'M', '2'};  // 2: ENOSYS stub

struct CacheHeader {
    char magic[8];
    uint64_t key_size;
    uint64_t flags;
    uint64_t notify;
    uint64_t instructions;
};

std::optional<SeccompProgram> read_cache_entry(const std::string& path, const std::string& key) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd)
        return std::nullopt;
    struct stat st {};
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        st.st_size > (1 << 22))
        return std::nullopt;
    std::string data(static_cast<size_t>(st.st_size), '\0');
    if (pread(fd.get(), data.data(), data.size(), 0) != st.st_size ||
        data.size() < sizeof(CacheHeader))
        return std::nullopt;
    CacheHeader h;
    std::memcpy(&h, data.data(), sizeof(h));
    if (std::memcmp(h.magic, kCacheMagic, sizeof(kCacheMagic)) != 0 || h.key_size != key.size() ||
        h.instructions == 0 || h.instructions > BPF_MAXINSNS ||
        data.size() != sizeof(h) + h.key_size + h.instructions * sizeof(sock_filter) ||
        data.compare(sizeof(h), key.size(), key) != 0)
        return std::nullopt;
    SeccompProgram p;
    p.flags = h.flags;
    p.notify = h.notify != 0;
    p.filter.resize(h.instructions);
    std::memcpy(p.filter.data(), data.data() + sizeof(h) + key.size(),
                h.instructions * sizeof(sock_filter));
    return p;
}

// Best effort: a cache that cannot be written only costs the next container a compile.
void write_cache_entry(const std::string& dir, const std::string& path, const std::string& key,
                       const SeccompProgram& p) {
    CacheHeader h{};
    std::memcpy(h.magic, kCacheMagic, sizeof(kCacheMagic));
    h.key_size = key.size();
    h.flags = p.flags;
    h.notify = p.notify;
    h.instructions = p.filter.size();
    std::string data(reinterpret_cast<const char*>(&h), sizeof(h));
    data += key;
    data.append(reinterpret_cast<const char*>(p.filter.data()),
                p.filter.size() * sizeof(sock_filter));
    std::string tmp = dir + "/.tmp-" + std::to_string(getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd)
        return;
    bool ok = ::write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size());
    fd.reset();
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
        ::unlink(tmp.c_str());
}

}  // namespace

void validate_seccomp(const config::Seccomp& s) {
    check_action(s.default_action, s.default_errno_ret, "linux.seccomp.defaultAction",
                 "linux.seccomp.defaultErrnoRet");
    if (s.default_action == "SCMP_ACT_NOTIFY")
        throw Error("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    for (size_t i = 0; i < s.architectures.size(); ++i)
        if (!find_entry(kArchitectures, s.architectures[i]))
            throw Error("linux.seccomp.architectures[" + std::to_string(i) +
                        "]: unknown architecture " + in_quotes(s.architectures[i]));
    for (size_t i = 0; i < s.flags.size(); ++i)
        if (!find_entry(kFlags, s.flags[i]))
            throw Error("linux.seccomp.flags[" + std::to_string(i) + "]: unknown flag " +
                        in_quotes(s.flags[i]));
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        const auto& sc = s.syscalls[i];
        const std::string path = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
        if (sc.names.empty())
            throw Error(path + ".names: must be a non-empty array");
        for (size_t j = 0; j < sc.names.size(); ++j) {
            const std::string name_path = path + ".names[" + std::to_string(j) + "]";
            if (sc.names[j].empty())
                throw Error(name_path + ": must not be empty");
            if (sc.action == "SCMP_ACT_NOTIFY" &&
                std::find(std::begin(kNeededAfterLoad), std::end(kNeededAfterLoad), sc.names[j]) !=
                    std::end(kNeededAfterLoad))
                throw Error(name_path + ": SCMP_ACT_NOTIFY cannot be used for " +
                            in_quotes(sc.names[j]) + ": brig needs it to send the notify fd");
        }
        check_action(sc.action, sc.errno_ret, path + ".action", path + ".errnoRet");
        for (size_t j = 0; j < sc.args.size(); ++j) {
            const auto& arg = sc.args[j];
            const std::string arg_path = path + ".args[" + std::to_string(j) + "]";
            if (arg.index > 5)
                throw Error(arg_path + ".index: " + std::to_string(arg.index) +
                            " is not an argument index (0-5)");
            if (!find_entry(kOperators, arg.op))
                throw Error(arg_path + ".op: unknown operator " + in_quotes(arg.op));
        }
    }
    if (uses_notify(s)) {
        if (s.listener_path.empty())
            throw Error("linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used");
        if (s.listener_path.front() != '/')
            throw Error("linux.seccomp.listenerPath: must be an absolute path, not " +
                        in_quotes(s.listener_path));
        if (s.listener_path.size() >= sizeof(sockaddr_un{}.sun_path))
            throw Error("linux.seccomp.listenerPath: too long for a unix socket");
    }
}

SeccompProgram compile_seccomp(const config::Seccomp& s) {
    validate_seccomp(s);
    const uint32_t default_action = resolve_action(s.default_action, s.default_errno_ret);
    Filter filter(seccomp_init(default_action));
    if (!filter)
        throw Error("linux.seccomp.defaultAction: libseccomp refused " + s.default_action);
    scmp_filter_ctx ctx = filter.get();
    // Report the kernel's errno rather than libseccomp's generic ECANCELED.
    seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    // A binary tree over syscall numbers: fewer instructions run per syscall than a list.
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

    for (size_t i = 0; i < s.architectures.size(); ++i) {
        const uint32_t token = seccomp_arch_resolve_name(
            find_entry(kArchitectures, s.architectures[i])->libseccomp_name);
        if (token == 0)
            continue;
        int rc = seccomp_arch_add(ctx, token);
        if (rc < 0 && rc != -EEXIST)
            throw Error("linux.seccomp.architectures[" + std::to_string(i) + "]: cannot add " +
                            s.architectures[i],
                        -rc);
    }
    add_rules(ctx, s, default_action);

    SeccompProgram program;
    if (EnosysStub::needed(s))
        program.filter = EnosysStub(s).program();
    std::vector<sock_filter> user_filter = export_program(ctx);
    program.filter.insert(program.filter.end(), user_filter.begin(), user_filter.end());
    program.notify = uses_notify(s);
    for (const auto& f : s.flags)
        program.flags |= find_entry(kFlags, f)->kernel_flag;
    if (program.notify) {
        program.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC alone would return a thread id where the listener fd is expected.
        if (program.flags & SECCOMP_FILTER_FLAG_TSYNC)
            program.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    } else {
        // WAIT_KILLABLE_RECV only means something for a notify listener (the kernel insists).
        program.flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    return program;
}

SeccompProgram compile_seccomp_cached(const config::Seccomp& s, const std::string& cache_dir) {
    validate_seccomp(s);
    if (::mkdir(cache_dir.c_str(), 0700) != 0 && errno != EEXIST)
        return compile_seccomp(s);
    const std::string key = cache_key(s);
    char name[32];
    snprintf(name, sizeof(name), "%016zx", std::hash<std::string>{}(key));
    const std::string path = cache_dir + "/" + name;
    if (auto cached = read_cache_entry(path, key))
        return *cached;
    SeccompProgram program = compile_seccomp(s);
    write_cache_entry(cache_dir, path, key, program);
    return program;
}

UniqueFd load_seccomp_program(const SeccompProgram& program) {
    if (program.filter.empty() || program.filter.size() > BPF_MAXINSNS)
        throw Error("linux.seccomp: the compiled filter has " +
                    std::to_string(program.filter.size()) + " instructions");
    sock_fprog prog{static_cast<unsigned short>(program.filter.size()),
                    const_cast<sock_filter*>(program.filter.data())};
    long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog);
    if (ret < 0) {
        if (errno == EACCES)
            throw Error(
                "linux.seccomp: loading the filter needs noNewPrivileges or "
                "CAP_SYS_ADMIN",
                errno);
        throw_errno("linux.seccomp: cannot load the filter");
    }
    if (ret > 0 && !program.notify)
        throw Error("linux.seccomp: SECCOMP_FILTER_FLAG_TSYNC: thread " + std::to_string(ret) +
                    " could not be synchronized");
    // The kernel creates the listener O_CLOEXEC.
    return program.notify ? UniqueFd(static_cast<int>(ret)) : UniqueFd();
}

UniqueFd load_seccomp(const config::Seccomp& s) {
    return load_seccomp_program(compile_seccomp(s));
}

UniqueFd connect_seccomp_listener(const std::string& listener_path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listener_path.empty() || listener_path.size() >= sizeof(addr.sun_path))
        throw Error("linux.seccomp.listenerPath: bad socket path " + in_quotes(listener_path));
    std::memcpy(addr.sun_path, listener_path.c_str(), listener_path.size() + 1);

    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock)
        throw_errno("linux.seccomp.listenerPath: socket");
    check_syscall(
        "linux.seccomp.listenerPath: failed to connect with seccomp agent at " + listener_path,
        [&] {
            return ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
        });
    return sock;
}

std::string seccomp_listener_payload(const nlohmann::json& container_state,
                                     const std::string& metadata) {
    nlohmann::json process_state = {
        {"ociVersion", container_state.value("ociVersion", std::string("1.2.0"))},
        {"fds", nlohmann::json::array({"seccompFd"})},
        {"pid", container_state.value("pid", 0)},
        {"metadata", metadata},
        {"state", container_state},
    };
    return process_state.dump();
}

void send_seccomp_notify_fd(int listener, int notify_fd, const std::string& payload) {
    iovec iov{const_cast<char*>(payload.data()), payload.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &notify_fd, sizeof(int));
    // No std::string made on the way (an allocation may mmap): errors only after the fact.
    ssize_t sent;
    do
        sent = ::sendmsg(listener, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    // A stream socket may take the state in parts; the fd travelled with the first.
    size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
    while (sent >= 0 && done < payload.size()) {
        sent = ::send(listener, payload.data() + done, payload.size() - done, MSG_NOSIGNAL);
        if (sent > 0)
            done += static_cast<size_t>(sent);
        else if (sent < 0 && errno == EINTR)
            sent = 0;
    }
    if (sent < 0)
        throw_errno("linux.seccomp.listenerPath: sending the notify fd");
    // The end of the message (listeners read up to EOF) before close, which may be notified:
    // the listener, still reading, would never answer it.
    ::shutdown(listener, SHUT_WR);
}

std::vector<std::string> seccomp_known_actions() {
    std::vector<std::string> out;
    for (const auto& a : kActions)
        out.emplace_back(a.name);
    return out;
}

std::vector<std::string> seccomp_known_operators() {
    std::vector<std::string> out;
    for (const auto& o : kOperators)
        out.emplace_back(o.name);
    return out;
}

std::vector<std::string> seccomp_known_architectures() {
    std::vector<std::string> out;
    for (const auto& a : kArchitectures)
        if (seccomp_arch_resolve_name(a.libseccomp_name) != 0)
            out.emplace_back(a.name);
    return out;
}

std::vector<std::string> seccomp_known_flags() {
    std::vector<std::string> out;
    for (const auto& f : kFlags)
        out.emplace_back(f.name);
    return out;
}

std::vector<std::string> seccomp_supported_flags() {
    std::vector<std::string> out;
    for (const auto& f : kFlags) {
        unsigned long flags = f.kernel_flag;
        if (flags == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
            flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // A NULL program: a kernel that knows the flags fails with EFAULT copying it, before
        // anything is installed; one that does not fails with EINVAL.
        errno = 0;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, nullptr) < 0 && errno == EFAULT)
            out.emplace_back(f.name);
    }
    return out;
}

std::string libseccomp_version() {
    const scmp_version* v = seccomp_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->micro);
}

}  // namespace brig::security
