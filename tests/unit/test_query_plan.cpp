// Every token listing reads through an index for its filters: a schema change that turns
// a lookup of one user's tokens into a scan of a million rows fails here, not in production.
#include <tokenctl/store/sqlite.h>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <unistd.h>

using namespace tokenctl;
namespace fs = std::filesystem;

namespace {

struct PlanDir {
    fs::path path;
    PlanDir() {
        std::string tmpl = (fs::temp_directory_path() / "tokenctl-plan.XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~PlanDir() { fs::remove_all(path); }
};

bool any_step(const std::vector<std::string>& plan, std::string_view text) {
    return std::any_of(plan.begin(), plan.end(), [&](const std::string& step) {
        return step.find(text) != std::string::npos;
    });
}

std::string describe(const TokenFilter& filter) {
    return fmt::format("user {} app {} revoked {}", filter.user_id.has_value(),
                       filter.app_id.has_value(), filter.include_revoked);
}

} // namespace

TEST_CASE("token listings search an index for their filters and never sort") {
    PlanDir dir;
    fs::path db = dir.path / "tokens.db";
    create_sqlite_store(db).reset();

    for (bool by_user : {false, true}) {
        for (bool by_app : {false, true}) {
            for (bool revoked : {false, true}) {
                TokenFilter filter;
                if (by_user) {
                    filter.user_id = 1; // --user NAME, or the acting user of `list`
                }
                if (by_app) {
                    filter.app_id = 1;
                }
                filter.include_revoked = revoked;
                auto plan = sqlite_query_plan(db, sqlite_token_listing_sql(filter));
                std::string text = fmt::format("{}", fmt::join(plan, " | "));
                CAPTURE(describe(filter));
                CAPTURE(text);
                // Rows stream in creation order straight from a b-tree: no sort of the
                // whole result in memory.
                CHECK_FALSE(any_step(plan, "TEMP B-TREE"));
                // The joined users and applications are looked up by primary key.
                CHECK(any_step(plan, "SEARCH u USING INTEGER PRIMARY KEY"));
                CHECK(any_step(plan, "SEARCH a USING INTEGER PRIMARY KEY"));
                if (by_user && by_app) {
                    // Either index narrows the search to one user's or one app's tokens.
                    CHECK((any_step(plan, "SEARCH t USING INDEX tokens_by_user (user_id=?)") ||
                           any_step(plan, "SEARCH t USING INDEX tokens_by_app (app_id=?)")));
                } else if (by_user) {
                    CHECK(any_step(plan, "SEARCH t USING INDEX tokens_by_user (user_id=?)"));
                } else if (by_app) {
                    CHECK(any_step(plan, "SEARCH t USING INDEX tokens_by_app (app_id=?)"));
                } else {
                    // Everything was asked for: the one scan, in row id order.
                    CHECK(any_step(plan, "SCAN t"));
                }
                if (by_user || by_app) {
                    CHECK_FALSE(any_step(plan, "SCAN t"));
                }
            }
        }
    }
}

TEST_CASE("the listing SQL binds the filters it names") {
    TokenFilter filter;
    CHECK(sqlite_token_listing_sql(filter).find("?") == std::string::npos);
    filter.user_id = 7;
    filter.app_id = 9;
    std::string sql = sqlite_token_listing_sql(filter);
    CHECK(sql.find("t.user_id = ?1") != std::string::npos);
    CHECK(sql.find("t.app_id = ?2") != std::string::npos);
    CHECK(sql.find("t.revoked_at IS NULL") != std::string::npos);
}

TEST_CASE("--expiring and --unused-for read their own index in the order they print") {
    PlanDir dir;
    fs::path db = dir.path / "tokens.db";
    create_sqlite_store(db).reset();

    TokenFilter expiring;
    expiring.active_at = 1;
    expiring.expiring_before = 2;
    TokenFilter unused;
    unused.active_at = 1;
    unused.unused_since = 2;
    for (const auto& [filter, index] : {std::pair{expiring, "tokens_active_by_refresh_expiry"},
                                        std::pair{unused, "tokens_active_by_last_use"}}) {
        auto plan = sqlite_query_plan(db, sqlite_token_listing_sql(filter));
        std::string text = fmt::format("{}", fmt::join(plan, " | "));
        CAPTURE(text);
        CHECK(any_step(plan, fmt::format("SEARCH t USING INDEX {}", index)));
        CHECK_FALSE(any_step(plan, "TEMP B-TREE"));
        CHECK_FALSE(any_step(plan, "SCAN t"));
    }
}

TEST_CASE("shell completion reads names from an index range, never the whole table") {
    PlanDir dir;
    fs::path db = dir.path / "tokens.db";
    create_sqlite_store(db).reset();

    using Kind = NameQuery::Kind;
    struct Case {
        Kind kind;
        bool by_user;
        std::string_view index; // the index the range is read from
    };
    for (const Case& c : {Case{Kind::token_ids, false, "sqlite_autoindex_tokens_1"},
                          Case{Kind::token_ids, true, "tokens_by_user"},
                          Case{Kind::user_names, false, "sqlite_autoindex_users_1"},
                          Case{Kind::app_names, false, "apps_live_name"},
                          Case{Kind::app_names, true, "tokens_by_user"}}) {
        for (bool last : {false, true}) {
            NameQuery query;
            query.kind = c.kind;
            if (c.by_user) {
                query.user_id = 1;
            }
            query.prefix = "ab";
            query.last = last;
            query.limit = 1000;
            auto plan = sqlite_query_plan(db, sqlite_name_sql(query));
            std::string text = fmt::format("{}", fmt::join(plan, " | "));
            CAPTURE(text);
            CHECK(any_step(plan, c.index));
            CHECK_FALSE(any_step(plan, "SCAN t\n"));
            if (!c.by_user) {
                // The whole registry's names: the index gives them in order, so LIMIT stops
                // the read after `limit` rows.
                CHECK_FALSE(any_step(plan, "TEMP B-TREE"));
            }
        }
    }
}

TEST_CASE("token counts read index ranges and a covering index, never the table's rows") {
    PlanDir dir;
    fs::path db = dir.path / "tokens.db";
    create_sqlite_store(db).reset();

    auto plan = sqlite_query_plan(db, sqlite_token_counts_sql());
    std::string text = fmt::format("{}", fmt::join(plan, " | "));
    CAPTURE(text);
    // The tokens not revoked: active, expired and expiring, each a range of the partial index.
    CHECK(std::count_if(plan.begin(), plan.end(), [](const std::string& step) {
              return step.find("SEARCH t USING INDEX tokens_active_by_refresh_expiry") !=
                     std::string::npos;
          }) == 3);
    // All of them: counted in an index, not read from the table.
    CHECK(any_step(plan, "USING COVERING INDEX"));
    CHECK_FALSE(std::any_of(plan.begin(), plan.end(), [](const std::string& step) {
        return step.starts_with("SCAN") && step.find("COVERING INDEX") == std::string::npos;
    }));
}
