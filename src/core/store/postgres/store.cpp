#include "store/postgres/connection.h"
#include "store/postgres/listings.h"
#include "store/postgres/schema.h"
#include "store/token_columns.h"

#include <tokenctl/error.h>
#include <tokenctl/store/postgres.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenctl {

namespace {

using postgres::Connection;
using postgres::k_lock_timeout;
using postgres::k_schema_version;
using postgres::k_version_1_write_lock;
using postgres::Params;
using postgres::Result;
using postgres::ResultRow;

// The row id of a token or application that exists but that row-level security hides from
// the acting login (Store::find_token, find_app): no row and no user has it.
constexpr std::int64_t k_hidden_id = 0;

namespace col = token_columns;

// `params` followed by a rotated token's new pair, as rotate_token() and rotate_for_client()
// take it: issue time, expiries, digests, sealed secrets.
Params with_pair(Params params, const Token& t) {
    params.text(t.issued_at)
        .text(t.access_expires_at)
        .text(t.refresh_expires_at)
        .bytes(t.access_digest)
        .bytes(t.refresh_digest)
        .bytes(t.access_sealed)
        .bytes(t.refresh_sealed);
    return params;
}

constexpr std::string_view k_token_columns =
    "t.app_id, t.created_by, t.issued_at, t.access_ttl, t.refresh_ttl, t.access_digest, "
    "t.refresh_digest, s.access_sealed, s.refresh_sealed";

class PostgresStore final : public Store {
  public:
    explicit PostgresStore(const Location& location) : m_db(location.text), m_location(location) {
        m_db.connect(location);
    }

    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

    // Reads the registry's mark; refuses what is not a registry, or not this version.
    void open(bool migrate) {
        auto opening = postgres::read_opening(m_db, migrate);
        m_opened_version = opening.version;
        m_registry_id = opening.registry_id;
        m_login = opening.login;
        m_opening_user = std::move(opening.user);
        m_verifier_login =
            m_opening_user && m_opening_user->role == Role::verifier && !m_opening_user->removed_at;
        m_opening_key_check = std::move(opening.key_check);
        if (m_opened_version < k_schema_version) {
            write([&] { postgres::upgrade_schema(m_db, m_registry_id.value()); });
        }
    }

    // Creates the schema and runs `first_write`, in one transaction.
    void create(const std::function<void(Store&)>& first_write) {
        // Before the schema exists, two inits are kept apart by version 1's advisory lock.
        locked_write(fmt::format("SELECT pg_advisory_xact_lock({})", k_version_1_write_lock), [&] {
            auto created = postgres::create_schema(m_db);
            m_login = created.login;
            m_registry_id = created.registry_id;
            first_write(*this);
        });
    }

    void write(const std::function<void()>& body) override {
        if (verifier_login()) {
            // A verifier's writes (audit records, a use through stamp_token_use, serve's client
            // refresh, which locks its one token's row) need no turn: it may not take the
            // writers' lock, so it holds up nobody; a row another writer holds is waited for
            // as long as a writer waits for the lock.
            m_db.transaction(
                {"BEGIN", fmt::format("SET LOCAL lock_timeout = '{}'", k_lock_timeout)},
                "begin a write transaction", false, body);
            return;
        }
        // A registry of version 1 is written only to be upgraded, under its writers' lock.
        locked_write(m_opened_version < 2
                         ? fmt::format("SELECT pg_advisory_xact_lock({})", k_version_1_write_lock)
                         : std::string("SELECT tokenctl.lock_writers()"),
                     body);
    }

    bool write_if_free(const std::function<void()>& body) override {
        if (verifier_login()) {
            write(body);
            return true;
        }
        bool free = false;
        m_db.transaction({"BEGIN"}, "begin a write transaction", false, [&] {
            free = m_db.query("begin a write transaction", "SELECT tokenctl.try_lock_writers()")
                       .view(0, 0) == "t";
            if (free) {
                body();
            }
        });
        return free;
    }

