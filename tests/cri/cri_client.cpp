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

using Stub = runtime::v1::RuntimeService::Stub;
using Call = std::function<grpc::Status(Stub&, const std::string& request, std::string& response)>;

// A call of one method: JSON in, the method's request message, its response, JSON out.
template <typename Request, typename Response>
Call method(grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*)) {
    return [rpc](Stub& stub, const std::string& json, std::string& out) {
        Request request;
        auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
        if (!parsed.ok())
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "request JSON: " + std::string(parsed.message()));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
        Response response;
        grpc::Status status = (stub.*rpc)(&context, request, &response);
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
        {"Version", method(&Stub::Version)},
        {"RunPodSandbox", method(&Stub::RunPodSandbox)},
        {"StopPodSandbox", method(&Stub::StopPodSandbox)},
        {"RemovePodSandbox", method(&Stub::RemovePodSandbox)},
        {"CreateContainer", method(&Stub::CreateContainer)},
        {"StartContainer", method(&Stub::StartContainer)},
        {"StopContainer", method(&Stub::StopContainer)},
        {"RemoveContainer", method(&Stub::RemoveContainer)},
        {"UpdateContainerResources", method(&Stub::UpdateContainerResources)},
        {"ExecSync", method(&Stub::ExecSync)},
        {"ContainerStats", method(&Stub::ContainerStats)},
        {"ListContainerStats", method(&Stub::ListContainerStats)},
    };
    return table;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 || !methods().count(argv[2])) {
        std::cerr << "usage: brig_cri_client SOCKET METHOD JSON (METHOD: Version, RunPodSandbox, "
                     "..., ListContainerStats)\n";
        return 2;
    }
    auto channel =
        grpc::CreateChannel(std::string("unix://") + argv[1], grpc::InsecureChannelCredentials());
    auto stub = runtime::v1::RuntimeService::NewStub(channel);
    std::string response;
    grpc::Status status = methods().at(argv[2])(*stub, argv[3], response);
    if (!status.ok()) {
        std::cerr << argv[2] << ": " << status.error_message() << "\n";
        return static_cast<int>(status.error_code()) ? static_cast<int>(status.error_code()) : 1;
    }
    std::cout << response << "\n";
    return 0;
}
