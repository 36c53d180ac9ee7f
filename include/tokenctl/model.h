#pragma once

#include <tokenctl/crypto.h>
#include <tokenctl/time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenctl {

// verifier: an API gateway's account, which may only verify tokens (and ask whoami and
// check); it holds no tokens.
enum class Role { admin, user, verifier };

// "admin", "user" or "verifier".
std::string_view role_name(Role role);
// Parses "admin", "user" or "verifier"; throws Error(usage) otherwise.
Role parse_role(std::string_view text);

struct User {
    std::int64_t id = 0;
    std::string name;
    Role role = Role::user;
    Millis created_at = 0;
    std::optional<Millis> removed_at; // removed users keep their history but cannot act

    bool is_admin() const { return role == Role::admin; }
};

// One line of `user list`.
struct UserRow {
    User user;
    std::int64_t active_tokens = 0;
    std::string registry; // whoami: the registry's ID, where it has one (PostgreSQL)
};

struct App {
    std::int64_t id = 0;
    std::string name;
    std::string redirect_uri;
    std::string client_id;
    Millis created_at = 0;
    std::int64_t created_by = 0;
    std::optional<Millis> removed_at; // removed applications stay in the tokens' history
};

// One line of `app list`.
struct AppRow {
    App app;
    std::string created_by; // the creator's user name
    std::int64_t active_tokens = 0;
};

enum class TokenStatus { active, expired, revoked };

// "active", "expired" or "revoked".
std::string_view status_name(TokenStatus status);

// What listings show of a token: never a secret.
struct TokenRow {
    std::int64_t id = 0; // row id: creation order
    std::string token_id;
    std::int64_t user_id = 0;
    std::string user;
    std::string application;
    std::string redirect_uri;
    Millis generated_at = 0;
    Millis access_expires_at = 0;
    Millis refresh_expires_at = 0;
    std::optional<Millis> revoked_at;
    std::string client_id;                    // the application's
    std::optional<Millis> last_used_at;       // verify, download, refresh; at most once a minute
    TokenStatus status = TokenStatus::active; // as of the command's start: see status_at()

    // revoked if revoked; else expired once the refresh token has expired; else active.
    TokenStatus status_at(Millis now) const;
};

// A whole stored token: the row plus what download and refresh need.
struct Token : TokenRow {
    std::int64_t app_id = 0;
    std::int64_t created_by = 0;
    Millis issued_at = 0; // issue time of the current access token
    Millis access_ttl = 0;
    Millis refresh_ttl = 0;
    Bytes access_digest;
    Bytes refresh_digest;
    Bytes access_sealed;
    Bytes refresh_sealed;
};

// One audit record. Never holds a secret.
struct AuditEntry {
    std::int64_t id = 0;
    Millis at = 0;
    std::string actor;
    std::string action;
    std::string subject; // token ID, user or application name; may be empty
    std::string outcome; // "ok" or "denied"
    std::string detail;
};

} // namespace tokenctl