    void read(const std::function<void()>& body) override { m_db.read(body); }

    bool connection_lost() const override { return m_db.lost(); }
    // The same URI, hence the same login: what open() read of the registry still holds.
    void reconnect() override { m_db.reconnect(m_location); }

    std::optional<std::string> login() override { return m_login; }
    std::optional<std::string> registry_id() override { return m_registry_id; }

    void grant_login(std::string_view name, std::optional<Role> role) override {
        auto found =
            m_db.query("look up the login", "SELECT count(*) FROM pg_roles WHERE rolname = $1",
                       Params().text(name));
        if (found.int64(0, 0) == 0) {
            throw Error(Status::not_found,
                        fmt::format("{} is not a login of the PostgreSQL server", name),
                        fmt::format("the database administrator creates it first: CREATE ROLE "
                                    "\"{}\" LOGIN",
                                    name));
        }
        // The server takes the role from the users row, which this transaction has changed.
        static_cast<void>(role);
        m_db.run("change the login's grants", "SELECT tokenctl.sync_registry_role($1)",
                 Params().text(name));
    }

    std::int64_t count_others_active_tokens(std::int64_t app_id, std::int64_t user_id,
                                            Millis now) override {
        // Row-level security hides other users' tokens from a non-admin: the server counts.
        static_cast<void>(user_id);
        auto r = m_db.query("count the application's tokens",
                            "SELECT tokenctl.others_active_tokens($1, $2)",
                            Params().text(app_id).text(now));
        return r.null(0, 0) ? 0 : r.int64(0, 0);
    }

    TokenCounts token_counts(Millis now, Millis within) override {
        // Row-level security hides tokens from a verifier (all of them) and from a user (other
        // users'): the server counts them all, for a verifier or an administrator.
        auto r = m_db.query("count tokens", "SELECT * FROM tokenctl.token_counts($1, $2)",
                            Params().text(now).text(within));
        return TokenCounts{r.int64(0, 0), r.int64(0, 1), r.int64(0, 2), r.int64(0, 3)};
    }

    std::optional<User> find_user(std::string_view name, bool include_removed) override {
        std::optional<User> user;
        if (!m_db.in_transaction() && m_opening_user && iequals(name, m_opening_user->name)) {
            // Read with the registry's mark a moment ago (the session's first question).
            user = std::exchange(m_opening_user, std::nullopt);
        } else if (auto r =
                       m_db.query("find a user",
                                  "SELECT id, name, role, created_at, removed_at FROM "
                                  "tokenctl.users WHERE tokenctl.fold(name) = tokenctl.fold($1)",
                                  Params().text(name));
                   r.rows() > 0) {
            user = read_user(r, 0);
        }
        if (user && user->removed_at && !include_removed) {
            return std::nullopt;
        }
        if (!user && m_db.query("look up a user", "SELECT tokenctl.user_exists($1, $2)",
                                Params().text(name).text(include_removed ? "true" : "false"))
                             .view(0, 0) == "t") {
            user = User{k_hidden_id, std::string(name), Role::user, 0, std::nullopt};
        }
        return user;
    }

    std::int64_t insert_user(std::string_view name, Role role, Millis now) override {
        return m_db
            .query("add a user",
                   "INSERT INTO tokenctl.users (name, role, created_at) VALUES ($1, $2, $3) "
                   "RETURNING id",
                   Params().text(name).text(role_name(role)).text(now))
            .int64(0, 0);
    }

    void reactivate_user(std::int64_t id, Role role, Millis now) override {
        m_db.run("restore a user",
                 "UPDATE tokenctl.users SET role = $2, created_at = $3, removed_at = NULL "
                 "WHERE id = $1",
                 Params().text(id).text(role_name(role)).text(now));
    }

    void set_role(std::int64_t id, Role role) override {
        m_db.run("change a role", "UPDATE tokenctl.users SET role = $2 WHERE id = $1",
                 Params().text(id).text(role_name(role)));
    }

