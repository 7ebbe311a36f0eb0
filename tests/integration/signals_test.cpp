// `run` in the foreground forwards signals to the container and reports how it ended.
#include <signal.h>

#include "harness.hpp"

namespace brig::test {
namespace {

using SignalsTest = RuntimeTest;

std::string trapper(const std::string& name) {
    return "trap 'echo " + name + " > /got; exit 42' " + name +
           "; echo ready > /ready; while true; do sleep 1 & wait $!; done";
}

class ForwardedSignalTest : public RuntimeTest, public ::testing::WithParamInterface<int> {};

TEST_P(ForwardedSignalTest, RunForwardsTheSignalToTheContainer) {
    std::string name = sigabbrev_np(GetParam());
    bundle().set_script(trapper(name));
    auto id = new_id();
    auto running = spawn_runtime({"run", "--bundle", bundle().dir().string(), id});
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "ready"); }));
    ASSERT_EQ(kill(running->pid(), GetParam()), 0);
    auto result = running->wait();
    EXPECT_EQ(trim(read_file(bundle().rootfs() / "got")), name);
    EXPECT_EQ(result.exit_code, 42) << result.describe();
}

INSTANTIATE_TEST_SUITE_P(Signals, ForwardedSignalTest, ::testing::Values(SIGTERM, SIGINT, SIGUSR1),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

TEST_F(SignalsTest, RunReportsAContainerKilledBySignalAs128PlusSignal) {
    // Without a pid namespace: the init of a pid namespace cannot SIGKILL itself.
    auto& namespaces = bundle().config()["linux"]["namespaces"];
    namespaces.erase(std::remove(namespaces.begin(), namespaces.end(), Json{{"type", "pid"}}),
                     namespaces.end());
    bundle().set_script("kill -KILL $$");
    auto result = run(new_id());
    EXPECT_EQ(result.exit_code, 128 + SIGKILL) << result.describe();
}

TEST_F(SignalsTest, KillOfARunContainerEndsTheRun) {
    bundle().set_script(trapper("TERM"));
    auto id = new_id();
    auto running = spawn_runtime({"run", "--bundle", bundle().dir().string(), id});
    ASSERT_TRUE(wait_until([&] { return fs::exists(bundle().rootfs() / "ready"); }));
    auto killed = runtime({"kill", id, "KILL"});
    ASSERT_TRUE(killed.ok()) << killed.describe();
    auto result = running->wait();
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.exit_code, 128 + SIGKILL) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

}  // namespace
}  // namespace brig::test
