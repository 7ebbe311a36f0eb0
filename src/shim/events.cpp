#include "shim/events.hpp"

#include <time.h>

#include "events.pb.h"

namespace brig::shim {

std::string socket_path_of(const std::string& address) {
    constexpr std::string_view scheme = "unix://";
    if (address.rfind(scheme, 0) == 0)
        return address.substr(scheme.size());
    return address;
}

void TtrpcPublisher::publish(const std::string& topic, const std::string& event_type,
                             const std::string& event) {
    containerd::events::ForwardRequest request;
    auto* envelope = request.mutable_envelope();
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    envelope->mutable_timestamp()->set_seconds(now.tv_sec);
    envelope->mutable_timestamp()->set_nanos(static_cast<int32_t>(now.tv_nsec));
    envelope->set_namespace_(namespace_);
    envelope->set_topic(topic);
    envelope->mutable_event()->set_type_url(event_type);
    envelope->mutable_event()->set_value(event);
    queue_.push_back(request.SerializeAsString());
    flush();
}

bool TtrpcPublisher::flush() {
    if (address_.empty()) {
        queue_.clear();  // nobody to tell (the shim runs without containerd, as in tests)
        return true;
    }
    while (!queue_.empty()) {
        try {
            if (!client_)
                client_ = std::make_unique<ttrpc::Client>(
                    ttrpc::Client::connect(socket_path_of(address_)));
            client_->call("containerd.services.events.ttrpc.v1.Events", "Forward", queue_.front(),
                          namespace_);
            queue_.pop_front();
        } catch (const ttrpc::RpcError&) {
            queue_.pop_front();  // containerd refused this one: retrying would not help
        } catch (const Error&) {
            client_.reset();
            return false;
        }
    }
    return true;
}

}  // namespace brig::shim
