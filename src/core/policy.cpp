#include <tokenctl/policy.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <string>
#include <vector>

namespace tokenctl::policy {

namespace {

Decision deny(std::string reason) {
    return {Status::permission, std::move(reason)};
}

} // namespace

Decision may_administer(const User& actor, std::string_view what) {
    if (actor.is_admin()) {
        return Decision::allow();
    }
    return deny(fmt::format("only administrators can {}", what));
}

Decision may_run(const User& actor, CommandId command) {
    const CommandIdentity& identity = command_identity(command);
    if (actor.role == Role::user && !identity.for_users) {
        return deny(fmt::format("only verifiers and administrators can run {}, and {} is a user",
                                command_path(command), actor.name));
    }
    if (actor.role != Role::verifier || identity.for_verifiers) {
        return Decision::allow();
    }
    std::vector<std::string> allowed;
    for (const CommandIdentity& c : k_command_table) {
        if (c.for_verifiers) {
            allowed.push_back(command_path(c.id));
        }
    }
    std::string list; // "verify, whoami and check"
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        list += (i == 0 ? "" : i + 1 == allowed.size() ? " and " : ", ") + allowed[i];
    }
    return deny(fmt::format("{} is a verifier, which may only run {}", actor.name, list));
}

Decision may_refresh_for_clients(const User& actor) {
    if (actor.is_admin() || actor.role == Role::verifier) {
        return Decision::allow();
    }
    return deny(fmt::format(
        "{} is neither a verifier nor an administrator, as serve's user must be", actor.name));
}

Decision may_create_token(const User& actor, const User* for_user) {
    if (for_user == nullptr) {
        return Decision::allow();
    }
    if (!actor.is_admin()) {
        return deny("only administrators can create tokens for other users (--for)");
    }
    if (for_user->is_admin()) {
        return deny(fmt::format("--for takes a non-admin user, and {} is an administrator",
                                for_user->name));
    }
    if (for_user->role == Role::verifier) {
        return deny(fmt::format("--for takes a user who holds tokens, and {} is a verifier",
                                for_user->name));
    }
    return Decision::allow();
}

Decision may_use_application_name(const User& actor, std::string_view app_name) {
    if (actor.is_admin() || iequals(app_name, actor.name)) {
        return Decision::allow();
    }
    return deny(fmt::format("a non-admin user's application is named after the user: {} "
                            "cannot use another name",
                            actor.name));
}

Decision may_read_secret(const User& actor, const TokenRow& token) {
    if (token.user_id == actor.id) {
        return Decision::allow();
    }
    if (actor.is_admin()) {
        return deny(fmt::format("administrators cannot download another user's token "
                                "(token {} belongs to {})",
                                token.token_id, token.user));
    }
    return deny(fmt::format("token {} belongs to another user", token.token_id));
}

Decision may_revoke(const User& actor, const TokenRow& token) {
    if (actor.is_admin() || token.user_id == actor.id) {
        return Decision::allow();
    }
    return deny(fmt::format("token {} belongs to another user; only administrators can revoke "
                            "other users' tokens",
                            token.token_id));
}

Decision may_revoke_for_user(const User& actor, const User& subject) {
    if (actor.is_admin() || subject.id == actor.id) {
        return Decision::allow();
    }
    return deny("only administrators can revoke other users' tokens");
}

Decision may_remove_app(const User& actor, const App& app) {
    if (actor.is_admin() || iequals(app.name, actor.name)) {
        return Decision::allow();
    }
    return deny(fmt::format("a non-admin user can remove only their own application (named "
                            "{}), not {}",
                            actor.name, printable(app.name)));
}

Decision may_remove_app_holding(const User& actor, const App& app, std::size_t others_active) {
    if (actor.is_admin() || others_active == 0) {
        return Decision::allow();
    }
    return deny(fmt::format(
        "application {} holds {}; only an administrator can remove it", printable(app.name),
        others_active == 1 ? std::string("an active token of another user")
                           : fmt::format("{} active tokens of other users", others_active)));
}

Decision may_see_app(const User& actor, const App& app, bool holds_token) {
    if (actor.is_admin() || holds_token) {
        return Decision::allow();
    }
    return deny(fmt::format("application {} is not one of yours: a non-admin user sees the "
                            "applications they hold tokens of",
                            printable(app.name)));
}

Decision may_read_client_secret(const User& actor, const App& app, bool holds_token) {
    if (actor.role == Role::verifier) {
        return deny(fmt::format("{} is a verifier, which reads no client secret", actor.name));
    }
    if (actor.is_admin() || app.created_by == actor.id || holds_token) {
        return Decision::allow();
    }
    return deny(fmt::format("the client secret of application {} is read by administrators, "
                            "its creator and the users who hold its tokens",
                            printable(app.name)));
}

Decision may_rotate_client_secret(const User& actor, const App& app) {
    if (actor.role != Role::verifier && (actor.is_admin() || app.created_by == actor.id)) {
        return Decision::allow();
    }
    return deny(fmt::format("only administrators and its creator can rotate the client secret "
                            "of application {}",
                            printable(app.name)));
}

Decision may_change_admins(std::int64_t admins_after) {
    if (admins_after >= 1) {
        return Decision::allow();
    }
    return {Status::conflict, "that would leave the database without an administrator"};
}

} // namespace tokenctl::policy
