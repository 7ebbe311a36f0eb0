#include "runtime/common/command_line.hpp"

#include <gtest/gtest.h>

#include "runtime/common/error.hpp"

namespace brig {
namespace {

const FlagSpec spec{{"bundle", "b", "env"}, {"detach", "d"}};

TEST(CommandLine, AcceptsOneOrTwoDashesAndInlineValues) {
    auto a =
        parse_args({"x", "-bundle", "/b1", "--env=A=1", "--env", "B=2", "--detach", "id"}, 1, spec);
    EXPECT_EQ(a.value("bundle"), "/b1");
    EXPECT_EQ(a.values("env"), (std::vector<std::string>{"A=1", "B=2"}));
    EXPECT_TRUE(a.has("detach"));
    EXPECT_EQ(a.positional, std::vector<std::string>{"id"});
    EXPECT_EQ(a.first_positional_index, 7u);
}

TEST(CommandLine, DoubleDashEndsFlags) {
    auto a = parse_args({"x", "--", "--detach"}, 1, spec);
    EXPECT_FALSE(a.has("detach"));
    EXPECT_EQ(a.positional, std::vector<std::string>{"--detach"});
}

TEST(CommandLine, StopsAtFirstPositionalWhenAsked) {
    FlagSpec exec_like{{"cwd"}, {"t"}, true};
    auto a = parse_args({"id", "sh", "-c", "echo -t"}, 0, exec_like);
    EXPECT_EQ(a.positional, (std::vector<std::string>{"id", "sh", "-c", "echo -t"}));
    EXPECT_FALSE(a.has("t"));
}

TEST(CommandLine, RejectsUnknownFlagsAndMissingValues) {
    EXPECT_THROW(parse_args({"--nope"}, 0, spec), Error);
    try {
        parse_args({"--bundle"}, 0, spec);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "flag --bundle needs a value");
    }
}

TEST(CommandLine, BooleanFalseIsNotSet) {
    auto a = parse_args({"--detach=false"}, 0, spec);
    EXPECT_FALSE(a.has("detach"));
}

}  // namespace
}  // namespace brig
