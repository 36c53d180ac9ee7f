#pragma once

#include <tokenctl/format.h>
#include <tokenctl/model.h>
#include <tokenctl/session.h>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

// The commands of tokenctl as library calls: each validates its input, applies the
// policy, and reads or changes the store in one transaction. None of them prints.
namespace tokenctl {

// A listing's rows: calling it passes every row, in order, to the function it is given.
template <class Row> using RowStream = std::function<void(const std::function<void(const Row&)>&)>;
// Where a listing goes: called once, inside the listing's read transaction, after its
// request was checked; it may pass over the rows more than once (the table format
// measures them first), and every pass sees the same snapshot.
template <class Row> using ListingSink = std::function<void(const RowStream<Row>&)>;

// --- init -----------------------------------------------------------------------

// What `init` made.
struct InitResult {
    std::string admin;                      // the first administrator
    std::filesystem::path key;              // the key file
    std::optional<std::string> registry_id; // PostgreSQL only
};

// Creates the registry, its key file and the first administrator: `claimed_admin` (--admin
// NAME, else --as or TOKENCTL_USER), else the acting user (acting_name). On PostgreSQL
// the administrator is the connecting login, which must be the one claimed. Error(conflict)
// when the registry or the key file exists; on failure nothing is left behind.
InitResult init_database(const Paths& paths, const std::optional<std::string>& claimed_admin);

// --- users ----------------------------------------------------------------------

// Both return the user as stored: a name keeps the spelling it was first added with.
User add_user(Session& session, const std::string& name, Role role);
User set_user_role(Session& session, const std::string& name, Role role);
// Active users with their active token counts (administrators only).
void list_users(Session& session, const ListingSink<UserRow>& sink);
// whoami: the acting user as a row of `user list`, with their active token count. Any
// user may ask (the session has already refused an unknown one); nothing is written.
UserRow acting_user_row(Session& session);

// What `user remove` will do, shown before the confirmation.
struct UserRemoval {
    User user;
    std::int64_t active_tokens = 0;
};
UserRemoval plan_user_removal(Session& session, const std::string& name);
// Removes the user and revokes their tokens; returns the IDs it revoked.
std::vector<std::string> remove_user(Session& session, const UserRemoval& plan);

// --- tokens ---------------------------------------------------------------------

// What a token file holds: Central's JSON, or one secret alone.
enum class SecretFormat { json, access_token, refresh_token };
// Parses json|access-token|refresh-token; throws Error(usage) otherwise.
SecretFormat parse_secret_format(std::string_view text);

// Where a token file goes: standard output (no output), or FILE (-o), in which format.
// FILE is never one of the registry's files (registry_files), nor anything else
// check_output_file refuses.
struct Delivery {
    SecretFormat format = SecretFormat::json;
    std::optional<std::filesystem::path> output;
    bool force = false;
};

// A token file that a command made and committed, not yet delivered: its text (wiped when
// destroyed) and, for the error line should delivering it fail, what was committed and how
// to get the file again.
class TokenFile {
  public:
    // `keep`: the files of the registry it came from, which no delivery may replace.
    TokenFile(std::string text, std::string committed, std::vector<std::filesystem::path> keep)
        : m_text(std::move(text)), m_committed(std::move(committed)), m_keep(std::move(keep)) {}
    TokenFile(TokenFile&& other) noexcept;
    TokenFile& operator=(TokenFile&&) = delete;
    ~TokenFile();
    const std::string& text() const { return m_text; }
    const std::string& committed() const { return m_committed; }
    const std::vector<std::filesystem::path>& keep() const { return m_keep; }

