#pragma once

#include <tokenctl/error.h>
#include <tokenctl/model.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenctl {

// Which tokens a listing or a filtered revoke reads.
struct TokenFilter {
    std::optional<std::int64_t> user_id;
    std::optional<std::int64_t> app_id;
    bool include_revoked = false;
    // Only tokens active at this time (neither revoked nor expired).
    std::optional<Millis> active_at;
    // Only tokens whose refresh token expires at or before this time, soonest first.
    std::optional<Millis> expiring_before;
    // Only tokens last used (or, never used, generated) at or before this time, least
    // recently used first (unless expiring_before orders them).
    std::optional<Millis> unused_since;
};

// A token's last use is recorded at most once in this long (verify, download, refresh).
inline constexpr Millis k_last_use_resolution_ms = 60'000;

// Which names shell completion reads (tokenctl __complete): the names of `kind` that
// begin with `prefix`, in the order of the store's index on them.
struct NameQuery {
    enum class Kind { token_ids, user_names, app_names };
    Kind kind = Kind::token_ids;
    // Token IDs: only this user's; application names: only those of this user's tokens.
    std::optional<std::int64_t> user_id;
    std::optional<Role> role; // user names: only users of this role
    std::string prefix;       // byte-wise; user names case-insensitively
    Millis now = 0;           // token IDs: only tokens active at `now`
    bool last = false;        // the last matching name alone, instead of the first ones
    std::size_t limit = 0;
};

// Which audit records `audit` reads.
struct AuditFilter {
    std::optional<std::string> actor; // matched case-insensitively
    std::optional<std::string> action;
    std::optional<Millis> since;
    // Records about this user or application: those naming it, and those naming a token
    // that belongs to it (a user matched case-insensitively).
    std::optional<std::string> subject;
};

// Where a registry is: a SQLite file, or a PostgreSQL database named by a libpq URI.
// Parsed once from --db / TOKENCTL_DB; every backend decision reads its kind.
struct Location {
    enum class Kind { sqlite, postgres };
    Kind kind = Kind::sqlite;
    std::string text;           // as shown: the path, or the URI with its password as ***
    std::filesystem::path path; // the database file (SQLite only)
    std::string uri;            // the URI as given, password included (PostgreSQL only)
    // The URI's passwords as written (PostgreSQL only), so that no message shows them.
    std::vector<std::string> passwords;

    // The local files that make up the registry: the database and its -wal and -shm
    // files on SQLite; none on PostgreSQL.
    std::vector<std::filesystem::path> files() const;
    // Where the key file is when TOKENCTL_KEY_FILE does not say: beside a SQLite database
    // (tokens.db.key); empty where the registry's ID names it once opened (PostgreSQL:
    // registry_key_path).
    std::filesystem::path default_key_file() const;
    // The location as --db takes it in a command that works from any folder: a SQLite
    // path made absolute; the URI as shown, its password hidden.
    std::string argument() const;
    // True where the server authenticates who acts (PostgreSQL: the acting user is the
    // login); false where the acting user is claimed (SQLite).
    bool authenticates() const;
    // The schema version this tokenctl creates and reads there.
    int schema_version() const;
    // What to do about a damaged registry there.
    std::string restore_hint() const;
    // What a front end warns of before using it ("" when nothing): a password written in a
    // PostgreSQL URI, which shows in ps and in shell history.
    std::string warning() const;
};

// A value beginning with postgresql:// or postgres:// is a PostgreSQL location, anything
// else a SQLite path. Error(usage) when empty.
Location parse_location(std::string_view text);

// `text` (a message of libpq's, say) with `location`'s URI shown as location.text, and each
// of its passwords as ***, wherever the text holds one as a password: quoted, as user
// info, as a parameter's value, or anywhere when it is long enough not to be a word of
// the message. A one-letter password leaves every other letter of the message alone.
std::string hide_passwords(std::string_view text, const Location& location);

// The registry's tokens by status at a time `now` (TokenRow::status_at: revoked if revoked,
// else expired once the refresh token has expired, else active), and how many active ones
// have a refresh token that expires at or before `now` + a span `within` (serve's gauges).
struct TokenCounts {
    std::int64_t active = 0;
    std::int64_t expired = 0;
    std::int64_t revoked = 0;
    std::int64_t expiring = 0;

