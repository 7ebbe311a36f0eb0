// A YAML (or JSON) document as a tree of nodes that know their line, for line-numbered messages.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brig::monitor {

struct Node {
    enum class Kind { scalar, sequence, mapping } kind = Kind::scalar;
    std::string value;
    std::vector<Node> items;                     // sequence
    std::vector<std::pair<Node, Node>> entries;  // mapping
    int line = 0;
};

// The document's root node; an empty document gives an empty sequence. Throws brig::Error
// naming the source and the line of a syntax error.
Node read_yaml(std::string_view text, const std::string& source);

}  // namespace brig::monitor
