// Alert rate limiting as Falco's outputs throttle does it (`outputs.rate`, `outputs.max_burst`):
// a token bucket per container, with the suppressed alerts counted by rule.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace brig::monitor {

// Holds up to max_burst tokens, full at start, and gains `rate` tokens a second; an alert takes
// one. Times are in nanoseconds of a monotonic clock.
class TokenBucket {
public:
    TokenBucket(double rate, double max_burst, uint64_t now_ns);
    // Takes a token if there is one.
    bool claim(uint64_t now_ns);
    double tokens(uint64_t now_ns);

private:
    double rate_;
    double max_burst_;
    double tokens_;
    uint64_t last_ns_;
};

// The alerts of one container: the bucket decides, except for the first alert of each rule,
// which always passes (taking a token if one is left). rate 0: everything passes.
class AlertRateLimit {
public:
    struct Suppressed {
        uint64_t alerts = 0;
        uint64_t events = 0;  // that they stood for (brig.count)
        bool operator==(const Suppressed&) const = default;
    };

    AlertRateLimit(double rate, double max_burst, uint64_t now_ns);
    // An alert of `rule` standing for `events` events.
    bool admit(const std::string& rule, uint64_t events, uint64_t now_ns);
    // What was suppressed, by rule, since the last call; forgets it.
    std::map<std::string, Suppressed> take_suppressed();
    bool has_suppressed() const { return !suppressed_.empty(); }

private:
    bool unlimited_;
    TokenBucket bucket_;
    std::set<std::string> seen_rules_;
    std::map<std::string, Suppressed> suppressed_;
};

}  // namespace brig::monitor