  private:
    std::string m_text;
    std::string m_committed;
    std::vector<std::filesystem::path> m_keep;
};

// Delivers `file` once its command has committed: to delivery.output (written completely,
// then linked in, mode 0600) or else to `out`, flushed. A failure is Error(failure) whose
// message adds what was committed and how to get the file again.
void deliver(const TokenFile& file, const Delivery& delivery, std::ostream& out);

struct AddAppRequest {
    std::optional<std::string> name;
    std::string redirect_uri;
    std::optional<std::string> for_user;
    std::string access_ttl = "2h";
    std::string refresh_ttl = "15d";
    std::optional<Delivery> delivery; // -o FILE, or -o - (a delivery without output)
};

struct AddAppResult {
    TokenRow token;
    std::optional<TokenFile> file; // when the request has a delivery (-o FILE or -o -)
};
// Creates the application if needed and a token for it, in one transaction whose every
// check (the acting user, the --for user, the names) is made under the write lock.
AddAppResult add_app(Session& session, const AddAppRequest& request);

struct ListRequest {
    bool system = false; // system-list: every user's tokens, administrators only
    std::optional<std::string> user;
    std::optional<std::string> app;
    bool all = false;                      // include revoked tokens
    std::optional<std::string> expiring;   // DUR: active tokens expiring within it
    std::optional<std::string> unused_for; // DUR: active tokens not used for it (system)
};
// The acting user's tokens (system: every user's), oldest first, each with its status as
// of the start of the listing. Names and permissions are checked first, in the listing's
// read transaction.
void list_tokens(Session& session, const ListRequest& request, const ListingSink<TokenRow>& sink);

struct RevokeRequest {
    std::vector<std::string> token_ids;
    std::optional<std::string> user;
    std::optional<std::string> app;
};
struct RevokePlan {
    std::vector<TokenRow> tokens;             // to revoke
    std::vector<std::string> already_revoked; // named by ID, skipped
};
// Resolves what `revoke` would do: Error(usage) with neither ID nor filter,
// Error(not_found) for an unknown ID, Error(permission) for a forbidden one.
RevokePlan plan_revoke(Session& session, const RevokeRequest& request);
// Revokes the plan's tokens in one transaction; returns the IDs revoked (a token
// revoked meanwhile by someone else is skipped).
std::vector<std::string> execute_revoke(Session& session, const RevokePlan& plan);

// The token file (or one secret) of the acting user's token, for deliver(). Error(permission)
// for another user's token, Error(conflict) for a revoked or expired one, Error(not_found)
// for an unknown ID. An existing output file is refused before anything is recorded.
TokenFile download_token(Session& session, const std::string& token_id, const Delivery& delivery);
// Rotates both secrets of the acting user's token and returns the new token file.
TokenFile refresh_token(Session& session, const std::string& token_id, const Delivery& delivery);

// What a client presents to refresh a token over HTTP (serve's POST /oauth2/token).
struct ClientRefresh {
    ClientRefresh() = default;
    ClientRefresh(const ClientRefresh&) = default;
    ClientRefresh(ClientRefresh&&) = default;
    ClientRefresh& operator=(const ClientRefresh&) = default;
    ClientRefresh& operator=(ClientRefresh&&) = default;
    ~ClientRefresh(); // wipes the secrets (each copy its own)
    std::string client_id;
    std::string client_secret;
    std::string refresh_token;
};
// RFC 6749 §5.2's reasons a client refresh is refused.
enum class GrantError { invalid_client, invalid_grant };
// Thrown by refresh_for_client: the code alone says why (never which secret was wrong).
// Its status: permission for invalid_client, conflict for invalid_grant.
class GrantRefused : public Error {
  public:
    explicit GrantRefused(GrantError code, bool reuse = false);
    GrantError code() const { return m_code; }
    // Whether the refusal is a detected refresh-token reuse (the token was revoked).
    bool reuse() const { return m_reuse; }