    bool operator==(const TokenCounts&) const = default;
};

// A token's secrets as stored: their digests and their sealed (encrypted) forms.
struct SealedSecrets {
    std::int64_t id = 0; // the token's row id
    std::string token_id;
    Bytes access_digest;
    Bytes refresh_digest;
    Bytes access_sealed;
    Bytes refresh_sealed;
};

// An application's client secret as stored: its SHA-256 digest (looked up by client ID,
// for serve) and its sealed form (for app secret), made or rotated at `created_at`.
struct ClientSecret {
    std::int64_t app_id = 0; // the application's row id
    std::string client_id;   // the application's client ID (the sealing context)
    Bytes digest;
    Bytes sealed;
    Millis created_at = 0;
};

// What a client presents to refresh a token (serve's POST /oauth2/token), by the acting user
// (the serve process's) at `now`. A refresh token rotated away at most `grace` ago still
// proves the client (it lost the answer) and gets the current secrets again. The secrets
// themselves, not their digests: the store proves them (on PostgreSQL the server digests
// them, so that reading a digest is not enough to use it).
struct ClientRefreshClaim {
    std::string client_id;
    std::string client_secret;
    std::string refresh_token;
    Millis now = 0;
    Millis grace = 0;
    std::int64_t actor_id = 0; // the acting user, who revokes a reused token
    std::string actor;
};

// What the store makes of a claim, under the write lock.
struct ClientRefreshGrant {
    enum class Outcome {
        invalid_client, // unknown client ID, wrong client secret, another application's token
        invalid_grant,  // unknown, expired or revoked refresh token
        rotate,         // the token's current refresh token: rotate_for_client() follows
        resend,         // its previous one, within the grace: the current secrets again
        reused,         // its previous one, after the grace: revoked and recorded
    };
    Outcome outcome = Outcome::invalid_grant;
    // rotate: the token; resend: the token with its current sealed secrets; reused: the
    // token as it was before its revocation. None otherwise.
    std::optional<Token> token;
};

// The narrow interface between the core and its storage. All SQL lives behind it, so
// another backend (a shared PostgreSQL registry) can be added without touching commands.
// Every method throws Error(failure) with context when the storage fails.
class Store {
  public:
    virtual ~Store() = default;

    // Runs `body` in one write transaction. Writers are serialized: while `body` runs no
    // other writer of the registry, in this process or another, can commit, so what
    // `body` reads is what it writes over. `body` runs exactly once; its writes become
    // visible, durably, only when it returns, and not at all when it throws (the error is
    // rethrown). Waiting for another writer is bounded; a writer that waited too long gets
    // Error(failure) with a hint, and `body` has not run. Not reentrant.
    virtual void write(const std::function<void()>& body) = 0;
    // As write(), but when another writer holds the registry it gives up at once: returns
    // false, and `body` has not run. For writes that may be skipped (verify's record of a
    // token's use), which must not keep a gateway waiting.
    virtual bool write_if_free(const std::function<void()>& body) = 0;
    // Runs `body` in one read transaction: every read inside sees one snapshot, and
    // nothing is written.
    virtual void read(const std::function<void()>& body) = 0;
    // Inside a transaction: a number that differs from the one read in this store's
    // previous transaction if another connection has committed a change since (SQLite's
    // PRAGMA data_version); none where the backend cannot tell cheaply. A long-lived
    // session uses it to skip reading again what cannot have changed.
    virtual std::optional<std::int64_t> change_counter() { return std::nullopt; }

    // Whether the connection to the registry is lost (PostgreSQL: the server or the network
    // broke it, or it was given up for want of an answer): nothing more goes through it
    // until reconnect(). Never on SQLite.
    virtual bool connection_lost() const { return false; }
    // Connects again after connection_lost(), for a session that outlives a connection
    // (serve's); Error(failure) when the registry still cannot be reached.
    virtual void reconnect() {}

