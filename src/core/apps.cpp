#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

namespace tokenctl {

namespace {

App require_live_app(Store& store, const std::string& name) {
    validate_app_name_to_find(name);
    auto app = store.find_app(name);
    if (!app) {
        throw Error(Status::not_found, fmt::format("no application named {}", printable(name)),
                    "`tokenctl app list` shows the applications");
    }
    return *app;
}

// The application's tokens that are active at `now`.
std::vector<TokenRow> active_tokens_of(Store& store, const App& app, Millis now) {
    TokenFilter filter;
    filter.app_id = app.id;
    filter.active_at = now;
    std::vector<TokenRow> tokens;
    store.for_each_token(filter, [&](const TokenRow& row) { tokens.push_back(row); });
    return tokens;
}

// A non-admin removes their application only while it holds no other user's active token:
// removing it would revoke those. Asked of the store, which counts them whatever the actor
// may read.
void enforce_removable(Session& session, const App& app, Millis now) {
    if (session.actor().is_admin()) {
        return;
    }
    auto others = session.store().count_others_active_tokens(app.id, session.actor().id, now);
    session.enforce(
        policy::may_remove_app_holding(session.actor(), app, static_cast<std::size_t>(others)),
        app.name);
}

} // namespace

void list_apps(Session& session, bool all, const ListingSink<AppRow>& sink) {
    session.read([&] {
        const User& actor = session.actor();
        std::optional<std::int64_t> holder;
        if (!actor.is_admin()) {
            holder = actor.id;
        }
        Millis now = now_ms();
        sink([&](const auto& emit) { session.store().for_each_app(all, holder, now, emit); });
    });
}

AppRemoval plan_app_removal(Session& session, const std::string& name) {
    AppRemoval plan;
    session.read([&] {
        plan.app = require_live_app(session.store(), name);
        session.enforce(policy::may_remove_app(session.actor(), plan.app), plan.app.name);
        Millis now = now_ms();
        enforce_removable(session, plan.app, now);
        plan.tokens = active_tokens_of(session.store(), plan.app, now);
    });
    return plan;
}

std::vector<std::string> remove_app(Session& session, const AppRemoval& plan) {
    auto& store = session.store();
    std::vector<std::string> revoked;
    session.write([&] {
        App app = require_live_app(store, plan.app.name);
        if (app.id != plan.app.id) {
            throw Error(Status::conflict,
                        fmt::format("application {} was replaced meanwhile; nothing was changed",
                                    printable(app.name)),
                        "run the command again to see what it would remove now");
        }
        session.enforce(policy::may_remove_app(session.actor(), app), app.name);
        Millis now = now_ms();
        enforce_removable(session, app, now);
        for (const TokenRow& token : active_tokens_of(store, app, now)) {
            store.revoke_token(token.id, session.actor().id, now);
            revoked.push_back(token.token_id);
        }
        store.mark_app_removed(app.id, now);
        session.audit_ok(app.name, fmt::format("removed; {} token{} revoked", revoked.size(),
                                               revoked.size() == 1 ? "" : "s"));
    });
    return revoked;
}

} // namespace tokenctl
