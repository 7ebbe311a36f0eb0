// The contrib/containerd samples, loaded verbatim (only root, state and socket moved by
// containerd's own flags) by a containerd with its CRI plugin: the plugin must load and know
// the sample's runtime handler.
#include <gtest/gtest.h>

#include <memory>
#include <ostream>

#include "engines/engine_helpers.hpp"

namespace brig::test::engines {
namespace {

struct Sample {
    const char* file;
    const char* handler;
};

void PrintTo(const Sample& sample, std::ostream* out) {
    *out << sample.file;
}

class ContribContainerdSample : public ::testing::TestWithParam<Sample> {};

TEST_P(ContribContainerdSample, LoadsWithTheCriPluginAndDefinesItsHandler) {
    if (auto why = missing_prerequisite({"containerd", "ctr"}, "containerd"); !why.empty())
        GTEST_SKIP() << why;
    const fs::path sample = fs::path(BRIG_SOURCE_DIR) / "contrib/containerd" / GetParam().file;
    ScratchDir dir("contrib");
    const fs::path d = dir.path();
    const std::string socket = (d / "containerd.sock").string();
    const std::string flags = " --config " + quote(sample) + " --root " + quote(d / "root") +
                              " --state " + quote(d / "state") + " --address " + quote(socket);

    auto dump = shell("containerd" + flags + " config dump");
    ASSERT_EQ(dump.status, 0) << dump.output;
    EXPECT_NE(dump.output.find(std::string("runtimes.") + GetParam().handler + "]"),
              std::string::npos)
        << dump.output;

    auto ctr = [&](const std::string& args) {
        return shell("ctr -a " + quote(socket) + " " + args);
    };
    ShellResult plugins;
    {
        Daemon daemon(std::vector<std::string>{"sh", "-c", "exec containerd" + flags},
                      d / "containerd.log");
        ASSERT_TRUE(daemon.wait_ready([&] { return ctr("version").status == 0; }))
            << shell("cat " + quote(d / "containerd.log")).output;
        plugins = ctr("plugins ls");
    }
    std::string cri_line;
    for (size_t at = plugins.output.find("io.containerd.grpc.v1"); at != std::string::npos;
         at = plugins.output.find("io.containerd.grpc.v1", at + 1)) {
        std::string line = plugins.output.substr(at, plugins.output.find('\n', at) - at);
        if (words(line).size() > 1 && words(line)[1] == "cri")
            cri_line = line;
    }
    ASSERT_FALSE(cri_line.empty()) << plugins.output;
    EXPECT_EQ(words(cri_line).back(), "ok")
        << cri_line << "\n"
        << shell("grep -i 'io.containerd.grpc.v1.cri' " + quote(d / "containerd.log")).output;
}

INSTANTIATE_TEST_SUITE_P(Samples, ContribContainerdSample,
                         ::testing::Values(Sample{"config-brig-shim.toml", "brig"},
                                           Sample{"config-brig-shim.toml", "brig-strict"},
                                           Sample{"config-runc-shim.toml", "brig-runc"}),
                         [](const auto& info) {
                             const std::string handler = info.param.handler;
                             return handler == "brig"          ? "BrigShim"
                                    : handler == "brig-strict" ? "BrigShimStrictHandler"
                                                               : "RuncShim";
                         });

}  // namespace
}  // namespace brig::test::engines
