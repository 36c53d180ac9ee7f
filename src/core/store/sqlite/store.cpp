#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/store/sqlite.h>

#include "store/sqlite/files.h"
#include "store/sqlite/queries.h"
#include "store/sqlite/schema.h"
#include "store/token_columns.h"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace tokenctl {

using namespace sqlite;

namespace {

namespace col = token_columns;

constexpr std::string_view k_token_columns =
    "t.app_id, t.created_by, t.issued_at, t.access_ttl, t.refresh_ttl, t.access_digest, "
    "t.refresh_digest, t.access_sealed, t.refresh_sealed";

std::optional<Millis> optional_time(const SQLite::Column& column) {
    return column.isNull() ? std::nullopt : std::optional<Millis>(column.getInt64());
}

Bytes blob_of(const SQLite::Column& column) {
    const auto* data = static_cast<const std::uint8_t*>(column.getBlob());
    return Bytes(data, data + column.getBytes());
}

// The current row of a statement, as token_columns reads it.
struct StatementRow {
    SQLite::Statement& st;
    std::int64_t int64(int c) const { return st.getColumn(c).getInt64(); }
    std::string text(int c) const { return st.getColumn(c).getString(); }
    std::optional<std::int64_t> optional_int64(int c) const {
        return optional_time(st.getColumn(c));
    }
    Bytes bytes(int c) const { return blob_of(st.getColumn(c)); }
    bool null(int c) const { return st.getColumn(c).isNull(); }
};

// SQLite counts the memory it allocates, under a mutex that every allocation takes; tokenctl
// never reads the count. The setting holds only if made before SQLite's first connection
// (after it SQLite declines it, and nothing else changes).
void stop_counting_memory() {
    static const int done = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)done;
}

class SqliteStore final : public Store {
  public:
    SqliteStore(const std::filesystem::path& path, uid_t owner, bool create,
                const SqliteOptions& options)
        : m_path(path.string()), m_access(probe_access(path)) {
        stop_counting_memory();
        guarded("open", [&] {
            auto [name, flags] = connection_of(m_path, m_access, false);
            m_db.emplace(name, flags);
            m_db->setBusyTimeout(k_busy_timeout_ms);
            m_db->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");
            if (options.cache_bytes > 0) {
                // A negative cache_size counts KiB rather than pages.
                m_db->exec(fmt::format("PRAGMA cache_size = {}",
                                       -std::max<std::int64_t>(1, options.cache_bytes / 1024)));
            }
            if (create) {
                // The mark goes to the main file before WAL mode, so that the header
                // check of a later open sees it even if no checkpoint ever ran.
                m_db->exec(fmt::format("PRAGMA application_id = {}", k_application_id));
                m_db->exec("PRAGMA journal_mode = WAL");
            }
            int version = m_db->execAndGet("PRAGMA user_version").getInt();
            m_opened_version = create ? k_schema_version : version;
            // SQLite has now opened (or made) the -wal and -shm files: they are checked again
            // before anything is written, in case one appeared since the first check.
            check_surroundings(path, owner);
            migrate(version);
        });
    }

    void write(const std::function<void()>& body) override {
        if (m_access.read_only) {
            throw Error(Status::failure,
                        fmt::format("database {} is read-only here: {}", m_path, m_access.why),
                        !m_access.hint.empty()
                            ? m_access.hint
                            : "a change needs write access to the database, its folder and its "
                              "-wal and -shm files; listings, whoami and verify work without it");
        }
        // A lookup made before the transaction (the acting user, the key check) leaves
        // its statement open, and with it a read snapshot. BEGIN IMMEDIATE on a snapshot
        // that another process has since overtaken fails at once with SQLITE_BUSY
        // ("database is locked"), without waiting: so no statement stays open.
        reset_statements();
        guarded("begin a write transaction", [&] { prepare("BEGIN IMMEDIATE").exec(); });
        finish_transaction(body);
    }

