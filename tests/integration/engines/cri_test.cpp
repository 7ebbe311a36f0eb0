// brig as a kubelet drives it: containerd 1.6 with its CRI plugin, a pause image built here,
// and brig_cri_client (tests/cri) making the kubelet's calls over CRI for a host-network pod of
// two containers sharing the pod's pid namespace, on the handlers "brig" (brig's shim) and
// "brig-runc" (containerd's runc shim with brig as its BinaryName). Afterwards nothing of the
// pod is left: no shim, container process, mount, cgroup or brig state.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "engines/engine_helpers.hpp"
#include "runtime/common/scope_guard.hpp"

namespace brig::test::engines {
namespace {

using Json = nlohmann::json;

constexpr const char* kImage = "localhost/brig-test/busybox:cri";

std::string shim_binary() {
    return (fs::path(brig_binary()).parent_path() / "containerd-shim-brig-v2").string();
}

class CriTest : public ::testing::TestWithParam<const char*> {
protected:
    static void SetUpTestSuite() {
        verdict_.skip_reason =
            missing_prerequisite({"containerd", "ctr", "containerd-shim-runc-v2"}, "containerd");
        if (verdict_.skip_reason.empty() && std::string(BRIG_CRI_CLIENT).empty())
            verdict_.skip_reason =
                "brig_cri_client was not built (apt-get install libgrpc++-dev "
                "protobuf-compiler-grpc, then reconfigure)";
        if (!verdict_.skip_reason.empty())
            return;
        dir_ = std::make_unique<ScratchDir>("cri");
        const fs::path d = dir_->path();
        fs::create_directories(d / "bin");
        fs::create_symlink(shim_binary(), d / "bin/containerd-shim-brig-v2");
        write_config(d);
        daemon_ = std::make_unique<Daemon>(
            std::vector<std::string>{"sh", "-c",
                                     "PATH=" + quote((d / "bin").string()) +
                                         ":$PATH exec containerd --config " +
                                         quote((d / "config.toml").string())},
            d / "containerd.log");
        if (!daemon_->wait_ready([] { return cri("Version", "{}").status == 0; })) {
            verdict_.setup_failure = "containerd's CRI did not answer: " +
                                     shell("tail -n 30 " + quote(d / "containerd.log")).output;
            return;
        }
        const std::string build = std::string(BRIG_SOURCE_DIR) + "/tests/cri/build-test-image";
        auto image =
            shell(quote(build) + " " + quote(dir_->rootfs_tar()) + " " + kImage + " " +
                  quote(d / "image.tar") + " && ctr -a " + quote(socket()) +
                  " -n k8s.io images import --snapshotter native " + quote(d / "image.tar"));
        if (image.status != 0) {
            verdict_.setup_failure = "importing the test image: " + image.output;
            return;
        }
        // The CRI plugin's image cache follows containerd's events: wait until it knows it.
        const std::string status = Json{{"image", {{"image", kImage}}}}.dump();
        if (!eventually([&] {
                auto r = cri("ImageStatus", status);
                Json answer = Json::parse(r.output, nullptr, false);
                return r.status == 0 && answer.is_object() &&
                       !answer["image"].value("id", "").empty();
            }))
            verdict_.setup_failure = "the CRI plugin never listed the imported image";
    }

    static void write_config(const fs::path& d) {
        const std::string runtimes = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
        std::ofstream(d / "config.toml")
            << "version = 2\nroot = \"" << (d / "root").string() << "\"\nstate = \""
            << (d / "state").string() << "\"\n[grpc]\n  address = \"" << socket() << "\"\n"
            << "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"" << kImage << "\"\n"
            << "  disable_apparmor = true\n"
            // Where root lacks CAP_SYS_RESOURCE (as on this test machine), the sandbox's
            // oomScoreAdj -998 fails for runc as for brig: kept at containerd's own score.
            << "  restrict_oom_score_adj = true\n"
            << "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \""
            << (d / "cni-bin").string() << "\"\n  conf_dir = \"" << (d / "cni-conf").string()
            << "\"\n"
            << "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"native\"\n"
            << "  default_runtime_name = \"runc\"\n"
            << runtimes << ".runc]\n  runtime_type = \"io.containerd.runc.v2\"\n"
            << runtimes << ".brig]\n  runtime_type = \"io.containerd.brig.v2\"\n"
            << runtimes << ".brig-runc]\n  runtime_type = \"io.containerd.runc.v2\"\n"
            << runtimes << ".brig-runc.options]\n  BinaryName = \"" << brig_binary() << "\"\n";
    }

    static void TearDownTestSuite() {
        daemon_.reset();
        dir_.reset();
    }

    void SetUp() override { verdict_.apply(); }

    static std::string socket() { return (dir_->path() / "containerd.sock").string(); }

    static ShellResult cri(const std::string& method, const std::string& request) {
        return shell(quote(BRIG_CRI_CLIENT) + " " + quote(socket()) + " " + method + " " +
                     quote(request));
    }
    // A call that must succeed; its response.
    static Json call(const std::string& method, const Json& request) {
        auto result = cri(method, request.dump());
        EXPECT_EQ(result.status, 0) << method << " " << request.dump() << ": " << result.output;
        Json response = Json::parse(result.output, nullptr, false);
        return response.is_discarded() ? Json::object() : response;
    }

    // A host-network pod: no hostname, as the kubelet sends none for one (the pod has the
    // node's uts namespace; runc too refuses a hostname there).
    static Json sandbox_config(const std::string& name) {
        return {{"metadata", {{"name", name}, {"uid", name + "-uid"}, {"namespace", "brig-test"}}},
                {"log_directory", (dir_->path() / "logs" / name).string()},
                {"linux",
                 {{"security_context",
                   {{"namespace_options", {{"network", "NODE"}, {"pid", "POD"}}}}}}}};
    }

