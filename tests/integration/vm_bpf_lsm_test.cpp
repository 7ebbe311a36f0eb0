// Smoke test of the VM test-bed (tests/vm): a BPF-LSM program loads, attaches and denies.
//
// On a host without usable BPF-LSM (this project's dev machine lists "bpf" but refuses the
// program type with EPERM) the test skips; inside the VM (BRIG_IN_VM=1) it must pass, so a VM
// that lost BPF-LSM fails loudly instead of skipping.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "runtime/common/scope_guard.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::test {
namespace {

bool in_vm() {
    return getenv("BRIG_IN_VM") != nullptr;
}

// What this host lacks is a skip; inside the VM it is a failure.
#define BRIG_VM_REQUIRE(condition, reason)         \
    do {                                           \
        if (!(condition)) {                        \
            if (in_vm())                           \
                FAIL() << "in the VM: " << reason; \
            GTEST_SKIP() << reason;                \
        }                                          \
    } while (0)

long bpf_call(int command, bpf_attr& attr) {
    return syscall(SYS_bpf, command, &attr, sizeof(attr));
}

// Bytes after a BTF type's 12-byte header, by kind: {fixed, per member (vlen)}. INT, ARRAY,
// STRUCT, UNION, ENUM, FUNC_PROTO, VAR, DATASEC, DECL_TAG and ENUM64 carry data; the rest none.
constexpr std::array<std::pair<size_t, size_t>, 20> btf_trailing_data{{
    {0, 0}, {4, 0}, {0, 0}, {12, 0}, {0, 12}, {0, 12}, {0, 8}, {0, 0}, {0, 0}, {0, 0},
    {0, 0}, {0, 0}, {0, 0}, {0, 8},  {4, 0},  {0, 12}, {0, 0}, {4, 0}, {0, 0}, {0, 12},
}};

// The id of the FUNC named `name` in the kernel's BTF (/sys/kernel/btf/vmlinux), if present.
// Walks the type section by hand: only the size of each kind's trailing data matters.
std::optional<uint32_t> vmlinux_function_btf_id(const std::string& name) {
    std::string btf;
    try {
        btf = read_file("/sys/kernel/btf/vmlinux");
    } catch (const std::exception&) {
        return std::nullopt;
    }
    auto u32_at = [&btf](size_t offset) {
        uint32_t value = 0;
        std::memcpy(&value, btf.data() + offset, sizeof(value));
        return value;
    };
    if (btf.size() < 24 || static_cast<uint8_t>(btf[0]) != 0x9f ||
        static_cast<uint8_t>(btf[1]) != 0xeb)
        return std::nullopt;
    const uint32_t header_len = u32_at(4);
    const size_t type_begin = header_len + u32_at(8);
    const size_t type_end = type_begin + u32_at(12);
    const size_t string_begin = header_len + u32_at(16);
    const size_t string_len = u32_at(20);
    if (type_end > btf.size() || string_begin + string_len > btf.size())
        return std::nullopt;

    uint32_t id = 1;
    for (size_t offset = type_begin; offset + 12 <= type_end; ++id) {
        const uint32_t name_off = u32_at(offset);
        const uint32_t info = u32_at(offset + 4);
        const uint32_t kind = (info >> 24) & 0x1f;
        const uint32_t vlen = info & 0xffff;
        if (kind == 12 /* FUNC */ && name_off < string_len &&
            name == btf.c_str() + string_begin + name_off)
            return id;
        if (kind >= btf_trailing_data.size())
            return std::nullopt;  // a kind newer than this
        const auto [fixed, per_member] = btf_trailing_data[kind];
        const size_t extra = fixed + per_member * vlen;
        offset += 12 + extra;
    }
    return std::nullopt;
}

bpf_insn instruction(uint8_t code, uint8_t dst, int16_t off, int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

// lsm/file_open: -EPERM for every open by the thread group `watched_tgid`, 0 for everyone else.
std::vector<bpf_insn> deny_open_program(pid_t watched_tgid) {
    return {
        instruction(BPF_JMP | BPF_CALL, 0, 0, BPF_FUNC_get_current_pid_tgid),
        instruction(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_0, 0, 32),
        instruction(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 2, watched_tgid),
        instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, -EPERM),
        instruction(BPF_JMP | BPF_EXIT, 0, 0, 0),
        instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0),
        instruction(BPF_JMP | BPF_EXIT, 0, 0, 0),
    };
}

bool lsm_listed(const std::string& lsm) {
    try {
        const std::string list = "," + trim(read_file("/sys/kernel/security/lsm")) + ",";
        return list.find("," + lsm + ",") != std::string::npos;
    } catch (const std::exception&) {
        return false;
    }
}

