// The store's aggregate count of the tokens (serve's GET /metrics) classifies every token
// exactly as TokenRow::status_at does, boundary times included.
#include "registry.h"

#include <tokenctl/store.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace tokenctl;
using tokenctl::testing::Registry;

namespace {

constexpr Millis k_day = 24 * 3'600'000;
constexpr Millis k_within = 7 * k_day; // serve's 7 days

// The counts of every token that for_each_token shows, each classified by status_at.
TokenCounts classified(Store& store, Millis now, Millis within) {
    TokenCounts counts;
    TokenFilter filter;
    filter.include_revoked = true;
    store.for_each_token(filter, [&](const TokenRow& token) {
        switch (token.status_at(now)) {
        case TokenStatus::active:
            ++counts.active;
            if (token.refresh_expires_at <= now + within) {
                ++counts.expiring;
            }
            break;
        case TokenStatus::expired:
            ++counts.expired;
            break;
        case TokenStatus::revoked:
            ++counts.revoked;
            break;
        }
    });
    return counts;
}

std::string shown(const TokenCounts& c) {
    return fmt::format("active {} expired {} revoked {} expiring {}", c.active, c.expired,
                       c.revoked, c.expiring);
}

} // namespace

TEST_CASE("token counts: the database's aggregate is the classification of every row") {
    Registry r;
    // The registry's two tokens, and one more per state below.
    const Millis now = 1'900'000'000'000;
    struct Planted {
        Millis refresh_expires_at;
        bool revoked;
    };
    const std::vector<Planted> planted = {
        {now - 1, false},            // expired
        {now, false},                // expired: exactly at now
        {now + 1, false},            // active, expiring
        {now + k_within - 1, false}, // active, expiring
        {now + k_within, false},     // active, expiring: exactly at now + within
        {now + k_within + 1, false}, // active, not expiring
        {now + 400 * k_day, false},  // active, not expiring
        {now + 1, true},             // revoked, though it would be active
        {now, true},                 // revoked, though it would be expired
        {now - 1, true},             // revoked, though it would be expired
        {now + k_within, true},      // revoked, though it would be expiring
    };
    {
        Session alice = r.as("alice", CommandId::add_app);
        AddAppRequest request;
        request.redirect_uri = "https://billing.example.com/cb";
        for (std::size_t i = 0; i < planted.size(); ++i) {
            add_app(alice, request);
        }
    }
    {
        SQLite::Database db((r.folder / "tokens.db").string(), SQLite::OPEN_READWRITE);
        SQLite::Statement ids(db, "SELECT id FROM tokens ORDER BY id DESC LIMIT ?1");
        ids.bind(1, static_cast<std::int64_t>(planted.size()));
        std::size_t i = 0;
        while (ids.executeStep()) {
            REQUIRE(i < planted.size());
            SQLite::Statement set(db, "UPDATE tokens SET refresh_expires_at = ?2, revoked_at = ?3, "
                                      "revoked_by = ?4 WHERE id = ?1");
            set.bind(1, ids.getColumn(0).getInt64());
            set.bind(2, planted[i].refresh_expires_at);
            if (planted[i].revoked) {
                set.bind(3, now - 10);
                set.bind(4, std::int64_t{1});
            }
            set.exec();
            ++i;
        }
        REQUIRE(i == planted.size());
        // The registry's own two tokens: active, expiring after 15 days, from now on.
        db.exec(
            fmt::format("UPDATE tokens SET refresh_expires_at = {} WHERE refresh_expires_at < {}",
                        now + 15 * k_day, now - 1'000'000));
    }

    Session gateway = r.as("gateway", CommandId::serve);
    auto check_at = [&](Millis at, Millis within) {
        TokenCounts by_rows;
        TokenCounts by_store;
        gateway.read([&] {
            by_rows = classified(gateway.store(), at, within);
            by_store = gateway.store().token_counts(at, within);
        });
        CAPTURE(at - now);
        CAPTURE(within);
        CAPTURE(shown(by_rows));
        CAPTURE(shown(by_store));
        CHECK(by_store == by_rows);
        CHECK(count_tokens(gateway, at, within) == by_rows);
        CHECK(by_rows.active + by_rows.expired + by_rows.revoked == 13);
        return by_store;
    };

    // At now: 2 expired (one exactly at now), 4 revoked, 7 active of which 3 expire within
    // 7 days (one exactly at now + 7 days).
    CHECK(check_at(now, k_within) == TokenCounts{7, 2, 4, 3});
    // Every boundary moved across, one millisecond each way; windows of nothing and of all.
    for (Millis at : {now - 1, now + 1, now + k_within - 1, now + k_within, now + k_within + 1,
                      Millis{0}, now + 500 * k_day}) {
        for (Millis within : {Millis{0}, Millis{1}, k_within - 1, k_within, k_within + 1}) {
            check_at(at, within);
        }
    }
    CHECK(check_at(now + 1, 0) == TokenCounts{6, 3, 4, 0});
    CHECK(check_at(now, k_within - 1) == TokenCounts{7, 2, 4, 2});
}

TEST_CASE("token counts: a revoked token counts as revoked, whatever its expiry") {
    Registry r;
    SQLite::Database db((r.folder / "tokens.db").string(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE tokens SET revoked_at = 1, revoked_by = 1");
    Session gateway = r.as("gateway", CommandId::serve);
    CHECK(count_tokens(gateway, 0, k_within) == TokenCounts{0, 0, 2, 0});
}
