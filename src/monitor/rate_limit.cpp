#include "monitor/rate_limit.hpp"

#include <algorithm>
#include <utility>

namespace brig::monitor {

TokenBucket::TokenBucket(double rate, double max_burst, uint64_t now_ns)
    : rate_(rate), max_burst_(max_burst), tokens_(max_burst), last_ns_(now_ns) {}

double TokenBucket::tokens(uint64_t now_ns) {
    if (now_ns > last_ns_) {
        tokens_ = std::min(max_burst_, tokens_ + rate_ * double(now_ns - last_ns_) / 1e9);
        last_ns_ = now_ns;
    }
    return tokens_;
}

bool TokenBucket::claim(uint64_t now_ns) {
    if (tokens(now_ns) < 1)
        return false;
    tokens_ -= 1;
    return true;
}

AlertRateLimit::AlertRateLimit(double rate, double max_burst, uint64_t now_ns)
    : unlimited_(rate <= 0), bucket_(rate, max_burst, now_ns) {}

bool AlertRateLimit::admit(const std::string& rule, uint64_t events, uint64_t now_ns) {
    if (unlimited_)
        return true;
    bool claimed = bucket_.claim(now_ns);
    if (seen_rules_.insert(rule).second || claimed)
        return true;
    Suppressed& suppressed = suppressed_[rule];
    ++suppressed.alerts;
    suppressed.events += events;
    return false;
}

std::map<std::string, AlertRateLimit::Suppressed> AlertRateLimit::take_suppressed() {
    return std::exchange(suppressed_, {});
}

}  // namespace brig::monitor
