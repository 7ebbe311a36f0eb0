#include "monitor/registered_keys.hpp"

#include <array>
#include <cstring>

namespace brig::monitor {

namespace {

constexpr std::string_view kMagic = "BRIGKEY1";

template <typename Key>
void append(std::string& out, const std::vector<Key>& keys) {
    out.append(reinterpret_cast<const char*>(keys.data()), keys.size() * sizeof(Key));
}

uint64_t cgroup_of(const brig_name_key& key) {
    return key.cgroup_id;
}
uint64_t cgroup_of(const brig_addr_key& key) {
    return key.cgroup_id;
}
uint64_t cgroup_of(const brig_prefix_key& key) {
    uint64_t id = 0;  // packed: not aligned
    std::memcpy(&id, reinterpret_cast<const char*>(&key) + offsetof(brig_prefix_key, cgroup_id),
                sizeof(id));
    return id;
}

// Takes count keys off the front of bytes; false when they are not there or not cgroup2_id's.
template <typename Key>
bool take(std::string_view& bytes, uint32_t count, uint64_t cgroup2_id, std::vector<Key>& keys) {
    if (bytes.size() / sizeof(Key) < count)
        return false;
    keys.resize(count);
    std::memcpy(keys.data(), bytes.data(), count * sizeof(Key));
    bytes.remove_prefix(count * sizeof(Key));
    for (const Key& key : keys)
        if (cgroup_of(key) != cgroup2_id)
            return false;
    return true;
}

}  // namespace

std::string serialize_keys(const RegisteredKeys& keys) {
    std::string out(kMagic);
    const std::array<uint32_t, 4> counts{static_cast<uint32_t>(keys.exec_names.size()),
                                         static_cast<uint32_t>(keys.open_names.size()),
                                         static_cast<uint32_t>(keys.open_paths.size()),
                                         static_cast<uint32_t>(keys.addresses.size())};
    out.append(reinterpret_cast<const char*>(counts.data()), sizeof(counts));
    append(out, keys.exec_names);
    append(out, keys.open_names);
    append(out, keys.open_paths);
    append(out, keys.addresses);
    return out;
}

std::optional<RegisteredKeys> parse_keys(std::string_view bytes, uint64_t cgroup2_id) {
    std::array<uint32_t, 4> counts{};
    if (!bytes.starts_with(kMagic) || bytes.size() < kMagic.size() + sizeof(counts))
        return std::nullopt;
    std::memcpy(counts.data(), bytes.data() + kMagic.size(), sizeof(counts));
    bytes.remove_prefix(kMagic.size() + sizeof(counts));
    RegisteredKeys keys;
    if (!take(bytes, counts[0], cgroup2_id, keys.exec_names) ||
        !take(bytes, counts[1], cgroup2_id, keys.open_names) ||
        !take(bytes, counts[2], cgroup2_id, keys.open_paths) ||
        !take(bytes, counts[3], cgroup2_id, keys.addresses) || !bytes.empty())
        return std::nullopt;
    return keys;
}

}  // namespace brig::monitor
