#include "runtime/cgroups/device_filter.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cgroups {
namespace {

// Register use: r2 device type, r3 requested access bits (cleared as rules grant them),
// r4 major, r5 minor, r1 scratch once the context is read.
constexpr uint8_t kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 1;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

bpf_insn load_ctx_u32(uint8_t dst, int16_t offset) {
    return insn(BPF_LDX | BPF_W | BPF_MEM, dst, 1, offset, 0);
}
bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
    return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn jump_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return insn(BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn exit_insn() {
    return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int32_t access_bits(const std::string& access, const std::string& field) {
    if (access.empty())
        return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    int32_t bits = 0;
    for (char c : access) {
        switch (c) {
            case 'r':
                bits |= BPF_DEVCG_ACC_READ;
                break;
            case 'w':
                bits |= BPF_DEVCG_ACC_WRITE;
                break;
            case 'm':
                bits |= BPF_DEVCG_ACC_MKNOD;
                break;
            default:
                throw Error(field + ".access: '" + access + "' is not a subset of \"rwm\"");
        }
    }
    return bits;
}

void check_rule(const config::DeviceRule& rule, const std::string& field) {
    if (rule.type != 'a' && rule.type != 'b' && rule.type != 'c')
        throw Error(field + ".type: '" + std::string(1, rule.type) + "' is not a, b or c");
    for (auto [value, name] : {std::pair{rule.major, "major"}, std::pair{rule.minor, "minor"}})
        if (value && (*value < -1 || *value > UINT32_MAX))
            throw Error(field + "." + name + ": " + std::to_string(*value) + " is out of range");
}

bool is_wildcard(const std::optional<int64_t>& number) {
    return !number || *number == -1;
}

long bpf_call(int cmd, bpf_attr& attr) {
    return ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
}

}  // namespace

std::vector<bpf_insn> build_device_program(const std::vector<config::DeviceRule>& rules,
                                           const std::string& field) {
    std::vector<bpf_insn> prog;
    // struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
    prog.push_back(load_ctx_u32(kType, 0));
    prog.push_back(mov32_reg(kAccess, kType));
    prog.push_back(alu32_imm(BPF_AND, kType, 0xffff));
    prog.push_back(alu32_imm(BPF_RSH, kAccess, 16));
    prog.push_back(load_ctx_u32(kMajor, 4));
    prog.push_back(load_ctx_u32(kMinor, 8));

    // Walk the rules backwards so the last matching rule is tested first.
    for (size_t n = rules.size(); n-- > 0;) {
        const auto& rule = rules[n];
        std::string rule_field = field + "[" + std::to_string(n) + "]";
        check_rule(rule, rule_field);
        int32_t bits = access_bits(rule.access, rule_field);

        std::vector<bpf_insn> block;
        block.reserve(8);           // also keeps GCC 12 -O2 from a false -Wstringop-overflow
        std::vector<size_t> skips;  // jumps to the end of this block
        auto skip_unless_equal = [&](uint8_t reg, int32_t value) {
            skips.push_back(block.size());
            block.push_back(jump_imm(BPF_JNE, reg, value));
        };
        if (rule.type != 'a')
            skip_unless_equal(kType, rule.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
        if (!is_wildcard(rule.major))
            skip_unless_equal(kMajor, static_cast<int32_t>(*rule.major));
        if (!is_wildcard(rule.minor))
            skip_unless_equal(kMinor, static_cast<int32_t>(*rule.minor));
        if (rule.allow) {
            // Grant these bits; allow once nothing requested is left undecided.
            block.push_back(alu32_imm(BPF_AND, kAccess, ~bits));
            skips.push_back(block.size());
            block.push_back(jump_imm(BPF_JNE, kAccess, 0));
            block.push_back(mov64_imm(0, 1));
        } else {
            // Deny when any requested bit is one this rule denies.
            block.push_back(mov32_reg(kScratch, kAccess));
            block.push_back(alu32_imm(BPF_AND, kScratch, bits));
            skips.push_back(block.size());
            block.push_back(jump_imm(BPF_JEQ, kScratch, 0));
            block.push_back(mov64_imm(0, 0));
        }
        block.push_back(exit_insn());
        for (size_t at : skips)
            block[at].off = static_cast<int16_t>(block.size() - at - 1);
        prog.insert(prog.end(), block.begin(), block.end());
    }
    prog.push_back(mov64_imm(0, 0));
    prog.push_back(exit_insn());
    return prog;
}

bool device_rules_allow(const std::vector<config::DeviceRule>& rules, char type, int64_t major,
                        int64_t minor, const std::string& access) {
    int32_t wanted = access_bits(access, "access");
    for (size_t n = rules.size(); n-- > 0;) {
        const auto& rule = rules[n];
        if (rule.type != 'a' && rule.type != type)
            continue;
        if (!is_wildcard(rule.major) && *rule.major != major)
            continue;
        if (!is_wildcard(rule.minor) && *rule.minor != minor)
            continue;
        int32_t bits = access_bits(rule.access, "access");
        if (rule.allow) {
            wanted &= ~bits;
            if (wanted == 0)
                return true;
        } else if (wanted & bits) {
            return false;
        }
    }
    return false;
}

void install_device_program(const std::string& cgroup_dir,
                            const std::vector<config::DeviceRule>& rules,
                            const std::string& field) {
    auto prog = build_device_program(rules, field);

    UniqueFd cgroup_fd(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup_fd)
        throw_errno(field + ": opening " + cgroup_dir);

    // Remember what is attached now, to detach it once the new program is in place.
    std::vector<uint32_t> old_ids(64);
    bpf_attr query{};
    query.query.target_fd = static_cast<uint32_t>(cgroup_fd.get());
    query.query.attach_type = BPF_CGROUP_DEVICE;
    query.query.prog_ids = reinterpret_cast<uint64_t>(old_ids.data());
    query.query.prog_cnt = static_cast<uint32_t>(old_ids.size());
    if (bpf_call(BPF_PROG_QUERY, query) != 0)
        throw_errno(field + ": querying device programs of " + cgroup_dir);
    old_ids.resize(query.query.prog_cnt);

    static constexpr char license[] = "Apache-2.0";
    std::string log(65536, '\0');
    bpf_attr load{};
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<uint64_t>(prog.data());
    load.insn_cnt = static_cast<uint32_t>(prog.size());
    load.license = reinterpret_cast<uint64_t>(license);
    load.log_buf = reinterpret_cast<uint64_t>(log.data());
    load.log_size = static_cast<uint32_t>(log.size());
    load.log_level = 1;
    std::strncpy(load.prog_name, "brig_devices", sizeof load.prog_name - 1);
    UniqueFd prog_fd(static_cast<int>(bpf_call(BPF_PROG_LOAD, load)));
    if (!prog_fd) {
        int err = errno;
        log.resize(std::strlen(log.c_str()));
        throw Error(field + ": loading the cgroup device program (" + log + ")", err);
    }

    bpf_attr attach{};
    attach.target_fd = static_cast<uint32_t>(cgroup_fd.get());
    attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_call(BPF_PROG_ATTACH, attach) != 0)
        throw_errno(field + ": attaching the device program to " + cgroup_dir);

    for (uint32_t id : old_ids) {
        bpf_attr get{};
        get.prog_id = id;
        UniqueFd old_fd(static_cast<int>(bpf_call(BPF_PROG_GET_FD_BY_ID, get)));
        if (!old_fd)
            continue;  // detached meanwhile
        bpf_attr detach{};
        detach.target_fd = static_cast<uint32_t>(cgroup_fd.get());
        detach.attach_bpf_fd = static_cast<uint32_t>(old_fd.get());
        detach.attach_type = BPF_CGROUP_DEVICE;
        if (bpf_call(BPF_PROG_DETACH, detach) != 0 && errno != ENOENT)
            throw_errno(field + ": detaching the previous device program of " + cgroup_dir);
    }
}

}  // namespace brig::cgroups