  private:
    GrantError m_code;
    bool m_reuse;
};
// Rotates both secrets of the token whose refresh token the client presents, as `refresh`
// does, audited as a refresh by the token's user; returns its token file (Central's JSON, as
// download). The acting user (serve's) must be a verifier or an administrator
// (Error(permission) otherwise). Everything is decided under the write lock; secrets leave
// only after the commit.
// invalid_client: unknown client ID, wrong client secret, or a refresh token of another
// application; invalid_grant: unknown, expired, revoked refresh token, or one rotated away
// more than `reuse_grace_ms` ago — which is evidence of theft: the token is revoked in the
// same transaction and the audit log records `refresh-reuse`. Within the grace window the
// same request gets the same successor again (the token's current file), not a second
// rotation.
TokenFile refresh_for_client(Session& session, const ClientRefresh& request, Millis reuse_grace_ms);

// The access token in `input` (what verify read from standard input): one line of at most
// 1 KiB, a trailing newline allowed, with the access prefix and a matching checksum.
// Error(usage) otherwise; no database is needed and the text is never echoed.
std::string parse_verify_input(std::string_view input);
// Looks up a well-formed access token by its digest: Error(not_found) when unknown,
// Error(conflict) when revoked or expired (its access or its refresh token). Records its
// use (at most once in k_last_use_resolution_ms) when no other writer holds the registry.
TokenRow verify_access_token(Session& session, const std::string& access_token);
// As verify_access_token, writing nothing (a server records uses with TokenUses): the
// token as stored now, its sealed secrets left out. Error(usage) when `access_token` is
// not well-formed, before any lookup.
Token check_access_token(Session& session, std::string_view access_token);

// Uses of access tokens that a server found valid (check_access_token), recorded later in
// batches, off the path of its answers, by verify's rule: a token's use at most once in
// k_last_use_resolution_ms. Safe to use from many threads.
class TokenUses {
  public:
    // Notes a use of `token` (as check_access_token returned it) at `now`, when one is due.
    void note(const Token& token, Millis now);
    // Records the noted uses in one write that gives up at once when another writer holds
    // the registry (or it cannot be written): they are then kept for the next call.
    // Returns how many tokens were stamped.
    std::size_t record(Session& session);
    // How many uses wait to be recorded.
    std::size_t pending() const;