    void mark_user_removed(std::int64_t id, Millis now) override {
        m_db.run("remove a user", "UPDATE tokenctl.users SET removed_at = $2 WHERE id = $1",
                 Params().text(id).text(now));
    }

    std::int64_t count_admins() override {
        return m_db
            .query("count administrators",
                   "SELECT count(*) FROM tokenctl.users WHERE role = 'admin' AND removed_at "
                   "IS NULL")
            .int64(0, 0);
    }

    void for_each_user(Millis now, const std::function<void(const UserRow&)>& fn) override {
        stream_listing("list users", postgres_user_listing_sql(now), [&](const Result& r, int row) {
            fn(UserRow{read_user(r, row), r.int64(row, 5), {}});
        });
    }

    std::int64_t count_active_tokens(std::int64_t user_id, Millis now) override {
        return m_db
            .query("count active tokens",
                   "SELECT count(*) FROM tokenctl.tokens t WHERE t.user_id = $2 AND " +
                       postgres::token_active_at("$1"),
                   Params().text(now).text(user_id))
            .int64(0, 0);
    }

    std::optional<App> find_app(std::string_view name) override {
        auto r = m_db.query("find an application",
                            "SELECT id, name, redirect_uri, client_id, created_at, created_by "
                            "FROM tokenctl.apps WHERE name = $1 AND removed_at IS NULL",
                            Params().text(name));
        if (r.rows() > 0) {
            return App{r.int64(0, 0), r.str(0, 1),   r.str(0, 2), r.str(0, 3),
                       r.int64(0, 4), r.int64(0, 5), std::nullopt};
        }
        if (exists("look up an application", "SELECT tokenctl.app_exists($1)", name)) {
            return App{k_hidden_id, std::string(name), {}, {}, 0, k_hidden_id, std::nullopt};
        }
        return std::nullopt;
    }

    void for_each_app(bool include_removed, std::optional<std::int64_t> holder, Millis now,
                      const std::function<void(const AppRow&)>& fn) override {
        AppRow row;
        stream_listing("list applications", postgres_app_listing_sql(include_removed, holder, now),
                       [&](const Result& r, int i) {
                           row.app =
                               App{r.int64(i, 0), r.str(i, 1),   r.str(i, 2),           r.str(i, 3),
                                   r.int64(i, 4), r.int64(i, 5), r.optional_int64(i, 6)};
                           row.created_by = r.str(i, 7);
                           row.active_tokens = r.int64(i, 8);
                           fn(row);
                       });
    }

    void mark_app_removed(std::int64_t id, Millis now) override {
        m_db.run("remove an application", "SELECT tokenctl.remove_app($1, $2)",
                 Params().text(id).text(now));
    }

    std::int64_t insert_app(const App& app) override {
        return m_db
            .query("add an application",
                   "INSERT INTO tokenctl.apps (name, redirect_uri, client_id, created_at, "
                   "created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                   Params()
                       .text(app.name)
                       .text(app.redirect_uri)
                       .text(app.client_id)
                       .text(app.created_at)
                       .text(app.created_by))
            .int64(0, 0);
    }

    std::optional<Token> find_token(std::string_view token_id) override {
        auto token =
            find_token_in(fmt::format("SELECT {}, {}{} LEFT JOIN tokenctl.secrets s ON "
                                      "s.token = t.id WHERE t.token_id = $1",
                                      col::k_row, k_token_columns, postgres::k_token_joins),
                          Params().text(token_id));
        if (!token && exists("look up a token", "SELECT tokenctl.token_exists($1)", token_id)) {
            token.emplace();
            token->id = k_hidden_id;
            token->token_id = std::string(token_id);
            token->user_id = k_hidden_id;
            token->created_by = k_hidden_id;
        }
        return token;
    }

    std::optional<Token> find_token_by_access_digest(const Bytes& digest) override {
        // Through the registry's function: a verifier reads no token rows.
        auto token = find_token_in("SELECT * FROM tokenctl.token_by_access_digest($1)",
                                   Params().bytes(digest));
        if (token) {
            m_verified[token->id] = digest;
        }
        return token;
    }

