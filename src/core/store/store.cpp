#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/store.h>
#include <tokenctl/store/postgres.h>
#include <tokenctl/store/sqlite.h>
#include <tokenctl/validate.h>

#include "store/postgres/uri.h"
#include "store/sqlite/files.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

namespace tokenctl {

namespace {

using FirstWrite = std::function<void(Store&)>;

std::unique_ptr<Store> open_sqlite(const Location& location, const OpenOptions& options) {
    return open_sqlite_store(location.path, SqliteOptions{options.bulk_cache_bytes});
}

std::unique_ptr<Store> create_sqlite(const Location& location, const FirstWrite& first_write) {
    auto store = create_sqlite_store(location.path);
    store->write([&] { first_write(*store); });
    return store;
}

std::vector<std::filesystem::path> sqlite_files(const Location& location) {
    return {location.path, with_suffix(location.path, "-wal"), with_suffix(location.path, "-shm")};
}

std::filesystem::path sqlite_key_file(const Location& location) {
    return with_suffix(location.path, ".key");
}

std::string sqlite_argument(const Location& location) {
    return std::filesystem::absolute(location.path).string();
}

void prepare_sqlite_place(const Location& location) {
    if (path_exists(location.path)) {
        throw Error(Status::conflict, fmt::format("a database already exists at {}", location.text),
                    "tokenctl init never overwrites; name another place with --db");
    }
    make_private_dirs(location.path.parent_path());
}

std::string check_sqlite_files(const Location& location, std::string& hint) {
    return sqlite::check_files(location.path, hint);
}

std::unique_ptr<Store> backup_sqlite(const Location& location, const std::filesystem::path& copy,
                                     const std::filesystem::path& shown) {
    sqlite_backup(location.path, copy, shown);
    return open_sqlite_store(copy);
}

bool any_text(std::string_view) {
    return true;
}

void parse_path(Location& location) {
    location.path = location.text;
}

std::unique_ptr<Store> open_postgres(const Location& location, const OpenOptions& options) {
    return open_postgres_store(location, options.migrate);
}

// One row per backend: what tokenctl asks of its locations, beside the Store they open. A
// function left out (null) has nothing to do there: no passwords to hide, no warning, no
// local files, no default key file (the registry's ID names it), no place to prepare, no
// files check, no backup of tokenctl's own (no_backup says why); argument() is the text.
struct Backend {
    Location::Kind kind;
    bool (*claims)(std::string_view text); // whether --db's text names one of its registries
    void (*parse)(Location& location);     // fills in the rest from location.text
    std::unique_ptr<Store> (*open)(const Location&, const OpenOptions&);
    std::unique_ptr<Store> (*create)(const Location&, const FirstWrite&);
    int (*schema_version)();
    bool authenticates; // the acting user is the server's login
    std::string_view restore_hint;
    std::string (*hide_passwords)(std::string_view text, const Location&) = nullptr;
    std::string (*warning)(const Location&) = nullptr;
    std::vector<std::filesystem::path> (*files)(const Location&) = nullptr;
    std::filesystem::path (*default_key_file)(const Location&) = nullptr;
    std::string (*argument)(const Location&) = nullptr;
    void (*prepare_place)(const Location&) = nullptr;
    std::string (*check_files)(const Location&, std::string& hint) = nullptr;
    // Copies and opens the copy.
    std::unique_ptr<Store> (*backup)(const Location&, const std::filesystem::path&,
                                     const std::filesystem::path&) = nullptr;
    std::string_view no_backup = {};
    std::string_view no_backup_hint = {};
};

// The first row that claims a location's text is its backend.
constexpr std::array k_backends{
    Backend{
        .kind = Location::Kind::postgres,
        .claims = &postgres::is_uri,
        .parse = &postgres::parse_uri,
        .open = &open_postgres,
        .create = &create_postgres_store,
        .schema_version = &postgres_schema_version,
        .authenticates = true,
        .restore_hint = "restore the registry's last backup (pg_dump)",
        .hide_passwords = &postgres::hide_uri_passwords,
        .warning = &postgres::uri_warning,
        .no_backup = "backup copies SQLite registries; this one is on PostgreSQL",
        .no_backup_hint =
            "back it up with pg_dump --schema=tokenctl, and keep a copy of the key file",
    },
    Backend{
        .kind = Location::Kind::sqlite,
        .claims = &any_text,
        .parse = &parse_path,
        .open = &open_sqlite,
        .create = &create_sqlite,
        .schema_version = &sqlite_schema_version,
        .authenticates = false,
        .restore_hint = "restore the last backup (tokenctl backup) or ask SQLite's .recover",
        .files = &sqlite_files,
        .default_key_file = &sqlite_key_file,
        .argument = &sqlite_argument,
        .prepare_place = &prepare_sqlite_place,
        .check_files = &check_sqlite_files,
        .backup = &backup_sqlite,
    },
};

const Backend& backend_of(const Location& location) {
    for (const Backend& backend : k_backends) {
        if (backend.kind == location.kind) {
            return backend;
        }
    }
    throw Error(Status::failure, "no storage backend for this location");
}

} // namespace

std::string hide_passwords(std::string_view text, const Location& location) {
    const Backend& backend = backend_of(location);
    return backend.hide_passwords ? backend.hide_passwords(text, location) : std::string(text);
}

std::int64_t Store::count_others_active_tokens(std::int64_t app_id, std::int64_t user_id,
                                               Millis now) {
    TokenFilter filter;
    filter.app_id = app_id;
    filter.active_at = now;
    std::int64_t others = 0;
    for_each_token(filter, [&](const TokenRow& row) { others += row.user_id != user_id ? 1 : 0; });
    return others;
}

namespace {

std::int64_t row_id(const SealedSecrets& t) {
    return t.id;
}
std::int64_t row_id(const ClientSecret& c) {
    return c.app_id;
}

// Walks `batch(after)` from the lowest row id, always forward: a damaged table whose row ids
// do not keep rising is Error(failure), never read again.
template <class Row, class Batch, class Fn>
void walk_forward(std::string_view table, Batch&& batch, Fn&& fn) {
    std::int64_t after = std::numeric_limits<std::int64_t>::min();
    for (auto rows = batch(after); !rows.empty(); rows = batch(after)) {
        for (const Row& row : rows) {
            std::int64_t id = row_id(row);
            if (id <= after) {
                throw Error(Status::failure,
                            fmt::format("the {} table is damaged: row {} comes after row {}", table,
                                        id, after),
                            "restore the last backup (tokenctl backup) or ask SQLite's .recover");
            }
            after = id;
            fn(row);
        }
    }
}

} // namespace

void Store::for_each_sealed(const std::function<void(const SealedSecrets&)>& fn) {
    constexpr std::size_t k_batch = 1000;
    walk_forward<SealedSecrets>(
        "token", [&](std::int64_t after) { return sealed_batch(after, k_batch); }, fn);
}

void Store::for_each_sealed_client(const std::function<void(const ClientSecret&)>& fn) {
    constexpr std::size_t k_batch = 1000;
    walk_forward<ClientSecret>(
        "client secret", [&](std::int64_t after) { return sealed_client_batch(after, k_batch); },
        fn);
}

void Store::insert_tokens(const std::vector<Token>& tokens, std::int64_t revoked_by) {
    for (const Token& token : tokens) {
        auto id = insert_token(token);
        if (!id) {
            throw Error(Status::conflict, fmt::format("token ID {} is taken", token.token_id));
        }
        if (token.revoked_at) {
            revoke_token(*id, revoked_by, *token.revoked_at);
        }
    }
}

void Store::append_audit(const AuditEntry& entry) {
    AuditEntry clean = entry;
    for (std::string* field :
         {&clean.actor, &clean.action, &clean.subject, &clean.outcome, &clean.detail}) {
        *field = redact_secret_shapes(*field);
    }
    store_audit(clean);
}

ClientRefreshGrant Store::claim_client_refresh(const ClientRefreshClaim& claim) {
    using Outcome = ClientRefreshGrant::Outcome;
    auto client = client_secret_by_client_id(claim.client_id);
    if (!client || !equal_constant_time(client->digest, sha256(claim.client_secret))) {
        return {Outcome::invalid_client, std::nullopt};
    }
    Bytes refresh_digest = sha256(claim.refresh_token);
    bool previous = false;
    auto token = find_token_by_refresh_digest(refresh_digest, false);
    if (!token) {
        token = find_token_by_refresh_digest(refresh_digest, true);
        previous = token.has_value();
    }
    if (!token) {
        return {Outcome::invalid_grant, std::nullopt};
    }
    if (token->app_id != client->app_id) {
        return {Outcome::invalid_client, std::nullopt};
    }
    if (token->status_at(claim.now) != TokenStatus::active) {
        return {Outcome::invalid_grant, std::nullopt};
    }
    if (!previous) {
        return {Outcome::rotate, std::move(token)};
    }
    // The previous refresh token was rotated away when the current pair was issued.
    Millis since = claim.now - token->issued_at;
    if (since <= claim.grace) {
        append_audit(AuditEntry{0, claim.now, token->user, "refresh", token->token_id, "ok",
                                "by its client, again within the reuse grace"});
        return {Outcome::resend, std::move(token)};
    }
    revoke_token(token->id, claim.actor_id, claim.now);
    append_audit(AuditEntry{0, claim.now, claim.actor, "refresh-reuse", token->token_id, "ok",
                            fmt::format("user {}: a refresh token rotated away {} s ago was "
                                        "presented again; token revoked",
                                        token->user, since / 1000)});
    return {Outcome::reused, std::move(token)};
}

void Store::rotate_for_client(const ClientRefreshClaim& claim, const Token& rotated) {
    auto again = claim_client_refresh(claim);
    if (again.outcome != ClientRefreshGrant::Outcome::rotate || again.token->id != rotated.id) {
        throw Error(Status::failure, "the client's refresh token changed during its refresh");
    }
    replace_secrets(rotated);
    stamp_last_used(rotated.id, rotated.issued_at);
    append_audit(AuditEntry{0, rotated.issued_at, rotated.user, "refresh", rotated.token_id, "ok",
                            "both secrets rotated, by its client"});
}

std::optional<ClientSecret> Store::client_secret_by_client_id(std::string_view) {
    throw Error(Status::failure, "this registry looks up no client secrets by client ID");
}

std::optional<Token> Store::find_token_by_refresh_digest(const Bytes&, bool) {
    throw Error(Status::failure, "this registry looks up no tokens by refresh token");
}

std::vector<std::filesystem::path> Location::files() const {
    const Backend& backend = backend_of(*this);
    return backend.files ? backend.files(*this) : std::vector<std::filesystem::path>{};
}

std::filesystem::path Location::default_key_file() const {
    const Backend& backend = backend_of(*this);
    return backend.default_key_file ? backend.default_key_file(*this) : std::filesystem::path();
}

std::string Location::argument() const {
    const Backend& backend = backend_of(*this);
    return backend.argument ? backend.argument(*this) : text;
}

bool Location::authenticates() const {
    return backend_of(*this).authenticates;
}

int Location::schema_version() const {
    return backend_of(*this).schema_version();
}

std::string Location::warning() const {
    const Backend& backend = backend_of(*this);
    return backend.warning ? backend.warning(*this) : std::string();
}

std::string Location::restore_hint() const {
    return std::string(backend_of(*this).restore_hint);
}

Location parse_location(std::string_view text) {
    if (text.empty()) {
        throw Error(Status::usage, "the database path is empty");
    }
    Location location;
    location.text = std::string(text);
    for (const Backend& backend : k_backends) {
        if (backend.claims(text)) {
            location.kind = backend.kind;
            backend.parse(location);
            break;
        }
    }
    return location;
}

std::unique_ptr<Store> open_store(const Location& location, const OpenOptions& options) {
    return backend_of(location).open(location, options);
}

std::unique_ptr<Store> create_store(const Location& location, const FirstWrite& first_write) {
    return backend_of(location).create(location, first_write);
}

void prepare_registry_place(const Location& location) {
    if (const Backend& backend = backend_of(location); backend.prepare_place) {
        backend.prepare_place(location);
    }
}

std::string check_registry_files(const Location& location, std::string& hint) {
    const Backend& backend = backend_of(location);
    return backend.check_files ? backend.check_files(location, hint) : std::string();
}

void require_backup(const Location& location) {
    const Backend& backend = backend_of(location);
    if (backend.backup == nullptr) {
        throw Error(Status::usage, std::string(backend.no_backup),
                    std::string(backend.no_backup_hint));
    }
}

std::unique_ptr<Store> backup_store(const Location& location, const std::filesystem::path& copy,
                                    const std::filesystem::path& shown) {
    require_backup(location);
    return backend_of(location).backup(location, copy, shown);
}

} // namespace tokenctl
