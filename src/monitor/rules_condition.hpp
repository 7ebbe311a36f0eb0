// The condition grammar: a condition's text parsed to an expression tree.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace brig::monitor {

enum class CompareOp {
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    in,
    pmatch,
    startswith,
    endswith,
    contains,
    glob,
    exists
};

// A parsed condition; macros are expanded and list names replaced by their items at parse time.
struct Expr {
    enum class Kind { and_, or_, not_, compare, constant };
    Kind kind = Kind::constant;
    std::vector<std::unique_ptr<Expr>> children;  // and_/or_/not_
    std::string field;                            // compare: "proc.name", "annotations[k]"
    CompareOp op = CompareOp::eq;
    std::vector<std::string> values;  // one for binary operators, many for in/pmatch
    bool constant = true;             // constant

    std::unique_ptr<Expr> clone() const;
    std::string to_string() const;
};

// The lists and macros a condition may name.
struct ConditionDefs {
    std::map<std::string, std::vector<std::string>> lists;
    std::map<std::string, std::string> macros;  // name -> condition text, for later files
    std::map<std::string, int> macro_lines;
};

// Parses a condition; `line` and `source` only shape error messages.
std::unique_ptr<Expr> parse_condition(std::string_view text, const ConditionDefs& context,
                                      const std::string& source, int line);

}  // namespace brig::monitor