    static Json container_config(const std::string& name, const std::string& script) {
        return {{"metadata", {{"name", name}}},
                {"image", {{"image", kImage}}},
                {"command", {"/bin/sh", "-c", script}},
                {"log_path", name + ".log"},
                {"linux",
                 {{"resources", {{"memory_limit_in_bytes", 64 * 1024 * 1024}}},
                  {"security_context", {{"namespace_options", {{"pid", "POD"}}}}}}}};
    }

    // ExecSync's stdout (bytes are base64 in protobuf JSON) and exit code.
    static std::pair<std::string, int> exec_sync(const std::string& id, const std::string& script) {
        Json r = call("ExecSync",
                      {{"container_id", id}, {"cmd", {"/bin/sh", "-c", script}}, {"timeout", 30}});
        auto out = shell("printf %s " + quote(r.value("stdout", "")) + " | base64 -d");
        return {out.output, r.value("exit_code", -1)};
    }

    static inline SuiteVerdict verdict_;
    static inline std::unique_ptr<ScratchDir> dir_;
    static inline std::unique_ptr<Daemon> daemon_;
};

std::string file_text(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The host's processes whose command line (a shim's -id) or cgroups (a container's processes,
// the pause process) name `id`: "PID: COMMAND LINE" lines.
std::string processes_naming(const std::string& id) {
    std::string found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string pid = entry.path().filename();
        if (pid.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string cmdline = file_text(entry.path() / "cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(id) != std::string::npos ||
            file_text(entry.path() / "cgroup").find(id) != std::string::npos)
            found += pid + ": " + cmdline + "\n";
    }
    return found;
}

TEST_P(CriTest, APodOfTwoContainersLivesAndLeavesNothing) {
    const std::string handler = GetParam();
    const std::string pod_name = "pod-" + handler;
    const Json pod_config = sandbox_config(pod_name);
    const std::string pod =
        call("RunPodSandbox", {{"config", pod_config}, {"runtime_handler", handler}})
            .value("pod_sandbox_id", "");
    ASSERT_FALSE(pod.empty());
    std::vector<std::string> ids;
    // A failed assertion below must not leave the pod running into the next handler's test.
    ScopeGuard remove_all([&] {
        for (const auto& id : ids)
            cri("RemoveContainer", Json{{"container_id", id}}.dump());
        cri("StopPodSandbox", Json{{"pod_sandbox_id", pod}}.dump());
        cri("RemovePodSandbox", Json{{"pod_sandbox_id", pod}}.dump());
    });

    for (const auto& [name, script] :
         {std::pair{"first", "sleep 1001"}, {"second", "sleep 1002"}}) {
        const std::string id = call("CreateContainer", {{"pod_sandbox_id", pod},
                                                        {"config", container_config(name, script)},
                                                        {"sandbox_config", pod_config}})
                                   .value("container_id", "");
        ASSERT_FALSE(id.empty());
        call("StartContainer", {{"container_id", id}});
        ids.push_back(id);
    }

    // ExecSync, its exit code, and the pod's shared pid namespace: the second's sleep is seen.
    auto [out, code] = exec_sync(ids[0], "echo from-exec; ps -o args; exit 3");
    EXPECT_EQ(code, 3);
    EXPECT_NE(out.find("from-exec"), std::string::npos) << out;
    EXPECT_NE(out.find("sleep 1002"), std::string::npos) << out;

    Json stats = call("ContainerStats", {{"container_id", ids[0]}});
    EXPECT_GT(std::stoull(stats["stats"]["memory"]["usage_bytes"].value("value", "0")), 0u)
        << stats.dump();
    Json listed = call("ListContainerStats", {{"filter", {{"pod_sandbox_id", pod}}}});
    EXPECT_EQ(listed["stats"].size(), 2u) << listed.dump();

    call("UpdateContainerResources",
         {{"container_id", ids[0]}, {"linux", {{"memory_limit_in_bytes", 128 * 1024 * 1024}}}});
    auto [limit, limit_code] =
        exec_sync(ids[0],
                  "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                  "cat /sys/fs/cgroup/memory.max 2>&1");
    EXPECT_EQ(limit, "134217728\n");

    for (const auto& id : ids) {
        call("StopContainer", {{"container_id", id}, {"timeout", 0}});
        call("RemoveContainer", {{"container_id", id}});
    }
    call("StopPodSandbox", {{"pod_sandbox_id", pod}});
    call("RemovePodSandbox", {{"pod_sandbox_id", pod}});
    remove_all.dismiss();

    // Nothing of the pod is left: processes, mounts, containerd's and brig's state, cgroups.
    std::vector<std::string> names = ids;
    names.push_back(pod);
    for (const auto& name : names) {
        EXPECT_TRUE(eventually([&] { return processes_naming(name).empty(); }))
            << "left of " << name << ": " << processes_naming(name);
        EXPECT_EQ(shell("grep -c " + quote(name) + " /proc/self/mountinfo").output, "0\n") << name;
        const std::string places = "/run/containerd/brig /run/containerd/runc /sys/fs/cgroup " +
                                   quote(dir_->path() / "state") + " " +
                                   quote(dir_->path() / "root");
        EXPECT_EQ(shell("find " + places + " -maxdepth 4 -name " + quote("*" + name + "*") +
                        " 2>/dev/null")
                      .output,
                  "")
            << name;
    }
}

INSTANTIATE_TEST_SUITE_P(Handlers, CriTest, ::testing::Values("brig", "brig-runc"),
                         [](const auto& info) {
                             return std::string(info.param) == "brig" ? "BrigShim" : "RuncShim";
                         });

}  // namespace
}  // namespace brig::test::engines
