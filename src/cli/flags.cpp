#include "cli/flags.hpp"

#include <fcntl.h>

#include <charconv>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::cli {

int64_t parse_integer(std::string_view text, int64_t min, int64_t max, const std::string& what) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    bool sign_ok = text.empty() || text[0] != '-' || min < 0;
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || text[0] == '+' || !sign_ok || ec != std::errc() || ptr != end ||
        value < min || value > max)
        throw Error(what + ": must be a number from " + std::to_string(min) + " to " +
                    std::to_string(max) + ", not \"" + std::string(text.substr(0, 64)) + "\"");
    return value;
}

std::string checked_pid_file(const std::string& path) {
    if (path.empty())
        return path;
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    if (ec)
        throw Error("--pid-file: cannot resolve " + path, ec.value());
    UniqueFd dir(::open(absolute.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        throw_errno("--pid-file: cannot write " + absolute.string());
    return absolute.string();
}

void print_json(const nlohmann::json& value) {
    std::cout << value.dump(2) << std::endl;
}

}  // namespace brig::cli
