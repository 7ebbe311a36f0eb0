// What the CRI (containerd's io.kubernetes.cri.*, CRI-O's io.kubernetes.*) says of a container:
// Falco's container.image.*, k8s.ns.name, k8s.pod.name, k8s.pod.uid, fixed at registration.
// The annotations are tenant input: bounded and free of control characters, or create fails
// with one line naming the annotation.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace brig::monitor {

inline constexpr std::size_t kPodMetadataLimit = 1024;

// Field name -> value; fields the annotations do not give stay absent, as in Falco.
std::map<std::string, std::string> pod_fields_of(
    const std::map<std::string, std::string>& annotations);

}  // namespace brig::monitor
