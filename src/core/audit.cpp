#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

namespace tokenctl {

void list_audit(Session& session, const AuditRequest& request,
                const ListingSink<AuditEntry>& sink) {
    session.enforce(policy::may_administer(session.actor(), "read the audit log"));
    AuditFilter filter;
    if (request.user) {
        validate_user_name(*request.user);
        filter.actor = request.user;
    }
    if (request.action) {
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
