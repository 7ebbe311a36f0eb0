#include "monitor/rules.hpp"

#include <yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "runtime/common/error.hpp"
#include "runtime/common/scope_guard.hpp"

namespace brig::monitor {

extern const std::string_view kDefaultRulesYaml;
std::string_view default_rules_text() {
    return kDefaultRulesYaml;
}

namespace {

constexpr std::string_view kActionNames[] = {"alert", "deny", "kill"};
constexpr std::string_view kPriorityNames[] = {"EMERGENCY", "ALERT",  "CRITICAL",      "ERROR",
                                               "WARNING",   "NOTICE", "INFORMATIONAL", "DEBUG"};

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

std::optional<Action> parse_action(std::string_view text) {
    for (size_t i = 0; i < std::size(kActionNames); ++i)
        if (lower(text) == kActionNames[i])
            return static_cast<Action>(i);
    return std::nullopt;
}
std::string_view action_name(Action action) {
    return kActionNames[static_cast<int>(action)];
}

std::optional<Priority> parse_priority(std::string_view text) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == "INFO")
        return Priority::informational;
    for (size_t i = 0; i < std::size(kPriorityNames); ++i)
        if (upper == kPriorityNames[i])
            return static_cast<Priority>(i);
    return std::nullopt;
}
std::string_view priority_name(Priority priority) {
    // Falco prints priorities capitalised: "Warning".
    static const std::string_view names[] = {"Emergency", "Alert",  "Critical",      "Error",
                                             "Warning",   "Notice", "Informational", "Debug"};
    return names[static_cast<int>(priority)];
}

const std::vector<FieldInfo>& known_fields() {
    static const std::vector<FieldInfo> fields = {
        {"evt.type", FieldType::string, false,
         "syscall: execve, open, openat, openat2, creat, unlink, unlinkat, rmdir, rename, "
         "renameat, renameat2, chmod, fchmodat, fchmodat2, mkdir, mkdirat, socket, connect, "
         "bind, ptrace, memfd_create, init_module, finit_module, bpf"},
        {"evt.is_open_write", FieldType::boolean, false,
         "open for writing, creating or truncating"},
        {"evt.is_open_read", FieldType::boolean, false, "open for reading"},
        {"evt.arg.domain", FieldType::string, false, "socket domain: AF_PACKET, ..."},
        {"evt.arg.request", FieldType::number, false, "ptrace request"},
        {"evt.arg.newpath", FieldType::string, false,
         "destination of a rename (fd.name is its source; a rule on fd.name matches either)"},
        {"proc.name", FieldType::string, false, "process name (basename of the executable)"},
        {"proc.exe", FieldType::string, false, "executable path as given to execve"},
        {"proc.cmdline", FieldType::string, false, "name and arguments"},
        {"proc.args", FieldType::string, false, "arguments"},
        {"proc.pname", FieldType::string, false, "parent's name"},
        {"proc.pid", FieldType::number, false, "process id (host)"},
        {"proc.ppid", FieldType::number, false, "parent process id (host)"},
        {"proc.tty", FieldType::number, false, "controlling terminal, 0 = none"},
        {"proc.exe_new", FieldType::boolean, false,
         "the executable was written or changed after the container started"},
        {"fd.name", FieldType::string, false,
         "file path (opened, unlinked, renamed, chmod-ed, made) or ip:port"},
        {"fd.directory", FieldType::string, false, "directory of fd.name"},
        {"fd.filename", FieldType::string, false, "basename of fd.name"},
        {"fd.sip", FieldType::string, false, "server ip of a connect, local ip of a bind"},
        {"fd.sport", FieldType::number, false, "server port of a connect, local port of a bind"},
        {"user.uid", FieldType::number, false, "uid (host view)"},
        {"container.id", FieldType::string, true, "container id"},
        {"container.name", FieldType::string, true, "container name (annotation or id)"},
    };
    return fields;
}

