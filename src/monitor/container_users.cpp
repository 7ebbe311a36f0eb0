// user.name as Falco gives it: from the container's own /etc/passwd.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "monitor/container_users.hpp"
#include "runtime/common/unique_fd.hpp"

namespace brig::monitor {

namespace {

// The file's text, opened beneath root as if root were "/" (symlinks cannot lead out).
std::string read_in_root(const std::string& root, const char* path) {
    UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        return {};
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    UniqueFd file(static_cast<int>(::syscall(SYS_openat2, dir.get(), path, &how, sizeof(how))));
    if (!file)
        return {};
    std::string text;
    char buf[4096];
    for (ssize_t n; text.size() < (1 << 20) && (n = ::read(file.get(), buf, sizeof(buf))) > 0;)
        text.append(buf, static_cast<size_t>(n));
    return text;
}

std::optional<uint32_t> number(std::string_view text) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return n;
}

// Container uid -> host uid through linux.uidMappings (none: the same).
std::optional<uint32_t> host_uid(const nlohmann::json& mappings, uint32_t uid) {
    if (!mappings.is_array() || mappings.empty())
        return uid;
    for (const auto& m : mappings) {
        uint32_t inside = m.value("containerID", 0u), outside = m.value("hostID", 0u),
                 size = m.value("size", 0u);
        if (uid >= inside && uid - inside < size)
            return outside + (uid - inside);
    }
    return std::nullopt;
}

}  // namespace

std::map<uint32_t, std::string> container_user_names(const std::string& bundle) {
    std::map<uint32_t, std::string> names;
    if (bundle.empty())
        return names;
    try {
        std::ifstream in(bundle + "/config.json");
        if (!in)
            return names;
        auto config = nlohmann::json::parse(in);
        std::string root = config.at("root").at("path").get<std::string>();
        if (!root.starts_with("/"))
            root = bundle + "/" + root;
        nlohmann::json mappings = config.value("linux", nlohmann::json::object())
                                      .value("uidMappings", nlohmann::json::array());
        std::istringstream passwd(read_in_root(root, "etc/passwd"));
        for (std::string line; std::getline(passwd, line);) {
            auto first = line.find(':'), second = line.find(':', first + 1),
                 third = line.find(':', second + 1);
            if (first == 0 || third == std::string::npos)
                continue;
            auto uid = number(std::string_view(line).substr(second + 1, third - second - 1));
            if (!uid)
                continue;
            if (auto host = host_uid(mappings, *uid))
                names.emplace(*host, line.substr(0, first));
        }
    } catch (const nlohmann::json::exception&) {
    }
    return names;
}

}  // namespace brig::monitor
