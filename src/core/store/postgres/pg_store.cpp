#include "store/postgres/libpq.h"
#include "store/postgres/sql.h"
#include "store/token_columns.h"

#include <tokenctl/error.h>
#include <tokenctl/secret.h>
#include <tokenctl/store/postgres.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <poll.h>

namespace tokenctl {

namespace {

// The schema's versions: init creates the newest at once from sql/*.sql, upgrade_sql()
// upgrades an older one.
// 2: every function's search_path pinned (pg_temp last), the writers' lock a row only the
// registry's users may lock, audit records only in the writer's own name and time.
// 3: applications' client secrets (client-secrets.sql, upgrade-3.sql).
constexpr int k_schema_version = 3;

// Every writer locks the registry's row (tokenctl.lock_writers()) for its whole
// transaction, as BEGIN IMMEDIATE serializes SQLite's writers; the server releases it when
// the transaction ends or its client goes away. Version 1's writers took this advisory
// lock instead, which an upgrade takes too.
constexpr std::int64_t k_version_1_write_lock = 0x746f6b656e63746c; // "tokenctl"
constexpr std::string_view k_lock_timeout = "10s";
// How long tokenctl waits for any answer of the server: past it, the network or the server
// has gone silent, and the connection is given up.
constexpr int k_answer_timeout_ms = 30000;

// The SQLSTATE of require_meta(): the value is not what the command read before.
constexpr std::string_view k_changed = "TK001";
// The SQLSTATE of keep_an_admin() refusing to demote or remove the schema's owner.
constexpr std::string_view k_owner_stays = "TK002";
// The SQLSTATE of require_now(): the client's clock is too far from the server's.
constexpr std::string_view k_clock_skew = "TK003";
// What tokens_add asks of a new token's times (the policy is in policies.sql and
// upgrade-2.sql): made now by the server's clock, active, unused, with lifetimes within
// SPEC's bounds (access 1 minute to 30 days, refresh up to 365 days) and the expiries they
// give.
constexpr std::string_view k_fresh_token =
    "AND abs(generated_at - (extract(epoch FROM clock_timestamp()) * 1000)::bigint) <= 300000 "
    "AND issued_at = generated_at AND revoked_at IS NULL AND revoked_by IS NULL "
    "AND last_used_at IS NULL AND access_ttl BETWEEN 60000 AND 2592000000 "
    "AND refresh_ttl BETWEEN access_ttl AND 31536000000 "
    "AND access_expires_at = issued_at + access_ttl "
    "AND refresh_expires_at = issued_at + refresh_ttl";

// The row id of a token or application that exists but that row-level security hides from
// the acting login (Store::find_token, find_app): no row and no user has it.
constexpr std::int64_t k_hidden_id = 0;

// A listing this short is kept for the table format's second reading.
constexpr std::size_t k_replay_rows = 2000;

// The schema's SQL (sql/*.sql) for the registry `id`: each @NAME@ replaced by its value.
std::string schema_sql(std::string_view text, const std::string& id) {
    auto group = [&](std::string_view role) { return fmt::format("tokenctl_{}_{}", id, role); };
    auto quoted = [](const std::string& value) { return "'" + value + "'"; };
    const std::map<std::string, std::string, std::less<>> values = {
        {"admin", group("admin")},
        {"user", group("user")},
        {"verifier", group("verifier")},
        {"admin_text", quoted(group("admin"))},
        {"user_text", quoted(group("user"))},
        {"verifier_text", quoted(group("verifier"))},
        {"id_text", quoted(id)},
        {"changed", std::string(k_changed)},
        {"owner_stays", std::string(k_owner_stays)},
        {"clock_skew", std::string(k_clock_skew)},
        {"fresh_token", std::string(k_fresh_token)},
        {"last_use_resolution", std::to_string(k_last_use_resolution_ms)},
    };
    std::string out;
    std::size_t at = 0;
    for (auto open = text.find('@'); open != std::string_view::npos; open = text.find('@', at)) {
        auto close = text.find('@', open + 1);
        auto value = close == std::string_view::npos
                         ? values.end()
                         : values.find(text.substr(open + 1, close - open - 1));
        if (value == values.end()) {
            out += text.substr(at, open + 1 - at); // an @ of the SQL itself
            at = open + 1;
            continue;
        }
        out += text.substr(at, open - at);
        out += value->second;
        at = close + 1;
    }
    out += text.substr(at);
    return out;
}

// What upgrades schema version `from` to from + 1: every function replaced as the newest
// version has it, then what else changed.
std::string upgrade_sql(int from, const std::string& id) {
    switch (from) {
    case 1:
        return schema_sql(sql::k_functions, id) + schema_sql(sql::k_upgrade_2, id);
    case 2:
        return schema_sql(sql::k_functions, id) + schema_sql(sql::k_client_secrets, id) +
               schema_sql(sql::k_upgrade_3, id);
    default:
        throw Error(Status::failure, fmt::format("no upgrade from schema version {}", from));
    }
}

namespace col = token_columns;

constexpr std::string_view k_token_columns =
    "t.app_id, t.created_by, t.issued_at, t.access_ttl, t.refresh_ttl, t.access_digest, "
    "t.refresh_digest, s.access_sealed, s.refresh_sealed";

constexpr std::string_view k_token_joins =
    " FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id "
    "JOIN tokenctl.apps a ON a.id = t.app_id";

// Whether token `t` is active at $1: neither revoked nor expired (TokenRow::status_at).
constexpr std::string_view k_token_active_at = "t.revoked_at IS NULL AND t.refresh_expires_at > $1";

// Parameters of one statement: text, or binary for bytea, or NULL. Copied into the
// statements a pipeline defers.
class Params {
  public:
    Params& text(std::string value) {
        m_entries.push_back(Entry{std::move(value), 0});
        return *this;
    }
    Params& text(std::string_view value) { return text(std::string(value)); }
    Params& text(const char* value) { return text(std::string(value)); }
    Params& text(std::int64_t value) { return text(std::to_string(value)); }
    Params& text(const std::optional<std::int64_t>& value) { return value ? text(*value) : null(); }
    Params& null() {
        m_entries.push_back(Entry{std::nullopt, 0});
        return *this;
    }
    Params& bytes(const Bytes& value) {
        m_entries.push_back(Entry{std::string(value.begin(), value.end()), 1});
        return *this;
    }
    // A rotated token's new pair, as rotate_token() and rotate_for_client() take it: issue
    // time, expiries, digests, sealed secrets.
    Params& pair(const Token& t) {
        return text(t.issued_at)
            .text(t.access_expires_at)
            .text(t.refresh_expires_at)
            .bytes(t.access_digest)
            .bytes(t.refresh_digest)
            .bytes(t.access_sealed)
            .bytes(t.refresh_sealed);
    }