    std::optional<std::int64_t> insert_token(const Token& t) override {
        auto inserted =
            m_db.query("add a token",
                       "INSERT INTO tokenctl.tokens (token_id, user_id, app_id, created_by, "
                       "generated_at, issued_at, access_ttl, refresh_ttl, access_expires_at, "
                       "refresh_expires_at, access_digest, refresh_digest) VALUES ($1, $2, $3, $4, "
                       "$5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (token_id) DO NOTHING "
                       "RETURNING id",
                       Params()
                           .text(t.token_id)
                           .text(t.user_id)
                           .text(t.app_id)
                           .text(t.created_by)
                           .text(t.generated_at)
                           .text(t.issued_at)
                           .text(t.access_ttl)
                           .text(t.refresh_ttl)
                           .text(t.access_expires_at)
                           .text(t.refresh_expires_at)
                           .bytes(t.access_digest)
                           .bytes(t.refresh_digest));
        if (inserted.rows() == 0) {
            return std::nullopt;
        }
        std::int64_t id = inserted.int64(0, 0);
        // A statement of its own: the secrets' policy looks the new row up. No RETURNING,
        // which an administrator creating a user's token may not read back.
        m_db.run("add a token",
                 "INSERT INTO tokenctl.secrets (token, access_sealed, refresh_sealed) "
                 "VALUES ($1, $2, $3)",
                 Params().text(id).bytes(t.access_sealed).bytes(t.refresh_sealed));
        return id;
    }

    void insert_tokens(const std::vector<Token>& tokens, std::int64_t revoked_by) override {
        // COPY: one stream for the rows, one for their sealed secrets (by token ID, joined
        // to the new rows' ids), instead of a round trip a token.
        using postgres::copy_bytea;
        using postgres::copy_number;
        m_db.exec("add tokens", "CREATE TEMPORARY TABLE new_secrets (token_id text, access_sealed "
                                "bytea, refresh_sealed bytea) ON COMMIT DROP");
        m_db.copy("add tokens",
                  "COPY tokenctl.tokens (token_id, user_id, app_id, created_by, generated_at, "
                  "issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, "
                  "access_digest, refresh_digest, revoked_at, revoked_by) FROM STDIN",
                  tokens.size(), [&](std::string& out, std::size_t i) {
                      const Token& t = tokens[i];
                      out += t.token_id;
                      for (std::int64_t value : {t.user_id, t.app_id, t.created_by, t.generated_at,
                                                 t.issued_at, t.access_ttl, t.refresh_ttl,
                                                 t.access_expires_at, t.refresh_expires_at}) {
                          out += '\t';
                          copy_number(out, value);
                      }
                      out += '\t';
                      copy_bytea(out, t.access_digest);
                      out += '\t';
                      copy_bytea(out, t.refresh_digest);
                      out += '\t';
                      copy_number(out, t.revoked_at);
                      out += '\t';
                      copy_number(out, t.revoked_at ? std::optional<std::int64_t>(revoked_by)
                                                    : std::nullopt);
                  });
        m_db.copy("add tokens", "COPY new_secrets FROM STDIN", tokens.size(),
                  [&](std::string& out, std::size_t i) {
                      const Token& t = tokens[i];
                      out += t.token_id;
                      out += '\t';
                      copy_bytea(out, t.access_sealed);
                      out += '\t';
                      copy_bytea(out, t.refresh_sealed);
                  });
        m_db.exec("add tokens",
                  "INSERT INTO tokenctl.secrets (token, access_sealed, refresh_sealed) "
                  "SELECT t.id, n.access_sealed, n.refresh_sealed FROM new_secrets n "
                  "JOIN tokenctl.tokens t ON t.token_id = n.token_id; "
                  "DROP TABLE new_secrets");
        // Statistics for the planner now, not when autovacuum next comes by: a listing
        // right after a bulk load would otherwise be planned for an empty table.
        m_db.exec("add tokens", "ANALYZE tokenctl.tokens, tokenctl.secrets, tokenctl.users, "
                                "tokenctl.apps");
    }

