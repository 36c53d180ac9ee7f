#include <tokenctl/command_table.h>
#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tokenctl {

namespace {

// Actions that no command names: serve's detection of a refresh token presented again
// after its rotation.
constexpr std::array<std::string_view, 1> k_other_actions{"refresh-reuse"};

} // namespace

std::span<const std::string> audit_actions() {
    static const std::vector<std::string> actions = [] {
        std::vector<std::string> paths;
        for (const CommandIdentity& command : k_command_table) {
            if (command.audited) {
                paths.push_back(command_path(command.id));
            }
        }
        paths.insert(paths.end(), k_other_actions.begin(), k_other_actions.end());
        std::sort(paths.begin(), paths.end());
        return paths;
    }();
    return actions;
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
        auto actions = audit_actions();
        if (std::find(actions.begin(), actions.end(), *request.action) == actions.end()) {
            throw Error(Status::usage, fmt::format("unknown action {}", printable(*request.action)),
                        fmt::format("the actions are: {}", fmt::join(actions, ", ")));
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
