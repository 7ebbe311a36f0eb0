// The record create writes for exec: what the init applied is what exec reads back.
#include <gtest/gtest.h>
#include <linux/landlock.h>

#include "runtime/common/error.hpp"
#include "runtime/security/deny_policy.hpp"

namespace brig::security {
namespace {

TEST(DenyPolicy, RecordReadsBackAsWritten) {
    DenyPolicy written{{{"/etc", ~0ULL}, {"/usr/bin", LANDLOCK_ACCESS_FS_REMOVE_FILE}},
                       {"init_module", "finit_module", "bpf"}};
    DenyPolicy read = DenyPolicy::from_json_text(written.to_json_text(), "record");
    EXPECT_EQ(read.landlock_deny, written.landlock_deny);
    EXPECT_EQ(read.seccomp_deny, written.seccomp_deny);
}

TEST(DenyPolicy, EmptyPolicyReadsBackEmpty) {
    DenyPolicy read = DenyPolicy::from_json_text(DenyPolicy{}.to_json_text(), "record");
    EXPECT_TRUE(read.landlock_deny.empty());
    EXPECT_TRUE(read.seccomp_deny.empty());
}

// A damaged record is an error naming it, never an empty (unconfined) policy.
TEST(DenyPolicy, DamagedRecordIsAnErrorNamingIt) {
    for (const char* text : {"", "{", "{}", R"({"landlockDeny": {"/etc": "x"}, "seccompDeny": []})",
                             R"({"landlockDeny": {}})"}) {
        SCOPED_TRACE(text);
        try {
            DenyPolicy::from_json_text(text, "/run/brig/c/confinement.json");
            ADD_FAILURE() << "accepted";
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()).rfind("/run/brig/c/confinement.json: ", 0), 0u)
                << e.what();
        }
    }
}

}  // namespace
}  // namespace brig::security