    void for_each_token(const TokenFilter& filter,
                        const std::function<void(const TokenRow&)>& fn) override {
        TokenRow row;
        stream_listing("list tokens", postgres_token_listing_sql(filter),
                       [&](const Result& r, int i) {
                           col::read_row(ResultRow{r, i}, row);
                           fn(row);
                       });
    }

    void for_each_name(const NameQuery& names,
                       const std::function<void(const std::string&)>& fn) override {
        auto st = postgres_name_sql(names);
        auto r = m_db.query("complete names", st.sql, postgres::params_of(st));
        for (int i = 0; i < r.rows(); ++i) {
            fn(r.str(i, 0));
        }
    }

    void revoke_token(std::int64_t id, std::int64_t by, Millis now) override {
        // revoked_by is the acting login's, which the server knows (by is the same user).
        static_cast<void>(by);
        m_db.run("revoke a token", "SELECT tokenctl.revoke_token($1, $2)",
                 Params().text(id).text(now));
    }

    bool stamp_last_used(std::int64_t id, Millis now) override {
        if (auto verified = m_verified.find(id); verified != m_verified.end()) {
            // verify's token, which the login may not change (a verifier changes no token
            // rows): through the function that takes its access token's digest.
            return m_db.query("record the token's use", "SELECT tokenctl.stamp_token_use($1, $2)",
                              Params().bytes(verified->second).text(now))
                       .view(0, 0) == "t";
        }
        return m_db.query("record the token's use", "SELECT tokenctl.stamp_own_token_use($1, $2)",
                          Params().text(id).text(now))
                   .view(0, 0) == "t";
    }

    void replace_secrets(const Token& t) override {
        m_db.run("store the new secrets",
                 "SELECT tokenctl.rotate_token($1, $2, $3, $4, $5, $6, $7, $8)",
                 with_pair(Params().text(t.id), t));
    }

    // serve's client refresh: through the registry's functions, which check the client's
    // claim themselves (a verifier reads no client secret and no other user's secrets).
    ClientRefreshGrant claim_client_refresh(const ClientRefreshClaim& claim) override {
        auto r = m_db.query("check a client's refresh",
                            "SELECT * FROM tokenctl.claim_client_refresh($1, $2, $3, $4, $5)",
                            Params()
                                .text(claim.client_id)
                                .text(claim.client_secret)
                                .text(claim.refresh_token)
                                .text(claim.now)
                                .text(claim.grace));
        using Outcome = ClientRefreshGrant::Outcome;
        static constexpr std::array<std::pair<std::string_view, Outcome>, 5> k_outcomes{{
            {"invalid_client", Outcome::invalid_client},
            {"invalid_grant", Outcome::invalid_grant},
            {"rotate", Outcome::rotate},
            {"resend", Outcome::resend},
            {"reused", Outcome::reused},
        }};
        std::string_view answer = r.rows() == 1 ? r.view(0, 0) : std::string_view();
        auto found = std::find_if(k_outcomes.begin(), k_outcomes.end(),
                                  [&](const auto& o) { return o.first == answer; });
        if (found == k_outcomes.end()) {
            throw Error(Status::failure,
                        fmt::format("registry {}: an unexpected answer to a client's refresh",
                                    m_db.shown()));
        }
        ClientRefreshGrant grant{found->second, std::nullopt};
        if (!r.null(0, 1)) {
            grant.token = col::read_token(ResultRow{r, 0, 1}); // after the outcome
        }
        return grant;
    }

    void rotate_for_client(const ClientRefreshClaim& claim, const Token& t) override {
        bool rotated =
            m_db.query("store the new secrets",
                       "SELECT tokenctl.rotate_for_client($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                       with_pair(Params()
                                     .text(claim.client_id)
                                     .text(claim.client_secret)
                                     .text(claim.refresh_token),
                                 t))
                .view(0, 0) == "t";
        if (!rotated) {
            throw Error(Status::failure, "the client's refresh token changed during its refresh");
        }
    }