    // The values, as one string that differs when they do.
    std::string digest() const {
        std::string out;
        for (const Entry& e : m_entries) {
            out += e.value ? fmt::format("{}:{}:{};", e.format, e.value->size(), *e.value) : "-;";
        }
        return out;
    }

    // The placeholder of the parameter added last: $1, $2, ...
    std::string last() const { return fmt::format("${}", m_entries.size()); }

    // libpq's arrays, valid until this changes.
    int count() const { return static_cast<int>(m_entries.size()); }
    const char* const* values() const {
        m_values.clear();
        for (const Entry& e : m_entries) {
            m_values.push_back(e.value ? e.value->data() : nullptr);
        }
        return m_values.data();
    }
    const int* lengths() const {
        m_lengths.clear();
        for (const Entry& e : m_entries) {
            m_lengths.push_back(e.value ? static_cast<int>(e.value->size()) : 0);
        }
        return m_lengths.data();
    }
    const int* formats() const {
        m_formats.clear();
        for (const Entry& e : m_entries) {
            m_formats.push_back(e.format);
        }
        return m_formats.data();
    }

  private:
    struct Entry {
        std::optional<std::string> value;
        int format; // 0 text, 1 binary
    };
    std::vector<Entry> m_entries;
    mutable std::vector<const char*> m_values;
    mutable std::vector<int> m_lengths;
    mutable std::vector<int> m_formats;
};

// One statement's result, in text form.
class Result {
  public:
    explicit Result(PGresult* result) : m_result(result) {}
    Result(Result&& other) noexcept : m_result(std::exchange(other.m_result, nullptr)) {}
    Result& operator=(Result&& other) noexcept {
        if (this != &other) {
            if (m_result != nullptr) {
                libpq().PQclear(m_result);
            }
            m_result = std::exchange(other.m_result, nullptr);
        }
        return *this;
    }
    ~Result() {
        if (m_result != nullptr) {
            libpq().PQclear(m_result);
        }
    }

    PGresult* get() const { return m_result; }
    int rows() const { return libpq().PQntuples(m_result); }
    bool null(int row, int col) const { return libpq().PQgetisnull(m_result, row, col) != 0; }
    std::string_view view(int row, int col) const {
        return {libpq().PQgetvalue(m_result, row, col),
                static_cast<std::size_t>(libpq().PQgetlength(m_result, row, col))};
    }
    std::string str(int row, int col) const { return std::string(view(row, col)); }
    std::int64_t int64(int row, int col) const {
        auto text = view(row, col);
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size()) {
            throw Error(
                Status::failure,
                fmt::format("the registry returned {} where a number belongs", printable(text)));
        }
        return value;
    }
    std::optional<std::int64_t> optional_int64(int row, int col) const {
        return null(row, col) ? std::nullopt : std::optional<std::int64_t>(int64(row, col));
    }
    // bytea in its text form: \x and two hex digits a byte.
    Bytes bytes(int row, int col) const {
        auto text = view(row, col);
        if (!text.starts_with("\\x") || text.size() % 2 != 0) {
            throw Error(Status::failure, "the registry returned binary data in an unknown form");
        }
        Bytes out;
        out.reserve((text.size() - 2) / 2);
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            throw Error(Status::failure, "the registry returned binary data in an unknown form");
        };
        for (std::size_t i = 2; i < text.size(); i += 2) {
            out.push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
        }
        return out;
    }

  private:
    PGresult* m_result;
};

