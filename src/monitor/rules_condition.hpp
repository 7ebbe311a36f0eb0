// The condition grammar: a condition's text parsed to an expression tree.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/rules_fields.hpp"

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
    exists,
    icontains,
    intersects,  // the field's value is in the list (any ancestor for proc.aname)
    bcontains,   // hex bytes
    bstartswith,
    iglob
};
// in, pmatch and intersects take a parenthesised list.
inline bool takes_list(CompareOp op) {
    return op == CompareOp::in || op == CompareOp::pmatch || op == CompareOp::intersects;
}

// A parsed condition; macros are expanded and list names replaced by their items at parse time.
struct Expr {
    enum class Kind { and_, or_, not_, compare, constant };
    Kind kind = Kind::constant;
    std::vector<std::unique_ptr<Expr>> children;  // and_/or_/not_
    std::string field;                            // compare: "proc.name", "annotations[k]"
    CompareOp op = CompareOp::eq;
    FieldType type = FieldType::string;  // of the field
    std::vector<std::string> values;     // one for binary operators, many for in/pmatch
    bool constant = true;                // constant

    std::unique_ptr<Expr> clone() const;
    std::string to_string() const;
};

// The lists and macros a condition may name.
struct ConditionDefs {
    std::map<std::string, std::vector<std::string>> lists;
    std::map<std::string, std::string> macros;  // name -> condition text, for later files
    std::map<std::string, int> macro_lines;
};

// Parses a condition; `line` and `source` only shape error messages. Falco fields brig cannot
// give are added to `missing` (the condition parses; those fields never have a value).
std::unique_ptr<Expr> parse_condition(std::string_view text, const ConditionDefs& context,
                                      const std::string& source, int line,
                                      std::set<std::string>* missing = nullptr);

}  // namespace brig::monitor
