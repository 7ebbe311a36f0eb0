// brig_cri_client: one CRI RuntimeService call over a unix socket, the request and the answer
// as protobuf JSON, the way a kubelet drives containerd's CRI plugin (for tests/integration/
// engines/cri_test.cpp).
//
//   brig_cri_client SOCKET METHOD 'JSON REQUEST'   -> the response as JSON on stdout
//
// Exit 0 on an OK status; else the gRPC status code, with its message on stderr.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cri_subset.grpc.pb.h"

namespace {

using Runtime = runtime::v1::RuntimeService;
using Images = runtime::v1::ImageService;
using Call = std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&,
                                        const std::string& request, std::string& response)>;

// A call of one method of `Service`: JSON in, the method's request message, its response, JSON
// out.
template <typename Service, typename Request, typename Response>
Call method(grpc::Status (Service::Stub::*rpc)(grpc::ClientContext*, const Request&, Response*)) {
    return [rpc](const std::shared_ptr<grpc::Channel>& channel, const std::string& json,
                 std::string& out) {
        auto stub = Service::NewStub(channel);
        Request request;
        auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
        if (!parsed.ok())
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "request JSON: " + std::string(parsed.message()));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
        Response response;
        grpc::Status status = ((*stub).*rpc)(&context, request, &response);
        if (status.ok()) {
            google::protobuf::util::JsonPrintOptions options;
            options.always_print_primitive_fields = true;
            options.preserve_proto_field_names = true;  // snake_case, as the requests are written
            (void)google::protobuf::util::MessageToJsonString(response, &out, options);
        }
        return status;
    };
}

const std::map<std::string, Call>& methods() {
    static const std::map<std::string, Call> table = {
        {"Version", method<Runtime>(&Runtime::Stub::Version)},
        {"RunPodSandbox", method<Runtime>(&Runtime::Stub::RunPodSandbox)},
        {"StopPodSandbox", method<Runtime>(&Runtime::Stub::StopPodSandbox)},
        {"RemovePodSandbox", method<Runtime>(&Runtime::Stub::RemovePodSandbox)},
        {"CreateContainer", method<Runtime>(&Runtime::Stub::CreateContainer)},
        {"StartContainer", method<Runtime>(&Runtime::Stub::StartContainer)},
        {"StopContainer", method<Runtime>(&Runtime::Stub::StopContainer)},
        {"RemoveContainer", method<Runtime>(&Runtime::Stub::RemoveContainer)},
        {"UpdateContainerResources", method<Runtime>(&Runtime::Stub::UpdateContainerResources)},
        {"ExecSync", method<Runtime>(&Runtime::Stub::ExecSync)},
        {"ContainerStats", method<Runtime>(&Runtime::Stub::ContainerStats)},
        {"ListContainerStats", method<Runtime>(&Runtime::Stub::ListContainerStats)},
        {"ImageStatus", method<Images>(&Images::Stub::ImageStatus)},
    };
    return table;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 || !methods().count(argv[2])) {
        std::cerr << "usage: brig_cri_client SOCKET METHOD JSON (METHOD: Version, RunPodSandbox, "
                     "..., ListContainerStats, ImageStatus)\n";
        return 2;
    }
    auto channel =
        grpc::CreateChannel(std::string("unix://") + argv[1], grpc::InsecureChannelCredentials());
    std::string response;
    grpc::Status status = methods().at(argv[2])(channel, argv[3], response);
    if (!status.ok()) {
        std::cerr << argv[2] << ": " << status.error_message() << "\n";
        return static_cast<int>(status.error_code()) ? static_cast<int>(status.error_code()) : 1;
    }
    std::cout << response << "\n";
    return 0;
}