    // A user by name, case-insensitively; removed users only when asked for. One the
    // server keeps from the acting login comes with the name as asked, id 0 and role user.
    virtual std::optional<User> find_user(std::string_view name, bool include_removed) = 0;
    // Inserts a user; returns its id.
    virtual std::int64_t insert_user(std::string_view name, Role role, Millis now) = 0;
    // Brings a removed user back with a new role and creation time.
    virtual void reactivate_user(std::int64_t id, Role role, Millis now) = 0;
    virtual void set_role(std::int64_t id, Role role) = 0;
    virtual void mark_user_removed(std::int64_t id, Millis now) = 0;
    // Number of administrators who have not been removed.
    virtual std::int64_t count_admins() = 0;
    // Active users in name order, each with its number of active tokens at `now`.
    virtual void for_each_user(Millis now, const std::function<void(const UserRow&)>& fn) = 0;
    // Number of the user's tokens that are active at `now`: neither revoked nor expired.
    virtual std::int64_t count_active_tokens(std::int64_t user_id, Millis now) = 0;

    // A live (not removed) application by exact name. One the server keeps from the acting
    // login comes with its name alone and id 0: it holds none of the login's tokens.
    virtual std::optional<App> find_app(std::string_view name) = 0;
    // Applications in name order, each with its creator's name and its tokens active at
    // `now`: live ones, and removed ones too when `include_removed`. With `holder`, only
    // those the user holds tokens of, and only that user's tokens counted.
    virtual void for_each_app(bool include_removed, std::optional<std::int64_t> holder, Millis now,
                              const std::function<void(const AppRow&)>& fn) = 0;
    virtual void mark_app_removed(std::int64_t id, Millis now) = 0;
    // Inserts an application; returns its id.
    virtual std::int64_t insert_app(const App& app) = 0;

    // A token by its public ID, with its sealed secrets. One that exists but that the
    // server keeps from the acting login (PostgreSQL's row-level security) comes with its
    // ID alone, its row, user and creator ids 0: the role rules refuse it as another
    // user's, as they do on SQLite. Sealed secrets are empty where the login may not read
    // them.
    virtual std::optional<Token> find_token(std::string_view token_id) = 0;
    // The token whose current access token has this SHA-256 digest.
    virtual std::optional<Token> find_token_by_access_digest(const Bytes& digest) = 0;
    // Inserts a token; returns its row id, or none (and stores nothing) when its token ID
    // is taken.
    virtual std::optional<std::int64_t> insert_token(const Token& token) = 0;
    // Inserts many tokens at once (tokenctl-seed), in order: as insert_token() each, then
    // revoke_token(by `revoked_by`, at its revoked_at) those that have a revoked_at.
    virtual void insert_tokens(const std::vector<Token>& tokens, std::int64_t revoked_by);
    // Tokens matching `filter`, oldest first, streamed to `fn`.
    virtual void for_each_token(const TokenFilter& filter,
                                const std::function<void(const TokenRow&)>& fn) = 0;
    // How many tokens of application `app_id` active at `now` belong to users other than
    // `user_id`, whatever the acting login may read of them (a non-admin's app remove is
    // refused while there are any). This default counts what for_each_token shows: every
    // token on SQLite. A backend that hides other users' rows from the login overrides it
    // (PostgreSQL counts past row-level security, through a function of the schema).
    virtual std::int64_t count_others_active_tokens(std::int64_t app_id, std::int64_t user_id,
                                                    Millis now);
    // Every token of the registry counted by status at `now`, and the active ones expiring
    // within `within` of it (see TokenCounts), in one aggregate query: no row is read out of
    // the database. All tokens, whatever the acting login may read of them: on PostgreSQL
    // through a function of the schema that only administrators and verifiers may call
    // (others are refused, Error(permission)); it tells counts, nothing of any one token.
    virtual TokenCounts token_counts(Millis now, Millis within) = 0;
    // Up to query.limit names matching `query`, in order, streamed to `fn`; active users
    // only. Each query reads an index range, however many names there are.
    virtual void for_each_name(const NameQuery& query,
                               const std::function<void(const std::string&)>& fn) = 0;
    virtual void revoke_token(std::int64_t id, std::int64_t by, Millis now) = 0;
    // Records that the token was used at `now`, unless its last use is more recent than
    // k_last_use_resolution_ms; returns whether it wrote.
    virtual bool stamp_last_used(std::int64_t id, Millis now) = 0;
    // Stores a rotated pair: digests, sealed secrets, issue time and expiries of `token`;
    // the refresh digest it replaces is kept as the token's previous one (refresh-token
    // reuse), rotated at the new issue time.
    virtual void replace_secrets(const Token& token) = 0;