    std::vector<SealedSecrets> sealed_batch(std::int64_t after, std::size_t limit) override {
        // Every token's secrets, which only the owner may read: anyone else would see
        // their own alone, and a rekey would leave the others sealed under the old key.
        if (!is_owner()) {
            throw Error(Status::permission,
                        fmt::format("registry {}: only its owner reads every token's sealed "
                                    "secrets",
                                    m_db.shown()),
                        "run rekey (and check's secrets check) as the login that owns the "
                        "schema tokenctl");
        }
        auto r = m_db.query("read the sealed secrets",
                            "SELECT t.id, t.token_id, t.access_digest, t.refresh_digest, "
                            "s.access_sealed, s.refresh_sealed FROM tokenctl.tokens t JOIN "
                            "tokenctl.secrets s ON s.token = t.id WHERE t.id > $1 ORDER BY t.id "
                            "LIMIT $2",
                            Params().text(after).text(static_cast<std::int64_t>(limit)));
        std::vector<SealedSecrets> batch;
        for (int i = 0; i < r.rows(); ++i) {
            batch.push_back(SealedSecrets{r.int64(i, 0), r.str(i, 1), r.bytes(i, 2), r.bytes(i, 3),
                                          r.bytes(i, 4), r.bytes(i, 5)});
        }
        return batch;
    }

    void replace_sealed(std::int64_t id, const Bytes& access_sealed,
                        const Bytes& refresh_sealed) override {
        m_db.run(
            "store the re-sealed secrets",
            "UPDATE tokenctl.secrets SET access_sealed = $2, refresh_sealed = $3 WHERE token = $1",
            Params().text(id).bytes(access_sealed).bytes(refresh_sealed));
    }

    // --- applications' client secrets (schema version 3) ---

    std::optional<ClientSecret> find_client_secret(std::int64_t app_id) override {
        // Row-level security keeps the sealed secret to those who may read it: none for others.
        auto r = m_db.query("read a client secret",
                            "SELECT c.app, a.client_id, c.digest, c.sealed, c.created_at FROM "
                            "tokenctl.client_secrets c JOIN tokenctl.apps a ON a.id = c.app "
                            "WHERE c.app = $1",
                            Params().text(app_id));
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return client_secret_of(r, 0);
    }

    void insert_client_secret(const ClientSecret& c) override {
        m_db.run("store a client secret",
                 "INSERT INTO tokenctl.client_secrets (app, digest, sealed, created_at) "
                 "VALUES ($1, $2, $3, $4)",
                 Params().text(c.app_id).bytes(c.digest).bytes(c.sealed).text(c.created_at));
    }

    void replace_client_secret(const ClientSecret& c) override {
        // Through the function that checks who may (no login may update the table).
        auto r = m_db.query(
            "store the new client secret", "SELECT tokenctl.rotate_client_secret($1, $2, $3, $4)",
            Params().text(c.app_id).bytes(c.digest).bytes(c.sealed).text(c.created_at));
        if (r.view(0, 0) != "t") {
            throw Error(Status::permission,
                        fmt::format("registry {}: the server refused to rotate the client secret",
                                    m_db.shown()));
        }
    }

    std::vector<ClientSecret> apps_without_client_secret() override {
        // Only the owner sees every application and may give each its secret (migrate). Asked
        // once a connection: every write that holds the key asks this.
        std::vector<ClientSecret> missing;
        if (!m_fills_client_secrets) {
            m_fills_client_secrets = is_owner();
        }
        if (!*m_fills_client_secrets) {
            return missing;
        }
        auto r =
            m_db.query("look for applications without a client secret",
                       "SELECT a.id, a.client_id FROM tokenctl.apps a WHERE NOT EXISTS (SELECT 1 "
                       "FROM tokenctl.client_secrets c WHERE c.app = a.id) ORDER BY a.id");
        for (int i = 0; i < r.rows(); ++i) {
            ClientSecret c;
            c.app_id = r.int64(i, 0);
            c.client_id = r.str(i, 1);
            missing.push_back(std::move(c));
        }
        return missing;
    }

