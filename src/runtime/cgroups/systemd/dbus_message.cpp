#include "runtime/cgroups/systemd/dbus_message.hpp"

#include <cstring>

#include "runtime/common/error.hpp"

namespace brig::cgroups::dbus {

namespace {

constexpr size_t kMaxMessage = 128u << 20;  // the specification's limit
constexpr uint8_t kFieldPath = 1, kFieldInterface = 2, kFieldMember = 3, kFieldErrorName = 4,
                  kFieldReplySerial = 5, kFieldDestination = 6, kFieldSignature = 8;

class Writer {
public:
    std::string bytes;

    void align(size_t to) { bytes.resize((bytes.size() + to - 1) / to * to, '\0'); }
    void byte(uint8_t v) { bytes.push_back(static_cast<char>(v)); }
    void u32(uint32_t v) {
        align(4);
        append(&v, 4);  // x86-64 and every target brig builds for are little-endian
    }
    void u64(uint64_t v) {
        align(8);
        append(&v, 8);
    }
    void string(const std::string& s) {
        u32(static_cast<uint32_t>(s.size()));
        bytes += s;
        byte(0);
    }
    void signature(const std::string& s) {
        byte(static_cast<uint8_t>(s.size()));
        bytes += s;
        byte(0);
    }
    // Returns the offset of the length word; end_array fills it in.
    size_t begin_array(size_t element_alignment) {
        u32(0);
        const size_t at = bytes.size() - 4;
        align(element_alignment);
        return at;
    }
    void end_array(size_t length_at, size_t elements_start) {
        const auto length = static_cast<uint32_t>(bytes.size() - elements_start);
        std::memcpy(&bytes[length_at], &length, 4);
    }

private:
    void append(const void* p, size_t n) { bytes.append(static_cast<const char*>(p), n); }
};

const char* signature_of(const Value& value) {
    static constexpr const char* names[] = {"b", "u", "t", "s", "ay", "au"};
    return names[value.index()];
}

void write_value(Writer& w, const Value& value) {
    if (auto b = std::get_if<bool>(&value))
        w.u32(*b ? 1 : 0);
    else if (auto u = std::get_if<uint32_t>(&value))
        w.u32(*u);
    else if (auto t = std::get_if<uint64_t>(&value))
        w.u64(*t);
    else if (auto s = std::get_if<std::string>(&value))
        w.string(*s);
    else if (auto bytes = std::get_if<std::vector<uint8_t>>(&value)) {
        const size_t at = w.begin_array(1);
        const size_t start = w.bytes.size();
        for (uint8_t b : *bytes)
            w.byte(b);
        w.end_array(at, start);
    } else {
        const auto& numbers = std::get<std::vector<uint32_t>>(value);
        const size_t at = w.begin_array(4);
        const size_t start = w.bytes.size();
        for (uint32_t n : numbers)
            w.u32(n);
        w.end_array(at, start);
    }
}

void write_properties(Writer& w, const Properties& properties) {
    const size_t at = w.begin_array(8);
    const size_t start = w.bytes.size();
    for (const auto& [name, value] : properties) {
        w.align(8);
        w.string(name);
        w.signature(signature_of(value));
        write_value(w, value);
    }
    w.end_array(at, start);
}

// Appends the argument's value to the body and its type to the signature.
void write_argument(Writer& w, std::string& signature, const Argument& arg) {
    if (auto s = std::get_if<std::string>(&arg)) {
        signature += "s";
        w.string(*s);
    } else if (auto o = std::get_if<ObjectPath>(&arg)) {
        signature += "o";
        w.string(o->path);
    } else if (auto b = std::get_if<bool>(&arg)) {
        signature += "b";
        w.u32(*b ? 1 : 0);
    } else if (auto p = std::get_if<Properties>(&arg)) {
        signature += "a(sv)";
        write_properties(w, *p);
    } else {
        signature += "a(sa(sv))";
        const size_t at = w.begin_array(8);
        w.end_array(at, w.bytes.size());
    }
}

void write_field(Writer& w, uint8_t code, const char* type, const std::string& value) {
    w.align(8);
    w.byte(code);
    w.signature(type);
    if (type[0] == 'g')
        w.signature(value);
    else
        w.string(value);
}

class Reader {
public:
    Reader(const std::string& bytes, size_t pos, size_t end)
        : bytes_(bytes), pos_(pos), end_(end) {}

