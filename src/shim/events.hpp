// Task events to containerd: Envelope{timestamp, namespace, topic, Any event} sent with
// containerd.services.events.ttrpc.v1.Events/Forward, strictly in the order they happened.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "shim/ttrpc.hpp"

namespace brig::shim {

class EventSink {
public:
    virtual ~EventSink() = default;
    // event_type is the message's full name ("containerd.events.TaskExit").
    virtual void publish(const std::string& topic, const std::string& event_type,
                         const std::string& event) = 0;
};

// Forwards to containerd's ttrpc address over one kept-open connection. Events that cannot be
// delivered (containerd restarting) stay queued and go out, in order, with the next publish.
class TtrpcPublisher : public EventSink {
public:
    TtrpcPublisher(std::string address, std::string ns)
        : address_(std::move(address)), namespace_(std::move(ns)) {}

    void publish(const std::string& topic, const std::string& event_type,
                 const std::string& event) override;
    size_t pending() const { return queue_.size(); }
    // Sends what is queued; false when containerd is unreachable.
    bool flush();

private:
    std::string address_;
    std::string namespace_;
    std::unique_ptr<ttrpc::Client> client_;
    std::deque<std::string> queue_;  // serialized ForwardRequests
};

// "unix:///path" or "/path" -> "/path".
std::string socket_path_of(const std::string& address);

}  // namespace brig::shim
