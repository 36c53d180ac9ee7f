#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

namespace tokenctl {

namespace {

// Every action an audit record can name: the commands that open a session, and migrate.
// refresh-reuse: serve's detection of a refresh token presented again after its rotation.
constexpr std::array<std::string_view, 21> k_actions{
    "add-app",     "app list", "app remove", "audit",       "backup",        "check",  "download",
    "init",        "list",     "migrate",    "refresh",     "refresh-reuse", "rekey",  "revoke",
    "system-list", "user add", "user list",  "user remove", "user set-role", "verify", "whoami"};

} // namespace

std::span<const std::string_view> audit_actions() {
    return k_actions;
}

void list_audit(Session& session, const AuditRequest& request,
                const ListingSink<AuditEntry>& sink) {
    session.enforce(policy::may_administer(session.actor(), "read the audit log"));
    AuditFilter filter;
    if (request.user) {
        validate_user_name(*request.user);
        filter.actor = request.user;
    }
    if (request.subject) {
        validate_app_name_to_find(*request.subject); // user names are application names too
        filter.subject = request.subject;
    }
    if (request.action) {
        if (std::find(k_actions.begin(), k_actions.end(), *request.action) == k_actions.end()) {
            throw Error(Status::usage, fmt::format("unknown action {}", printable(*request.action)),
                        fmt::format("the actions are: {}", fmt::join(k_actions, ", ")));
        }
        filter.action = request.action;
    }
    if (request.since) {
        try {
            filter.since = now_ms() - parse_duration(*request.since, "--since");
        } catch (const Error&) {
            filter.since = parse_rfc3339(*request.since);
        }
    }
    session.read([&] {
        session.enforce(policy::may_administer(session.actor(), "read the audit log"));
        sink([&](const auto& emit) { session.store().for_each_audit(filter, emit); });
    });
}

} // namespace tokenctl