  private:
    // At most this many tokens wait; uses of others are dropped until a record().
    static constexpr std::size_t k_max_pending = 100'000;
    struct Use {
        Bytes access_digest;
        Millis at = 0;
    };
    mutable std::mutex m_mutex;
    std::map<std::int64_t, Use> m_uses;
};

// --- serve ----------------------------------------------------------------------

// The registry's tokens by status at `now`, and how many active ones have a refresh token
// that expires within `within` of `now`: Store::token_counts, in a read transaction (every
// token, counted by the database; on PostgreSQL for a verifier too).
TokenCounts count_tokens(Session& session, Millis now, Millis within);

// Whether the registry answers and the key file on disk, read again now, opens its
// secrets (serve's health check). Never throws.
bool registry_healthy(Session& session);

// Audit records (administrators only). `since` is RFC 3339 or a duration back from now.
struct AuditRequest {
    std::optional<std::string> user;    // the acting user
    std::optional<std::string> subject; // the user or application acted on
    std::optional<std::string> since;
    std::optional<std::string> action;
};
// Every action an audit record can name (the command_path of each audited command), in
// alphabetical order.
std::span<const std::string> audit_actions();
void list_audit(Session& session, const AuditRequest& request, const ListingSink<AuditEntry>& sink);

// --- applications ---------------------------------------------------------------

// Central's applications table: every application for administrators, those the acting
// user holds tokens of (only their tokens counted) for anyone else; removed ones too when
// `all`.
void list_apps(Session& session, bool all, const ListingSink<AppRow>& sink);

// What `app remove` will do, shown before the confirmation: the application and its
// active tokens.
struct AppRemoval {
    App app;
    std::vector<TokenRow> tokens;
};
AppRemoval plan_app_removal(Session& session, const std::string& name);
// Removes the application and revokes its active tokens in one transaction (they stay in
// history); returns the IDs revoked. Its name is free again afterwards.
std::vector<std::string> remove_app(Session& session, const AppRemoval& plan);

// One application as `app list` shows it: any for administrators, one they hold a token of
// for anyone else (Error(permission) otherwise, audited); Error(not_found) when there is no
// live application of that name.
AppRow show_app(Session& session, const std::string& name);

// The client secret of application `name` and a newline, for deliver() after the commit
// (delivery.format is not used): for administrators, its creator and users who hold a token
// of it (Error(permission) otherwise, audited); Error(not_found) for no live application of
// that name. A download: recorded in the audit log, in its transaction, under the session's
// command (the front end opens the session as "download"), never with the secret. An
// existing output file is refused before anything is recorded.
TokenFile app_secret(Session& session, const std::string& name, const Delivery& delivery);

// What `app rotate-secret` will rotate, shown before the confirmation: the live application
// `name`, which the acting user may rotate (Error(permission) otherwise, audited;
// Error(not_found) for none).
App plan_app_secret_rotation(Session& session, const std::string& name);
// Gives application `name` a new client secret (administrators and its creator), in one
// transaction in which the old one stops working; audited. Returns the application. The
// new secret is read with app_secret().
App rotate_app_secret(Session& session, const std::string& name);

// --- administration -------------------------------------------------------------

// What `rekey` will re-seal, shown before the confirmation (administrators only).
std::int64_t plan_rekey(Session& session);
// Generates a new key, re-seals every stored secret under it in one transaction and puts
// the new key file in place of the old one, crash-safe at every step (keyfile.h).
// Returns the number of tokens re-sealed.
std::int64_t rekey(Session& session);

// Upgrades the registry's schema to this tokenctl's, for an administrator (on PostgreSQL,
// the schema's owner: the server refuses anyone else's DDL). Returns the schema version
// it had and the one it has now.
std::pair<int, int> migrate_registry(const Paths& paths, const std::optional<std::string>& claimed);

// Writes a consistent copy of the live SQLite registry to `dest` and its key file to
// DEST.key, both 0600 and both complete before either is linked in; the copy is opened and
// its key checked first. Error(usage) on PostgreSQL; Error(conflict) for an existing
// `dest` or DEST.key without `force`.
void backup_registry(Session& session, const std::filesystem::path& dest, bool force);

// One line of `tokenctl check`.
struct CheckLine {
    std::string name;
    std::string problem; // empty: ok (unless skipped)
    std::string hint;
    std::string skipped; // not empty: the check was not run, and why (never "ok")
};
// The health checks of the registry at `paths` for `acting_name`: every check for an
// administrator; for anyone else those about their own access, the others reported as
// skipped, as are those the server keeps from an administrator who is not a PostgreSQL
// registry's owner. Never throws for what it finds: a registry that cannot be opened is a
// problem line. Ends on any file, however damaged.
std::vector<CheckLine> check_registry(const Paths& paths,
                                      const std::optional<std::string>& claimed);

// --- shell completion -----------------------------------------------------------

// The names `tokenctl __complete` offers.
enum class NameSet {
    own_tokens,       // the acting user's active tokens (download, refresh)
    revocable_tokens, // active tokens the acting user may revoke
    users,            // user names (administrators only)
    non_admin_users,  // users of role `user` (administrators only: add-app --for)
    apps,             // applications: every one for administrators, else those of own tokens
};
// The names of `set` that begin with `prefix`, as the database at `paths` shows them to
// `acting_name`, streamed to `fn` in order: at most `limit` (at least 2); when more match,
// the first limit - 1 and the last, so that their common prefix is the common prefix of
// every match. Writes and audits nothing: an unknown acting user gets no names, and names
// the acting user may not see are left out, not refused.
void complete_names(const Paths& paths, const std::optional<std::string>& claimed, NameSet set,
                    const std::string& prefix, std::size_t limit,
                    const std::function<void(const std::string&)>& fn);

// --- listings -------------------------------------------------------------------

std::span<const Column<TokenRow>> token_columns();
// With `registry`, the registry's ID too (whoami on PostgreSQL, whose key file it names).
std::span<const Column<UserRow>> user_columns(bool registry = false);
std::span<const Column<AuditEntry>> audit_columns();
// `app list`'s columns; with `all`, a last one: removed_at.
std::span<const Column<AppRow>> app_columns(bool all);

} // namespace tokenctl
