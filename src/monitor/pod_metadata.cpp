#include "monitor/pod_metadata.hpp"

#include <initializer_list>

#include "runtime/common/error.hpp"

namespace brig::monitor {
namespace {

// The first of `keys` present, checked; "" when none is.
std::string annotation(const std::map<std::string, std::string>& annotations,
                       std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
        auto it = annotations.find(key);
        if (it == annotations.end())
            continue;
        const std::string& value = it->second;
        if (value.size() > kPodMetadataLimit)
            throw Error(std::string("annotation ") + key + ": longer than " +
                        std::to_string(kPodMetadataLimit) + " bytes");
        for (unsigned char c : value)
            if (c < 0x20 || c == 0x7f)
                throw Error(std::string("annotation ") + key + ": contains a control character");
        return value;
    }
    return {};
}

}  // namespace

std::map<std::string, std::string> pod_fields_of(
    const std::map<std::string, std::string>& annotations) {
    std::map<std::string, std::string> out;
    std::string image = annotation(
        annotations,
        {"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName", "org.brig.image"});
    if (!image.empty()) {
        out["container.image"] = image;
        std::string repo = image.substr(0, image.find('@'));
        auto colon = repo.rfind(':');
        if (colon != std::string::npos && repo.find('/', colon) == std::string::npos) {
            out["container.image.tag"] = repo.substr(colon + 1);
            repo.resize(colon);
        }
        out["container.image.repository"] = repo;
    }
    if (auto ns = annotation(
            annotations, {"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"});
        !ns.empty())
        out["k8s.ns.name"] = ns;
    if (auto pod =
            annotation(annotations, {"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"});
        !pod.empty())
        out["k8s.pod.name"] = pod;
    if (auto uid =
            annotation(annotations, {"io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"});
        !uid.empty())
        out["k8s.pod.uid"] = uid;
    return out;
}

}  // namespace brig::monitor