    std::vector<ClientSecret> sealed_client_batch(std::int64_t after, std::size_t limit) override {
        // As sealed_batch: every one, which only the owner may read.
        if (!is_owner()) {
            throw Error(Status::permission,
                        fmt::format("registry {}: only its owner reads every application's "
                                    "sealed client secret",
                                    m_db.shown()),
                        "run rekey (and check's secrets check) as the login that owns the "
                        "schema tokenctl");
        }
        auto r = m_db.query("read the sealed client secrets",
                            "SELECT c.app, a.client_id, c.digest, c.sealed, c.created_at FROM "
                            "tokenctl.client_secrets c JOIN tokenctl.apps a ON a.id = c.app "
                            "WHERE c.app > $1 ORDER BY c.app LIMIT $2",
                            Params().text(after).text(static_cast<std::int64_t>(limit)));
        std::vector<ClientSecret> batch;
        for (int i = 0; i < r.rows(); ++i) {
            batch.push_back(client_secret_of(r, i));
        }
        return batch;
    }

    void replace_sealed_client(std::int64_t app_id, const Bytes& sealed) override {
        m_db.run("store the re-sealed client secret",
                 "UPDATE tokenctl.client_secrets SET sealed = $2 WHERE app = $1",
                 Params().text(app_id).bytes(sealed));
    }

    static ClientSecret client_secret_of(const Result& r, int i) {
        return ClientSecret{r.int64(i, 0), r.str(i, 1), r.bytes(i, 2), r.bytes(i, 3),
                            r.int64(i, 4)};
    }

    // Whether this login is the owner, who gives applications their missing client secrets.
    std::optional<bool> m_fills_client_secrets;

    std::vector<std::string> integrity_problems() override {
        // The server keeps its own pages and references sound; what it cannot know is
        // that every token has its sealed secrets, which only the owner sees all of.
        if (!is_owner()) {
            return {};
        }
        auto r = m_db.query("check integrity",
                            "SELECT t.token_id FROM tokenctl.tokens t WHERE NOT EXISTS (SELECT 1 "
                            "FROM tokenctl.secrets s WHERE s.token = t.id) ORDER BY t.id");
        std::vector<std::string> problems;
        for (int i = 0; i < r.rows(); ++i) {
            problems.push_back(fmt::format("token {} has no sealed secrets", r.str(i, 0)));
        }
        return problems;
    }

    int opened_schema_version() const override { return m_opened_version; }

    int schema_version() override {
        return static_cast<int>(
            m_db.query("read the schema version", "SELECT schema_version FROM tokenctl.registry")
                .int64(0, 0));
    }

    bool audit_protected() override {
        return m_db.query(
                       "read the audit log's triggers",
                       "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tokenctl.audit'::regclass "
                       "AND tgname IN ('audit_no_update', 'audit_no_delete', 'audit_no_truncate') "
                       "AND tgenabled = 'O'")
                   .int64(0, 0) == 3;
    }

    void for_each_audit(const AuditFilter& filter,
                        const std::function<void(const AuditEntry&)>& fn) override {
        AuditEntry e;
        stream_listing("read the audit log", postgres_audit_sql(filter),
                       [&](const Result& r, int i) {
                           e.id = r.int64(i, 0);
                           e.at = r.int64(i, 1);
                           e.actor = r.str(i, 2);
                           e.action = r.str(i, 3);
                           e.subject = r.str(i, 4);
                           e.outcome = r.str(i, 5);
                           e.detail = r.str(i, 6);
                           fn(e);
                       });
    }