    size_t pos() const { return pos_; }
    bool at_end() const { return pos_ >= end_; }
    void align(size_t to) {
        const size_t aligned = (pos_ + to - 1) / to * to;
        need(aligned - pos_);
        pos_ = aligned;
    }
    uint8_t byte() {
        need(1);
        return static_cast<uint8_t>(bytes_[pos_++]);
    }
    uint32_t u32() {
        align(4);
        need(4);
        uint32_t v;
        std::memcpy(&v, &bytes_[pos_], 4);
        pos_ += 4;
        return v;
    }
    std::string string() {
        const uint32_t length = u32();
        need(size_t(length) + 1);
        std::string s = bytes_.substr(pos_, length);
        pos_ += length + 1;
        return s;
    }
    std::string signature() {
        const uint8_t length = byte();
        need(size_t(length) + 1);
        std::string s = bytes_.substr(pos_, length);
        pos_ += length + 1;
        return s;
    }

private:
    void need(size_t n) const {
        if (n > end_ - std::min(pos_, end_))
            throw Error("systemd: a truncated D-Bus message");
    }
    const std::string& bytes_;
    size_t pos_, end_;
};

void read_field(Reader& r, Message& m) {
    r.align(8);
    const uint8_t code = r.byte();
    const std::string type = r.signature();
    if (type == "s" || type == "o") {
        std::string value = r.string();
        if (code == kFieldInterface)
            m.interface = value;
        else if (code == kFieldMember)
            m.member = value;
        else if (code == kFieldErrorName)
            m.error_name = value;
    } else if (type == "u") {
        const uint32_t value = r.u32();
        if (code == kFieldReplySerial)
            m.reply_serial = value;
    } else if (type == "g") {
        std::string value = r.signature();
        if (code == kFieldSignature)
            m.signature = value;
    } else {
        throw Error("systemd: a D-Bus header field of type '" + type.substr(0, 16) + "'");
    }
}

}  // namespace

std::string marshal_call(const MethodCall& call, uint32_t serial) {
    Writer body;
    std::string signature;
    for (const auto& arg : call.args)
        write_argument(body, signature, arg);

    Writer w;
    w.byte('l');
    w.byte(static_cast<uint8_t>(MessageType::call));
    w.byte(0);  // flags: a reply is expected
    w.byte(1);  // protocol version
    w.u32(static_cast<uint32_t>(body.bytes.size()));
    w.u32(serial);
    const size_t at = w.begin_array(8);
    const size_t start = w.bytes.size();
    write_field(w, kFieldPath, "o", call.path);
    write_field(w, kFieldInterface, "s", call.interface);
    write_field(w, kFieldMember, "s", call.member);
    if (!call.destination.empty())
        write_field(w, kFieldDestination, "s", call.destination);
    if (!signature.empty())
        write_field(w, kFieldSignature, "g", signature);
    w.end_array(at, start);
    w.align(8);
    return w.bytes + body.bytes;
}

size_t message_length(const std::string& head) {
    if (head.size() < 16 || head[0] != 'l')
        throw Error("systemd: a D-Bus message that is not little-endian");
    uint32_t body_length, fields_length;
    std::memcpy(&body_length, &head[4], 4);
    std::memcpy(&fields_length, &head[12], 4);
    const size_t header = (16 + size_t(fields_length) + 7) / 8 * 8;
    if (header + body_length > kMaxMessage)
        throw Error("systemd: a D-Bus message over 128 MiB");
    return header + body_length;
}

Message parse_message(const std::string& bytes) {
    const size_t length = message_length(bytes);
    if (bytes.size() < length)
        throw Error("systemd: a truncated D-Bus message");
    Message m;
    m.type = static_cast<MessageType>(bytes[1]);
    std::memcpy(&m.serial, &bytes[8], 4);
    uint32_t fields_length;
    std::memcpy(&fields_length, &bytes[12], 4);
    Reader fields(bytes, 16, 16 + size_t(fields_length));
    while (!fields.at_end())
        read_field(fields, m);
    Reader body(bytes, (16 + size_t(fields_length) + 7) / 8 * 8, length);
    for (char type : m.signature) {
        if (type == 's' || type == 'o')
            m.strings.push_back(body.string());
        else if (type == 'u')
            m.numbers.push_back(body.u32());
        else
            break;
    }
    return m;
}

}  // namespace brig::cgroups::dbus
