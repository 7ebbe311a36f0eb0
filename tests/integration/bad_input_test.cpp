// Bad input: invalid ids, missing bundles, malformed configs, duplicate ids. Each fails with a
// one-line error naming the problem and leaves nothing behind.
#include <algorithm>
#include <cctype>

#include "../common/config_mutator.hpp"
#include "harness.hpp"

namespace brig::test {
namespace {

class BadInputTest : public RuntimeTest {
protected:
    bool state_root_is_empty() { return fs::is_empty(state_root()); }
    static bool mentions(const std::string& text, std::string word) {
        auto lower = text;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::transform(word.begin(), word.end(), word.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        return lower.find(word) != std::string::npos;
    }
};

struct BadIdCase {
    std::string name;
    std::string id;
};

void PrintTo(const BadIdCase& c, std::ostream* out) {
    *out << c.name;
}

class InvalidIdTest : public BadInputTest, public ::testing::WithParamInterface<BadIdCase> {};

TEST_P(InvalidIdTest, CreateIsRefusedBeforeTouchingTheFileSystem) {
    const auto& id = GetParam().id;
    if (GetParam().name == "HugeId")
        BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 has no id length limit");
    track_id(id);
    bundle().set_script("sleep 1000");
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, "id")) << result.describe();
    EXPECT_TRUE(state_root_is_empty());
    // Nothing was created next to the state root either (../x).
    EXPECT_FALSE(fs::exists(tmp_dir() / "x"));
    EXPECT_FALSE(fs::exists(state_root() / "a"));
}

INSTANTIATE_TEST_SUITE_P(
    Ids, InvalidIdTest,
    ::testing::Values(BadIdCase{"DotDotSlash", "../x"}, BadIdCase{"Empty", ""},
                      BadIdCase{"Slash", "a/b"}, BadIdCase{"Dot", "."}, BadIdCase{"DotDot", ".."},
                      BadIdCase{"Space", "a b"}, BadIdCase{"Newline", "a\nb"},
                      // MAX_ARG_STRLEN (128 KiB) is the longest argument execve accepts.
                      BadIdCase{"HugeId", std::string(128 * 1024 - 1, 'a')}),
    [](const auto& info) { return info.param.name; });

TEST_F(BadInputTest, InvalidIdIsRefusedByEveryVerb) {
    for (const auto& verb : {"start", "state", "kill", "delete", "ps"}) {
        auto result = runtime({verb, "../x"});
        EXPECT_TRUE(is_one_line_error(result)) << verb;
    }
    EXPECT_TRUE(state_root_is_empty());
}

TEST_F(BadInputTest, MissingBundleIsRefused) {
    auto id = new_id();
    auto missing = tmp_dir() / "no-such-bundle";
    auto result = runtime({"create", "--bundle", missing.string(), id});
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, "no-such-bundle") || mentions(result.err, "no such file"))
        << result.describe();
    auto left = leftovers(id, missing);
    EXPECT_TRUE(left.empty()) << join(left);
    EXPECT_TRUE(state_root_is_empty());
}

TEST_F(BadInputTest, MissingConfigIsRefused) {
    fs::remove(bundle().dir() / "config.json");
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, "config.json")) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(BadInputTest, MalformedJsonIsRefused) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 says only 'unexpected EOF'");
    write_file(bundle().dir() / "config.json", "{\"ociVersion\": \"1.0.2\", \"process\": {");
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, "json") || mentions(result.err, "config"))
        << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
    EXPECT_TRUE(state_root_is_empty());
}

struct WrongTypeCase {
    std::string name;
    std::string field;  // word the error must mention
    std::function<void(Json&)> spoil;
};

void PrintTo(const WrongTypeCase& c, std::ostream* out) {
    *out << c.name;
}

class WrongTypeTest : public BadInputTest, public ::testing::WithParamInterface<WrongTypeCase> {};

TEST_P(WrongTypeTest, IsRefusedNamingTheField) {
    GetParam().spoil(bundle().config());
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, GetParam().field)) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
    EXPECT_TRUE(state_root_is_empty());
}

INSTANTIATE_TEST_SUITE_P(
    Fields, WrongTypeTest,
    ::testing::Values(
        WrongTypeCase{"ArgsIsAString", "args", [](Json& c) { c["process"]["args"] = "sh"; }},
        WrongTypeCase{"UidIsAString", "uid", [](Json& c) { c["process"]["user"]["uid"] = "root"; }},
        WrongTypeCase{"MountsIsAnObject", "mounts", [](Json& c) { c["mounts"] = Json::object(); }},
        WrongTypeCase{"NamespacesIsAString", "namespaces",
                      [](Json& c) { c["linux"]["namespaces"] = "pid"; }},
        WrongTypeCase{"HostnameIsANumber", "hostname", [](Json& c) { c["hostname"] = 42; }}),
    [](const auto& info) { return info.param.name; });

