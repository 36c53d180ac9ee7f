#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

namespace tokenctl {

namespace {

constexpr std::string_view k_manage_users = "manage users";

User require_user(Store& store, const std::string& name) {
    validate_user_name(name);
    auto user = store.find_user(name, false);
    if (!user) {
        throw Error(Status::not_found, fmt::format("no user named {}", name),
                    "`tokenctl user list` shows the users");
    }
    return *user;
}

// Administrators left if `user` stopped being one.
std::int64_t admins_without(Store& store, const User& user) {
    return store.count_admins() - (user.is_admin() ? 1 : 0);
}

} // namespace

User add_user(Session& session, const std::string& name, Role role) {
    session.enforce(policy::may_administer(session.actor(), k_manage_users), name);
    validate_user_name(name);
    auto& store = session.store();
    User added{0, name, role, 0, std::nullopt};
    session.write([&] {
        // Decided again under the lock: the actor may have been demoted meanwhile.
        session.enforce(policy::may_administer(session.actor(), k_manage_users), name);
        Millis now = now_ms();
        if (auto existing = store.find_user(name, true)) {
            if (!existing->removed_at) {
                throw Error(Status::conflict,
                            fmt::format("user {} already exists", existing->name));
            }
            store.reactivate_user(existing->id, role, now);
            added.id = existing->id;
            added.name = existing->name;
        } else {
            added.id = store.insert_user(name, role, now);
        }
        added.created_at = now;
        // On PostgreSQL: a login of the server, granted what its role needs there.
        store.grant_login(added.name, role);
        session.audit_ok(added.name, fmt::format("role {}", role_name(role)));
    });
    return added;
}

User set_user_role(Session& session, const std::string& name, Role role) {
    session.enforce(policy::may_administer(session.actor(), k_manage_users), name);
    auto& store = session.store();
    User changed;
    session.write([&] {
        session.enforce(policy::may_administer(session.actor(), k_manage_users), name);
        User user = require_user(store, name);
        changed = user;
        changed.role = role;
        if (user.role == role) {
            return;
        }
        if (role != Role::admin) {
            session.enforce(policy::may_change_admins(admins_without(store, user)), name);
        }
        store.set_role(user.id, role);
        // Recorded before the login's grants change: an administrator who steps down may
        // no longer append to the audit log once they have (PostgreSQL).
        session.audit_ok(user.name,
                         fmt::format("role {} -> {}", role_name(user.role), role_name(role)));
        store.grant_login(user.name, role);
    });
    return changed;
}

void list_users(Session& session, const ListingSink<UserRow>& sink) {
    session.read([&] {
        session.enforce(policy::may_administer(session.actor(), k_manage_users));
        Millis now = now_ms();
        sink([&](const auto& emit) { session.store().for_each_user(now, emit); });
    });
}

UserRow acting_user_row(Session& session) {
    UserRow row;
    session.read([&] {
        row = UserRow{session.actor(),
                      session.store().count_active_tokens(session.actor().id, now_ms()),
                      session.store().registry_id().value_or("")};
    });
    return row;
}

UserRemoval plan_user_removal(Session& session, const std::string& name) {
    session.enforce(policy::may_administer(session.actor(), k_manage_users), name);
    auto& store = session.store();
    UserRemoval plan;
    session.read([&] {
        plan.user = require_user(store, name);
        session.enforce(policy::may_change_admins(admins_without(store, plan.user)), name);
        plan.active_tokens = store.count_active_tokens(plan.user.id, now_ms());
    });
    return plan;
}

std::vector<std::string> remove_user(Session& session, const UserRemoval& plan) {
    auto& store = session.store();
    std::vector<std::string> revoked;
    session.write([&] {
        session.enforce(policy::may_administer(session.actor(), k_manage_users), plan.user.name);
        User user = require_user(store, plan.user.name);
        session.enforce(policy::may_change_admins(admins_without(store, user)), user.name);
        Millis now = now_ms();
        TokenFilter filter;
        filter.user_id = user.id;
        std::vector<std::int64_t> ids;
        store.for_each_token(filter, [&](const TokenRow& row) {
            ids.push_back(row.id);
            revoked.push_back(row.token_id);
        });
        for (auto id : ids) {
            store.revoke_token(id, session.actor().id, now);
        }
        store.mark_user_removed(user.id, now);
        session.audit_ok(user.name, fmt::format("removed; {} tokens revoked", ids.size()));
        store.grant_login(user.name, std::nullopt);
    });
    return revoked;
}

} // namespace tokenctl
