// The record of a registration's rule-map keys: what delete deletes instead of walking the maps.
#include <gtest/gtest.h>

#include <cstring>

#include "monitor/registered_keys.hpp"

namespace brig::monitor {
namespace {

constexpr uint64_t kCgroup = 4242;

RegisteredKeys sample_keys(uint64_t cgroup) {
    RegisteredKeys keys;
    brig_name_key name{};
    name.cgroup_id = cgroup;
    std::strcpy(name.name, "nc");
    keys.exec_names = {name, name};
    std::strcpy(name.name, "release_agent");
    keys.open_names = {name};
    brig_prefix_key prefix{};
    prefix.cgroup_id = cgroup;
    prefix.prefixlen = 64 + 8 * 5;
    std::memcpy(prefix.path, "/etc/", 5);
    keys.open_paths = {prefix};
    brig_addr_key address{};
    address.cgroup_id = cgroup;
    address.port = 4444;
    keys.addresses = {address};
    return keys;
}

TEST(RegisteredKeys, RoundTripsEveryMapsKeysByteForByte) {
    const RegisteredKeys keys = sample_keys(kCgroup);
    auto parsed = parse_keys(serialize_keys(keys), kCgroup);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->exec_names.size(), 2u);
    EXPECT_STREQ(parsed->open_names.at(0).name, "release_agent");
    ASSERT_EQ(parsed->open_paths.size(), 1u);
    EXPECT_EQ(std::memcmp(&parsed->open_paths[0], &keys.open_paths[0], sizeof(brig_prefix_key)), 0);
    EXPECT_EQ(parsed->addresses.at(0).port, 4444);
}

TEST(RegisteredKeys, AnEmptyPolicyRoundTrips) {
    auto parsed = parse_keys(serialize_keys({}), kCgroup);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->exec_names.empty() && parsed->open_paths.empty());
}

TEST(RegisteredKeys, ARecordThatIsNotWholeIsRefused) {
    const std::string bytes = serialize_keys(sample_keys(kCgroup));
    for (size_t cut : {size_t{0}, size_t{7}, size_t{20}, bytes.size() - 1})
        EXPECT_FALSE(parse_keys(bytes.substr(0, cut), kCgroup)) << "cut at " << cut;
    EXPECT_FALSE(parse_keys(bytes + "x", kCgroup));
    std::string huge_count = bytes;
    huge_count[8] = '\xff', huge_count[9] = '\xff', huge_count[10] = '\xff',
    huge_count[11] = '\x7f';
    EXPECT_FALSE(parse_keys(huge_count, kCgroup));
}

TEST(RegisteredKeys, KeysOfAnotherContainerAreRefused) {
    // Deleting them would take another container's rules away: the caller walks the maps.
    EXPECT_FALSE(parse_keys(serialize_keys(sample_keys(kCgroup + 1)), kCgroup));
    RegisteredKeys mixed = sample_keys(kCgroup);
    mixed.addresses[0].cgroup_id = 7;
    EXPECT_FALSE(parse_keys(serialize_keys(mixed), kCgroup));
}

}  // namespace
}  // namespace brig::monitor
