// `ps ID [PS ARGS]`: the container's processes. `--format json` is the array of host pids
// (containerd's Pids). The table is runc's: the host's ps runs with the arguments (`-ef` when
// none are given; `ps ID -e -o pid,comm` as go-runc's Top passes them, or after `--`) and its
// header and the lines of the container's pids are printed. A host without ps gets a PID/CMD
// table from /proc instead.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "cli/flags.hpp"
#include "cli/verbs.hpp"
#include "runtime/common/c_strings.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/unique_fd.hpp"
#include "runtime/state/state_store.hpp"

namespace brig::cli {
namespace {

constexpr size_t kMaxPsOutput = 64u << 20;

// Everything until EOF (so that ps never blocks on a full pipe), keeping at most the cap.
std::string read_all(int fd) {
    std::string out;
    char buf[65536];
    bool truncated = false;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out.size() + static_cast<size_t>(n) > kMaxPsOutput)
            truncated = true;
        else
            out.append(buf, static_cast<size_t>(n));
    }
    if (truncated)
        throw Error("ps: the host's ps wrote more than 64 MiB");
    return out;
}

// Runs the host's ps with `args`: its stdout and stderr together, nullopt without a ps.
std::optional<std::string> run_host_ps(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw_errno("ps: pipe");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    std::vector<std::string> argv_strings{"ps"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    auto argv = c_strings(argv_strings);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, "ps", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc == ENOENT)
        return std::nullopt;
    if (rc != 0)
        throw Error("ps: cannot run the host's ps", rc);
    write_end.reset();
    std::string output = read_all(read_end.get());
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error("ps: the host's ps failed: " + output.substr(0, output.find('\n')));
    return output;
}

std::vector<std::string> fields_of(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string field; in >> field;)
        out.push_back(field);
    return out;
}

void print_host_ps(const std::vector<pid_t>& pids, const std::string& ps_output) {
    std::istringstream output(ps_output);
    std::string header;
    std::getline(output, header);
    auto columns = fields_of(header);
    auto pid_column = std::find(columns.begin(), columns.end(), "PID");
    if (pid_column == columns.end())
        throw Error("ps: no PID column in the output of the host's ps");
    const size_t index = static_cast<size_t>(pid_column - columns.begin());
    const std::set<pid_t> wanted(pids.begin(), pids.end());
    std::cout << header << "\n";
    for (std::string line; std::getline(output, line);) {
        auto fields = fields_of(line);
        if (fields.empty())
            continue;
        if (fields.size() <= index)
            throw Error("ps: no pid in the host's ps line \"" + line.substr(0, 200) + "\"");
        auto pid = static_cast<pid_t>(parse_integer(fields[index], 1, INT32_MAX, "ps: PID"));
        if (wanted.contains(pid))
            std::cout << line << "\n";
    }
    std::cout.flush();
}

void print_comm_table(const std::vector<pid_t>& pids) {
    std::printf("%-8s %s\n", "PID", "CMD");
    for (pid_t pid : pids) {
        std::string cmd;
        try {
            cmd = state::read_file("/proc/" + std::to_string(pid) + "/comm", 256);
        } catch (const Error&) {
            // Gone meanwhile: listed without a name.
        }
        if (!cmd.empty() && cmd.back() == '\n')
            cmd.pop_back();
        std::printf("%-8d %s\n", pid, cmd.c_str());
    }
}

int run_ps(const Context&, Runtime& rt, const ParsedArgs& a) {
    std::string format = a.value_or("format", a.value_or("f", "table"));
    if (format != "table" && format != "json")
        throw Error("--format: must be table or json, not \"" + format + "\"");
    std::vector<std::string> ps_args(a.positional.begin() + 1, a.positional.end());
    if (!ps_args.empty() && ps_args.front() == "--")
        ps_args.erase(ps_args.begin());
    auto pids = rt.pids(a.positional.at(0));
    if (format == "json") {
        std::cout << nlohmann::json(pids).dump() << std::endl;
        return 0;
    }
    const bool own_args = !ps_args.empty();
    if (!own_args)
        ps_args = {"-ef"};
    if (auto output = run_host_ps(ps_args))
        print_host_ps(pids, *output);
    else if (own_args)
        throw Error("ps: the host has no ps to pass the arguments to");
    else
        print_comm_table(pids);
    return 0;
}

}  // namespace

Verb ps_verb() {
    // The ps arguments follow the id unparsed, as runc takes them.
    return {"ps",  {{"format", "f"}, {}, true},
            1,     "ps [--format table|json] ID [PS ARGS...]",
            false, run_ps};
}

}  // namespace brig::cli