    std::optional<Bytes> meta(std::string_view name) override {
        if (!m_db.in_transaction() && m_opening_key_check && name == "key_check") {
            return std::exchange(m_opening_key_check, std::nullopt);
        }
        auto r = m_db.query("read metadata", "SELECT value FROM tokenctl.meta WHERE name = $1",
                            Params().text(name));
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return r.bytes(0, 0);
    }

    void require_meta(std::string_view name, const Bytes& value, const Error& otherwise) override {
        m_db.defer("check the registry", "SELECT tokenctl.require_meta($1, $2)",
                   Params().text(name).bytes(value), &Connection::server_error, otherwise);
    }

    void set_meta(std::string_view name, const Bytes& value) override {
        m_db.run("write metadata",
                 "INSERT INTO tokenctl.meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO "
                 "UPDATE SET value = excluded.value",
                 Params().text(name).bytes(value));
    }

  protected:
    void store_audit(const AuditEntry& e) override {
        m_db.run(
            "write the audit log",
            "INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            Params().text(e.at).text(e.actor).text(e.action).text(e.subject).text(e.outcome).text(
                e.detail));
    }

  private:
    // Whether the login was a verifier of the registry when it was opened (kept apart from
    // m_opening_user, which the session's first find_user takes).
    bool verifier_login() const { return m_verifier_login; }

    // A write transaction whose first statement, `lock`, takes the writers' lock.
    void locked_write(std::string lock, const std::function<void()>& body) {
        m_db.transaction({"BEGIN", fmt::format("SET LOCAL lock_timeout = '{}'", k_lock_timeout),
                          std::move(lock)},
                         "begin a write transaction", false, body);
    }

    // Streams the rows of the listing `statement` to `fn` (Connection::stream).
    void stream_listing(std::string_view what, const PostgresStatement& statement,
                        const std::function<void(const Result&, int)>& fn) {
        m_db.stream(what, statement.sql, postgres::params_of(statement), fn);
    }

    // What the registry's function `sql` answers about `name`: whether it exists.
    bool exists(std::string_view what, const std::string& sql, std::string_view name) {
        return m_db.query(what, sql, Params().text(name)).view(0, 0) == "t";
    }

    // Whether the login owns the schema: the administrator of last resort, whom row-level
    // security does not restrict.
    bool is_owner() {
        return m_db.query("look up the registry's owner",
                          "SELECT session_user = nspowner::regrole::text FROM pg_namespace "
                          "WHERE nspname = 'tokenctl'")
                   .view(0, 0) == "t";
    }

    // The token the query `sql` returns (its columns in token_columns' order); the sealed secrets
    // are empty where the acting login may not read them.
    std::optional<Token> find_token_in(const std::string& sql, const Params& params) {
        auto r = m_db.query("find a token", sql, params);
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return col::read_token(ResultRow{r, 0});
    }

    static User read_user(const Result& r, int i) {
        return User{r.int64(i, 0), r.str(i, 1), parse_role(r.view(i, 2)), r.int64(i, 3),
                    r.optional_int64(i, 4)};
    }

    Connection m_db;
    Location m_location; // where m_db connects, again after a lost connection
    std::optional<std::string> m_login;
    std::optional<std::string> m_registry_id;
    int m_opened_version = k_schema_version;
    // Read when the registry was opened, for the first question outside a transaction.
    std::optional<User> m_opening_user;
    bool m_verifier_login = false;
    std::optional<Bytes> m_opening_key_check;
    // The access digests of the tokens verify looked up, by row id: their use is recorded
    // through them.
    std::map<std::int64_t, Bytes> m_verified;
};

} // namespace

std::unique_ptr<Store> open_postgres_store(const Location& location, bool migrate) {
    auto store = std::make_unique<PostgresStore>(location);
    store->open(migrate);
    return store;
}

std::unique_ptr<Store> create_postgres_store(const Location& location,
                                             const std::function<void(Store&)>& first_write) {
    auto store = std::make_unique<PostgresStore>(location);
    store->create(first_write);
    return store;
}

int postgres_schema_version() {
    return k_schema_version;
}

} // namespace tokenctl
