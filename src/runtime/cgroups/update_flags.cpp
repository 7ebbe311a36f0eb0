#include "runtime/cgroups/update_flags.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "runtime/common/error.hpp"

namespace brig::cgroups {
namespace {

template <typename T>
T parse_number(const std::string& text, const std::string& flag) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        throw Error(flag + ": '" + text + "' is not a valid number");
    return value;
}

}  // namespace

int64_t parse_memory_size(const std::string& text, const std::string& flag) {
    if (text == "-1")
        return -1;
    size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        ++digits;
    if (digits == 0)
        throw Error(flag + ": '" + text + "' is not a size (like 1048576, 512k, 256m, 1g)");
    double number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
    if (ec != std::errc() || end != text.data() + digits)
        throw Error(flag + ": '" + text + "' is not a size");
    std::string unit;
    for (char c : text.substr(digits))
        unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::map<std::string, int> powers = {
        {"", 0},   {"b", 0},   {"k", 1}, {"kb", 1}, {"kib", 1}, {"m", 2},
        {"mb", 2}, {"mib", 2}, {"g", 3}, {"gb", 3}, {"gib", 3}, {"t", 4},
        {"tb", 4}, {"tib", 4}, {"p", 5}, {"pb", 5}, {"pib", 5}};
    auto it = powers.find(unit);
    if (it == powers.end())
        throw Error(flag + ": unknown unit '" + text.substr(digits) + "' in '" + text + "'");
    double bytes = number * std::pow(1024.0, it->second);
    if (bytes >= static_cast<double>(std::numeric_limits<int64_t>::max()))
        throw Error(flag + ": '" + text + "' is too large");
    return static_cast<int64_t>(bytes);
}

config::Resources resources_from_update_flags(const std::map<std::string, std::string>& flags) {
    config::Resources resources;
    auto memory = [&]() -> config::MemoryResources& {
        if (!resources.memory)
            resources.memory.emplace();
        return *resources.memory;
    };
    auto cpu = [&]() -> config::CpuResources& {
        if (!resources.cpu)
            resources.cpu.emplace();
        return *resources.cpu;
    };
    for (const auto& [name, value] : flags) {
        std::string flag = "--" + name;
        if (name == "memory")
            memory().limit = parse_memory_size(value, flag);
        else if (name == "memory-swap")
            memory().swap = parse_memory_size(value, flag);
        else if (name == "memory-reservation")
            memory().reservation = parse_memory_size(value, flag);
        else if (name == "kernel-memory")
            memory().kernel = parse_memory_size(value, flag);
        else if (name == "kernel-memory-tcp")
            memory().kernel_tcp = parse_memory_size(value, flag);
        else if (name == "cpu-shares")
            cpu().shares = parse_number<uint64_t>(value, flag);
        else if (name == "cpu-quota")
            cpu().quota = parse_number<int64_t>(value, flag);
        else if (name == "cpu-period")
            cpu().period = parse_number<uint64_t>(value, flag);
        else if (name == "cpu-burst")
            cpu().burst = parse_number<uint64_t>(value, flag);
        else if (name == "cpu-idle")
            cpu().idle = parse_number<int64_t>(value, flag);
        else if (name == "cpu-rt-period")
            cpu().realtime_period = parse_number<uint64_t>(value, flag);
        else if (name == "cpu-rt-runtime")
            cpu().realtime_runtime = parse_number<int64_t>(value, flag);
        else if (name == "cpuset-cpus")
            cpu().cpus = value;
        else if (name == "cpuset-mems")
            cpu().mems = value;
        else if (name == "pids-limit")
            resources.pids_limit = parse_number<int64_t>(value, flag);
        else if (name == "blkio-weight") {
            auto weight = parse_number<uint16_t>(value, flag);
            if (weight != 0 && (weight < 10 || weight > 1000))
                throw Error(flag + ": " + value + " is outside 10..1000");
            if (weight != 0) {
                resources.block_io.emplace();
                resources.block_io->weight = weight;
            }
        } else
            throw Error(flag + ": not an update flag");
    }
    return resources;
}

}  // namespace brig::cgroups
