// Which signals the kernel would discard when sent to a container's init, from the text of
// /proc/PID/status.
#include <gtest/gtest.h>
#include <signal.h>

#include "runtime/linux/signal_delivery.hpp"

namespace brig::linux {
namespace {

// A shell that is pid 1 of its namespace (host pid 4242), catching SIGINT (2) and SIGCHLD (17),
// ignoring SIGQUIT (3), blocking SIGUSR2 (12).
constexpr const char* kStatus =
    "Name:\tsh\n"
    "NSpid:\t4242\t1\n"
    "SigQ:\t0/31243\n"
    "SigPnd:\t0000000000000000\n"
    "ShdPnd:\t0000000000000000\n"
    "SigBlk:\t0000000000000800\n"
    "SigIgn:\t0000000000000004\n"
    "SigCgt:\t0000000000010002\n";

TEST(SignalDelivery, ParsesTheMasksAndTheNamespacePid) {
    SignalDisposition d = parse_signal_disposition(kStatus);
    EXPECT_TRUE(d.namespace_init);
    EXPECT_EQ(d.blocked, 0x800u);
    EXPECT_EQ(d.ignored, 0x4u);
    EXPECT_EQ(d.caught, 0x10002u);
}

TEST(SignalDelivery, AnInitDiscardsTheSignalsItLeavesAtTheirDefault) {
    SignalDisposition d = parse_signal_disposition(kStatus);
    EXPECT_TRUE(would_discard(d, SIGTERM));
    EXPECT_TRUE(would_discard(d, SIGUSR1));
    EXPECT_FALSE(would_discard(d, SIGINT));   // caught
    EXPECT_FALSE(would_discard(d, SIGQUIT));  // ignored on purpose
    EXPECT_FALSE(would_discard(d, SIGUSR2));  // blocked: queued until unblocked
    EXPECT_FALSE(would_discard(d, SIGKILL));  // from an ancestor namespace: always delivered
}

TEST(SignalDelivery, AProcessThatIsNotANamespaceInitGetsEverySignal) {
    SignalDisposition d = parse_signal_disposition("NSpid:\t4242\t17\nSigCgt:\t0\n");
    EXPECT_FALSE(d.namespace_init);
    EXPECT_FALSE(would_discard(d, SIGTERM));
    EXPECT_FALSE(would_discard(parse_signal_disposition(""), SIGTERM));
}

}  // namespace
}  // namespace brig::linux
