// The condition grammar: tokens, then a recursive-descent parser to an Expr tree with macros
// expanded and lists replaced by their items.
#include "monitor/rules_condition.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "monitor/rules_fields.hpp"
#include "runtime/common/error.hpp"
#include "runtime/common/scope_guard.hpp"

namespace brig::monitor {

std::unique_ptr<Expr> Expr::clone() const {
    auto copy = std::make_unique<Expr>();
    copy->kind = kind;
    copy->field = field;
    copy->op = op;
    copy->type = type;
    copy->values = values;
    copy->constant = constant;
    for (const auto& child : children)
        copy->children.push_back(child->clone());
    return copy;
}

namespace {
constexpr std::string_view kOpNames[] = {
    "=",      "!=",        "<",          "<=",        ">",           ">=",
    "in",     "pmatch",    "startswith", "endswith",  "contains",    "glob",
    "exists", "icontains", "intersects", "bcontains", "bstartswith", "iglob"};
}

std::string Expr::to_string() const {
    switch (kind) {
        case Kind::constant:
            return constant ? "true" : "false";
        case Kind::not_:
            return "not " + children[0]->to_string();
        case Kind::and_:
        case Kind::or_: {
            std::string out = "(";
            for (size_t i = 0; i < children.size(); ++i) {
                if (i)
                    out += kind == Kind::and_ ? " and " : " or ";
                out += children[i]->to_string();
            }
            return out + ")";
        }
        case Kind::compare: {
            std::string out = field + " " + std::string(kOpNames[static_cast<int>(op)]);
            if (op == CompareOp::exists)
                return out;
            if (takes_list(op)) {
                out += " (";
                for (size_t i = 0; i < values.size(); ++i)
                    out += (i ? ", " : "") + values[i];
                return out + ")";
            }
            return out + " " + values.at(0);
        }
    }
    return {};
}

namespace {

struct Token {
    enum class Kind { word, quoted, symbol, end } kind;
    std::string text;
    size_t offset;
};

class ConditionParser {
public:
    ConditionParser(std::string_view text, const ConditionDefs& context, std::string where,
                    std::vector<std::string>& macro_stack, std::set<std::string>* missing)
        : text_(text),
          context_(context),
          where_(std::move(where)),
          macro_stack_(macro_stack),
          missing_(missing) {
        tokenize();
    }

    std::unique_ptr<Expr> parse() {
        auto expr = parse_or();
        if (peek().kind != Token::Kind::end)
            fail("unexpected '" + peek().text + "'", peek());
        return expr;
    }

private:
    [[noreturn]] void fail(const std::string& what, const Token& at) const {
        throw Error(where_ + ": " + what + " at column " + std::to_string(at.offset + 1));
    }

    void tokenize() {
        size_t i = 0;
        auto is_word_char = [](char c) {
            return !std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')' &&
                   c != ',' && c != '=' && c != '<' && c != '>' && c != '!' && c != '"' &&
                   c != '\'';
        };
        while (i < text_.size()) {
            char c = text_[i];
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++i;
            } else if (c == '(' || c == ')' || c == ',') {
                tokens_.push_back({Token::Kind::symbol, std::string(1, c), i++});
            } else if (c == '=' || c == '<' || c == '>' || c == '!') {
                size_t start = i++;
                if (i < text_.size() && text_[i] == '=')
                    ++i;
                tokens_.push_back(
                    {Token::Kind::symbol, std::string(text_.substr(start, i - start)), start});
            } else if (c == '"' || c == '\'') {
                size_t start = i++;
                std::string value;
                while (i < text_.size() && text_[i] != c) {
                    if (text_[i] == '\\' && i + 1 < text_.size())
                        ++i;
                    value += text_[i++];
                }
                if (i >= text_.size())
                    fail("unterminated string", {Token::Kind::quoted, {}, start});
                ++i;
                tokens_.push_back({Token::Kind::quoted, value, start});
            } else {
                size_t start = i;
                int bracket = 0;  // annotations[k.e/y] may hold any of our separators but ']'
                while (i < text_.size() && (bracket > 0 || is_word_char(text_[i]))) {
                    if (text_[i] == '[')
                        ++bracket;
                    else if (text_[i] == ']')
                        --bracket;
                    ++i;
                }
                tokens_.push_back(
                    {Token::Kind::word, std::string(text_.substr(start, i - start)), start});
            }
        }
        tokens_.push_back({Token::Kind::end, "end of condition", text_.size()});
    }