    // Inside a write transaction: checks a client's claim to refresh a token (the client ID,
    // its secret's digest compared in constant time, the refresh token's digest, current or
    // previous, looked up by index) and decides, with the token locked until the transaction ends.
    // `resend` is recorded in the audit log as a refresh by the token's user; `reused` revokes the
    // token (by claim.actor_id) and records `refresh-reuse`, both in this transaction, which the
    // caller commits. Nothing else is written. No secret is ever recorded or returned but a
    // resent token's sealed secrets.
    virtual ClientRefreshGrant claim_client_refresh(const ClientRefreshClaim& claim);
    // After claim_client_refresh() said `rotate`, in the same transaction: checks the claim
    // again and stores `rotated`'s new secrets (as replace_secrets), records the token's use
    // and a refresh by its user in the audit log. Error(failure) when the claim no longer
    // holds.
    virtual void rotate_for_client(const ClientRefreshClaim& claim, const Token& rotated);

    // The sealed secrets of at most `limit` tokens whose row id is above `after`, in row id
    // order: a caller walks every token in bounded memory, and may replace_sealed() the
    // ones it has read.
    virtual std::vector<SealedSecrets> sealed_batch(std::int64_t after, std::size_t limit) = 0;
    // Every token's sealed secrets, to `fn` in row id order, a batch at a time (bounded
    // memory; `fn` may replace_sealed() what it was given). A damaged table whose row ids
    // do not keep rising is Error(failure), never read again: the walk always ends.
    void for_each_sealed(const std::function<void(const SealedSecrets&)>& fn);
    // Replaces a token's sealed secrets (same secrets, sealed under another key).
    virtual void replace_sealed(std::int64_t id, const Bytes& access_sealed,
                                const Bytes& refresh_sealed) = 0;

    // The client secret of application `app_id`; none when it has none yet (an application
    // made before client secrets) or the acting login may not read it.
    virtual std::optional<ClientSecret> find_client_secret(std::int64_t app_id) = 0;
    // Stores the first client secret of application secret.app_id.
    virtual void insert_client_secret(const ClientSecret& secret) = 0;
    // Replaces the client secret of application secret.app_id (a rotation: the old one
    // stops working when this transaction commits).
    virtual void replace_client_secret(const ClientSecret& secret) = 0;
    // The applications (live and removed) that have no client secret yet, row id and client
    // ID only: those made before client secrets, which a writer holding the key gives one.
    // Empty where this login cannot give them one (PostgreSQL: anyone but the owner, whose
    // `tokenctl migrate` does).
    virtual std::vector<ClientSecret> apps_without_client_secret() = 0;
    // The client secrets of at most `limit` applications whose row id is above `after`, in
    // row id order (as sealed_batch, for rekey and check).
    virtual std::vector<ClientSecret> sealed_client_batch(std::int64_t after,
                                                          std::size_t limit) = 0;
    // Every client secret, to `fn` in row id order, a batch at a time (as for_each_sealed).
    void for_each_sealed_client(const std::function<void(const ClientSecret&)>& fn);
    // Replaces an application's sealed client secret (the same secret, under another key).
    virtual void replace_sealed_client(std::int64_t app_id, const Bytes& sealed) = 0;

    // Appends an audit record, every field with the text shaped like a secret in it
    // redacted first (redact_secret_shapes): whatever a caller passes, no secret is ever
    // recorded. Records are never changed or deleted.
    void append_audit(const AuditEntry& entry);
    // Audit records matching `filter`, oldest first.
    virtual void for_each_audit(const AuditFilter& filter,
                                const std::function<void(const AuditEntry&)>& fn) = 0;