// libpq's multi-line messages as one line: line breaks and the indentation after them
// become one space.
std::string one_line(std::string_view text) {
    std::string out;
    for (char c : text) {
        bool space = c == '\n' || c == '\r' || c == '\t';
        if (space && !out.empty() && out.back() == ' ') {
            continue;
        }
        out += space ? ' ' : c;
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

// One row of a Result, as token_columns reads it.
struct ResultRow {
    const Result& r;
    int i;
    int first = 0; // the column the token's columns begin at
    std::int64_t int64(int c) const { return r.int64(i, first + c); }
    std::string text(int c) const { return r.str(i, first + c); }
    std::optional<std::int64_t> optional_int64(int c) const {
        return r.optional_int64(i, first + c);
    }
    Bytes bytes(int c) const { return r.bytes(i, first + c); }
    bool null(int c) const { return r.null(i, first + c); }
};

class PostgresStore final : public Store {
  public:
    explicit PostgresStore(const Location& location) : m_shown(location.text) {
        if (!location.passwords.empty()) {
            std::cerr << "tokenctl: warning: the registry's URI holds a password, which shows "
                         "in ps and in shell history; keep it in ~/.pgpass or PGPASSFILE\n";
        }
        connect(location);
    }

    ~PostgresStore() override {
        if (m_conn != nullptr) {
            libpq().PQfinish(m_conn);
        }
    }

    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

    // Reads the registry's mark; refuses what is not a registry, or not this version.
    void open(bool migrate) {
        // One round trip: the mark, and what a command asks next (the login's own row, the
        // key check), kept for those first questions.
        auto marks = query("open the registry",
                           "SELECT r.application, r.schema_version, r.registry_id, session_user, "
                           "u.id, u.name, u.role, u.created_at, u.removed_at, (SELECT value "
                           "FROM tokenctl.meta WHERE name = 'key_check') FROM tokenctl.registry r "
                           "LEFT JOIN tokenctl.users u ON tokenctl.fold(u.name) = "
                           "tokenctl.fold(session_user)",
                           Params(), &PostgresStore::open_error);
        if (marks.rows() != 1) {
            throw Error(Status::failure,
                        fmt::format("registry {}: its schema tokenctl is not tokenctl's", m_shown),
                        "tokenctl leaves it untouched; name another database with --db");
        }
        int version = static_cast<int>(marks.int64(0, 1));
        m_opened_version = version;
        m_registry_id = marks.str(0, 2);
        m_login = marks.str(0, 3);
        if (!marks.null(0, 4)) {
            m_opening_user = User{marks.int64(0, 4), marks.str(0, 5), parse_role(marks.view(0, 6)),
                                  marks.int64(0, 7), marks.optional_int64(0, 8)};
        }
        if (!marks.null(0, 9)) {
            m_opening_key_check = marks.bytes(0, 9);
        }
        if (version > k_schema_version) {
            throw Error(Status::failure,
                        fmt::format("registry {} has schema version {}, newer than this "
                                    "tokenctl knows ({})",
                                    m_shown, version, k_schema_version),
                        "upgrade tokenctl; the registry was left untouched");
        }
        if (version < k_schema_version && !migrate) {
            throw Error(Status::failure,
                        fmt::format("registry {} has schema version {}, older than this "
                                    "tokenctl's ({})",
                                    m_shown, version, k_schema_version),
                        "the registry's owner upgrades it with `tokenctl migrate`");
        }
        if (version < k_schema_version) {
            write([&] {
                // Read again under the write lock: another host may have migrated meanwhile.
                auto current = query("read the schema version",
                                     "SELECT schema_version FROM tokenctl.registry FOR UPDATE")
                                   .int64(0, 0);
                for (auto v = current; v < k_schema_version; ++v) {
                    exec("upgrade the registry",
                         upgrade_sql(static_cast<int>(v), m_registry_id.value()));
                }
                run("upgrade the registry", "UPDATE tokenctl.registry SET schema_version = $1",
                    Params().text(std::int64_t{k_schema_version}));
            });
        }
    }

    // Creates the schema and runs `first_write`, in one transaction.
    void create(const std::function<void(Store&)>& first_write) {
        // Before the schema exists, two inits are kept apart by version 1's advisory lock.
        locked_write(fmt::format("SELECT pg_advisory_xact_lock({})", k_version_1_write_lock), [&] {
            auto exists =
                query("look for a registry", "SELECT count(*), session_user FROM pg_namespace "
                                             "WHERE nspname = 'tokenctl'");
            m_login = exists.str(0, 1);
            if (exists.int64(0, 0) != 0) {
                throw Error(Status::conflict,
                            fmt::format("a registry already exists in {}", m_shown),
                            "tokenctl init never overwrites; name another database with --db");
            }
            const std::string id = random_hex(8);
            m_registry_id = id;
            exec("create the registry",
                 "CREATE SCHEMA tokenctl;\n" + schema_sql(sql::k_functions, id) +
                     schema_sql(sql::k_tables, id) + schema_sql(sql::k_policies, id) +
                     schema_sql(sql::k_client_secrets, id));
            exec("create the registry's roles", schema_sql(sql::k_grants, id));
            run("mark the registry",
                "INSERT INTO tokenctl.registry (application, schema_version, registry_id) "
                "VALUES ('tokenctl', $1, $2)",
                Params().text(std::int64_t{k_schema_version}).text(id));
            first_write(*this);
        });
    }

    void write(const std::function<void()>& body) override {
        if (verifier_login()) {
            // A verifier's writes (audit records, a use through stamp_token_use) are appends
            // that need no turn: it may not take the writers' lock, so it holds up nobody.
            transaction({"BEGIN"}, "begin a write transaction", false, body);
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
        transaction({"BEGIN"}, "begin a write transaction", false, [&] {
            free = query("begin a write transaction", "SELECT tokenctl.try_lock_writers()")
                       .view(0, 0) == "t";
            if (free) {
                body();
            }
        });
        return free;
    }

    void read(const std::function<void()>& body) override {
        transaction({"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}, "begin a read transaction",
                    true, body);
    }

    std::optional<std::string> login() override { return m_login; }
    std::optional<std::string> registry_id() override { return m_registry_id; }

    void grant_login(std::string_view name, std::optional<Role> role) override {
        auto found = query("look up the login", "SELECT count(*) FROM pg_roles WHERE rolname = $1",
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
        run("change the login's grants", "SELECT tokenctl.sync_registry_role($1)",
            Params().text(name));
    }

    std::int64_t count_others_active_tokens(std::int64_t app_id, std::int64_t user_id,
                                            Millis now) override {
        // Row-level security hides other users' tokens from a non-admin: the server counts.
        static_cast<void>(user_id);
        auto r =
            query("count the application's tokens", "SELECT tokenctl.others_active_tokens($1, $2)",
                  Params().text(app_id).text(now));
        return r.null(0, 0) ? 0 : r.int64(0, 0);
    }

    std::optional<User> find_user(std::string_view name, bool include_removed) override {
        std::optional<User> user;
        if (!m_in_transaction && m_opening_user && iequals(name, m_opening_user->name)) {
            // Read with the registry's mark a moment ago (the session's first question).
            user = std::exchange(m_opening_user, std::nullopt);
        } else if (auto r = query("find a user",
                                  "SELECT id, name, role, created_at, removed_at FROM "
                                  "tokenctl.users WHERE tokenctl.fold(name) = tokenctl.fold($1)",
                                  Params().text(name));
                   r.rows() > 0) {
            user = read_user(r, 0);
        }
        if (user && user->removed_at && !include_removed) {
            return std::nullopt;
        }
        if (!user && query("look up a user", "SELECT tokenctl.user_exists($1, $2)",
                           Params().text(name).text(include_removed ? "true" : "false"))
                             .view(0, 0) == "t") {
            user = User{k_hidden_id, std::string(name), Role::user, 0, std::nullopt};
        }
        return user;
    }

    std::int64_t insert_user(std::string_view name, Role role, Millis now) override {
        return query("add a user",
                     "INSERT INTO tokenctl.users (name, role, created_at) VALUES ($1, $2, $3) "
                     "RETURNING id",
                     Params().text(name).text(role_name(role)).text(now))
            .int64(0, 0);
    }

    void reactivate_user(std::int64_t id, Role role, Millis now) override {
        run("restore a user",
            "UPDATE tokenctl.users SET role = $2, created_at = $3, removed_at = NULL "
            "WHERE id = $1",
            Params().text(id).text(role_name(role)).text(now));
    }

    void set_role(std::int64_t id, Role role) override {
        run("change a role", "UPDATE tokenctl.users SET role = $2 WHERE id = $1",
            Params().text(id).text(role_name(role)));
    }

    void mark_user_removed(std::int64_t id, Millis now) override {
        run("remove a user", "UPDATE tokenctl.users SET removed_at = $2 WHERE id = $1",
            Params().text(id).text(now));
    }

    std::int64_t count_admins() override {
        return query("count administrators",
                     "SELECT count(*) FROM tokenctl.users WHERE role = 'admin' AND removed_at "
                     "IS NULL")
            .int64(0, 0);
    }

    void for_each_user(Millis now, const std::function<void(const UserRow&)>& fn) override {
        stream("list users",
               fmt::format("SELECT id, name, role, created_at, removed_at, "
                           "(SELECT count(*) FROM tokenctl.tokens t WHERE t.user_id = users.id "
                           "AND {}) FROM tokenctl.users WHERE removed_at IS NULL "
                           "ORDER BY tokenctl.fold(name)",
                           k_token_active_at),
               Params().text(now), [&](const Result& r, int row) {
                   fn(UserRow{read_user(r, row), r.int64(row, 5), {}});
               });
    }

    std::int64_t count_active_tokens(std::int64_t user_id, Millis now) override {
        return query("count active tokens",
                     fmt::format("SELECT count(*) FROM tokenctl.tokens t WHERE t.user_id = $2 "
                                 "AND {}",
                                 k_token_active_at),
                     Params().text(now).text(user_id))
            .int64(0, 0);
    }

    std::optional<App> find_app(std::string_view name) override {
        auto r = query("find an application",
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
        std::string holder_tokens = holder ? " AND t.user_id = $2" : "";
        std::string sql = fmt::format(
            "SELECT a.id, a.name, a.redirect_uri, a.client_id, a.created_at, a.created_by, "
            "a.removed_at, u.name, (SELECT count(*) FROM tokenctl.tokens t WHERE t.app_id = a.id "
            "AND {}{}) FROM tokenctl.apps a JOIN tokenctl.users u ON u.id = a.created_by "
            "WHERE true",
            k_token_active_at, holder_tokens);
        if (!include_removed) {
            sql += " AND a.removed_at IS NULL";
        }
        if (holder) {
            sql += " AND EXISTS (SELECT 1 FROM tokenctl.tokens t WHERE t.app_id = a.id AND "
                   "t.user_id = $2)";
        }
        sql += " ORDER BY a.name, a.id";
        Params params;
        params.text(now);
        if (holder) {
            params.text(*holder);
        }
        AppRow row;
        stream("list applications", sql, params, [&](const Result& r, int i) {
            row.app = App{r.int64(i, 0), r.str(i, 1),   r.str(i, 2),           r.str(i, 3),
                          r.int64(i, 4), r.int64(i, 5), r.optional_int64(i, 6)};
            row.created_by = r.str(i, 7);
            row.active_tokens = r.int64(i, 8);
            fn(row);
        });
    }

    void mark_app_removed(std::int64_t id, Millis now) override {
        run("remove an application", "SELECT tokenctl.remove_app($1, $2)",
            Params().text(id).text(now));
    }

    std::int64_t insert_app(const App& app) override {
        return query("add an application",
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
        auto token = find_token_in(fmt::format("SELECT {}, {}{} LEFT JOIN tokenctl.secrets s ON "
                                               "s.token = t.id WHERE t.token_id = $1",
                                               col::k_row, k_token_columns, k_token_joins),
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
            query("add a token",
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
        run("add a token",
            "INSERT INTO tokenctl.secrets (token, access_sealed, refresh_sealed) "
            "VALUES ($1, $2, $3)",
            Params().text(id).bytes(t.access_sealed).bytes(t.refresh_sealed));
        return id;
    }

    void insert_tokens(const std::vector<Token>& tokens, std::int64_t revoked_by) override {
        // COPY: one stream for the rows, one for their sealed secrets (by token ID, joined
        // to the new rows' ids), instead of a round trip a token.
        auto hex = [](std::string& out, const Bytes& bytes) {
            constexpr std::string_view k_digits = "0123456789abcdef";
            out += "\\\\x";
            for (auto b : bytes) {
                out += k_digits[b >> 4];
                out += k_digits[b & 15];
            }
        };
        auto number = [](std::string& out, std::optional<std::int64_t> value) {
            out += value ? std::to_string(*value) : "\\N";
        };
        exec("add tokens", "CREATE TEMPORARY TABLE new_secrets (token_id text, access_sealed "
                           "bytea, refresh_sealed bytea) ON COMMIT DROP");
        copy("add tokens",
             "COPY tokenctl.tokens (token_id, user_id, app_id, created_by, generated_at, "
             "issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, "
             "access_digest, refresh_digest, revoked_at, revoked_by) FROM STDIN",
             tokens, [&](std::string& out, const Token& t) {
                 out += t.token_id;
                 for (std::int64_t value :
                      {t.user_id, t.app_id, t.created_by, t.generated_at, t.issued_at, t.access_ttl,
                       t.refresh_ttl, t.access_expires_at, t.refresh_expires_at}) {
                     out += '\t';
                     number(out, value);
                 }
                 out += '\t';
                 hex(out, t.access_digest);
                 out += '\t';
                 hex(out, t.refresh_digest);
                 out += '\t';
                 number(out, t.revoked_at);
                 out += '\t';
                 number(out, t.revoked_at ? std::optional<std::int64_t>(revoked_by) : std::nullopt);
             });
        copy("add tokens", "COPY new_secrets FROM STDIN", tokens,
             [&](std::string& out, const Token& t) {
                 out += t.token_id;
                 out += '\t';
                 hex(out, t.access_sealed);
                 out += '\t';
                 hex(out, t.refresh_sealed);
             });
        exec("add tokens", "INSERT INTO tokenctl.secrets (token, access_sealed, refresh_sealed) "
                           "SELECT t.id, n.access_sealed, n.refresh_sealed FROM new_secrets n "
                           "JOIN tokenctl.tokens t ON t.token_id = n.token_id; "
                           "DROP TABLE new_secrets");
        // Statistics for the planner now, not when autovacuum next comes by: a listing
        // right after a bulk load would otherwise be planned for an empty table.
        exec("add tokens", "ANALYZE tokenctl.tokens, tokenctl.secrets, tokenctl.users, "
                           "tokenctl.apps");
    }

    void for_each_token(const TokenFilter& filter,
                        const std::function<void(const TokenRow&)>& fn) override {
        Params params;
        std::string sql = fmt::format("SELECT {}{} WHERE true", col::k_row, k_token_joins);
        if (filter.user_id) {
            sql += " AND t.user_id = " + params.text(*filter.user_id).last();
        }
        if (filter.app_id) {
            sql += " AND t.app_id = " + params.text(*filter.app_id).last();
        }
        if (!filter.include_revoked || filter.active_at) {
            sql += " AND t.revoked_at IS NULL";
        }
        if (filter.active_at) {
            sql += " AND t.refresh_expires_at > " + params.text(*filter.active_at).last();
        }
        if (filter.expiring_before) {
            sql += " AND t.refresh_expires_at <= " + params.text(*filter.expiring_before).last();
        }
        if (filter.unused_since) {
            sql += " AND coalesce(t.last_used_at, t.generated_at) <= " +
                   params.text(*filter.unused_since).last();
        }
        if (filter.expiring_before) {
            sql += " ORDER BY t.refresh_expires_at, t.id";
        } else if (filter.unused_since) {
            sql += " ORDER BY coalesce(t.last_used_at, t.generated_at), t.id";
        } else {
            sql += " ORDER BY t.id";
        }
        TokenRow row;
        stream("list tokens", sql, params, [&](const Result& r, int i) {
            col::read_row(ResultRow{r, i}, row);
            fn(row);
        });
    }

    void for_each_name(const NameQuery& names,
                       const std::function<void(const std::string&)>& fn) override {
        Params params;
        std::string column;
        std::string sql;
        switch (names.kind) {
        case NameQuery::Kind::token_ids:
            column = "t.token_id";
            sql =
                fmt::format("SELECT t.token_id FROM tokenctl.tokens t WHERE {}", k_token_active_at);
            params.text(names.now);
            if (names.user_id) {
                sql += " AND t.user_id = " + params.text(*names.user_id).last();
            }
            break;
        case NameQuery::Kind::user_names:
            column = "tokenctl.fold(name)";
            sql = "SELECT name FROM tokenctl.users WHERE removed_at IS NULL";
            if (names.role) {
                sql += " AND role = " + params.text(role_name(*names.role)).last();
            }
            break;
        case NameQuery::Kind::app_names:
            column = "a.name";
            sql = "SELECT a.name FROM tokenctl.apps a WHERE a.removed_at IS NULL";
            if (names.user_id) {
                sql += " AND EXISTS (SELECT 1 FROM tokenctl.tokens t WHERE t.app_id = a.id AND "
                       "t.user_id = " +
                       params.text(*names.user_id).last() + ")";
            }
            break;
        }
        if (!names.prefix.empty()) {
            std::string low = names.prefix;
            if (names.kind == NameQuery::Kind::user_names) {
                for (char& c : low) {
                    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
                }
            }
            // Byte-wise, as the "C" collation orders them: the names that begin with `low`.
            sql += fmt::format(" AND starts_with({}, {})", column, params.text(low).last());
        }
        sql += fmt::format(" ORDER BY {}{} LIMIT {}", column, names.last ? " DESC" : "",
                           params.text(static_cast<std::int64_t>(names.limit)).last());
        auto r = query("complete names", sql, params);
        for (int i = 0; i < r.rows(); ++i) {
            fn(r.str(i, 0));
        }
    }

    void revoke_token(std::int64_t id, std::int64_t by, Millis now) override {
        // revoked_by is the acting login's, which the server knows (by is the same user).
        static_cast<void>(by);
        run("revoke a token", "SELECT tokenctl.revoke_token($1, $2)", Params().text(id).text(now));
    }

    bool stamp_last_used(std::int64_t id, Millis now) override {
        if (auto verified = m_verified.find(id); verified != m_verified.end()) {
            // verify's token, which the login may not change (a verifier changes no token
            // rows): through the function that takes its access token's digest.
            return query("record the token's use", "SELECT tokenctl.stamp_token_use($1, $2)",
                         Params().bytes(verified->second).text(now))
                       .view(0, 0) == "t";
        }
        return query("record the token's use", "SELECT tokenctl.stamp_own_token_use($1, $2)",
                     Params().text(id).text(now))
                   .view(0, 0) == "t";
    }

    void replace_secrets(const Token& t) override {
        run("store the new secrets", "SELECT tokenctl.rotate_token($1, $2, $3, $4, $5, $6, $7, $8)",
            Params().text(t.id).pair(t));
    }

    // serve's client refresh: through the registry's functions, which check the client's
    // claim themselves (a verifier reads no client secret and no other user's secrets).
    ClientRefreshGrant claim_client_refresh(const ClientRefreshClaim& claim) override {
        auto r = query("check a client's refresh",
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
            throw Error(
                Status::failure,
                fmt::format("registry {}: an unexpected answer to a client's refresh", m_shown));
        }
        ClientRefreshGrant grant{found->second, std::nullopt};
        if (!r.null(0, 1)) {
            grant.token = col::read_token(ResultRow{r, 0, 1}); // after the outcome
        }
        return grant;
    }

    void rotate_for_client(const ClientRefreshClaim& claim, const Token& t) override {
        bool rotated = query("store the new secrets",
                             "SELECT tokenctl.rotate_for_client($1, $2, $3, $4, $5, $6, $7, $8, "
                             "$9, $10)",
                             Params()
                                 .text(claim.client_id)
                                 .text(claim.client_secret)
                                 .text(claim.refresh_token)
                                 .pair(t))
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
                                    m_shown),
                        "run rekey (and check's secrets check) as the login that owns the "
                        "schema tokenctl");
        }
        auto r = query("read the sealed secrets",
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
        run("store the re-sealed secrets",
            "UPDATE tokenctl.secrets SET access_sealed = $2, refresh_sealed = $3 WHERE token = $1",
            Params().text(id).bytes(access_sealed).bytes(refresh_sealed));
    }

    // --- applications' client secrets (schema version 3) ---

    std::optional<ClientSecret> find_client_secret(std::int64_t app_id) override {
        // Row-level security keeps the sealed secret to those who may read it: none for others.
        auto r = query("read a client secret",
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
        run("store a client secret",
            "INSERT INTO tokenctl.client_secrets (app, digest, sealed, created_at) "
            "VALUES ($1, $2, $3, $4)",
            Params().text(c.app_id).bytes(c.digest).bytes(c.sealed).text(c.created_at));
    }

    void replace_client_secret(const ClientSecret& c) override {
        // Through the function that checks who may (no login may update the table).
        auto r = query("store the new client secret",
                       "SELECT tokenctl.rotate_client_secret($1, $2, $3, $4)",
                       Params().text(c.app_id).bytes(c.digest).bytes(c.sealed).text(c.created_at));
        if (r.view(0, 0) != "t") {
            throw Error(Status::permission,
                        fmt::format("registry {}: the server refused to rotate the client secret",
                                    m_shown));
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
        auto r = query("look for applications without a client secret",
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
                                    m_shown),
                        "run rekey (and check's secrets check) as the login that owns the "
                        "schema tokenctl");
        }
        auto r = query("read the sealed client secrets",
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
        run("store the re-sealed client secret",
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
        auto r = query("check integrity",
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
            query("read the schema version", "SELECT schema_version FROM tokenctl.registry")
                .int64(0, 0));
    }

    bool audit_protected() override {
        return query("read the audit log's triggers",
                     "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tokenctl.audit'::regclass "
                     "AND tgname IN ('audit_no_update', 'audit_no_delete', 'audit_no_truncate') "
                     "AND tgenabled = 'O'")
                   .int64(0, 0) == 3;
    }

    void for_each_audit(const AuditFilter& filter,
                        const std::function<void(const AuditEntry&)>& fn) override {
        Params params;
        std::string sql = "SELECT id, at, actor, action, subject, outcome, detail FROM "
                          "tokenctl.audit WHERE true";
        if (filter.actor) {
            sql += " AND tokenctl.fold(actor) = tokenctl.fold(" +
                   params.text(*filter.actor).last() + ")";
        }
        if (filter.action) {
            sql += " AND action = " + params.text(*filter.action).last();
        }
        if (filter.since) {
            sql += " AND at >= " + params.text(*filter.since).last();
        }
        if (filter.subject) {
            sql += fmt::format(
                " AND (tokenctl.fold(subject) = tokenctl.fold({0}) OR subject IN (SELECT "
                "t.token_id FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id "
                "WHERE tokenctl.fold(u.name) = tokenctl.fold({0}) UNION SELECT t.token_id FROM "
                "tokenctl.tokens t JOIN tokenctl.apps a ON a.id = t.app_id WHERE a.name = {0}))",
                params.text(*filter.subject).last());
        }
        sql += " ORDER BY id";
        AuditEntry e;
        stream("read the audit log", sql, params, [&](const Result& r, int i) {
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
        if (!m_in_transaction && m_opening_key_check && name == "key_check") {
            return std::exchange(m_opening_key_check, std::nullopt);
        }
        auto r = query("read metadata", "SELECT value FROM tokenctl.meta WHERE name = $1",
                       Params().text(name));
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return r.bytes(0, 0);
    }

    void require_meta(std::string_view name, const Bytes& value, const Error& otherwise) override {
        defer("check the registry", "SELECT tokenctl.require_meta($1, $2)",
              Params().text(name).bytes(value));
        m_pending.back().otherwise = otherwise;
    }

    void set_meta(std::string_view name, const Bytes& value) override {
        run("write metadata",
            "INSERT INTO tokenctl.meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO "
            "UPDATE SET value = excluded.value",
            Params().text(name).bytes(value));
    }

  protected:
    void store_audit(const AuditEntry& e) override {
        run("write the audit log",
            "INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            Params().text(e.at).text(e.actor).text(e.action).text(e.subject).text(e.outcome).text(
                e.detail));
    }

  private:
    // Whether the login was a verifier of the registry when it was opened.
    bool verifier_login() const {
        return m_opening_user && m_opening_user->role == Role::verifier &&
               !m_opening_user->removed_at;
    }

    // A write transaction whose first statement, `lock`, takes the writers' lock.
    void locked_write(std::string lock, const std::function<void()>& body) {
        transaction({"BEGIN", fmt::format("SET LOCAL lock_timeout = '{}'", k_lock_timeout),
                     std::move(lock)},
                    "begin a write transaction", false, body);
    }

    using ErrorMapper = Error (PostgresStore::*)(std::string_view what, const PGresult* result,
                                                 std::string_view sqlstate) const;

    void connect(const Location& location) {
        const std::string& uri = location.uri;
        const Libpq& pq = libpq();
        // The URI comes last: what it names overrides the defaults before it.
        std::vector<const char*> keywords = {"fallback_application_name"};
        std::vector<const char*> values = {"tokenctl"};
        if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
            keywords.push_back("connect_timeout");
            values.push_back("10");
        }
        // A network that drops the connection's packets is noticed by TCP itself: probes
        // after 10 s of silence, and unacknowledged data given up after 30 s.
        for (auto [keyword, value] : {std::pair{"keepalives", "1"},
                                      {"keepalives_idle", "10"},
                                      {"keepalives_interval", "5"},
                                      {"keepalives_count", "3"},
                                      {"tcp_user_timeout", "30000"}}) {
            keywords.push_back(keyword);
            values.push_back(value);
        }
        keywords.push_back("dbname");
        values.push_back(uri.c_str());
        keywords.push_back(nullptr);
        values.push_back(nullptr);
        m_conn = pq.PQconnectdbParams(keywords.data(), values.data(), 1);
        if (m_conn == nullptr) {
            throw Error(Status::failure,
                        fmt::format("cannot connect to registry {}: out of memory", m_shown));
        }
        if (pq.PQstatus(m_conn) != CONNECTION_OK) {
            // libpq quotes a malformed part of the URI, which may be the password.
            std::string reason = hide_passwords(one_line(pq.PQerrorMessage(m_conn)), location);
            // The constructor throws: no destructor will close it.
            pq.PQfinish(std::exchange(m_conn, nullptr));
            throw Error(Status::failure,
                        fmt::format("cannot connect to registry {}: {}", m_shown, reason),
                        "check the server, the URI (--db or TOKENCTL_DB), your password in "
                        "~/.pgpass or PGPASSFILE, and sslmode");
        }
        // Notices (NOTICE, WARNING) are the server's chatter, not tokenctl's output.
        pq.PQsetNoticeProcessor(
            m_conn, [](void*, const char*) {}, nullptr);
    }

    // Runs `body` between `begin`'s statements and the end of the transaction. The
    // beginning goes to the server with the body's first question; a read-only
    // transaction's end goes with the next command's, or not at all (the server ends it
    // when the connection closes, and nothing is lost: it changed nothing).
    void transaction(std::initializer_list<std::string> begin, std::string_view what,
                     bool read_only, const std::function<void()>& body) {
        if (m_in_transaction) {
            throw Error(Status::failure, "internal error: nested transaction");
        }
        for (const std::string& statement : begin) {
            defer(what, statement, Params(), &PostgresStore::lock_error);
        }
        m_in_transaction = true;
        m_read_only = read_only;
        m_replay.reset();
        try {
            body();
            if (read_only) {
                defer("end a read transaction", "COMMIT", Params());
            } else {
                commit();
            }
        } catch (...) {
            m_in_transaction = false;
            m_pending.clear();
            // A connection that is gone has rolled back already; the original error says why.
            if (!m_gone) {
                try {
                    exec("roll back", "ROLLBACK");
                } catch (const Error&) {
                }
            }
            throw;
        }
        m_in_transaction = false;
    }

    // COMMIT, with the statements deferred before it. When the connection is lost on the
    // way, the server may have committed or not: UnknownOutcome.
    void commit() {
        try {
            query("commit", "COMMIT");
        } catch (const Error& e) {
            if (!m_gone && libpq().PQstatus(m_conn) != CONNECTION_BAD) {
                throw;
            }
            throw UnknownOutcome(
                fmt::format("registry {}: the connection was lost while the change was being "
                            "committed; whether it was made is unknown ({})",
                            m_shown, e.what()),
                "find out whether it was made before trying again");
        }
    }

    Error lock_error(std::string_view what, const PGresult* result,
                     std::string_view sqlstate) const {
        if (sqlstate == "55P03") {
            return Error(Status::failure,
                         fmt::format("registry {}: another tokenctl held the write lock for more "
                                     "than {}",
                                     m_shown, k_lock_timeout),
                         "try again; a stuck client's lock is released when its connection ends");
        }
        return server_error(what, result, sqlstate);
    }

    Error open_error(std::string_view what, const PGresult* result,
                     std::string_view sqlstate) const {
        if (sqlstate == "42P01" || sqlstate == "3F000") {
            return Error(Status::failure, fmt::format("no tokenctl registry in {}", m_shown),
                         "run `tokenctl init` to create one, or name another with --db");
        }
        if (sqlstate == "42501") {
            // The registry's grants go to its users' logins only: this login is none of them
            // (or a removed one). The line is SQLite's for an unknown acting user.
            return Error(Status::permission,
                         fmt::format("{} is not a user of this database", libpq().PQuser(m_conn)),
                         "an administrator of the registry adds your login with `tokenctl user "
                         "add NAME`");
        }
        return server_error(what, result, sqlstate);
    }

    // SQLSTATE classes mapped to tokenctl's statuses and hints.
    Error server_error(std::string_view what, const PGresult* result,
                       std::string_view sqlstate) const {
        std::string reason =
            result != nullptr
                ? one_line(libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) != nullptr
                               ? libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                               : "")
                : std::string();
        if (reason.empty()) {
            reason = m_conn != nullptr ? one_line(libpq().PQerrorMessage(m_conn))
                                       : std::string("the connection was given up");
        }
        std::string message = fmt::format("registry {}: cannot {}: {}", m_shown, what, reason);
        if (sqlstate == "42501") {
            return Error(Status::permission, message,
                         "the server refused: your login lacks the grant; an administrator "
                         "changes roles with `tokenctl user set-role`");
        }
        if (sqlstate == k_clock_skew) {
            return Error(Status::failure, fmt::format("registry {}: {}", m_shown, reason),
                         "set this host's clock right (NTP, systemd-timesyncd); the registry "
                         "stores the times its hosts give within five minutes of its own");
        }
        if (sqlstate == k_owner_stays) {
            return Error(Status::conflict, fmt::format("registry {}: {}", m_shown, reason),
                         "the owner of the schema tokenctl is the registry's administrator of "
                         "last resort");
        }
        if (sqlstate == "23505") {
            return Error(Status::conflict, message, "another writer got there first; try again");
        }
        if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" ||
            sqlstate == "57014") {
            return Error(Status::failure, message, "try again");
        }
        if (sqlstate == "53100") {
            return Error(Status::failure, message,
                         "the server's disk is full; nothing was changed");
        }
        if (sqlstate == "25006") {
            return Error(Status::failure, message,
                         "the server is read-only (a standby?); name the primary with --db");
        }
        if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate.starts_with("57P")) {
            return Error(Status::failure, message,
                         "the connection to the server was lost; if a change was being "
                         "committed, check whether it was made before trying again");
        }
        return Error(Status::failure, message);
    }

    // Runs `sql` with `params`, after the statements deferred so far (in one pipeline);
    // throws the mapped error of the first that fails.
    Result query(std::string_view what, const std::string& sql, const Params& params = Params(),
                 ErrorMapper on_error = &PostgresStore::server_error) {
        if (!m_pending.empty()) {
            return pipeline(what, sql, params, on_error);
        }
        send(what,
             libpq().PQsendQueryParams(m_conn, sql.c_str(), params.count(), nullptr,
                                       params.values(), params.lengths(), params.formats(), 0));
        Result r = last_result(what);
        check(what, r, on_error);
        return r;
    }

    // A statement whose result nobody reads: inside a transaction it waits for the next
    // one that has a result (its error, if any, comes then, before the commit).
    void run(std::string_view what, const std::string& sql, const Params& params) {
        if (m_in_transaction) {
            defer(what, sql, params);
        } else {
            query(what, sql, params);
        }
    }

    void defer(std::string_view what, std::string sql, const Params& params,
               ErrorMapper on_error = &PostgresStore::server_error) {
        m_pending.push_back(Pending{std::string(what), std::move(sql),
                                    std::make_shared<const Params>(params), on_error,
                                    std::nullopt});
    }

    // Sends the deferred statements, then `sql`, in one pipeline and one round trip.
    Result pipeline(std::string_view what, const std::string& sql, const Params& params,
                    ErrorMapper on_error) {
        const Libpq& pq = libpq();
        auto pending = std::exchange(m_pending, {});
        pending.push_back(Pending{std::string(what), sql, nullptr, on_error, std::nullopt});
        auto lost = [&] { return server_error(what, nullptr, ""); };
        if (pq.PQenterPipelineMode(m_conn) != 1) {
            throw lost();
        }
        for (const Pending& p : pending) {
            const Params& values = p.params ? *p.params : params;
            if (pq.PQsendQueryParams(m_conn, p.sql.c_str(), values.count(), nullptr,
                                     values.values(), values.lengths(), values.formats(), 0) != 1) {
                throw lost();
            }
        }
        if (pq.PQpipelineSync(m_conn) != 1) {
            throw lost();
        }
        // Each statement's result and the NULL after it, then the sync. After a failure
        // the rest report PGRES_PIPELINE_ABORTED: the first error is the one to tell.
        std::optional<Error> failure;
        std::optional<Result> last;
        for (const Pending& p : pending) {
            Result r(next_result(what));
            if (r.get() == nullptr) {
                throw lost();
            }
            // libpq keeps the single-row mode of a listing just read for the first statement
            // of the next pipeline: its rows come one by one, and what decides is the result
            // after them (the end of the rows, or an error).
            while (PGresult* more = next_result(what)) {
                if (pq.PQresultStatus(r.get()) == PGRES_SINGLE_TUPLE) {
                    r = Result(more);
                } else {
                    pq.PQclear(more);
                }
            }
            const char* state = pq.PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
            if (!failure && p.otherwise && state != nullptr && state == k_changed) {
                failure = p.otherwise;
            } else if (!failure && pq.PQresultStatus(r.get()) != PGRES_PIPELINE_ABORTED) {
                try {
                    check(p.what, r, p.on_error);
                } catch (const Error& e) {
                    failure = e;
                }
            }
            if (&p == &pending.back()) {
                last.emplace(std::move(r));
            }
        }
        Result sync(next_result(what));
        pq.PQexitPipelineMode(m_conn);
        if (failure) {
            throw *failure;
        }
        return std::move(*last);
    }

    // One or more statements without parameters (after the deferred ones).
    void exec(std::string_view what, const std::string& sql,
              ErrorMapper on_error = &PostgresStore::server_error) {
        flush();
        send(what, libpq().PQsendQuery(m_conn, sql.c_str()));
        Result r = last_result(what);
        check(what, r, on_error);
    }

    // Whether a statement was sent; the connection's error if not.
    void send(std::string_view what, int sent) {
        if (m_gone) {
            throw server_error(what, nullptr, "");
        }
        if (sent != 1) {
            throw server_error(what, nullptr, "");
        }
    }

    // The next result of what was sent, as PQgetResult, but waiting at most
    // k_answer_timeout_ms for the server: a silent network or server is given up on (the
    // connection is closed) instead of waited for.
    PGresult* next_result(std::string_view what) {
        const Libpq& pq = libpq();
        auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(k_answer_timeout_ms);
        while (!m_gone && pq.PQisBusy(m_conn) == 1) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
            pollfd fd{pq.PQsocket(m_conn), POLLIN, 0};
            int ready = left > 0 ? ::poll(&fd, 1, static_cast<int>(left)) : 0;
            if (ready < 0 && errno == EINTR) {
                continue;
            }
            if (ready == 0) {
                m_gone = true;
                pq.PQfinish(std::exchange(m_conn, nullptr));
                throw Error(Status::failure,
                            fmt::format("registry {}: cannot {}: no answer from the server in {} "
                                        "s; the connection was given up",
                                        m_shown, what, k_answer_timeout_ms / 1000),
                            "check the network and the server; if a change was being "
                            "committed, check whether it was made before trying again");
            }
            if (pq.PQconsumeInput(m_conn) != 1) {
                break; // the connection failed: PQgetResult says so
            }
        }
        if (m_gone) {
            throw server_error(what, nullptr, "");
        }
        return pq.PQgetResult(m_conn);
    }

    // The last of the results of what was sent (as PQexec returns it).
    Result last_result(std::string_view what) {
        Result last(next_result(what));
        while (PGresult* more = next_result(what)) {
            last = Result(more);
        }
        return last;
    }

    // Sends the deferred statements now.
    void flush() {
        if (!m_pending.empty()) {
            Pending last = std::move(m_pending.back());
            m_pending.pop_back();
            query(last.what, last.sql, *last.params, last.on_error);
        }
    }

    void check(std::string_view what, const Result& r, ErrorMapper on_error) const {
        auto status = r.get() == nullptr ? PGRES_FATAL_ERROR : libpq().PQresultStatus(r.get());
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            return;
        }
        const char* state =
            r.get() != nullptr ? libpq().PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
        throw(this->*on_error)(what, r.get(), state != nullptr ? state : "");
    }

    // Runs the COPY … FROM STDIN `sql`, one line a row of `rows` as `line` writes it.
    template <class Row, class Line>
    void copy(std::string_view what, const std::string& sql, const std::vector<Row>& rows,
              Line&& line) {
        const Libpq& pq = libpq();
        flush();
        send(what, pq.PQsendQuery(m_conn, sql.c_str()));
        Result start(next_result(what));
        if (start.get() == nullptr || pq.PQresultStatus(start.get()) != PGRES_COPY_IN) {
            check(what, start, &PostgresStore::server_error);
        }
        std::string buffer;
        auto flush = [&] {
            if (pq.PQputCopyData(m_conn, buffer.data(), static_cast<int>(buffer.size())) != 1) {
                throw server_error(what, nullptr, "");
            }
            buffer.clear();
        };
        for (const Row& row : rows) {
            line(buffer, row);
            buffer += '\n';
            if (buffer.size() > (1U << 20)) {
                flush();
            }
        }
        flush();
        if (pq.PQputCopyEnd(m_conn, nullptr) != 1) {
            throw server_error(what, nullptr, "");
        }
        // The COPY's own result, then the end of the results.
        for (PGresult* r = next_result(what); r != nullptr; r = next_result(what)) {
            Result result(r);
            check(what, result, &PostgresStore::server_error);
        }
    }

    // Runs `sql`, `fn` called on each row as it arrives (libpq's single-row mode): bounded
    // memory however many rows there are, and the server produces rows while `fn` writes
    // them. `fn` must not call the store.
    void stream(std::string_view what, const std::string& sql, const Params& params,
                const std::function<void(const Result&, int)>& fn) {
        if (!m_in_transaction) {
            read([&] { stream(what, sql, params, fn); });
            return;
        }
        // The table format reads a listing twice (to measure, then to write): a second
        // reading of a short listing, in the same snapshot, is the rows of the first.
        std::string key = sql + '\0' + params.digest();
        if (m_replay && m_replay->first == key) {
            for (const auto& row : m_replay->second) {
                fn(*row, 0);
            }
            return;
        }
        m_replay.reset();
        flush();
        const Libpq& pq = libpq();
        if (pq.PQsendQueryParams(m_conn, sql.c_str(), params.count(), nullptr, params.values(),
                                 params.lengths(), params.formats(), 0) != 1 ||
            pq.PQsetSingleRowMode(m_conn) != 1) {
            throw server_error(what, nullptr, "");
        }
        std::vector<std::shared_ptr<Result>> kept;
        bool keep = m_read_only;
        while (PGresult* raw = next_result(what)) {
            auto row = std::make_shared<Result>(raw);
            auto status = pq.PQresultStatus(raw);
            if (status == PGRES_SINGLE_TUPLE) {
                // Should fn throw, the rows still coming are discarded by the rollback.
                fn(*row, 0);
                if (keep && kept.size() < k_replay_rows) {
                    kept.push_back(std::move(row));
                } else {
                    keep = false;
                    kept.clear();
                }
            } else if (status != PGRES_TUPLES_OK) {
                while (PGresult* rest = next_result(what)) {
                    pq.PQclear(rest);
                }
                check(what, *row, &PostgresStore::server_error);
            }
        }
        if (keep) {
            m_replay.emplace(std::move(key), std::move(kept));
        }
    }

    // What the registry's function `sql` answers about `name`: whether it exists.
    bool exists(std::string_view what, const std::string& sql, std::string_view name) {
        return query(what, sql, Params().text(name)).view(0, 0) == "t";
    }

    // Whether the login owns the schema: the administrator of last resort, whom row-level
    // security does not restrict.
    bool is_owner() {
        return query("look up the registry's owner",
                     "SELECT session_user = nspowner::regrole::text FROM pg_namespace "
                     "WHERE nspname = 'tokenctl'")
                   .view(0, 0) == "t";
    }

    // The token the query `sql` returns (its columns in token_columns' order); the sealed secrets
    // are empty where the acting login may not read them.
    std::optional<Token> find_token_in(const std::string& sql, const Params& params) {
        auto r = query("find a token", sql, params);
        if (r.rows() == 0) {
            return std::nullopt;
        }
        return col::read_token(ResultRow{r, 0});
    }

    static User read_user(const Result& r, int i) {
        return User{r.int64(i, 0), r.str(i, 1), parse_role(r.view(i, 2)), r.int64(i, 3),
                    r.optional_int64(i, 4)};
    }

    std::string m_shown; // the URI, its password hidden
    PGconn* m_conn = nullptr;
    // The connection was given up (no answer in time): m_conn is closed.
    bool m_gone = false;
    bool m_in_transaction = false;
    std::optional<std::string> m_login;
    std::optional<std::string> m_registry_id;
    int m_opened_version = k_schema_version;
    // Read when the registry was opened, for the first question outside a transaction.
    std::optional<User> m_opening_user;
    std::optional<Bytes> m_opening_key_check;
    // Statements whose results nobody reads, sent with the next one that has one, in one
    // pipeline: a round trip each saved.
    struct Pending {
        std::string what;
        std::string sql;
        std::shared_ptr<const Params> params;
        ErrorMapper on_error;
        // Thrown instead when the statement raises k_changed (require_meta).
        std::optional<Error> otherwise;
    };
    std::vector<Pending> m_pending;
    // The access digests of the tokens verify looked up, by row id: their use is recorded
    // through them.
    std::map<std::int64_t, Bytes> m_verified;
    // The last listing of this read transaction, when it was short: its query and rows.
    std::optional<std::pair<std::string, std::vector<std::shared_ptr<Result>>>> m_replay;
    bool m_read_only = false;
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
