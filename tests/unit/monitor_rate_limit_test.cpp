// Falco's outputs throttle: the token bucket and the per-container alert limit built on it.
#include <gtest/gtest.h>

#include "monitor/rate_limit.hpp"

namespace brig::monitor {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

TEST(TokenBucket, StartsFullAndEmptiesOneTokenPerClaim) {
    TokenBucket bucket(1, 3, 0);
    EXPECT_TRUE(bucket.claim(0));
    EXPECT_TRUE(bucket.claim(0));
    EXPECT_TRUE(bucket.claim(0));
    EXPECT_FALSE(bucket.claim(0));
    EXPECT_DOUBLE_EQ(bucket.tokens(0), 0);
}

TEST(TokenBucket, RefillsAtItsRateUpToMaxBurst) {
    TokenBucket bucket(2, 3, 0);
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(bucket.claim(0));
    EXPECT_FALSE(bucket.claim(kSecond / 4));  // half a token
    EXPECT_TRUE(bucket.claim(kSecond / 2));   // one
    EXPECT_FALSE(bucket.claim(kSecond / 2));
    EXPECT_DOUBLE_EQ(bucket.tokens(100 * kSecond), 3);  // never more than max_burst
}

TEST(TokenBucket, AClockGoingBackAddsNothing) {
    TokenBucket bucket(1, 1, 10 * kSecond);
    ASSERT_TRUE(bucket.claim(10 * kSecond));
    EXPECT_FALSE(bucket.claim(5 * kSecond));
    EXPECT_TRUE(bucket.claim(11 * kSecond));
}

TEST(AlertRateLimit, SuppressesBeyondTheBurstAndCountsByRule) {
    AlertRateLimit limit(0.001, 2, 0);
    EXPECT_TRUE(limit.admit("a", 1, 0));
    EXPECT_TRUE(limit.admit("a", 1, 0));
    EXPECT_FALSE(limit.admit("a", 1, 0));
    EXPECT_FALSE(limit.admit("a", 1, 0));
    EXPECT_TRUE(limit.has_suppressed());
    EXPECT_EQ(limit.take_suppressed(),
              (std::map<std::string, AlertRateLimit::Suppressed>{{"a", {2, 2}}}));
    EXPECT_FALSE(limit.has_suppressed());
    EXPECT_TRUE(limit.take_suppressed().empty());
}

TEST(AlertRateLimit, TheFirstAlertOfARulePassesAnEmptyBucket) {
    AlertRateLimit limit(0.001, 1, 0);
    EXPECT_TRUE(limit.admit("flood", 1, 0));
    EXPECT_FALSE(limit.admit("flood", 1, 0));
    EXPECT_TRUE(limit.admit("shadow", 1, 0));
    EXPECT_FALSE(limit.admit("shadow", 1, 0));
    EXPECT_EQ(limit.take_suppressed(), (std::map<std::string, AlertRateLimit::Suppressed>{
                                           {"flood", {1, 1}}, {"shadow", {1, 1}}}));
}

TEST(AlertRateLimit, ASuppressedAlertCountsTheEventsItStoodFor) {
    AlertRateLimit limit(0.001, 1, 0);
    EXPECT_TRUE(limit.admit("flood", 1, 0));
    EXPECT_FALSE(limit.admit("flood", 2999, 0));  // a window of coalesced repeats
    EXPECT_EQ(limit.take_suppressed(),
              (std::map<std::string, AlertRateLimit::Suppressed>{{"flood", {1, 2999}}}));
}

TEST(AlertRateLimit, RateZeroLetsEverythingPass) {
    AlertRateLimit limit(0, 1, 0);
    for (int i = 0; i < 10000; ++i)
        ASSERT_TRUE(limit.admit("a", 1, 0));
    EXPECT_FALSE(limit.has_suppressed());
}

}  // namespace
}  // namespace brig::monitor