// A forked child that, each time it is poked, opens "/" and answers with the errno (0 = opened).
class OpenProbe {
public:
    OpenProbe() {
        int poke[2];
        int answer[2];
        if (pipe2(poke, O_CLOEXEC) != 0 || pipe2(answer, O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("pipe2: ") + strerror(errno));
        pid_ = fork();
        if (pid_ < 0)
            throw std::runtime_error(std::string("fork: ") + strerror(errno));
        if (pid_ == 0) {
            close(poke[1]);
            close(answer[0]);
            char byte = 0;
            while (read(poke[0], &byte, 1) == 1) {
                const int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                const int result = fd >= 0 ? 0 : errno;
                if (fd >= 0)
                    close(fd);
                if (write(answer[1], &result, sizeof(result)) != sizeof(result))
                    _exit(1);
            }
            _exit(0);
        }
        close(poke[0]);
        close(answer[1]);
        poke_.reset(poke[1]);
        answer_.reset(answer[0]);
    }
    ~OpenProbe() {
        poke_.reset();  // EOF ends the child's loop
        int status = 0;
        waitpid(pid_, &status, 0);
    }
    OpenProbe(const OpenProbe&) = delete;
    OpenProbe& operator=(const OpenProbe&) = delete;

    pid_t pid() const { return pid_; }
    // The errno of the child's open("/"), 0 when it succeeded; -1 when the child is gone.
    int try_open() {
        const char byte = 'x';
        if (write(poke_.get(), &byte, 1) != 1)
            return -1;
        int result = 0;
        if (read(answer_.get(), &result, sizeof(result)) != sizeof(result))
            return -1;
        return result;
    }

private:
    pid_t pid_ = -1;
    UniqueFd poke_;
    UniqueFd answer_;
};

TEST(VmBpfLsm, FileOpenProgramDeniesOnlyTheWatchedProcess) {
    if (geteuid() != 0)
        GTEST_SKIP() << "loading BPF programs needs root";
    BRIG_VM_REQUIRE(lsm_listed("bpf"),
                    "BPF-LSM is not active (no \"bpf\" in "
                    "/sys/kernel/security/lsm; boot with lsm=...,bpf)");
    const auto btf_id = vmlinux_function_btf_id("bpf_lsm_file_open");
    BRIG_VM_REQUIRE(btf_id.has_value(), "no BTF for bpf_lsm_file_open in /sys/kernel/btf/vmlinux");

    OpenProbe probe;
    ASSERT_EQ(probe.try_open(), 0) << "the probe cannot open / before any program is attached";

    const auto program = deny_open_program(probe.pid());
    char license[] = "GPL";
    std::string log(64 * 1024, '\0');
    bpf_attr load{};
    load.prog_type = BPF_PROG_TYPE_LSM;
    load.expected_attach_type = BPF_LSM_MAC;
    load.insns = reinterpret_cast<uint64_t>(program.data());
    load.insn_cnt = static_cast<uint32_t>(program.size());
    load.license = reinterpret_cast<uint64_t>(license);
    load.attach_btf_id = *btf_id;
    load.log_buf = reinterpret_cast<uint64_t>(log.data());
    load.log_size = static_cast<uint32_t>(log.size());
    load.log_level = 1;
    UniqueFd program_fd(static_cast<int>(bpf_call(BPF_PROG_LOAD, load)));
    const int load_errno = errno;
    BRIG_VM_REQUIRE(program_fd.valid(), "the kernel refuses BPF_PROG_TYPE_LSM programs: "
                                            << strerror(load_errno)
                                            << "; verifier: " << log.c_str());

    bpf_attr attach{};
    attach.raw_tracepoint.name = 0;  // LSM programs attach to the hook named by attach_btf_id
    attach.raw_tracepoint.prog_fd = static_cast<uint32_t>(program_fd.get());
    UniqueFd link_fd(static_cast<int>(bpf_call(BPF_RAW_TRACEPOINT_OPEN, attach)));
    const int attach_errno = errno;
    BRIG_VM_REQUIRE(link_fd.valid(),
                    "attaching the lsm/file_open program failed: " << strerror(attach_errno));

    EXPECT_EQ(probe.try_open(), EPERM) << "the watched process opened / despite the program";
    const int own_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(own_fd, 0) << "a process that is not watched was denied: " << strerror(errno);
    if (own_fd >= 0)
        close(own_fd);

    link_fd.reset();  // detaches: the hook must stop denying
    EXPECT_EQ(probe.try_open(), 0) << "the watched process is still denied after detaching";
}

}  // namespace
}  // namespace brig::test
