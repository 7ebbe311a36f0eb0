// Evaluation of a condition against one event's fields, and Falco-style output formatting.
#include "monitor/rules_eval.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "monitor/rules_fields.hpp"

namespace brig::monitor {

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

// "10.0.0.0/8" (or a plain address) holds `ip`.
bool in_network(std::string_view network, const std::string& ip) {
    auto slash = network.find('/');
    std::string net(network.substr(0, slash));
    uint8_t want[16] = {}, have[16] = {};
    int family = net.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (inet_pton(family, net.c_str(), want) != 1 || inet_pton(family, ip.c_str(), have) != 1)
        return false;
    int bits = family == AF_INET ? 32 : 128;
    if (slash != std::string_view::npos) {
        auto prefix = to_number(network.substr(slash + 1));
        if (!prefix || *prefix < 0 || *prefix > bits)
            return false;
        bits = static_cast<int>(*prefix);
    }
    for (int i = 0; i < bits; ++i) {
        uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
        if ((want[i / 8] & mask) != (have[i / 8] & mask))
            return false;
    }
    return true;
}

bool is_network_field(std::string_view field) {
    return field == "fd.net" || field == "fd.snet" || field == "fd.rnet" || field == "fd.lnet";
}

// bcontains / bstartswith operands: hex digits, two per byte.
std::string hex_bytes(std::string_view hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    return out;
}

bool compare(const Expr& expr, const std::string& actual) {
    bool numeric = expr.type == FieldType::number;
    bool boolean = expr.type == FieldType::boolean;
    auto equal = [&](const std::string& expected) {
        if (is_network_field(expr.field))
            return in_network(expected, actual);
        if (numeric) {
            auto a = to_number(actual), b = to_number(expected);
            return a && b && *a == *b;
        }
        if (boolean)
            return ascii_lower(actual) == ascii_lower(expected);
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
        case CompareOp::intersects:
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
        case CompareOp::icontains:
            return ascii_lower(actual).find(ascii_lower(expr.values.at(0))) != std::string::npos;
        case CompareOp::bcontains:
            return actual.find(hex_bytes(expr.values.at(0))) != std::string::npos;
        case CompareOp::bstartswith:
            return std::string_view(actual).starts_with(hex_bytes(expr.values.at(0)));
        case CompareOp::iglob:
            return glob_match(ascii_lower(expr.values.at(0)), ascii_lower(actual));
    }
    return false;
}

// proc.aname without an index: any ancestor (proc.aname[1], [2], ...).
bool is_ancestry(std::string_view field) {
    return field == "proc.aname" || field == "proc.aexe" || field == "proc.aexepath";
}

bool compare_ancestors(const Expr& expr, const EventFields& event) {
    for (int i = 1;; ++i) {
        auto actual = event.get(expr.field + "[" + std::to_string(i) + "]");
        if (!actual)
            return false;
        if (compare(expr, *actual))
            return true;
    }
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
            if (is_ancestry(expr.field))
                return compare_ancestors(expr, event);
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