const FieldInfo* find_field(std::string_view name) {
    for (const auto& field : known_fields())
        if (field.name == name)
            return &field;
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Expressions

std::unique_ptr<Expr> Expr::clone() const {
    auto copy = std::make_unique<Expr>();
    copy->kind = kind;
    copy->field = field;
    copy->op = op;
    copy->values = values;
    copy->constant = constant;
    for (const auto& child : children)
        copy->children.push_back(child->clone());
    return copy;
}

namespace {
constexpr std::string_view kOpNames[] = {"=",        "!=",   "<",      "<=",         ">",
                                         ">=",       "in",   "pmatch", "startswith", "endswith",
                                         "contains", "glob", "exists"};
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
            if (op == CompareOp::in || op == CompareOp::pmatch) {
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
    ConditionParser(std::string_view text, const RuleSet& context, std::string where,
                    std::vector<std::string>& macro_stack)
        : text_(text), context_(context), where_(std::move(where)), macro_stack_(macro_stack) {
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

    static bool is_field_name(std::string_view word) {
        if (word.starts_with("annotations[") && word.ends_with("]") && word.size() > 13)
            return true;
        return find_field(word) != nullptr;
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
        return ConditionParser(body, context_, where, macro_stack_).parse();
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
            {"exists", CompareOp::exists}};
        auto found = ops.find(op.text);
        if (op.kind == Token::Kind::quoted || found == ops.end())
            fail("expected an operator after field '" + field.text + "', found '" + op.text + "'",
                 op);
        node->op = found->second;
        if (node->op == CompareOp::exists)
            return node;
        if (node->op == CompareOp::in || node->op == CompareOp::pmatch) {
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
        return node;
    }

    std::string_view text_;
    const RuleSet& context_;
    std::string where_;
    std::vector<std::string>& macro_stack_;
    std::vector<Token> tokens_;
    size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Expr> parse_condition(std::string_view text, const RuleSet& context,
                                      const std::string& source, int line) {
    std::vector<std::string> stack;
    std::string where = line > 0 ? source + ":" + std::to_string(line) : source;
    return ConditionParser(text, context, where, stack).parse();
}

// ---------------------------------------------------------------------------------------------
// YAML documents (libyaml's event parser, which gives line numbers; JSON is valid YAML flow).

namespace {

struct Node {
    enum class Kind { scalar, sequence, mapping } kind = Kind::scalar;
    std::string value;
    std::vector<Node> items;                     // sequence
    std::vector<std::pair<Node, Node>> entries;  // mapping
    int line = 0;
};

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

class EntryReader {
public:
    // `allowed` empty: no check of the entry's keys (a reader that only looks up the name).
    EntryReader(const Node& entry, std::string source, std::string kind, std::string name,
                std::set<std::string> allowed)
        : entry_(entry),
          source_(std::move(source)),
          kind_(std::move(kind)),
          name_(std::move(name)) {
        for (const auto& [key, value] : entry.entries)
            if (!allowed.empty() && !allowed.contains(key.value)) {
                std::string list;
                for (const auto& a : allowed)
                    list += (list.empty() ? "" : ", ") + a;
                fail(key.line, "unknown field '" + key.value + "' (allowed: " + list + ")");
            }
    }

    [[noreturn]] void fail(int line, const std::string& what) const {
        throw Error(source_ + ":" + std::to_string(line) + ": " + kind_ + " '" + name_ +
                    "': " + what);
    }

    const Node* find(std::string_view key) const {
        for (const auto& [k, v] : entry_.entries)
            if (k.value == key)
                return &v;
        return nullptr;
    }

    std::optional<std::string> scalar(std::string_view key) const {
        const Node* node = find(key);
        if (!node)
            return std::nullopt;
        if (node->kind != Node::Kind::scalar)
            fail(node->line, "field '" + std::string(key) + "' must be a string");
        return node->value;
    }

    std::optional<bool> boolean(std::string_view key) const {
        auto text = scalar(key);
        if (!text)
            return std::nullopt;
        if (*text == "true")
            return true;
        if (*text == "false")
            return false;
        fail(find(key)->line,
             "field '" + std::string(key) + "' must be true or false, not '" + *text + "'");
    }

    std::optional<std::vector<std::string>> strings(std::string_view key) const {
        const Node* node = find(key);
        if (!node)
            return std::nullopt;
        if (node->kind != Node::Kind::sequence)
            fail(node->line, "field '" + std::string(key) + "' must be a list");
        std::vector<std::string> out;
        for (const auto& item : node->items) {
            if (item.kind != Node::Kind::scalar)
                fail(item.line, "items of '" + std::string(key) + "' must be strings");
            out.push_back(item.value);
        }
        return out;
    }

    int line_of(std::string_view key) const {
        const Node* node = find(key);
        return node ? node->line : entry_.line;
    }

private:
    const Node& entry_;
    std::string source_;
    std::string kind_;
    std::string name_;
};

void load_rule(const EntryReader& reader, const std::string& name, const std::string& source,
               RuleSet& into) {
    auto existing = std::find_if(into.rules.begin(), into.rules.end(),
                                 [&](const Rule& r) { return r.name == name; });
    bool append = reader.boolean("append").value_or(false);
    auto condition = reader.scalar("condition");
    if (existing != into.rules.end() && (append || !condition)) {
        // Overrides of an earlier rule: extend its condition or change enabled/action/priority.
        if (append && condition)
            existing->condition_text = "(" + existing->condition_text + ") " + *condition;
        if (auto enabled = reader.boolean("enabled"))
            existing->enabled = *enabled;
        if (auto action = reader.scalar("action")) {
            existing->action = parse_action(*action);
            if (!existing->action)
                reader.fail(reader.line_of("action"),
                            "action must be alert, deny or kill, not '" + *action + "'");
        }
        return;
    }
    if (append)
        reader.fail(reader.line_of("append"), "append to a rule that does not exist");
    Rule rule;
    rule.name = name;
    rule.line = reader.line_of("condition");
    rule.source = source;
    if (!condition)
        reader.fail(reader.line_of("rule"), "missing field 'condition'");
    rule.condition_text = *condition;
    auto output = reader.scalar("output");
    if (!output)
        reader.fail(reader.line_of("rule"), "missing field 'output'");
    rule.output = *output;
    auto priority = reader.scalar("priority");
    if (!priority)
        reader.fail(reader.line_of("rule"), "missing field 'priority'");
    auto parsed_priority = parse_priority(*priority);
    if (!parsed_priority)
        reader.fail(reader.line_of("priority"), "unknown priority '" + *priority + "'");
    rule.priority = *parsed_priority;
    rule.desc = reader.scalar("desc").value_or("");
    rule.tags = reader.strings("tags").value_or(std::vector<std::string>{});
    rule.enabled = reader.boolean("enabled").value_or(true);
    if (auto action = reader.scalar("action")) {
        rule.action = parse_action(*action);
        if (!rule.action)
            reader.fail(reader.line_of("action"),
                        "action must be alert, deny or kill, not '" + *action + "'");
    }
    if (existing != into.rules.end())
        *existing = std::move(rule);
    else
        into.rules.push_back(std::move(rule));
}

}  // namespace

void resolve_conditions(RuleSet& set) {
    for (auto& rule : set.rules)
        rule.condition = parse_condition(
            rule.condition_text, set,
            rule.source + ":" + std::to_string(rule.line) + ": rule '" + rule.name + "' condition",
            0);
}

namespace {

void collect_key_lines(const Node& node, const std::string& prefix,
                       std::map<std::string, int>& out) {
    for (const auto& [key, value] : node.entries) {
        std::string path = prefix.empty() ? key.value : prefix + "." + key.value;
        out.emplace(path, key.line);
        collect_key_lines(value, path, out);
    }
}

}  // namespace

std::map<std::string, int> key_lines(std::string_view text, const std::string& source) {
    std::map<std::string, int> lines;
    collect_key_lines(YamlReader(text, source).read(), "", lines);
    return lines;
}

void load_rules(std::string_view text, const std::string& source_name, RuleSet& into) {
    Node root = YamlReader(text, source_name).read();
    if (root.kind != Node::Kind::sequence)
        throw Error(source_name + ":" + std::to_string(root.line) +
                    ": a rules file is a list of rule, macro and list entries");
    RuleSet staged = into;  // nothing changes unless the whole file is valid
    for (auto& rule : staged.rules)
        rule.condition.reset();
    for (const Node& entry : root.items) {
        auto where = [&](int line) { return source_name + ":" + std::to_string(line) + ": "; };
        if (entry.kind != Node::Kind::mapping)
            throw Error(where(entry.line) + "expected a mapping with rule, macro or list");
        auto has = [&](std::string_view key) {
            return std::any_of(entry.entries.begin(), entry.entries.end(),
                               [&](const auto& kv) { return kv.first.value == key; });
        };
        int kinds = has("rule") + has("macro") + has("list");
        if (has("required_engine_version") && kinds == 0)
            continue;
        if (kinds != 1)
            throw Error(where(entry.line) +
                        "an entry must have exactly one of 'rule', 'macro' or 'list'");
        if (has("list")) {
            EntryReader probe(entry, source_name, "list", "", {});  // reads the name only
            std::string name = *probe.scalar("list");
            EntryReader reader(entry, source_name, "list", name, {"list", "items", "append"});
            auto items = reader.strings("items");
            if (!items)
                reader.fail(reader.line_of("list"), "missing field 'items'");
            auto& list = staged.lists[name];
            if (!reader.boolean("append").value_or(false))
                list.clear();
            list.insert(list.end(), items->begin(), items->end());
        } else if (has("macro")) {
            EntryReader probe(entry, source_name, "macro", "", {});  // reads the name only
            std::string name = *probe.scalar("macro");
            EntryReader reader(entry, source_name, "macro", name, {"macro", "condition", "append"});
            auto condition = reader.scalar("condition");
            if (!condition)
                reader.fail(reader.line_of("macro"), "missing field 'condition'");
            if (find_field(name))
                reader.fail(reader.line_of("macro"), "macro name is a field name");
            auto& body = staged.macros[name];
            if (reader.boolean("append").value_or(false) && !body.empty())
                body = "(" + body + ") " + *condition;
            else
                body = *condition;
            staged.macro_lines[name] = reader.line_of("condition");
            // Parse now so that the error points at the macro itself.
            parse_condition(body, staged,
                            source_name + ":" + std::to_string(reader.line_of("condition")) +
                                ": macro '" + name + "' condition",
                            0);
        } else {
            static const std::set<std::string> allowed = {
                "rule", "desc",    "condition", "output", "priority",
                "tags", "enabled", "action",    "append", "source"};
            EntryReader probe(entry, source_name, "rule", "", {});  // reads the name only
            std::string name = *probe.scalar("rule");
            EntryReader reader(entry, source_name, "rule", name, allowed);
            load_rule(reader, name, source_name, staged);
        }
    }
    resolve_conditions(staged);
    into = std::move(staged);
}

void load_rules_file(const std::string& path, RuleSet& into) {
    std::ifstream in(path);
    if (!in)
        throw Error("rules file " + path, errno);
    std::stringstream text;
    text << in.rdbuf();
    load_rules(text.str(), path, into);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

std::optional<std::string> EventFields::get(std::string_view field) const {
    if (field.starts_with("annotations[") && field.ends_with("]")) {
        auto key = field.substr(12, field.size() - 13);
        if (auto it = annotations.find(key); it != annotations.end())
            return it->second;
        return std::nullopt;
    }
    if (auto it = values.find(field); it != values.end())
        return it->second;
    return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view text) {
    size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

namespace {

std::optional<int64_t> to_number(std::string_view text) {
    int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return number;
}

bool path_prefix_match(std::string_view prefix, std::string_view path) {
    if (prefix.empty())
        return false;
    if (path == prefix)
        return true;
    if (prefix.back() == '/')
        return path.starts_with(prefix);
    return path.starts_with(prefix) && path.size() > prefix.size() && path[prefix.size()] == '/';
}

bool compare(const Expr& expr, const std::string& actual) {
    const FieldInfo* info = find_field(expr.field);
    bool numeric = info && info->type == FieldType::number;
    bool boolean = info && info->type == FieldType::boolean;
    auto equal = [&](const std::string& expected) {
        if (numeric) {
            auto a = to_number(actual), b = to_number(expected);
            return a && b && *a == *b;
        }
        if (boolean)
            return lower(actual) == lower(expected);
        return actual == expected;
    };
    auto order = [&](auto cmp) {
        auto a = to_number(actual), b = to_number(expr.values.at(0));
        if (a && b)
            return cmp(*a, *b);
        return cmp(actual.compare(expr.values.at(0)), 0);
    };
    switch (expr.op) {
        case CompareOp::eq:
            return equal(expr.values.at(0));
        case CompareOp::ne:
            return !equal(expr.values.at(0));
        case CompareOp::lt:
            return order([](auto a, auto b) { return a < b; });
        case CompareOp::le:
            return order([](auto a, auto b) { return a <= b; });
        case CompareOp::gt:
            return order([](auto a, auto b) { return a > b; });
        case CompareOp::ge:
            return order([](auto a, auto b) { return a >= b; });
        case CompareOp::in:
            return std::any_of(expr.values.begin(), expr.values.end(), equal);
        case CompareOp::pmatch:
            return std::any_of(expr.values.begin(), expr.values.end(),
                               [&](const std::string& p) { return path_prefix_match(p, actual); });
        case CompareOp::startswith:
            return std::string_view(actual).starts_with(expr.values.at(0));
        case CompareOp::endswith:
            return std::string_view(actual).ends_with(expr.values.at(0));
        case CompareOp::contains:
            return actual.find(expr.values.at(0)) != std::string::npos;
        case CompareOp::glob:
            return glob_match(expr.values.at(0), actual);
        case CompareOp::exists:
            return true;
    }
    return false;
}

}  // namespace

bool evaluate(const Expr& expr, const EventFields& event) {
    switch (expr.kind) {
        case Expr::Kind::constant:
            return expr.constant;
        case Expr::Kind::not_:
            return !evaluate(*expr.children[0], event);
        case Expr::Kind::and_:
            return std::all_of(expr.children.begin(), expr.children.end(),
                               [&](const auto& c) { return evaluate(*c, event); });
        case Expr::Kind::or_:
            return std::any_of(expr.children.begin(), expr.children.end(),
                               [&](const auto& c) { return evaluate(*c, event); });
        case Expr::Kind::compare: {
            auto actual = event.get(expr.field);
            if (!actual)
                return false;
            return compare(expr, *actual);
        }
    }
    return false;
}

namespace {
size_t field_token_end(std::string_view format, size_t start) {
    size_t i = start;
    while (i < format.size() && (std::isalnum(static_cast<unsigned char>(format[i])) ||
                                 format[i] == '.' || format[i] == '_'))
        ++i;
    if (i < format.size() && format[i] == '[') {
        size_t close = format.find(']', i);
        if (close != std::string_view::npos)
            i = close + 1;
    }
    return i;
}
}  // namespace

std::string format_output(std::string_view format, const EventFields& event) {
    std::string out;
    for (size_t i = 0; i < format.size();) {
        if (format[i] == '%' && i + 1 < format.size()) {
            size_t end = field_token_end(format, i + 1);
            if (end > i + 1) {
                out += event.get(format.substr(i + 1, end - i - 1)).value_or("<NA>");
                i = end;
                continue;
            }
        }
        out += format[i++];
    }
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back())))
        out.pop_back();
    return out;
}

std::vector<std::string> output_field_names(std::string_view format) {
    std::vector<std::string> names;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%')
            continue;
        size_t end = field_token_end(format, i + 1);
        if (end > i + 1) {
            std::string name(format.substr(i + 1, end - i - 1));
            if (std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(name);
            i = end - 1;
        }
    }
    return names;
}

}  // namespace brig::monitor
