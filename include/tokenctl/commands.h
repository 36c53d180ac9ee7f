#pragma once

#include <tokenctl/format.h>
#include <tokenctl/model.h>
#include <tokenctl/session.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

// The commands of tokenctl as library calls: each validates its input, applies the
// policy, and reads or changes the store in one transaction. None of them prints.
namespace tokenctl {

// --- init -----------------------------------------------------------------------

// Creates the database, its key file and the first administrator. Error(conflict) when
// either file exists; on failure nothing is left behind.
void init_database(const Paths& paths, const std::string& admin_name);

// --- users ----------------------------------------------------------------------

void add_user(Session& session, const std::string& name, Role role);
void set_user_role(Session& session, const std::string& name, Role role);
// Active users with their active token counts (administrators only).
void list_users(Session& session, const std::function<void(const UserRow&)>& fn);
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

// Where a token file goes besides the return value: nowhere, or FILE (-o).
struct Delivery {
    SecretFormat format = SecretFormat::json;
    std::optional<std::filesystem::path> output;
    bool force = false;
};

struct AddAppRequest {
    std::optional<std::string> name;
    std::string redirect_uri;
    std::optional<std::string> for_user;
    std::string access_ttl = "2h";
    std::string refresh_ttl = "15d";
    std::optional<Delivery> delivery; // -o FILE
};

// Creates the application if needed and a token for it; returns the token's row.
TokenRow add_app(Session& session, const AddAppRequest& request);

struct ListRequest {
    bool system = false; // system-list: every user's tokens, administrators only
    std::optional<std::string> user;
    std::optional<std::string> app;
    bool all = false; // include revoked tokens
};
// What a listing reads, resolved and allowed once however often it is read.
struct TokenListing {
    TokenFilter filter;
    Millis now = 0;
};
// Checks the request (names, permissions) and resolves its filters.
TokenListing prepare_listing(Session& session, const ListRequest& request);
// Streams the listing's tokens, oldest first, each with its status as of listing.now.
void list_tokens(Session& session, const TokenListing& listing,
                 const std::function<void(const TokenRow&)>& fn);

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

// The token file (or one secret) of the acting user's token; written to the delivery's
// output when it has one. Error(permission) for another user's token, Error(conflict)
// for a revoked or expired one, Error(not_found) for an unknown ID.
std::string download_token(Session& session, const std::string& token_id, const Delivery& delivery);
// Rotates both secrets of the acting user's token and returns the new token file.
std::string refresh_token(Session& session, const std::string& token_id, const Delivery& delivery);

// The access token in `input` (what verify read from standard input): one line of at most
// 1 KiB, a trailing newline allowed, with the access prefix and a matching checksum.
// Error(usage) otherwise; no database is needed and the text is never echoed.
std::string parse_verify_input(std::string_view input);
// Looks up a well-formed access token by its digest: Error(not_found) when unknown,
// Error(conflict) when revoked or expired (its access or its refresh token).
TokenRow verify_access_token(Session& session, const std::string& access_token);

// Audit records (administrators only). `since` is RFC 3339 or a duration back from now.
struct AuditRequest {
    std::optional<std::string> user;
    std::optional<std::string> since;
    std::optional<std::string> action;
};
void list_audit(Session& session, const AuditRequest& request,
                const std::function<void(const AuditEntry&)>& fn);

// --- listings -------------------------------------------------------------------

std::span<const Column<TokenRow>> token_columns();
std::span<const Column<UserRow>> user_columns();
std::span<const Column<AuditEntry>> audit_columns();

} // namespace tokenctl