    bool write_if_free(const std::function<void()>& body) override {
        if (m_access.read_only) {
            return false;
        }
        reset_statements();
        m_db->setBusyTimeout(0);
        try {
            prepare("BEGIN IMMEDIATE").exec();
        } catch (const SQLite::Exception& e) {
            m_db->setBusyTimeout(k_busy_timeout_ms);
            if ((e.getErrorCode() & 0xFF) == SQLITE_BUSY) {
                return false;
            }
            guarded("begin a write transaction", [&] { throw; });
        }
        m_db->setBusyTimeout(k_busy_timeout_ms);
        finish_transaction(body);
        return true;
    }

    void read(const std::function<void()>& body) override {
        reset_statements(); // the listing reads one fresh snapshot, as write() does
        guarded("begin a read transaction", [&] { prepare("BEGIN").exec(); });
        finish_transaction(body);
    }

    std::optional<std::int64_t> change_counter() override {
        return guarded("read the data version", [&] {
            auto& st = prepare("PRAGMA data_version");
            st.executeStep();
            return st.getColumn(0).getInt64();
        });
    }

    std::optional<User> find_user(std::string_view name, bool include_removed) override {
        return guarded("find a user", [&]() -> std::optional<User> {
            auto& st = prepare("SELECT id, name, role, created_at, removed_at FROM users "
                               "WHERE name = ?1");
            st.bind(1, std::string(name));
            if (!st.executeStep()) {
                return std::nullopt;
            }
            User user = read_user(st);
            if (user.removed_at && !include_removed) {
                return std::nullopt;
            }
            return user;
        });
    }

    std::int64_t insert_user(std::string_view name, Role role, Millis now) override {
        return guarded("add a user", [&] {
            auto& st = prepare("INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)");
            st.bind(1, std::string(name));
            st.bind(2, std::string(role_name(role)));
            st.bind(3, now);
            st.exec();
            return m_db->getLastInsertRowid();
        });
    }

    void reactivate_user(std::int64_t id, Role role, Millis now) override {
        run("restore a user",
            "UPDATE users SET role = ?2, created_at = ?3, removed_at = NULL WHERE id = ?1", id,
            std::string(role_name(role)), now);
    }

    void set_role(std::int64_t id, Role role) override {
        run("change a role", "UPDATE users SET role = ?2 WHERE id = ?1", id,
            std::string(role_name(role)));
    }

    void mark_user_removed(std::int64_t id, Millis now) override {
        run("remove a user", "UPDATE users SET removed_at = ?2 WHERE id = ?1", id, now);
    }

    std::int64_t count_admins() override {
        return guarded("count administrators", [&] {
            auto& st =
                prepare("SELECT count(*) FROM users WHERE role = 'admin' AND removed_at IS NULL");
            st.executeStep();
            return st.getColumn(0).getInt64();
        });
    }

    void for_each_user(Millis now, const std::function<void(const UserRow&)>& fn) override {
        guarded("list users", [&] {
            auto& st = prepare(
                fmt::format("SELECT id, name, role, created_at, removed_at, "
                            "(SELECT count(*) FROM tokens t WHERE t.user_id = users.id AND {}) "
                            "FROM users WHERE removed_at IS NULL ORDER BY name COLLATE NOCASE",
                            k_token_active_at));
            st.bind(1, now);
            while (st.executeStep()) {
                fn(UserRow{read_user(st), st.getColumn(5).getInt64(), {}});
            }
        });
    }

    std::int64_t count_active_tokens(std::int64_t user_id, Millis now) override {
        return guarded("count active tokens", [&] {
            auto& st = prepare(fmt::format(
                "SELECT count(*) FROM tokens t WHERE t.user_id = ?2 AND {}", k_token_active_at));
            st.bind(1, now);
            st.bind(2, user_id);
            st.executeStep();
            return st.getColumn(0).getInt64();
        });
    }

    TokenCounts token_counts(Millis now, Millis within) override {
        return guarded("count tokens", [&] {
            auto& st = prepare(sqlite_token_counts_sql());
            st.bind(1, now);
            st.bind(2, now + within);
            st.executeStep();
            TokenCounts counts;
            std::int64_t all = st.getColumn(0).getInt64();
            counts.active = st.getColumn(1).getInt64();
            counts.expired = st.getColumn(2).getInt64();
            counts.revoked = all - counts.active - counts.expired;
            counts.expiring = st.getColumn(3).getInt64();
            return counts;
        });
    }

