// The capability sets every escape class is tried in: Docker's default (the harness's config),
// privileged (every capability of this host's bounding set, as Docker --privileged and
// Kubernetes privileged pods grant; nothing else of --privileged) and none given (no
// process.capabilities: the process keeps what root has, as with runc).
#pragma once

#include <string>
#include <vector>

#include "harness.hpp"

namespace brig::test {

enum class Caps { docker, privileged, absent };

inline constexpr Caps kEveryCapabilitySet[] = {Caps::docker, Caps::privileged, Caps::absent};

// "DockerCaps", "Privileged", "NoCapabilities": the suffix of a parameterized test's name.
std::string capability_set_name(Caps caps);

// The capability names of this process's bounding set.
std::vector<std::string> every_capability();

// Sets config.process.capabilities as `caps` says.
void apply_capability_set(Caps caps, Json& config);

// A fixture whose bundle runs in one of the capability sets.
class CapabilitySetTest : public RuntimeTest, public testing::WithParamInterface<Caps> {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        apply_capability_set(GetParam(), bundle().config());
    }
    // A second bundle, in the same capability set.
    Bundle make_bundle(const std::string& name) {
        Bundle b = RuntimeTest::make_bundle(name);
        apply_capability_set(GetParam(), b.config());
        return b;
    }
};

inline std::string capability_set_param_name(const testing::TestParamInfo<Caps>& info) {
    return capability_set_name(info.param);
}

}  // namespace brig::test
