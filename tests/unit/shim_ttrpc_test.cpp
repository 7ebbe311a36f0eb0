// The shim's ttrpc server and Task service seen from a client: framing, bad input answered with
// a ttrpc status while the connection keeps serving, and the verbs' helpers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "runtime/common/resident.hpp"
#include "runtime/common/version.hpp"
#include "shim/commands.hpp"
#include "shim/event_loop.hpp"
#include "shim/events.hpp"
#include "shim/service.hpp"
#include "shim/sha256.hpp"
#include "shim/ttrpc.hpp"
#include "task.pb.h"

namespace brig::shim {
namespace {

using ttrpc::Code;

struct RecordingSink : EventSink {
    std::vector<std::string> topics;
    void publish(const std::string& topic, const std::string&, const std::string&) override {
        topics.push_back(topic);
    }
};

// A TaskService behind a Server on one end of a socketpair, its loop on a thread.
class ShimServer : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/brig-shim-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        service_ = std::make_unique<TaskService>(
            loop_, sink_, log_, ServiceOptions{dir_ + "/state", "test", nullptr, nullptr});
        server_ = std::make_unique<ttrpc::Server>(
            loop_, [this](const ttrpc::Call& c) { return service_->handle(c); });
        service_->set_replier(server_.get());
        int pair[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        server_->add_connection(UniqueFd(pair[0]));
        client_ = std::make_unique<ttrpc::Client>(UniqueFd(pair[1]));
        thread_ = std::thread([this] { loop_.run(); });
    }
    void TearDown() override {
        loop_.stop();
        thread_.join();
        client_.reset();
        server_.reset();
        service_.reset();
        std::filesystem::remove_all(dir_);
    }

    // The status of a call that must fail.
    std::pair<Code, std::string> failure(const std::string& service, const std::string& method,
                                         const std::string& payload) {
        try {
            client_->call(service, method, payload, "test");
        } catch (const ttrpc::RpcError& e) {
            return {e.code(), e.what()};
        }
        ADD_FAILURE() << method << " succeeded";
        return {Code::ok, ""};
    }

    std::string connect_ok() {
        containerd::task::v2::ConnectRequest req;
        req.set_id("x");
        containerd::task::v2::ConnectResponse r;
        EXPECT_TRUE(r.ParseFromString(
            client_->call(task_service_name, "Connect", req.SerializeAsString(), "test")));
        EXPECT_EQ(r.shim_pid(), static_cast<uint32_t>(getpid()));
        return r.version();
    }