    // What the storage finds wrong with itself (integrity, references), one line each;
    // empty when sound.
    virtual std::vector<std::string> integrity_problems() = 0;
    // The schema version of the registry (equal to this build's once opened).
    virtual int schema_version() = 0;
    // The schema version the registry had when it was opened, before any migration.
    virtual int opened_schema_version() const = 0;
    // True when the audit log refuses changes and deletions by itself.
    virtual bool audit_protected() = 0;

    // The server's login this store acts as, which the server authenticated; none where
    // the store has no logins of its own (SQLite: the acting user is claimed).
    virtual std::optional<std::string> login() { return std::nullopt; }
    // The registry's random ID, which names its key file, where it has one (PostgreSQL).
    virtual std::optional<std::string> registry_id() { return std::nullopt; }
    // Gives the login `name` what `role` needs on the server (nothing, when none), in the
    // current write transaction. A store without logins has nothing to do. A login the
    // server does not know is Error(not_found).
    virtual void grant_login(std::string_view name, std::optional<Role> role) {
        (void)name;
        (void)role;
    }

    // Small named values of the database (the key check).
    virtual std::optional<Bytes> meta(std::string_view name) = 0;
    virtual void set_meta(std::string_view name, const Bytes& value) = 0;
    // Inside a write transaction: throws `otherwise` unless the value `name` is still
    // `value`. A store may send the check with its next statement, so the error can come
    // from a later call of the same transaction (never later than its commit).
    virtual void require_meta(std::string_view name, const Bytes& value, const Error& otherwise) {
        if (meta(name) != value) {
            throw otherwise;
        }
    }

  protected:
    // For the default claim_client_refresh(): the live application with client ID
    // `client_id` and its client secret's digest (none: no such application, or no secret).
    virtual std::optional<ClientSecret> client_secret_by_client_id(std::string_view client_id);
    // The token whose current (or, with `previous`, previous) refresh token has this digest.
    virtual std::optional<Token> find_token_by_refresh_digest(const Bytes& digest, bool previous);

    // Stores an audit record as it is (append_audit has redacted it).
    virtual void store_audit(const AuditEntry& entry) = 0;
};

// How open_store opens a registry.
struct OpenOptions {
    // PostgreSQL: upgrade a registry from an older tokenctl (`tokenctl migrate`).
    bool migrate = false;
    // SQLite: the page cache for a bulk load (see SqliteOptions::cache_bytes); 0 keeps
    // SQLite's default.
    std::int64_t bulk_cache_bytes = 0;
};

// Opens the existing registry at `location`, migrating a SQLite database forward if it is
// older; a PostgreSQL registry only with options.migrate (`tokenctl migrate`, its
// owner's job), else an older one is refused with that hint. A missing registry, one that is not
// tokenctl's, or one from a newer tokenctl is refused with Error(failure) and left
// untouched.
std::unique_ptr<Store> open_store(const Location& location, const OpenOptions& options = {});

// Creates a new, empty registry at `location`, which must not exist (Error(conflict)), and
// runs `first_write` in a write transaction on it (on PostgreSQL the same transaction that
// creates the schema, so that a failure leaves nothing behind).
std::unique_ptr<Store> create_store(const Location& location,
                                    const std::function<void(Store&)>& first_write);

// Before create_store, where the registry is a local file: refuses a place where one
// exists (Error(conflict)) and makes its folders (private). Nothing on a server.
void prepare_registry_place(const Location& location);

// check's "files" line, where the registry has local files (files() is not empty): the
// problem ("" when sound), with a hint.
std::string check_registry_files(const Location& location, std::string& hint);

// Refuses (Error(usage), with the backend's own way as the hint) a registry that `backup`
// cannot copy: one on a server.
void require_backup(const Location& location);
// Copies the registry at `location` to the new empty file `copy` as one consistent
// snapshot, while others go on using it, and opens the copy. Errors name the copy `shown`
// (the file `copy` becomes). After require_backup().
std::unique_ptr<Store> backup_store(const Location& location, const std::filesystem::path& copy,
                                    const std::filesystem::path& shown);

} // namespace tokenctl
