#pragma once

#include <tokenctl/command_table.h>
#include <tokenctl/error.h>
#include <tokenctl/model.h>

#include <string>
#include <string_view>

namespace tokenctl::policy {

// The answer to "may the acting user do this": allowed, or the status and the reason
// a refusal is reported with.
struct Decision {
    Status status = Status::ok;
    std::string reason;

    bool allowed() const { return status == Status::ok; }
    static Decision allow() { return {}; }
};

// User management, the system-wide list and the audit log: administrators only.
Decision may_administer(const User& actor, std::string_view what);
// serve's rotation of tokens for the clients that present their refresh tokens (POST
// /oauth2/token): a verifier or an administrator, as serve runs.
Decision may_refresh_for_clients(const User& actor);
// Whether `actor` may run `command` at all: a verifier runs only the commands marked
// for_verifiers (verify, serve, whoami and check), a user only those marked for_users
// (all but serve).
Decision may_run(const User& actor, CommandId command);

// add-app: a token for the actor itself, or (`for_user` set) for a non-admin user,
// which only an administrator may ask for.
Decision may_create_token(const User& actor, const User* for_user);

// add-app: a non-admin's application name is their own user name (matched
// case-insensitively); administrators may choose any name.
Decision may_use_application_name(const User& actor, std::string_view app_name);

// download and refresh: only the token's own user, administrators included.
Decision may_read_secret(const User& actor, const TokenRow& token);

// revoke: administrators revoke any token; a user only their own.
Decision may_revoke(const User& actor, const TokenRow& token);

// revoke --user NAME: a non-admin may name only themselves.
Decision may_revoke_for_user(const User& actor, const User& subject);

// app remove: administrators any application, a non-admin only their own (named after
// them).
Decision may_remove_app(const User& actor, const App& app);

// app remove of an application that holds `others_active` active tokens of users other
// than `actor`: administrators may; a non-admin may not, since removing it revokes them.
Decision may_remove_app_holding(const User& actor, const App& app, std::size_t others_active);

// app show: administrators see any application; anyone else those they hold a token of
// (`holds_token`), as app list shows them.
Decision may_see_app(const User& actor, const App& app, bool holds_token);

// app secret: an application's client secret is read by administrators, by its creator and
// by a user who holds a token of it (`holds_token`); never by a verifier.
Decision may_read_client_secret(const User& actor, const App& app, bool holds_token);

// app rotate-secret: administrators and the application's creator; never a verifier.
Decision may_rotate_client_secret(const User& actor, const App& app);

// set-role / remove: refuses to leave the database without an administrator.
// `admins_after` is the number of active administrators the change would leave.
Decision may_change_admins(std::int64_t admins_after);

} // namespace tokenctl::policy