    std::string dir_;
    Logger log_;
    EventLoop loop_;
    RecordingSink sink_;
    std::unique_ptr<TaskService> service_;
    std::unique_ptr<ttrpc::Server> server_;
    std::unique_ptr<ttrpc::Client> client_;
    std::thread thread_;
};

TEST(ShimTtrpcFraming, HeaderIsBigEndianLengthStreamTypeFlags) {
    auto bytes = ttrpc::encode_header({0x01020304, 0x05060708, 2, 1});
    ASSERT_EQ(bytes.size(), ttrpc::header_size);
    EXPECT_EQ(bytes, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x02\x01", 10));
    auto h = ttrpc::decode_header(bytes.data());
    EXPECT_EQ(h.length, 0x01020304u);
    EXPECT_EQ(h.stream_id, 0x05060708u);
    EXPECT_EQ(h.type, 2);
    EXPECT_EQ(h.flags, 1);
}

TEST(ShimTtrpcFraming, ReaderReassemblesFramesFedByteByByte) {
    std::string stream = ttrpc::encode_frame(1, ttrpc::MessageType::request, "hello") +
                         ttrpc::encode_frame(3, ttrpc::MessageType::request, "");
    ttrpc::FrameReader reader;
    std::vector<ttrpc::FrameReader::Frame> frames;
    for (char c : stream) {
        reader.feed(&c, 1);
        while (auto f = reader.next())
            frames.push_back(*f);
    }
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].payload, "hello");
    EXPECT_EQ(frames[0].header.stream_id, 1u);
    EXPECT_EQ(frames[1].header.stream_id, 3u);
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(ShimTtrpcFraming, OversizedFrameIsSkippedAndTheNextOneRead) {
    std::string big(ttrpc::max_message_size + 1, 'x');
    std::string stream = ttrpc::encode_header({static_cast<uint32_t>(big.size()), 5, 1, 0}) + big +
                         ttrpc::encode_frame(7, ttrpc::MessageType::request, "after");
    ttrpc::FrameReader reader;
    std::vector<ttrpc::FrameReader::Frame> frames;
    for (size_t off = 0; off < stream.size(); off += 100000) {
        reader.feed(stream.data() + off, std::min<size_t>(100000, stream.size() - off));
        while (auto f = reader.next())
            frames.push_back(*f);
        EXPECT_LE(reader.buffered(), 200000u);  // the big payload is never held
    }
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_TRUE(frames[0].oversized);
    EXPECT_EQ(frames[0].header.stream_id, 5u);
    EXPECT_EQ(frames[1].payload, "after");
    EXPECT_THROW(ttrpc::encode_frame(1, ttrpc::MessageType::response, big), ttrpc::RpcError);
}

TEST_F(ShimServer, UnknownServiceAndMethodAreUnimplementedAndTheShimKeepsServing) {
    auto [code, message] = failure("no.such.Service", "Create", "");
    EXPECT_EQ(code, Code::unimplemented);
    EXPECT_NE(message.find("no.such.Service"), std::string::npos);
    std::tie(code, message) = failure(task_service_name, "Frobnicate", "");
    EXPECT_EQ(code, Code::unimplemented);
    EXPECT_NE(message.find("Frobnicate"), std::string::npos);
    std::tie(code, message) = failure(task_service_name, "Checkpoint", "");
    EXPECT_EQ(code, Code::unimplemented);
    EXPECT_EQ(connect_ok(), brig::kVersion);
}

TEST_F(ShimServer, MalformedRequestGetsInvalidArgument) {
    const std::string garbage("\xff\xff\xff\xff\x0f", 5);
    uint32_t stream = 0;
    auto r = client_->round_trip(
        ttrpc::encode_frame(client_->next_stream_id(), ttrpc::MessageType::request, garbage),
        &stream);
    EXPECT_EQ(r.status().code(), static_cast<int>(Code::invalid_argument));
    EXPECT_EQ(stream, 1u);
    // A well-formed Request whose payload is not a CreateTaskRequest.
    auto [code, message] = failure(task_service_name, "Create", garbage);
    EXPECT_EQ(code, Code::invalid_argument);
    EXPECT_NE(message.find("CreateTaskRequest"), std::string::npos);
    connect_ok();
}

TEST_F(ShimServer, OversizedMessageGetsResourceExhaustedOnItsStream) {
    std::string big(ttrpc::max_message_size + 10, 'x');
    uint32_t stream = 0;
    auto r = client_->round_trip(
        ttrpc::encode_header({static_cast<uint32_t>(big.size()), 9, 1, 0}) + big, &stream);
    EXPECT_EQ(r.status().code(), static_cast<int>(Code::resource_exhausted));
    EXPECT_NE(r.status().message().find("exceeds"), std::string::npos);
    EXPECT_EQ(stream, 9u);
    connect_ok();
}

TEST_F(ShimServer, EvenStreamIdIsRefused) {
    ::ttrpc::Request req;
    req.set_service(task_service_name);
    req.set_method("Connect");
    auto r = client_->round_trip(
        ttrpc::encode_frame(2, ttrpc::MessageType::request, req.SerializeAsString()));
    EXPECT_EQ(r.status().code(), static_cast<int>(Code::invalid_argument));
    connect_ok();
}

TEST_F(ShimServer, CreateWithMissingBundleIsNotFoundAndCreatesNothing) {
    containerd::task::v2::CreateTaskRequest req;
    req.set_id("c1");
    req.set_bundle(dir_ + "/no-such-bundle");
    auto [code, message] = failure(task_service_name, "Create", req.SerializeAsString());
    EXPECT_EQ(code, Code::not_found);
    EXPECT_NE(message.find("does not exist"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/state/c1"));
    EXPECT_TRUE(sink_.topics.empty());
}

TEST_F(ShimServer, CreateWithBadConfigFailsCleanlyAndTheIdStaysFree) {
    std::filesystem::create_directories(dir_ + "/bundle");
    {
        FILE* f = fopen((dir_ + "/bundle/config.json").c_str(), "w");
        fputs("{not json", f);
        fclose(f);
    }
    containerd::task::v2::CreateTaskRequest req;
    req.set_id("c2");
    req.set_bundle(dir_ + "/bundle");
    auto [code, message] = failure(task_service_name, "Create", req.SerializeAsString());
    EXPECT_NE(code, Code::ok);
    EXPECT_NE(message.find("config.json"), std::string::npos) << message;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/state/c2"));
    // Nothing was registered: the task is unknown, not half-created.
    containerd::task::v2::StateRequest state;
    state.set_id("c2");
    std::tie(code, message) = failure(task_service_name, "State", state.SerializeAsString());
    EXPECT_EQ(code, Code::not_found);
}

TEST_F(ShimServer, CallsOnUnknownTasksAreNotFound) {
    containerd::task::v2::KillRequest kill;
    kill.set_id("ghost");
    kill.set_signal(9);
    EXPECT_EQ(failure(task_service_name, "Kill", kill.SerializeAsString()).first, Code::not_found);
    containerd::task::v2::WaitRequest wait;
    wait.set_id("ghost");
    EXPECT_EQ(failure(task_service_name, "Wait", wait.SerializeAsString()).first, Code::not_found);
}

TEST_F(ShimServer, ShutdownWithoutTasksStopsTheLoop) {
    containerd::task::v2::ShutdownRequest req;
    client_->call(task_service_name, "Shutdown", req.SerializeAsString(), "test");
    thread_.join();  // returns only because the loop stopped
    EXPECT_TRUE(service_->shutdown_requested());
    thread_ = std::thread([] {});
}

TEST(ShimEventLoop, IdleHookRunsOnceAfterEachBurstOfEvents) {
    EventLoop loop;
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK), 0);
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    int reads = 0, idles = 0;
    loop.add(read_end.get(), EPOLLIN, [&](uint32_t) {
        char buf[16];
        while (::read(read_end.get(), buf, sizeof buf) > 0)
            ++reads;
        if (reads == 2)
            loop.stop();
    });
    std::thread writer([&] {
        [[maybe_unused]] auto r = ::write(write_end.get(), "a", 1);
        // The second burst only once the loop has gone idle after the first.
        while (__atomic_load_n(&idles, __ATOMIC_SEQ_CST) == 0)
            usleep(1000);
        r = ::write(write_end.get(), "b", 1);
    });
    loop.run([&] { __atomic_add_fetch(&idles, 1, __ATOMIC_SEQ_CST); });
    writer.join();
    EXPECT_EQ(reads, 2);
    EXPECT_EQ(idles, 1);  // after the first burst; the loop stopped inside the second
}

TEST(Resident, ReleasingTheTextKeepsDataHeapAndCodeIntact) {
    static int written_at_runtime = 0;
    written_at_runtime = 42;
    std::string on_heap(100, 'h');
    brig::release_resident_text();
    EXPECT_EQ(written_at_runtime, 42);
    EXPECT_EQ(on_heap, std::string(100, 'h'));
    EXPECT_EQ(sha256_hex("abc").substr(0, 8), "ba7816bf");  // code faults back in
}

TEST(ShimHelpers, Sha256MatchesKnownVectors) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex(std::string(1000, 'a')).size(), 64u);
}

