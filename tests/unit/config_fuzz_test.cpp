// config.json fuzzing: thousands of mutations of valid configs (a fixed seed, so a failure is
// reproducible by its case number), each either accepted or refused with brig's one error type:
// a single line of bounded length that starts with the JSON path of an offending value. Never
// another exception type (the JSON library's, std::out_of_range, ...), never a crash.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "../common/config_mutator.hpp"
#include "cli/default_spec.hpp"
#include "runtime/common/error.hpp"
#include "runtime/config/json_reader.hpp"
#include "runtime/config/spec.hpp"
#include "spec_samples.hpp"

namespace brig::config {
namespace {

using nlohmann::json;
using namespace brig::testing;

constexpr int kCases = 4000;
constexpr size_t kMessageLimit = 400;  // errors quote values elided, never whole

std::vector<json> seeds() {
    return {cli::default_spec(false), cli::default_spec(true), samples::full_config()};
}

TEST(ConfigFuzz, EveryMutationIsAcceptedOrRefusedWithOneLineNamingTheJsonPath) {
    std::mt19937_64 rng(20261202);
    const std::vector<json> bases = seeds();
    std::vector<FieldPlaces> fields;
    for (const auto& base : bases)
        fields.push_back(places_by_field(base));
    int refused = 0;
    for (int i = 0; i < kCases; ++i) {
        json doc = bases[i % bases.size()];
        const std::string where = mutate_some(doc, fields[i % bases.size()], rng);
        const std::string text = doc.dump(-1, ' ', false, json::error_handler_t::replace);
        SCOPED_TRACE("case " + std::to_string(i) + ", mutated at " + where);
        try {
            parse_spec(parse_json_text(text, "config.json"));
        } catch (const Error& e) {
            ++refused;
            const std::string message = e.what();
            EXPECT_EQ(message.find('\n'), std::string::npos) << message;
            EXPECT_LE(message.size(), kMessageLimit) << message;
            EXPECT_TRUE(starts_with_a_json_path(message)) << message;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not brig's error type: " << e.what();
        }
    }
    // Most mutations break something: a fuzzer whose cases all pass tests nothing.
    EXPECT_GT(refused, kCases / 4);
}

}  // namespace
}  // namespace brig::config