    const Token& peek() const { return tokens_[pos_]; }
    const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
    bool peek_word(std::string_view word) const {
        return peek().kind == Token::Kind::word && peek().text == word;
    }
    void expect_symbol(std::string_view symbol) {
        if (peek().kind != Token::Kind::symbol || peek().text != symbol)
            fail("expected '" + std::string(symbol) + "', found '" + peek().text + "'", peek());
        next();
    }

    std::unique_ptr<Expr> combine(Expr::Kind kind, std::unique_ptr<Expr> left,
                                  std::unique_ptr<Expr> right) {
        if (left->kind != kind) {
            auto node = std::make_unique<Expr>();
            node->kind = kind;
            node->children.push_back(std::move(left));
            left = std::move(node);
        }
        left->children.push_back(std::move(right));
        return left;
    }

    std::unique_ptr<Expr> parse_or() {
        auto left = parse_and();
        while (peek_word("or")) {
            next();
            left = combine(Expr::Kind::or_, std::move(left), parse_and());
        }
        return left;
    }

    std::unique_ptr<Expr> parse_and() {
        auto left = parse_not();
        while (peek_word("and")) {
            next();
            left = combine(Expr::Kind::and_, std::move(left), parse_not());
        }
        return left;
    }

    std::unique_ptr<Expr> parse_not() {
        if (peek_word("not")) {
            next();
            auto node = std::make_unique<Expr>();
            node->kind = Expr::Kind::not_;
            node->children.push_back(parse_not());
            return node;
        }
        return parse_primary();
    }

    // A Falco field brig cannot give is noted (the rule is skipped) and parsed like any other.
    bool is_field_name(std::string_view word) const {
        if (word.starts_with("annotations[") && word.ends_with("]") && word.size() > 13)
            return true;
        if (find_field(word))
            return true;
        if (!unsupplied_field(word))
            return false;
        if (missing_)
            missing_->insert(std::string(word));
        return true;
    }

    std::unique_ptr<Expr> parse_primary() {
        const Token& token = next();
        if (token.kind == Token::Kind::symbol && token.text == "(") {
            auto inner = parse_or();
            expect_symbol(")");
            return inner;
        }
        if (token.kind != Token::Kind::word)
            fail("expected a field, a macro or '(', found '" + token.text + "'", token);
        if (token.text == "true" || token.text == "false") {
            auto node = std::make_unique<Expr>();
            node->constant = token.text == "true";
            return node;
        }
        if (is_field_name(token.text))
            return parse_comparison(token);
        if (auto macro = context_.macros.find(token.text); macro != context_.macros.end())
            return expand_macro(token, macro->second);
        if (token.text.find('.') != std::string::npos)
            fail("unknown field '" + token.text + "'", token);
        fail("unknown macro or field '" + token.text + "'", token);
    }

    std::unique_ptr<Expr> expand_macro(const Token& token, const std::string& body) {
        if (std::find(macro_stack_.begin(), macro_stack_.end(), token.text) != macro_stack_.end())
            fail("macro '" + token.text + "' refers to itself", token);
        macro_stack_.push_back(token.text);
        ScopeGuard pop([&] { macro_stack_.pop_back(); });
        int line = 0;
        if (auto it = context_.macro_lines.find(token.text); it != context_.macro_lines.end())
            line = it->second;
        std::string where =
            where_ + ", in macro '" + token.text + "' (line " + std::to_string(line) + ")";
        return ConditionParser(body, context_, where, macro_stack_, missing_).parse();
    }

