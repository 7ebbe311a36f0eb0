// The CLI's checked numbers: what `--preserve-fds`, `--additional-gids` and LISTEN_FDS accept.
#include "cli/flags.hpp"

#include <gtest/gtest.h>

#include "runtime/common/error.hpp"

namespace brig::cli {
namespace {

TEST(CliFlags, IntegersInRangeAreAccepted) {
    EXPECT_EQ(parse_integer("0", 0, 1024, "--preserve-fds"), 0);
    EXPECT_EQ(parse_integer("1024", 0, 1024, "--preserve-fds"), 1024);
    EXPECT_EQ(parse_integer("007", 0, 1024, "--preserve-fds"), 7);
    EXPECT_EQ(parse_integer("-5", -10, 10, "x"), -5);
}

TEST(CliFlags, AnythingElseIsRefusedNamingTheFlag) {
    for (const char* bad :
         {"-1", "-0", "1025", "99999999999999999999", "", " 1", "1 ", "+1", "1x", "0x10", "one"}) {
        SCOPED_TRACE(bad);
        try {
            parse_integer(bad, 0, 1024, "--preserve-fds");
            FAIL() << "accepted";
        } catch (const Error& e) {
            std::string message = e.what();
            EXPECT_EQ(message.rfind("--preserve-fds: ", 0), 0u) << message;
            EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        }
    }
}

TEST(CliFlags, ALongValueIsNotEchoedWhole) {
    try {
        parse_integer(std::string(8192, '9'), 0, 1024, "LISTEN_FDS");
        FAIL() << "accepted";
    } catch (const Error& e) {
        EXPECT_LT(std::string(e.what()).size(), 200u) << e.what();
    }
}

}  // namespace
}  // namespace brig::cli
