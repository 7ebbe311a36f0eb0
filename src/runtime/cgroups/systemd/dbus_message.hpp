// The D-Bus wire format, the part brig's systemd driver speaks: method calls with string,
// object-path, boolean and a(sv) arguments out; replies, errors and signals of basic types in.
// brig is one static binary and Debian ships no static libsystemd, so it marshals the handful
// of messages it needs itself (the D-Bus specification's "Message Protocol", little-endian).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace brig::cgroups::dbus {

// A property value of the types systemd's unit properties use here.
using Value = std::variant<bool, uint32_t, uint64_t, std::string, std::vector<uint8_t>,
                           std::vector<uint32_t>>;
using Property = std::pair<std::string, Value>;  // one (sv) of an a(sv)
using Properties = std::vector<Property>;

// One argument of a method call: a string, an object path, a boolean, a(sv), or a(sa(sv))
// (StartTransientUnit's auxiliary units, always empty here).
struct ObjectPath {
    std::string path;
};
struct EmptyAuxUnits {};
using Argument = std::variant<std::string, ObjectPath, bool, Properties, EmptyAuxUnits>;

struct MethodCall {
    std::string destination, path, interface, member;
    std::vector<Argument> args;
};

// Serializes a METHOD_CALL message with the given serial.
std::string marshal_call(const MethodCall& call, uint32_t serial);

enum class MessageType : uint8_t { call = 1, reply = 2, error = 3, signal = 4 };

// A received message: the header fields brig reads and the body's leading basic values
// (strings, object paths and uint32s, in order; other types end the decoding).
struct Message {
    MessageType type = MessageType::call;
    uint32_t serial = 0;
    std::optional<uint32_t> reply_serial;
    std::string interface, member, error_name, signature;
    std::vector<std::string> strings;  // body's s/o values, in order
    std::vector<uint32_t> numbers;     // body's u values, in order
};

// The length of the whole message whose first 16 bytes are `head`, or throws on a header no
// D-Bus peer sends (big-endian, a length beyond the 128 MiB the spec allows).
size_t message_length(const std::string& head);
// Parses one whole message (as message_length measured it). Throws brig::Error on bad data.
Message parse_message(const std::string& bytes);

}  // namespace brig::cgroups::dbus
