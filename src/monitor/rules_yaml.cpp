// YAML documents (libyaml's event parser, which gives line numbers; JSON is valid YAML flow).
#include "monitor/rules_yaml.hpp"
#include "monitor/rules.hpp"

#include <yaml.h>

#include "runtime/common/error.hpp"

namespace brig::monitor {

namespace {

class YamlReader {
public:
    YamlReader(std::string_view text, std::string source) : source_(std::move(source)) {
        yaml_parser_initialize(&parser_);
        yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                     text.size());
    }
    ~YamlReader() { yaml_parser_delete(&parser_); }
    YamlReader(const YamlReader&) = delete;
    YamlReader& operator=(const YamlReader&) = delete;

    // The document's root node; an empty document gives an empty sequence.
    Node read() {
        Node root;
        root.kind = Node::Kind::sequence;
        for (;;) {
            Event event;
            next(event);
            if (event.get().type == YAML_STREAM_END_EVENT)
                return root;
            if (event.get().type == YAML_DOCUMENT_START_EVENT) {
                Event first;
                next(first);
                if (first.get().type == YAML_DOCUMENT_END_EVENT)
                    continue;
                root = build(first);
                Event end;
                next(end);
                if (end.get().type != YAML_DOCUMENT_END_EVENT)
                    fail(end.get().start_mark.line + 1, "more than one value in the document");
            }
        }
    }

private:
    class Event {
    public:
        Event() = default;
        Event(const Event&) = delete;
        Event& operator=(const Event&) = delete;
        ~Event() { yaml_event_delete(&event_); }
        yaml_event_t& get() { return event_; }

    private:
        yaml_event_t event_{};
    };

    [[noreturn]] void fail(size_t line, const std::string& what) const {
        throw Error(source_ + ":" + std::to_string(line) + ": " + what);
    }

    void next(Event& event) {
        if (!yaml_parser_parse(&parser_, &event.get())) {
            std::string what = parser_.problem ? parser_.problem : "syntax error";
            if (parser_.context)
                what = std::string(parser_.context) + ": " + what;
            fail(parser_.problem_mark.line + 1, "YAML syntax error: " + what);
        }
    }

    Node build(Event& event) {
        Node node;
        node.line = static_cast<int>(event.get().start_mark.line) + 1;
        switch (event.get().type) {
            case YAML_SCALAR_EVENT:
                node.value.assign(reinterpret_cast<const char*>(event.get().data.scalar.value),
                                  event.get().data.scalar.length);
                return node;
            case YAML_SEQUENCE_START_EVENT:
                node.kind = Node::Kind::sequence;
                for (;;) {
                    Event item;
                    next(item);
                    if (item.get().type == YAML_SEQUENCE_END_EVENT)
                        return node;
                    node.items.push_back(build(item));
                }
            case YAML_MAPPING_START_EVENT:
                node.kind = Node::Kind::mapping;
                for (;;) {
                    Event key;
                    next(key);
                    if (key.get().type == YAML_MAPPING_END_EVENT)
                        return node;
                    Node key_node = build(key);
                    if (key_node.kind != Node::Kind::scalar)
                        fail(key_node.line, "a mapping key must be a plain string");
                    Event value;
                    next(value);
                    node.entries.emplace_back(std::move(key_node), build(value));
                }
            case YAML_ALIAS_EVENT:
                fail(node.line, "YAML aliases are not supported in rules files");
            default:
                fail(node.line, "unexpected YAML event");
        }
    }

    yaml_parser_t parser_{};
    std::string source_;
};

void collect_key_lines(const Node& node, const std::string& prefix,
                       std::map<std::string, int>& out) {
    for (const auto& [key, value] : node.entries) {
        std::string path = prefix.empty() ? key.value : prefix + "." + key.value;
        out.emplace(path, key.line);
        collect_key_lines(value, path, out);
    }
}

}  // namespace

Node read_yaml(std::string_view text, const std::string& source) {
    return YamlReader(text, source).read();
}

std::map<std::string, int> key_lines(std::string_view text, const std::string& source) {
    std::map<std::string, int> lines;
    collect_key_lines(read_yaml(text, source), "", lines);
    return lines;
}

}  // namespace brig::monitor