    std::optional<App> find_app(std::string_view name) override {
        return guarded("find an application", [&]() -> std::optional<App> {
            auto& st = prepare("SELECT id, name, redirect_uri, client_id, created_at, "
                               "created_by FROM apps WHERE name = ?1 AND removed_at IS NULL");
            st.bind(1, std::string(name));
            if (!st.executeStep()) {
                return std::nullopt;
            }
            return App{st.getColumn(0).getInt64(),
                       st.getColumn(1).getString(),
                       st.getColumn(2).getString(),
                       st.getColumn(3).getString(),
                       st.getColumn(4).getInt64(),
                       st.getColumn(5).getInt64(),
                       std::nullopt};
        });
    }

    void for_each_app(bool include_removed, std::optional<std::int64_t> holder, Millis now,
                      const std::function<void(const AppRow&)>& fn) override {
        std::string holder_tokens = holder ? " AND t.user_id = ?2" : "";
        std::string sql = fmt::format(
            "SELECT a.id, a.name, a.redirect_uri, a.client_id, a.created_at, a.created_by, "
            "a.removed_at, u.name, (SELECT count(*) FROM tokens t WHERE t.app_id = a.id AND {}{}) "
            "FROM apps a JOIN users u ON u.id = a.created_by WHERE 1",
            k_token_active_at, holder_tokens);
        if (!include_removed) {
            sql += " AND a.removed_at IS NULL";
        }
        if (holder) {
            sql += " AND EXISTS (SELECT 1 FROM tokens t WHERE t.app_id = a.id AND t.user_id = ?2)";
        }
        sql += " ORDER BY a.name, a.id";
        guarded("list applications", [&] {
            auto& st = prepare(sql);
            st.bind(1, now);
            if (holder) {
                st.bind(2, *holder);
            }
            AppRow row;
            while (st.executeStep()) {
                row.app = App{st.getColumn(0).getInt64(),    st.getColumn(1).getString(),
                              st.getColumn(2).getString(),   st.getColumn(3).getString(),
                              st.getColumn(4).getInt64(),    st.getColumn(5).getInt64(),
                              optional_time(st.getColumn(6))};
                row.created_by = st.getColumn(7).getString();
                row.active_tokens = st.getColumn(8).getInt64();
                fn(row);
            }
        });
    }

    void mark_app_removed(std::int64_t id, Millis now) override {
        run("remove an application", "UPDATE apps SET removed_at = ?2 WHERE id = ?1", id, now);
    }

    std::int64_t insert_app(const App& app) override {
        return guarded("add an application", [&] {
            auto& st = prepare("INSERT INTO apps (name, redirect_uri, client_id, created_at, "
                               "created_by) VALUES (?1, ?2, ?3, ?4, ?5)");
            st.bind(1, app.name);
            st.bind(2, app.redirect_uri);
            st.bind(3, app.client_id);
            st.bind(4, app.created_at);
            st.bind(5, app.created_by);
            st.exec();
            return m_db->getLastInsertRowid();
        });
    }

    std::optional<Token> find_token(std::string_view token_id) override {
        return find_token_where("t.token_id = ?1",
                                [&](SQLite::Statement& st) { st.bind(1, std::string(token_id)); });
    }

    std::optional<Token> find_token_by_access_digest(const Bytes& digest) override {
        return find_token_where("t.access_digest = ?1", [&](SQLite::Statement& st) {
            st.bind(1, digest.data(), static_cast<int>(digest.size()));
        });
    }

