#include "monitor/pod_metadata.hpp"

#include <array>
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
    // Falco's field <- containerd's annotation, or CRI-O's.
    constexpr std::array<std::array<const char*, 3>, 3> pod_fields = {{
        {"k8s.ns.name", "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"},
        {"k8s.pod.name", "io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"},
        {"k8s.pod.uid", "io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"},
    }};
    for (const auto& [field, containerd, cri_o] : pod_fields)
        if (auto value = annotation(annotations, {containerd, cri_o}); !value.empty())
            out[field] = value;
    return out;
}

}  // namespace brig::monitor