    void add_list_item(const std::string& item, std::vector<std::string>& out, int depth = 0) {
        auto list = context_.lists.find(item);
        if (list == context_.lists.end() || depth > 16) {
            out.push_back(item);
            return;
        }
        for (const auto& nested : list->second)
            add_list_item(nested, out, depth + 1);
    }

    std::unique_ptr<Expr> parse_comparison(const Token& field) {
        auto node = std::make_unique<Expr>();
        node->kind = Expr::Kind::compare;
        node->field = field.text;
        if (const FieldInfo* info = find_field(field.text))
            node->type = info->type;
        const Token& op = next();
        static const std::map<std::string, CompareOp, std::less<>> ops = {
            {"=", CompareOp::eq},
            {"==", CompareOp::eq},
            {"!=", CompareOp::ne},
            {"<", CompareOp::lt},
            {"<=", CompareOp::le},
            {">", CompareOp::gt},
            {">=", CompareOp::ge},
            {"in", CompareOp::in},
            {"pmatch", CompareOp::pmatch},
            {"startswith", CompareOp::startswith},
            {"endswith", CompareOp::endswith},
            {"contains", CompareOp::contains},
            {"glob", CompareOp::glob},
            {"exists", CompareOp::exists},
            {"icontains", CompareOp::icontains},
            {"intersects", CompareOp::intersects},
            {"bcontains", CompareOp::bcontains},
            {"bstartswith", CompareOp::bstartswith},
            {"iglob", CompareOp::iglob}};
        auto found = ops.find(op.text);
        if (op.kind == Token::Kind::quoted || found == ops.end())
            fail("expected an operator after field '" + field.text + "', found '" + op.text + "'",
                 op);
        node->op = found->second;
        if (node->op == CompareOp::exists)
            return node;
        if (takes_list(node->op)) {
            expect_symbol("(");
            while (!(peek().kind == Token::Kind::symbol && peek().text == ")")) {
                const Token& item = next();
                if (item.kind == Token::Kind::word)
                    add_list_item(item.text, node->values);
                else if (item.kind == Token::Kind::quoted)
                    node->values.push_back(item.text);
                else
                    fail("expected a list item for field '" + field.text + "', found '" +
                             item.text + "'",
                         item);
                if (peek().kind == Token::Kind::symbol && peek().text == ",")
                    next();
            }
            expect_symbol(")");
            normalise_values(*node);
            return node;
        }
        const Token& value = next();
        if (value.kind != Token::Kind::word && value.kind != Token::Kind::quoted)
            fail("expected a value for field '" + field.text + "', found '" + value.text + "'",
                 value);
        const FieldInfo* info = find_field(field.text);
        if (info && info->type == FieldType::number && value.kind == Token::Kind::word) {
            int64_t number = 0;
            auto [end, ec] =
                std::from_chars(value.text.data(), value.text.data() + value.text.size(), number);
            if (ec != std::errc() || end != value.text.data() + value.text.size())
                fail("field '" + field.text + "' is a number, '" + value.text + "' is not", value);
        }
        node->values.push_back(value.text);
        normalise_values(*node);
        return node;
    }

    // Falco gives ptrace requests by name; numbers in brig's older rules mean the same request.
    static void normalise_values(Expr& node) {
        if (node.field == "evt.arg.request")
            for (auto& value : node.values)
                if (!value.empty() && std::isdigit(static_cast<unsigned char>(value[0])))
                    value = ptrace_request_name(std::stoull(value, nullptr, 0));
    }

    std::string_view text_;
    const ConditionDefs& context_;
    std::string where_;
    std::vector<std::string>& macro_stack_;
    std::set<std::string>* missing_;
    std::vector<Token> tokens_;
    size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Expr> parse_condition(std::string_view text, const ConditionDefs& context,
                                      const std::string& source, int line,
                                      std::set<std::string>* missing) {
    std::vector<std::string> stack;
    std::string where = line > 0 ? source + ":" + std::to_string(line) : source;
    return ConditionParser(text, context, where, stack, missing).parse();
}

}  // namespace brig::monitor