TEST_F(BadInputTest, EmptyArgsAreRefused) {
    bundle().config()["process"]["args"] = Json::array();
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, "args")) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(BadInputTest, RelativeCwdIsRefused) {
    bundle().config()["process"]["cwd"] = "tmp";
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result));
    EXPECT_TRUE(mentions(result.err, "cwd")) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

// An id that cannot be a file name (the state and cgroup directories are named after it) is
// refused by validation, not by a failing mkdir.
TEST_F(BadInputTest, IdLongerThanAFileNameIsRefusedByValidation) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc 1.1 has no id length limit");
    const std::string id(256, 'a');
    track_id(id);
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result)) << result.describe();
    EXPECT_TRUE(mentions(result.err, "invalid container id")) << result.describe();
    EXPECT_LT(result.err.size(), 200u) << result.describe();
    EXPECT_TRUE(state_root_is_empty());
}

// Without a /proc mount the error says so, instead of naming a /proc/self/fd link.
TEST_F(BadInputTest, BundleWithoutAProcMountIsRefusedNamingIt) {
    auto& mounts = bundle().config()["mounts"];
    mounts.erase(
        std::remove_if(mounts.begin(), mounts.end(),
                       [](const Json& m) { return m.value("destination", "") == "/proc"; }),
        mounts.end());
    bundle().write_config();
    auto id = new_id();
    auto result = create(id);
    EXPECT_TRUE(is_one_line_error(result)) << result.describe();
    EXPECT_TRUE(mentions(result.err, "no procfs at /proc")) << result.describe();
    EXPECT_FALSE(mentions(result.err, "/proc/self/fd")) << result.describe();
    auto left = leftovers(id);
    EXPECT_TRUE(left.empty()) << join(left);
}

TEST_F(BadInputTest, DuplicateIdIsRefusedAndTheFirstContainerSurvives) {
    bundle().set_script("sleep 1000");
    auto id = new_id();
    ASSERT_TRUE(create(id).ok());
    auto pid = state(id).value("pid", 0);
    auto again = create(id);
    EXPECT_TRUE(is_one_line_error(again));
    EXPECT_TRUE(mentions(again.err, "exist")) << again.describe();
    EXPECT_EQ(status(id), "created");
    EXPECT_EQ(state(id).value("pid", 0), pid);
    EXPECT_TRUE(process_alive(pid));
}

// The config fuzzer end to end (the parser's own runs 4000 cases in tests/unit): mutated
// configs through `brig create`, each refused with one line naming the JSON path and nothing
// left behind, or created and deleted.
TEST_F(BadInputTest, MutatedConfigsAreRefusedInOneLineLeavingNothing) {
    BRIG_SKIP_KNOWN_DEVIATION(RuntimeKind::runc, "runc's messages name no JSON path");
    bundle().set_script("exit 0");
    const Json seed = bundle().config();
    const auto fields = brig::testing::places_by_field(seed);
    std::mt19937_64 rng(20261202);
    int refused = 0;
    for (int i = 0; i < 300; ++i) {
        Json config = seed;
        const std::string where = brig::testing::mutate_some(config, fields, rng);
        write_file(bundle().dir() / "config.json",
                   config.dump(-1, ' ', false, Json::error_handler_t::replace));
        SCOPED_TRACE("case " + std::to_string(i) + ", mutated at " + where);
        auto id = new_id();
        auto result = create(id);
        if (result.ok()) {
            EXPECT_TRUE(delete_container(id, true).ok());
        } else {
            ++refused;
            EXPECT_TRUE(is_one_line_error(result)) << result.describe();
            std::string line = result.err.substr(0, result.err.find('\n'));
            if (line.rfind("brig: ", 0) == 0)
                line = line.substr(6);
            EXPECT_TRUE(brig::testing::starts_with_a_json_path(line)) << result.describe();
        }
        auto left = leftovers(id);
        ASSERT_TRUE(left.empty()) << join(left);
    }
    EXPECT_TRUE(state_root_is_empty());
    EXPECT_GT(refused, 60);
}

}  // namespace
}  // namespace brig::test
