// Every listing the PostgreSQL store sends reads through the index meant for it: a schema
// change that turns a lookup of one user's tokens into a scan of a million rows fails
// here, not in production. These cases need a registry that tests/pg/test_pg_query_plan.sh
// (CTest's pg_query_plan) seeds and analyzes, big enough that the planner prefers indexes;
// it names it in TOKENCTL_PG_PLAN_DB. Without it they are skipped.
#include <tokenctl/store/postgres.h>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace tokenctl;

namespace {

constexpr Millis k_day = 24 * 3'600'000;

const char* plan_db() {
    return std::getenv("TOKENCTL_PG_PLAN_DB");
}

Millis now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool any_step(const std::vector<std::string>& plan, std::string_view text) {
    return std::any_of(plan.begin(), plan.end(), [&](const std::string& step) {
        return step.find(text) != std::string::npos;
    });
}

// Whether a step reads the index `index`: an index scan, an index-only scan, or a bitmap
// built from it.
bool reads_index(const std::vector<std::string>& plan, std::string_view index) {
    return any_step(plan, fmt::format("using {} on", index)) ||
           any_step(plan, fmt::format("Bitmap Index Scan on {}", index));
}

// Checks that the plan of `statement` on the seeded registry reads one of `indexes` and
// no step scans the whole `table`.
void check_reads(const PostgresStatement& statement, const std::vector<std::string_view>& indexes,
                 std::string_view table = "tokens") {
    auto plan = postgres_query_plan(parse_location(plan_db()), statement);
    std::string text = fmt::format("{}", fmt::join(plan, " | "));
    CAPTURE(text);
    CHECK(std::any_of(indexes.begin(), indexes.end(),
                      [&](std::string_view index) { return reads_index(plan, index); }));
    CHECK_FALSE(any_step(plan, fmt::format("Seq Scan on {} ", table)));
}

// The seeded registry's second user and application (the first user is its
// administrator): each has a few tokens among many.
constexpr std::int64_t k_user = 2;
constexpr std::int64_t k_app = 2;

} // namespace

TEST_CASE("PostgreSQL token listings read the index of their filters" *
          doctest::skip(plan_db() == nullptr)) {
    // Every token asked for (system-list alone) is one scan of them all, which an index
    // would only slow down; each filter narrows it through its index.
    struct Case {
        bool by_user; // list, or system-list --user
        bool by_app;  // --app
        std::vector<std::string_view> indexes;
    };
    for (const Case& c :
         {Case{true, false, {"tokens_by_user"}}, Case{false, true, {"tokens_by_app"}},
          Case{true, true, {"tokens_by_user", "tokens_by_app"}}}) {
        for (bool revoked : {false, true}) { // --all
            TokenFilter filter;
            if (c.by_user) {
                filter.user_id = k_user;
            }
            if (c.by_app) {
                filter.app_id = k_app;
            }
            filter.include_revoked = revoked;
            CAPTURE(c.by_user);
            CAPTURE(c.by_app);
            CAPTURE(revoked);
            check_reads(postgres_token_listing_sql(filter), c.indexes);
        }
    }
}

TEST_CASE("PostgreSQL --expiring and --unused-for read their own index" *
          doctest::skip(plan_db() == nullptr)) {
    Millis at = now();
    TokenFilter expiring; // system-list --expiring 7d
    expiring.active_at = at;
    expiring.expiring_before = at + 7 * k_day;
    TokenFilter unused; // system-list --unused-for 390d
    unused.active_at = at;
    unused.unused_since = at - 390 * k_day;
    for (const auto& [filter, index] : {std::pair{expiring, "tokens_active_by_refresh_expiry"},
                                        std::pair{unused, "tokens_active_by_last_use"}}) {
        check_reads(postgres_token_listing_sql(filter), {index});
    }
}

TEST_CASE("PostgreSQL application listings count tokens through an index" *
          doctest::skip(plan_db() == nullptr)) {
    for (bool removed : {false, true}) {
        for (bool holder : {false, true}) {
            // app list [--all]: a non-admin's holds their tokens' applications only.
            CAPTURE(removed);
            CAPTURE(holder);
            check_reads(
                postgres_app_listing_sql(
                    removed, holder ? std::optional<std::int64_t>(k_user) : std::nullopt, now()),
                {"tokens_by_app", "tokens_by_user"});
        }
    }
}

TEST_CASE("PostgreSQL user list counts each user's tokens through an index" *
          doctest::skip(plan_db() == nullptr)) {
    check_reads(postgres_user_listing_sql(now()), {"tokens_by_user"});
}

TEST_CASE("PostgreSQL audit filters read their index" * doctest::skip(plan_db() == nullptr)) {
    AuditFilter by_actor; // audit --user
    by_actor.actor = "USER0002";
    AuditFilter by_action; // audit --action
    by_action.action = "rekey";
    AuditFilter since; // audit --since 1d
    since.since = now() - k_day;
    for (const auto& [filter, index] :
         {std::pair{by_actor, "audit_by_actor"}, std::pair{by_action, "audit_by_action"},
          std::pair{since, "audit_by_time"}}) {
        check_reads(postgres_audit_sql(filter), {index}, "audit");
    }
    // audit --subject: the records naming a user's or an application's tokens, found
    // through the tokens' indexes.
    AuditFilter subject;
    subject.subject = "user0002";
    check_reads(postgres_audit_sql(subject), {"tokens_by_user"});
    check_reads(postgres_audit_sql(subject), {"tokens_by_app"});
}

TEST_CASE("PostgreSQL shell completion reads names from an index range" *
          doctest::skip(plan_db() == nullptr)) {
    using Kind = NameQuery::Kind;
    struct Case {
        Kind kind;
        bool by_user;
        std::string_view prefix; // of about 1 in 16 names: token IDs are hex
        std::string_view index;  // the index the range is read from
    };
    for (const Case& c : {Case{Kind::token_ids, false, "a", "tokens_token_id_key"},
                          Case{Kind::token_ids, true, "a", "tokens_by_user"},
                          Case{Kind::user_names, false, "USER00", "users_by_name"},
                          Case{Kind::app_names, false, "user00", "apps_live_name"},
                          Case{Kind::app_names, true, "user00", "tokens_by_user"}}) {
        for (bool last : {false, true}) {
            NameQuery query;
            query.kind = c.kind;
            if (c.by_user) {
                query.user_id = k_user;
            }
            query.prefix = std::string(c.prefix);
            query.now = now();
            query.last = last;
            query.limit = 1000;
            check_reads(postgres_name_sql(query), {c.index});
        }
    }
}