TEST(ShimHelpers, SocketPathFitsTheLimitAndDependsOnEveryInput) {
    auto p = socket_path_for("/run/containerd/containerd.sock", "default", "c1");
    EXPECT_LE(p.size(), 106u);
    EXPECT_EQ(p.rfind("/run/containerd/s/", 0), 0u);
    EXPECT_NE(p, socket_path_for("/run/containerd/containerd.sock", "default", "c2"));
    EXPECT_NE(p, socket_path_for("/run/containerd/containerd.sock", "k8s.io", "c1"));
}

TEST(ShimHelpers, FlagsAsContainerdPassesThem) {
    auto f = parse_flags({"-namespace", "k8s.io", "-address", "/run/c.sock", "-publish-binary",
                          "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
    EXPECT_EQ(f.ns, "k8s.io");
    EXPECT_EQ(f.address, "/run/c.sock");
    EXPECT_EQ(f.id, "abc");
    EXPECT_TRUE(f.debug);
    EXPECT_EQ(f.verb, "start");
    f = parse_flags({"-id=x", "--bundle", "/b", "delete"});
    EXPECT_EQ(f.id, "x");
    EXPECT_EQ(f.bundle, "/b");
    EXPECT_EQ(f.verb, "delete");
    EXPECT_THROW(parse_flags({"-id"}), Error);
}

}  // namespace
}  // namespace brig::shim
