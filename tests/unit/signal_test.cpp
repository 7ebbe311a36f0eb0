#include <gtest/gtest.h>
#include <signal.h>

#include "runtime/lifecycle/container.hpp"

namespace brig::lifecycle {
namespace {

TEST(ParseSignal, NamesWithAndWithoutPrefixAndNumbers) {
    EXPECT_EQ(parse_signal("TERM"), SIGTERM);
    EXPECT_EQ(parse_signal("SIGKILL"), SIGKILL);
    EXPECT_EQ(parse_signal("kill"), SIGKILL);
    EXPECT_EQ(parse_signal("9"), 9);
    EXPECT_EQ(parse_signal("USR1"), SIGUSR1);
    EXPECT_EQ(parse_signal("RTMIN+2"), SIGRTMIN + 2);
}

TEST(ParseSignal, RejectsNonsense) {
    for (const char* bad : {"", "FOO", "0", "-1", "65", "99999", "SIG"})
        EXPECT_THROW(parse_signal(bad), Error) << bad;
}

}  // namespace
}  // namespace brig::lifecycle
