#include "client_secret.h"

#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/secret.h>
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

// Whether the acting user holds a token of `app` (any, revoked and expired ones too: as app
// list counts its holders).
bool holds_token_of(Session& session, const App& app) {
    if (app.id == 0) {
        return false; // an application the server keeps from the login: none of its tokens
    }
    TokenFilter filter;
    filter.user_id = session.actor().id;
    filter.app_id = app.id;
    filter.include_revoked = true;
    bool holds = false;
    session.store().for_each_token(filter, [&](const TokenRow&) { holds = true; });
    return holds;
}

// The live application `name` whose client secret the acting user may read (refusals
// audited).
App readable_app(Session& session, const std::string& name) {
    App app = require_live_app(session.store(), name);
    session.enforce(
        policy::may_read_client_secret(session.actor(), app, holds_token_of(session, app)),
        app.name);
    return app;
}

// The live application `name` whose client secret the acting user may rotate.
App rotatable_app(Session& session, const std::string& name) {
    App app = require_live_app(session.store(), name);
    session.enforce(policy::may_rotate_client_secret(session.actor(), app), app.name);
    return app;
}

} // namespace

ClientSecret make_client_secret(const App& app, const Key& key, Millis now, std::string& plain) {
    plain = generate_secret(SecretKind::client);
    return ClientSecret{app.id, app.client_id, sha256(plain),
                        seal(key, plain, sealing_context(app.client_id, SecretKind::client)), now};
}

std::int64_t give_missing_client_secrets(Store& store, const Key& key) {
    auto missing = store.apps_without_client_secret();
    Millis now = now_ms();
    for (const ClientSecret& m : missing) {
        App app;
        app.id = m.app_id;
        app.client_id = m.client_id;
        std::string plain;
        ClientSecret secret = make_client_secret(app, key, now, plain);
        wipe(plain);
        store.insert_client_secret(secret);
    }
    return static_cast<std::int64_t>(missing.size());
}

AppRow show_app(Session& session, const std::string& name) {
    std::optional<AppRow> shown;
    session.read([&] {
        const User& actor = session.actor();
        App app = require_live_app(session.store(), name);
        session.enforce(policy::may_see_app(actor, app, holds_token_of(session, app)), app.name);
        std::optional<std::int64_t> holder;
        if (!actor.is_admin()) {
            holder = actor.id;
        }
        session.store().for_each_app(false, holder, now_ms(), [&](const AppRow& row) {
            if (row.app.id == app.id) {
                shown = row;
            }
        });
    });
    if (!shown) {
        throw Error(Status::not_found, fmt::format("no application named {}", printable(name)),
                    "`tokenctl app list` shows the applications");
    }
    return *shown;
}

TokenFile app_secret(Session& session, const std::string& name, const Delivery& delivery) {
    // Refused early, with the facts as they are now; decided again under the lock below.
    readable_app(session, name);
    if (delivery.output) {
        check_output_file(*delivery.output, delivery.force, registry_files(session.paths()));
    }
    const Key& key = session.key(); // read before the write lock, never while holding it
    std::string text;
    std::string app_name;
    try {
        session.write([&] {
            App app = readable_app(session, name);
            app_name = app.name;
            auto secret = session.store().find_client_secret(app.id);
            if (!secret) {
                throw Error(
                    Status::failure,
                    fmt::format("application {} has no client secret yet", printable(app.name)),
                    "the registry's owner gives every application one with `tokenctl "
                    "migrate` (and the key file)");
            }
            std::string plain = open_sealed(key, secret->sealed,
                                            sealing_context(app.client_id, SecretKind::client));
            text = plain + "\n";
            wipe(plain);
            session.audit_ok(app.name, delivery.output ? "client secret, to a file"
                                                       : "client secret, to standard output");
        });
    } catch (...) {
        wipe(text);
        throw;
    }
    // Nothing but the record of the download changed: it may simply be run again.
    return TokenFile(std::move(text),
                     fmt::format("the download of the client secret of application {} was "
                                 "recorded; get it with `tokenctl app secret {}`",
                                 printable(app_name), app_name),
                     registry_files(session.paths()));
}

App plan_app_secret_rotation(Session& session, const std::string& name) {
    App app;
    session.read([&] { app = rotatable_app(session, name); });
    return app;
}

App rotate_app_secret(Session& session, const std::string& name) {
    // Refused early, with the facts as they are now; decided again under the lock below.
    rotatable_app(session, name);
    const Key& key = session.key(); // read before the write lock, never while holding it
    App rotated;
    try {
        session.write([&] {
            rotated = rotatable_app(session, name);
            auto& store = session.store();
            std::string plain;
            ClientSecret secret = make_client_secret(rotated, key, now_ms(), plain);
            wipe(plain);
            if (store.find_client_secret(rotated.id)) {
                store.replace_client_secret(secret);
            } else {
                store.insert_client_secret(secret);
            }
            session.audit_ok(rotated.name, "client secret rotated");
        });
    } catch (const UnknownOutcome& e) {
        throw UnknownOutcome(
            fmt::format("{}; the client secret of application {} may have been rotated", e.what(),
                        printable(name)),
            fmt::format("get its current secret with `tokenctl app secret {}`", name));
    }
    return rotated;
}

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
