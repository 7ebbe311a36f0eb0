// Long user input is shortened where it is echoed in an error.
#include <gtest/gtest.h>

#include "runtime/common/elide.hpp"

namespace brig {
namespace {

TEST(Elide, ShortTextIsWhole) {
    EXPECT_EQ(elide("/dev/null"), "/dev/null");
    EXPECT_EQ(elide(std::string(160, 'a')), std::string(160, 'a'));
}

TEST(Elide, LongTextKeepsItsEndsAndSaysHowLongItWas) {
    std::string path = "/start" + std::string(5000, 'x') + "/the-end";
    std::string shown = elide(path);
    EXPECT_LT(shown.size(), 200u);
    EXPECT_EQ(shown.rfind("/start", 0), 0u);
    EXPECT_TRUE(shown.ends_with("/the-end"));
    EXPECT_NE(shown.find("(5014 bytes)"), std::string::npos) << shown;
}

}  // namespace
}  // namespace brig