    std::optional<std::int64_t> insert_token(const Token& t) override {
        return guarded("add a token", [&]() -> std::optional<std::int64_t> {
            auto& st = prepare(
                "INSERT INTO tokens (token_id, user_id, app_id, created_by, generated_at, "
                "issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, "
                "access_digest, refresh_digest, access_sealed, refresh_sealed) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                "ON CONFLICT (token_id) DO NOTHING");
            int index = 0;
            for (std::int64_t value :
                 {t.user_id, t.app_id, t.created_by, t.generated_at, t.issued_at, t.access_ttl,
                  t.refresh_ttl, t.access_expires_at, t.refresh_expires_at}) {
                st.bind(index + 2, value);
                ++index;
            }
            st.bind(1, t.token_id);
            bind_blob(st, 11, t.access_digest);
            bind_blob(st, 12, t.refresh_digest);
            bind_blob(st, 13, t.access_sealed);
            bind_blob(st, 14, t.refresh_sealed);
            if (st.exec() == 0) {
                return std::nullopt;
            }
            return m_db->getLastInsertRowid();
        });
    }

    void for_each_token(const TokenFilter& filter,
                        const std::function<void(const TokenRow&)>& fn) override {
        guarded("list tokens", [&] {
            auto& st = prepare(sqlite_token_listing_sql(filter));
            if (filter.user_id) {
                st.bind(1, *filter.user_id);
            }
            if (filter.app_id) {
                st.bind(2, *filter.app_id);
            }
            if (filter.expiring_before) {
                st.bind(3, *filter.expiring_before);
            }
            if (filter.unused_since) {
                st.bind(4, *filter.unused_since);
            }
            if (filter.active_at) {
                st.bind(5, *filter.active_at);
            }
            TokenRow row;
            while (st.executeStep()) {
                col::read_row(StatementRow{st}, row);
                fn(row);
            }
        });
    }

    void for_each_name(const NameQuery& query,
                       const std::function<void(const std::string&)>& fn) override {
        guarded("complete names", [&] {
            auto& st = prepare(sqlite_name_sql(query));
            st.bind(1, query.now);
            if (query.user_id) {
                st.bind(2, *query.user_id);
            }
            if (query.role) {
                st.bind(2, std::string(role_name(*query.role)));
            }
            auto [low, high] = prefix_range(query);
            if (low) {
                st.bind(3, *low);
            }
            if (high) {
                st.bind(4, *high);
            }
            st.bind(5, static_cast<std::int64_t>(query.limit));
            while (st.executeStep()) {
                fn(st.getColumn(0).getString());
            }
        });
    }

    void revoke_token(std::int64_t id, std::int64_t by, Millis now) override {
        run("revoke a token",
            "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at "
            "IS NULL",
            id, now, by);
    }

    bool stamp_last_used(std::int64_t id, Millis now) override {
        return guarded("record the token's use", [&] {
            auto& st = prepare("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND "
                               "(last_used_at IS NULL OR last_used_at <= ?2 - ?3)");
            st.bind(1, id);
            st.bind(2, now);
            st.bind(3, k_last_use_resolution_ms);
            return st.exec() > 0;
        });
    }

    void replace_secrets(const Token& t) override {
        run("store the new secrets",
            "UPDATE tokens SET previous_refresh_digest = refresh_digest, issued_at = ?2, "
            "access_expires_at = ?3, refresh_expires_at = ?4, access_digest = ?5, "
            "refresh_digest = ?6, access_sealed = ?7, refresh_sealed = ?8 WHERE id = ?1",
            t.id, t.issued_at, t.access_expires_at, t.refresh_expires_at, t.access_digest,
            t.refresh_digest, t.access_sealed, t.refresh_sealed);
    }

    std::vector<SealedSecrets> sealed_batch(std::int64_t after, std::size_t limit) override {
        return guarded("read the sealed secrets", [&] {
            auto& st = prepare("SELECT id, token_id, access_digest, refresh_digest, "
                               "access_sealed, refresh_sealed FROM tokens WHERE id > ?1 "
                               "ORDER BY id LIMIT ?2");
            st.bind(1, after);
            st.bind(2, static_cast<std::int64_t>(limit));
            std::vector<SealedSecrets> batch;
            while (st.executeStep()) {
                batch.push_back(SealedSecrets{st.getColumn(0).getInt64(),
                                              st.getColumn(1).getString(), blob_of(st.getColumn(2)),
                                              blob_of(st.getColumn(3)), blob_of(st.getColumn(4)),
                                              blob_of(st.getColumn(5))});
            }
            return batch;
        });
    }

    void replace_sealed(std::int64_t id, const Bytes& access_sealed,
                        const Bytes& refresh_sealed) override {
        run("store the re-sealed secrets",
            "UPDATE tokens SET access_sealed = ?2, refresh_sealed = ?3 WHERE id = ?1", id,
            access_sealed, refresh_sealed);
    }

    std::vector<std::string> integrity_problems() override {
        return guarded("check integrity", [&] {
            std::vector<std::string> problems;
            SQLite::Statement integrity(*m_db, "PRAGMA integrity_check");
            while (integrity.executeStep()) {
                // One row may hold several lines, under a "*** in database main ***" title:
                // one problem each, so that check's line stays one line.
                std::string text = integrity.getColumn(0).getString();
                std::size_t at = 0;
                while (at <= text.size()) {
                    std::size_t end = std::min(text.find('\n', at), text.size());
                    std::string line = text.substr(at, end - at);
                    if (!line.empty() && line != "ok" &&
                        !(line.starts_with("*** ") && line.ends_with(" ***"))) {
                        problems.push_back(std::move(line));
                    }
                    at = end + 1;
                }
            }
            SQLite::Statement keys(*m_db, "PRAGMA foreign_key_check");
            while (keys.executeStep()) {
                problems.push_back(fmt::format(
                    "row {} of {} refers to a missing row of {}", keys.getColumn(1).getInt64(),
                    keys.getColumn(0).getString(), keys.getColumn(2).getString()));
            }
            return problems;
        });
    }

    int opened_schema_version() const override { return m_opened_version; }

    int schema_version() override {
        return guarded("read the schema version",
                       [&] { return m_db->execAndGet("PRAGMA user_version").getInt(); });
    }

    bool audit_protected() override {
        return guarded("read the audit log's triggers", [&] {
            auto& st = prepare("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                               "tbl_name = 'audit' AND name IN ('audit_no_update', "
                               "'audit_no_delete')");
            st.executeStep();
            return st.getColumn(0).getInt64() == 2;
        });
    }

    void store_audit(const AuditEntry& e) override {
        run("write the audit log",
            "INSERT INTO audit (at, actor, action, subject, outcome, detail) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            e.at, e.actor, e.action, e.subject, e.outcome, e.detail);
    }

    void for_each_audit(const AuditFilter& filter,
                        const std::function<void(const AuditEntry&)>& fn) override {
        std::string sql =
            "SELECT id, at, actor, action, subject, outcome, detail FROM audit WHERE 1";
        if (filter.actor) {
            sql += " AND actor = ?1 COLLATE NOCASE";
        }
        if (filter.action) {
            sql += " AND action = ?2";
        }
        if (filter.since) {
            sql += " AND at >= ?3";
        }
        if (filter.subject) {
            sql += " AND (subject = ?4 COLLATE NOCASE OR subject IN (SELECT t.token_id FROM "
                   "tokens t JOIN users u ON u.id = t.user_id WHERE u.name = ?4 UNION SELECT "
                   "t.token_id FROM tokens t JOIN apps a ON a.id = t.app_id WHERE a.name = ?4))";
        }
        sql += " ORDER BY id";
        guarded("read the audit log", [&] {
            auto& st = prepare(sql);
            if (filter.actor) {
                st.bind(1, *filter.actor);
            }
            if (filter.action) {
                st.bind(2, *filter.action);
            }
            if (filter.since) {
                st.bind(3, *filter.since);
            }
            if (filter.subject) {
                st.bind(4, *filter.subject);
            }
            AuditEntry e;
            while (st.executeStep()) {
                e.id = st.getColumn(0).getInt64();
                e.at = st.getColumn(1).getInt64();
                e.actor = st.getColumn(2).getString();
                e.action = st.getColumn(3).getString();
                e.subject = st.getColumn(4).getString();
                e.outcome = st.getColumn(5).getString();
                e.detail = st.getColumn(6).getString();
                fn(e);
            }
        });
    }

    std::optional<Bytes> meta(std::string_view name) override {
        return guarded("read metadata", [&]() -> std::optional<Bytes> {
            auto& st = prepare("SELECT value FROM meta WHERE name = ?1");
            st.bind(1, std::string(name));
            if (!st.executeStep()) {
                return std::nullopt;
            }
            return blob_of(st.getColumn(0));
        });
    }

    void set_meta(std::string_view name, const Bytes& value) override {
        guarded("write metadata", [&] {
            auto& st = prepare("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)");
            st.bind(1, std::string(name));
            bind_blob(st, 2, value);
            st.exec();
        });
    }

    // --- applications' client secrets (schema version 3) ---

    std::optional<ClientSecret> find_client_secret(std::int64_t app_id) override {
        return guarded("read a client secret", [&]() -> std::optional<ClientSecret> {
            auto& st = prepare("SELECT c.app_id, a.client_id, c.digest, c.sealed, c.created_at "
                               "FROM client_secrets c JOIN apps a ON a.id = c.app_id "
                               "WHERE c.app_id = ?1");
            st.bind(1, app_id);
            if (!st.executeStep()) {
                return std::nullopt;
            }
            return read_client_secret(st);
        });
    }

    std::optional<ClientSecret> client_secret_by_client_id(std::string_view client_id) override {
        return guarded("read a client secret", [&]() -> std::optional<ClientSecret> {
            auto& st = prepare("SELECT c.app_id, a.client_id, c.digest, c.sealed, c.created_at "
                               "FROM apps a JOIN client_secrets c ON c.app_id = a.id "
                               "WHERE a.client_id = ?1 AND a.removed_at IS NULL");
            st.bind(1, std::string(client_id));
            if (!st.executeStep()) {
                return std::nullopt;
            }
            return read_client_secret(st);
        });
    }

    std::optional<Token> find_token_by_refresh_digest(const Bytes& digest, bool previous) override {
        auto token =
            find_token_where(previous ? "t.previous_refresh_digest = ?1" : "t.refresh_digest = ?1",
                             [&](SQLite::Statement& st) { bind_blob(st, 1, digest); });
        // Found by an index, then compared in constant time (as verify compares).
        if (token && !previous && !equal_constant_time(token->refresh_digest, digest)) {
            return std::nullopt;
        }
        return token;
    }

    void insert_client_secret(const ClientSecret& c) override {
        run("store a client secret",
            "INSERT INTO client_secrets (app_id, digest, sealed, created_at) "
            "VALUES (?1, ?2, ?3, ?4)",
            c.app_id, c.digest, c.sealed, c.created_at);
    }

    void replace_client_secret(const ClientSecret& c) override {
        run("store the new client secret",
            "UPDATE client_secrets SET digest = ?2, sealed = ?3, created_at = ?4 WHERE app_id = ?1",
            c.app_id, c.digest, c.sealed, c.created_at);
    }

    std::vector<ClientSecret> apps_without_client_secret() override {
        return guarded("look for applications without a client secret", [&] {
            auto& st = prepare("SELECT a.id, a.client_id FROM apps a WHERE NOT EXISTS (SELECT 1 "
                               "FROM client_secrets c WHERE c.app_id = a.id) ORDER BY a.id");
            std::vector<ClientSecret> missing;
            while (st.executeStep()) {
                ClientSecret c;
                c.app_id = st.getColumn(0).getInt64();
                c.client_id = st.getColumn(1).getString();
                missing.push_back(std::move(c));
            }
            return missing;
        });
    }

    std::vector<ClientSecret> sealed_client_batch(std::int64_t after, std::size_t limit) override {
        return guarded("read the sealed client secrets", [&] {
            auto& st = prepare("SELECT c.app_id, a.client_id, c.digest, c.sealed, c.created_at "
                               "FROM client_secrets c JOIN apps a ON a.id = c.app_id "
                               "WHERE c.app_id > ?1 ORDER BY c.app_id LIMIT ?2");
            st.bind(1, after);
            st.bind(2, static_cast<std::int64_t>(limit));
            std::vector<ClientSecret> batch;
            while (st.executeStep()) {
                batch.push_back(read_client_secret(st));
            }
            return batch;
        });
    }

    void replace_sealed_client(std::int64_t app_id, const Bytes& sealed) override {
        run("store the re-sealed client secret",
            "UPDATE client_secrets SET sealed = ?2 WHERE app_id = ?1", app_id, sealed);
    }

    static ClientSecret read_client_secret(SQLite::Statement& st) {
        return ClientSecret{st.getColumn(0).getInt64(), st.getColumn(1).getString(),
                            blob_of(st.getColumn(2)), blob_of(st.getColumn(3)),
                            st.getColumn(4).getInt64()};
    }

  private:
    // Runs `fn`, turning SQLite's exceptions into Error(failure) naming the database.
    template <class F> auto guarded(std::string_view what, F&& fn) -> decltype(fn()) {
        try {
            return fn();
        } catch (const SQLite::Exception& e) {
            int code = e.getErrorCode() & 0xFF;
            int err = m_db ? sqlite3_system_errno(m_db->getHandle()) : 0;
            if (code == SQLITE_FULL || ((code == SQLITE_IOERR || code == SQLITE_CANTOPEN) &&
                                        (err == ENOSPC || err == EDQUOT))) {
                throw Error(Status::failure,
                            fmt::format("database {}: cannot {}: the disk is full", m_path, what),
                            "free some space on the file system that holds it, then try again; "
                            "nothing was changed");
            }
            std::string hint;
            if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
                hint = "another process held the database for too long; try again";
            } else if (m_access.read_only && (code == SQLITE_CANTOPEN || code == SQLITE_READONLY)) {
                // A -wal that only a -shm file it could create or write would make sense of.
                hint = fmt::format("the changes waiting in its -wal file can be read only where "
                                   "the database can be written ({}); open it once there",
                                   m_access.why);
            } else if (code == SQLITE_READONLY) {
                hint = "check the permissions of the database file, its folder and its -wal "
                       "and -shm files";
            }
            throw Error(Status::failure,
                        fmt::format("database {}: cannot {}: {}", m_path, what, e.what()), hint);
        }
    }

    template <class... Args>
    void run(std::string_view what, std::string_view sql, const Args&... args) {
        guarded(what, [&] {
            auto& st = prepare(sql);
            int index = 0;
            (bind_value(st, ++index, args), ...);
            st.exec();
        });
    }

    // A cached statement for `sql`, reset and with no bindings. Statements are prepared
    // once a connection (serve asks the same few again and again), and those used since
    // the last reset are remembered, so that only they are reset.
    SQLite::Statement& prepare(std::string_view sql) {
        auto it = m_statements.find(sql);
        if (it == m_statements.end()) {
            std::string text(sql);
            auto statement = std::make_unique<SQLite::Statement>(*m_db, text);
            it = m_statements.emplace(std::move(text), std::move(statement)).first;
        } else {
            it->second->reset();
            it->second->clearBindings();
        }
        SQLite::Statement* statement = it->second.get();
        if (std::find(m_used.begin(), m_used.end(), statement) == m_used.end()) {
            m_used.push_back(statement);
        }
        return *statement;
    }

    // Resets every cached statement, unless a transaction is open (whose statements
    // may still be iterating).
    void reset_statements() {
        if (sqlite3_get_autocommit(m_db->getHandle()) == 0) {
            return;
        }
        reset_all_statements();
    }

    void reset_all_statements() {
        for (SQLite::Statement* st : m_used) {
            st->reset();
        }
        m_used.clear();
    }

    void finish_transaction(const std::function<void()>& body) {
        try {
            body();
            guarded("commit", [&] { prepare("COMMIT").exec(); });
        } catch (...) {
            try {
                // A statement whose last step failed reports that failure again when reset:
                // each is reset regardless, so that the rollback always runs (a long-lived
                // process, serve, must never keep a transaction, and its lock, open).
                for (SQLite::Statement* st : m_used) {
                    st->tryReset();
                }
                m_used.clear();
                m_db->exec("ROLLBACK");
            } catch (const SQLite::Exception&) {
                // The transaction is gone already; the original error says why.
            }
            throw;
        }
        reset_all_statements();
    }

    void migrate(int version) {
        if (version > k_schema_version) {
            throw Error(Status::failure,
                        fmt::format("database {} has schema version {}, newer than this "
                                    "tokenctl knows ({})",
                                    m_path, version, k_schema_version),
                        "upgrade tokenctl; the database was left untouched");
        }
        if (version == k_schema_version) {
            return;
        }
        // Foreign keys are off while tables are rebuilt (they cannot change inside a
        // transaction), and checked before the migration commits.
        m_db->exec("PRAGMA foreign_keys = OFF");
        try {
            write([&] {
                // Read again under the write lock: another process may have migrated
                // meanwhile.
                int current = m_db->execAndGet("PRAGMA user_version").getInt();
                for (int v = current; v < k_schema_version; ++v) {
                    m_db->exec(std::string(k_migrations[static_cast<std::size_t>(v)]));
                }
                SQLite::Statement dangling(*m_db, "PRAGMA foreign_key_check");
                if (dangling.executeStep()) {
                    throw Error(Status::failure,
                                fmt::format("database {} has rows that refer to missing rows; "
                                            "it was left as it was",
                                            m_path),
                                "run `tokenctl check` for details");
                }
                m_db->exec(fmt::format("PRAGMA user_version = {}", k_schema_version));
            });
        } catch (...) {
            m_db->exec("PRAGMA foreign_keys = ON");
            throw;
        }
        m_db->exec("PRAGMA foreign_keys = ON");
    }

    template <class Bind>
    std::optional<Token> find_token_where(std::string_view condition, Bind&& bind) {
        return guarded("find a token", [&]() -> std::optional<Token> {
            auto sql = m_token_sql.find(condition);
            if (sql == m_token_sql.end()) {
                sql =
                    m_token_sql
                        .emplace(condition, fmt::format("SELECT {}, {}{} WHERE {}", col::k_row,
                                                        k_token_columns, k_token_joins, condition))
                        .first;
            }
            auto& st = prepare(sql->second);
            bind(st);
            if (!st.executeStep()) {
                return std::nullopt;
            }
            return col::read_token(StatementRow{st});
        });
    }

    static User read_user(SQLite::Statement& st) {
        return User{st.getColumn(0).getInt64(), st.getColumn(1).getString(),
                    parse_role(st.getColumn(2).getString()), st.getColumn(3).getInt64(),
                    optional_time(st.getColumn(4))};
    }

    static void bind_blob(SQLite::Statement& st, int index, const Bytes& value) {
        st.bind(index, value.data(), static_cast<int>(value.size()));
    }

    // One parameter of run(): blobs as blobs, everything else as SQLiteCpp binds it.
    template <class T> static void bind_value(SQLite::Statement& st, int index, const T& value) {
        if constexpr (std::is_same_v<T, Bytes>) {
            bind_blob(st, index, value);
        } else {
            st.bind(index, value);
        }
    }

    std::string m_path;
    int m_opened_version = 0;
    Access m_access;
    std::optional<SQLite::Database> m_db;
    std::map<std::string, std::unique_ptr<SQLite::Statement>, std::less<>> m_statements;
    std::vector<SQLite::Statement*> m_used;                      // prepared since the last reset
    std::map<std::string, std::string, std::less<>> m_token_sql; // find_token_where's, by condition
};

} // namespace

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path,
                                         const SqliteOptions& options) {
    uid_t owner = check_header(path);
    check_surroundings(path, owner);
    return std::make_unique<SqliteStore>(path, owner, false, options);
}

std::unique_ptr<Store> create_sqlite_store(const std::filesystem::path& path) {
    check_surroundings(path, ::geteuid());
    create_private_file(path, {});
    return std::make_unique<SqliteStore>(path, ::geteuid(), true, SqliteOptions{});
}

int sqlite_schema_version() {
    return k_schema_version;
}

} // namespace tokenctl
