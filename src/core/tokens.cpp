#include "client_secret.h"

#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/secret.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <ostream>
#include <tuple>
#include <unordered_set>

namespace tokenctl {

namespace {

constexpr Millis k_minute = 60'000;
constexpr Millis k_day = 86'400'000;

// Lifetimes of a token: access 1m..30d, refresh from the access lifetime to 365d.
struct Lifetimes {
    Millis access = 0;
    Millis refresh = 0;
};

Lifetimes parse_lifetimes(const std::string& access_text, const std::string& refresh_text) {
    Lifetimes l{parse_duration(access_text, "--access-ttl"),
                parse_duration(refresh_text, "--refresh-ttl")};
    if (l.access < k_minute || l.access > 30 * k_day) {
        throw Error(Status::usage,
                    fmt::format("--access-ttl {} is out of range: it must be between 1m and 30d",
                                access_text));
    }
    if (l.refresh < l.access || l.refresh > 365 * k_day) {
        throw Error(Status::usage,
                    fmt::format("--refresh-ttl {} is out of range: it must be between the access "
                                "lifetime ({}) and 365d",
                                refresh_text, format_duration(l.access)));
    }
    return l;
}

// A fresh pair of secrets, issued at `now`, stored in `token` as digests and ciphertext.
// Returns the two plain secrets for the token file.
std::pair<std::string, std::string> issue_secrets(Token& token, const Key& key, Millis now) {
    std::string access = generate_secret(SecretKind::access);
    std::string refresh = generate_secret(SecretKind::refresh);
    token.issued_at = now;
    token.access_expires_at = now + token.access_ttl;
    token.refresh_expires_at = now + token.refresh_ttl;
    token.access_digest = sha256(access);
    token.refresh_digest = sha256(refresh);
    token.access_sealed = seal(key, access, sealing_context(token.token_id, SecretKind::access));
    token.refresh_sealed = seal(key, refresh, sealing_context(token.token_id, SecretKind::refresh));
    return {std::move(access), std::move(refresh)};
}

// The token file: Central's JSON layout, or one secret and a newline.
std::string render_token_file(const Token& token, const std::string& access,
                              const std::string& refresh, SecretFormat format, Millis now) {
    switch (format) {
    case SecretFormat::access_token:
        return access + "\n";
    case SecretFormat::refresh_token:
        return refresh + "\n";
    case SecretFormat::json:
        break;
    }
    nlohmann::json file = {
        {"access_token", access},
        {"appname", token.application},
        {"authenticated_userid", token.user},
        {"created_at", token.issued_at},
        {"credential_id", token.client_id},
        {"expires_in", std::max<Millis>(0, (token.access_expires_at - now) / 1000)},
        {"id", token.token_id},
        {"refresh_token", refresh},
        {"scope", "all"},
        {"token_type", "bearer"},
    };
    std::string text = file.dump(2) + "\n";
    // The object's own copies of the secrets are released now, wiped first.
    wipe(file["access_token"].get_ref<std::string&>());
    wipe(file["refresh_token"].get_ref<std::string&>());
    return text;
}

Token require_token(Store& store, const std::string& token_id) {
    validate_token_id(token_id);
    auto token = store.find_token(token_id);
    if (!token) {
        throw Error(Status::not_found, fmt::format("no token with ID {}", token_id),
                    "`tokenctl list` shows your tokens");
    }
    return *token;
}

// download and refresh need a token that can still be used.
void require_usable(const Token& token, Millis now) {
    switch (token.status_at(now)) {
    case TokenStatus::revoked:
        throw Error(Status::conflict,
                    fmt::format("token {} was revoked at {}", token.token_id,
                                format_rfc3339(*token.revoked_at)),
                    "create a new token with `tokenctl add-app`");
    case TokenStatus::expired:
        throw Error(Status::conflict,
                    fmt::format("token {} expired at {}", token.token_id,
                                format_rfc3339(token.refresh_expires_at)),
                    "create a new token with `tokenctl add-app`");
    case TokenStatus::active:
        break;
    }
}

// download and refresh: the acting user's own token, neither revoked nor expired.
Token require_own_usable_token(Session& session, const std::string& token_id, Millis now) {
    Token token = require_token(session.store(), token_id);
    session.enforce(policy::may_read_secret(session.actor(), token), token_id);
    require_usable(token, now);
    return token;
}

User require_user_named(Store& store, const std::string& name, bool include_removed) {
    validate_user_name(name);
    auto user = store.find_user(name, include_removed);
    if (!user) {
        throw Error(Status::not_found, fmt::format("no user named {}", name));
    }
    return *user;
}

App require_app(Store& store, const std::string& name) {
    validate_app_name_to_find(name);
    auto app = store.find_app(name);
    if (!app) {
        throw Error(Status::not_found, fmt::format("no application named {}", printable(name)));
    }
    return *app;
}

// Who gets add-app's token and under which application name, with every role rule
// applied (refusals audited): read from the store as it is now.
struct AddAppDecision {
    User owner;
    std::string app_name;
};
AddAppDecision decide_add_app(Session& session, const AddAppRequest& request) {
    const User& actor = session.actor();
    User owner = actor;
    if (request.for_user) {
        // A non-admin is refused --for before anything is looked up.
        session.enforce(policy::may_create_token(actor, actor.is_admin() ? nullptr : &actor),
                        *request.for_user);
        owner = require_user_named(session.store(), *request.for_user, false);
        session.enforce(policy::may_create_token(actor, &owner), owner.name);
    }
    std::string app_name = request.name.value_or(owner.name);
    validate_app_name(app_name);
    session.enforce(policy::may_use_application_name(actor, app_name), app_name);
    if (!actor.is_admin()) {
        app_name = actor.name; // matched case-insensitively: the stored spelling wins
    }
    if (request.delivery) {
        TokenRow would_be;
        would_be.user_id = owner.id;
        would_be.user = owner.name;
        would_be.token_id = "(new)";
        session.enforce(policy::may_read_secret(actor, would_be), owner.name);
    }
    return {std::move(owner), std::move(app_name)};
}

} // namespace

SecretFormat parse_secret_format(std::string_view text) {
    if (text == "json") {
        return SecretFormat::json;
    }
    if (text == "access-token") {
        return SecretFormat::access_token;
    }
    if (text == "refresh-token") {
        return SecretFormat::refresh_token;
    }
    throw Error(Status::usage, fmt::format("invalid format {}", printable(text)),
                "choose json, access-token or refresh-token");
}

AddAppResult add_app(Session& session, const AddAppRequest& request) {
    auto& store = session.store();
    validate_redirect_uri(request.redirect_uri);
    Lifetimes lifetimes = parse_lifetimes(request.access_ttl, request.refresh_ttl);
    // Refused early, with the facts as they are now; decided again under the lock below.
    decide_add_app(session, request);
    if (request.delivery && request.delivery->output) {
        check_output_file(*request.delivery->output, request.delivery->force,
                          registry_files(session.paths()));
    }
    const Key& key = session.key(); // read before the write lock, never while holding it

    Token token;
    std::string access;
    std::string refresh;
    try {
        session.write([&] {
            // Every fact that decides this write is read again here, under the lock.
            auto [owner, app_name] = decide_add_app(session, request);
            const User& actor = session.actor();
            Millis now = now_ms();
            auto app = store.find_app(app_name);
            bool created = !app;
            if (app && app->redirect_uri != request.redirect_uri) {
                throw Error(Status::conflict,
                            fmt::format("application {} exists with another redirect URI ({})",
                                        printable(app_name), app->redirect_uri),
                            "an application keeps its redirect URI; pass the same one or "
                            "choose another --name");
            }
            if (!app) {
                app = App{0,   app_name, request.redirect_uri, random_hex(16),
                          now, actor.id, std::nullopt};
                app->id = store.insert_app(*app);
                // Its client secret, made with it (read back with `app secret`).
                std::string client_secret;
                ClientSecret sealed = make_client_secret(*app, key, now, client_secret);
                wipe(client_secret);
                store.insert_client_secret(sealed);
            }
            token.user_id = owner.id;
            token.user = owner.name;
            token.app_id = app->id;
            token.application = app->name;
            token.redirect_uri = app->redirect_uri;
            token.client_id = app->client_id;
            token.created_by = actor.id;
            token.generated_at = now;
            token.access_ttl = lifetimes.access;
            token.refresh_ttl = lifetimes.refresh;
            // A token ID no token has yet: 64 random bits; in the rare case that they are
            // taken, others (a clash is retried, not assumed away), with secrets sealed for them.
            std::optional<std::int64_t> id;
            while (!id) {
                wipe(access);
                wipe(refresh);
                token.token_id = random_hex(8);
                std::tie(access, refresh) = issue_secrets(token, key, now);
                id = store.insert_token(token);
            }
            token.id = *id;
            session.audit_ok(token.token_id, fmt::format("application {}{}, user {}", app->name,
                                                         created ? " (new)" : "", owner.name));
        });
    } catch (const UnknownOutcome& e) {
        wipe(access);
        wipe(refresh);
        throw UnknownOutcome(
            fmt::format("{}; token {} may have been created", e.what(), token.token_id),
            fmt::format("find out with `tokenctl list --all`: if token {} is listed, get its file "
                        "with `tokenctl download {}`",
                        token.token_id, token.token_id));
    } catch (...) {
        wipe(access);
        wipe(refresh);
        throw;
    }
    // Committed: only now may the secrets leave in a file.
    token.status = TokenStatus::active;
    AddAppResult result{token, std::nullopt};
    if (request.delivery) {
        result.file.emplace(
            render_token_file(token, access, refresh, request.delivery->format, token.generated_at),
            fmt::format("token {} was created; get its file with `tokenctl "
                        "download {}`",
                        token.token_id, token.token_id),
            registry_files(session.paths()));
    }
    wipe(access);
    wipe(refresh);
    return result;
}

void list_tokens(Session& session, const ListRequest& request, const ListingSink<TokenRow>& sink) {
    auto& store = session.store();
    session.read([&] {
        TokenFilter filter;
        filter.include_revoked = request.all;
        if (request.system) {
            session.enforce(policy::may_administer(session.actor(), "see every user's tokens"));
            if (request.user) {
                filter.user_id = require_user_named(store, *request.user, true).id;
            }
        } else {
            filter.user_id = session.actor().id;
        }
        if (request.app) {
            filter.app_id = require_app(store, *request.app).id;
        }
        Millis now = now_ms();
        if (request.expiring) {
            filter.active_at = now;
            filter.expiring_before = now + parse_duration(*request.expiring, "--expiring");
        }
        if (request.unused_for) {
            filter.active_at = now;
            filter.unused_since = now - parse_duration(*request.unused_for, "--unused-for");
        }
        TokenRow shown; // reused: assignment keeps the strings' storage from row to row
        sink([&](const auto& emit) {
            store.for_each_token(filter, [&](const TokenRow& row) {
                shown = row;
                shown.status = row.status_at(now);
                emit(shown);
            });
        });
    });
}

RevokePlan plan_revoke(Session& session, const RevokeRequest& request) {
    if (request.token_ids.empty() && !request.user && !request.app) {
        throw Error(Status::usage, "name the tokens to revoke",
                    "give token IDs, or --user NAME and/or --app APP to revoke every active "
                    "token matching them");
    }
    for (const auto& id : request.token_ids) {
        validate_token_id(id);
    }
    auto& store = session.store();
    RevokePlan plan;
    session.read([&] {
        const User& actor = session.actor();
        Millis now = now_ms();
        std::unordered_set<std::int64_t> planned;
        std::unordered_set<std::string> skipped;
        auto add = [&](const TokenRow& row) {
            if (planned.insert(row.id).second) {
                plan.tokens.push_back(row);
            }
        };
        for (const auto& id : request.token_ids) {
            Token token = require_token(store, id);
            session.enforce(policy::may_revoke(actor, token), id);
            if (!token.revoked_at) {
                add(token);
            } else if (skipped.insert(id).second) {
                plan.already_revoked.push_back(id);
            }
        }
        if (request.user || request.app) {
            TokenFilter filter;
            if (request.user) {
                User subject = require_user_named(store, *request.user, true);
                session.enforce(policy::may_revoke_for_user(actor, subject), subject.name);
                filter.user_id = subject.id;
            } else if (!actor.is_admin()) {
                filter.user_id = actor.id;
            }
            if (request.app) {
                filter.app_id = require_app(store, *request.app).id;
            }
            store.for_each_token(filter, [&](const TokenRow& row) {
                if (row.status_at(now) == TokenStatus::active) {
                    add(row);
                }
            });
        }
    });
    return plan;
}

std::vector<std::string> execute_revoke(Session& session, const RevokePlan& plan) {
    auto& store = session.store();
    std::vector<std::string> revoked;
    session.write([&] {
        Millis now = now_ms();
        for (const auto& planned : plan.tokens) {
            auto token = store.find_token(planned.token_id);
            if (!token || token->revoked_at) {
                continue;
            }
            session.enforce(policy::may_revoke(session.actor(), *token), token->token_id);
            store.revoke_token(token->id, session.actor().id, now);
            session.audit_ok(token->token_id, fmt::format("user {}", token->user));
            revoked.push_back(token->token_id);
        }
    });
    return revoked;
}

TokenFile download_token(Session& session, const std::string& token_id, const Delivery& delivery) {
    // Refused early, with the facts as they are now; decided again under the lock below.
    require_own_usable_token(session, token_id, now_ms());
    if (delivery.output) {
        check_output_file(*delivery.output, delivery.force, registry_files(session.paths()));
    }
    const Key& key = session.key(); // read before the write lock, never while holding it
    std::string text;
    try {
        session.write([&] {
            Millis now = now_ms();
            Token token = require_own_usable_token(session, token_id, now);
            std::string access = open_sealed(key, token.access_sealed,
                                             sealing_context(token.token_id, SecretKind::access));
            std::string refresh = open_sealed(key, token.refresh_sealed,
                                              sealing_context(token.token_id, SecretKind::refresh));
            text = render_token_file(token, access, refresh, delivery.format, now);
            wipe(access);
            wipe(refresh);
            session.store().stamp_last_used(token.id, now);
            session.audit_ok(token_id, delivery.output ? "to a file" : "to standard output");
        });
    } catch (...) {
        wipe(text);
        throw;
    }
    // Nothing but the record of the download changed: it may simply be run again.
    return TokenFile(std::move(text),
                     fmt::format("the download of token {} was recorded; get its file with "
                                 "`tokenctl download {}`",
                                 token_id, token_id),
                     registry_files(session.paths()));
}

TokenFile refresh_token(Session& session, const std::string& token_id, const Delivery& delivery) {
    // Refused early, with the facts as they are now; decided again under the lock below.
    require_own_usable_token(session, token_id, now_ms());
    if (delivery.output) {
        check_output_file(*delivery.output, delivery.force, registry_files(session.paths()));
    }
    const Key& key = session.key(); // read before the write lock, never while holding it
    std::string text;
    try {
        session.write([&] {
            Millis now = now_ms();
            Token token = require_own_usable_token(session, token_id, now);
            auto [access, refresh] = issue_secrets(token, key, now);
            text = render_token_file(token, access, refresh, delivery.format, now);
            wipe(access);
            wipe(refresh);
            session.store().replace_secrets(token);
            session.store().stamp_last_used(token.id, now);
            session.audit_ok(token_id, "both secrets rotated");
        });
    } catch (const UnknownOutcome& e) {
        wipe(text);
        throw UnknownOutcome(
            fmt::format("{}; token {} may have been refreshed", e.what(), token_id),
            fmt::format("get its current file with `tokenctl download {}`", token_id));
    } catch (...) {
        wipe(text);
        throw;
    }
    return TokenFile(std::move(text),
                     fmt::format("token {} was refreshed; get its new file with `tokenctl "
                                 "download {}`",
                                 token_id, token_id),
                     registry_files(session.paths()));
}

GrantRefused::GrantRefused(GrantError code, bool reuse)
    : Error(code == GrantError::invalid_client ? Status::permission : Status::conflict,
            code == GrantError::invalid_client ? "invalid_client" : "invalid_grant"),
      m_code(code), m_reuse(reuse) {}

ClientRefresh::~ClientRefresh() {
    wipe(client_secret);
    wipe(refresh_token);
}

TokenFile refresh_for_client(Session& session, const ClientRefresh& request,
                             Millis reuse_grace_ms) {
    using Outcome = ClientRefreshGrant::Outcome;
    session.enforce(policy::may_refresh_for_clients(session.actor()));
    // Malformed credentials are refused before any lookup: a client ID is 32 hex digits.
    bool client_id_ok = request.client_id.size() == 32 &&
                        std::all_of(request.client_id.begin(), request.client_id.end(), [](char c) {
                            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                        });
    if (!client_id_ok || !is_well_formed_secret(request.client_secret, SecretKind::client)) {
        throw GrantRefused(GrantError::invalid_client);
    }
    if (!is_well_formed_secret(request.refresh_token, SecretKind::refresh)) {
        throw GrantRefused(GrantError::invalid_grant);
    }
    const Key& key = session.key(); // read before the write lock, never while holding it
    ClientRefreshClaim claim{request.client_id,
                             request.client_secret,
                             request.refresh_token,
                             0,
                             std::max<Millis>(0, reuse_grace_ms),
                             0,
                             {}};
    std::string text;
    std::string token_id;
    std::optional<GrantError> refused;
    try {
        session.write([&] {
            auto& store = session.store();
            session.enforce(policy::may_refresh_for_clients(session.actor()));
            claim.actor_id = session.actor().id;
            claim.actor = session.actor().name;
            claim.now = now_ms();
            refused.reset();
            ClientRefreshGrant grant = store.claim_client_refresh(claim);
            switch (grant.outcome) {
            case Outcome::invalid_client:
                throw GrantRefused(GrantError::invalid_client);
            case Outcome::invalid_grant:
                throw GrantRefused(GrantError::invalid_grant);
            case Outcome::reused:
                refused = GrantError::invalid_grant; // committed: the revocation and its record
                return;
            case Outcome::resend: {
                Token& token = *grant.token;
                token_id = token.token_id;
                std::string access = open_sealed(
                    key, token.access_sealed, sealing_context(token.token_id, SecretKind::access));
                std::string refresh =
                    open_sealed(key, token.refresh_sealed,
                                sealing_context(token.token_id, SecretKind::refresh));
                text = render_token_file(token, access, refresh, SecretFormat::json, claim.now);
                wipe(access);
                wipe(refresh);
                return;
            }
            case Outcome::rotate: {
                Token& token = *grant.token;
                token_id = token.token_id;
                auto [access, refresh] = issue_secrets(token, key, claim.now);
                text = render_token_file(token, access, refresh, SecretFormat::json, claim.now);
                wipe(access);
                wipe(refresh);
                store.rotate_for_client(claim, token);
                return;
            }
            }
        });
    } catch (const UnknownOutcome& e) {
        wipe(text);
        wipe(claim.client_secret);
        wipe(claim.refresh_token);
        throw UnknownOutcome(fmt::format("{}; a token may have been refreshed", e.what()),
                             "the client may present the same refresh token again within the "
                             "reuse grace");
    } catch (...) {
        wipe(text);
        wipe(claim.client_secret);
        wipe(claim.refresh_token);
        throw;
    }
    wipe(claim.client_secret);
    wipe(claim.refresh_token);
    if (refused) {
        throw GrantRefused(*refused, true); // only a detected reuse commits a refusal
    }
    return TokenFile(std::move(text),
                     fmt::format("token {} was refreshed by its client, which may present the "
                                 "same refresh token again within the reuse grace",
                                 token_id),
                     registry_files(session.paths()));
}

TokenFile::TokenFile(TokenFile&& other) noexcept
    : m_text(std::move(other.m_text)), m_committed(std::move(other.m_committed)),
      m_keep(std::move(other.m_keep)) {
    wipe(other.m_text);
}

TokenFile::~TokenFile() {
    wipe(m_text);
}

void deliver(const TokenFile& file, const Delivery& delivery, std::ostream& out) {
    auto committed = [&](std::string message) {
        if (!file.committed().empty()) {
            message += "; " + file.committed();
        }
        return message;
    };
    if (delivery.output) {
        try {
            write_file_atomically(*delivery.output, file.text(), delivery.force, file.keep());
        } catch (const Error& e) {
            throw Error(file.committed().empty() ? e.status() : Status::failure,
                        committed(e.what()), file.committed().empty() ? e.hint() : "");
        }
        return;
    }
    errno = 0;
    out << file.text() << std::flush;
    if (!out) {
        int err = errno;
        throw Error(Status::failure,
                    committed(fmt::format("cannot write to standard output{}",
                                          err != 0 ? fmt::format(": {}", std::strerror(err))
                                                   : std::string())));
    }
}

std::string parse_verify_input(std::string_view input) {
    constexpr std::size_t k_max_input = 1024;
    if (input.size() > k_max_input) {
        throw Error(Status::usage, "standard input is longer than 1 KiB; verify reads one "
                                   "access token");
    }
    if (input.ends_with("\r\n")) {
        input.remove_suffix(2);
    } else if (input.ends_with('\n')) {
        input.remove_suffix(1);
    }
    if (input.find_first_of("\r\n") != std::string_view::npos) {
        throw Error(Status::usage, "standard input has more than one line; verify reads one "
                                   "access token");
    }
    if (input.empty()) {
        throw Error(Status::usage, "no access token on standard input",
                    "pipe one in: tokenctl download ID --format access-token | tokenctl verify");
    }
    if (is_well_formed_secret(input, SecretKind::refresh)) {
        throw Error(Status::usage, "standard input is a refresh token; verify checks access tokens",
                    "pipe in the access token: tokenctl download ID --format access-token | "
                    "tokenctl verify");
    }
    if (!is_well_formed_secret(input, SecretKind::access)) {
        throw Error(Status::usage, "standard input is not a well-formed tokenctl access token",
                    "an access token starts with tca_ and is 53 characters long; its last 6 "
                    "are a checksum");
    }
    return std::string(input);
}

Token check_access_token(Session& session, std::string_view access_token) {
    if (!is_well_formed_secret(access_token, SecretKind::access)) {
        throw Error(Status::usage, "not a well-formed tokenctl access token");
    }
    Bytes digest = sha256(access_token);
    // One read transaction: a fresh snapshot, so that a revoke or a rotation committed by
    // any process before this call is seen (a long-lived server calls it again and again),
    // and the acting user read again in it.
    std::optional<Token> token;
    session.read([&] { token = session.store().find_token_by_access_digest(digest); });
    if (!token || !equal_constant_time(token->access_digest, digest)) {
        throw Error(Status::not_found, "no token has this access token",
                    "it may have been replaced by `tokenctl refresh`");
    }
    Millis now = now_ms();
    require_usable(*token, now);
    if (token->access_expires_at <= now) {
        throw Error(
            Status::conflict,
            fmt::format("the access token of token {} expired at {}", token->token_id,
                        format_rfc3339(token->access_expires_at)),
            fmt::format("its user gets a new one with `tokenctl refresh {}`", token->token_id));
    }
    token->status = TokenStatus::active;
    token->access_sealed.clear();
    token->refresh_sealed.clear();
    return std::move(*token);
}

namespace {

// Whether a use of `token` at `now` is recorded: at most once in k_last_use_resolution_ms.
bool use_due(const TokenRow& token, Millis now) {
    return !token.last_used_at || *token.last_used_at <= now - k_last_use_resolution_ms;
}

} // namespace

TokenRow verify_access_token(Session& session, const std::string& access_token) {
    Token token = check_access_token(session, access_token);
    Millis now = now_ms();
    // A busy gateway's verify writes at most once a minute per token, and never waits for
    // it: a registry another writer holds, or one that cannot be written (read-only
    // media), still answers at once. Recording a use decides nothing: no lock-time check.
    if (use_due(token, now)) {
        try {
            if (session.store().write_if_free(
                    [&] { session.store().stamp_last_used(token.id, now); })) {
                token.last_used_at = now;
            }
        } catch (const Error&) {
        }
    }
    return token;
}

void TokenUses::note(const Token& token, Millis now) {
    if (!use_due(token, now)) {
        return;
    }
    std::lock_guard lock(m_mutex);
    if (m_uses.size() >= k_max_pending && !m_uses.contains(token.id)) {
        return;
    }
    m_uses[token.id] = Use{token.access_digest, now};
}

std::size_t TokenUses::record(Session& session) {
    std::map<std::int64_t, Use> uses;
    {
        std::lock_guard lock(m_mutex);
        uses.swap(m_uses);
    }
    if (uses.empty()) {
        return 0;
    }
    std::size_t recorded = 0;
    bool written = false;
    try {
        // Each token is looked up again by its access token's digest: one rotated since
        // was used no more (and on PostgreSQL a verifier stamps only a token it found so).
        written = session.store().write_if_free([&] {
            recorded = 0;
            for (const auto& [id, use] : uses) {
                auto token = session.store().find_token_by_access_digest(use.access_digest);
                if (token && token->id == id && session.store().stamp_last_used(id, use.at)) {
                    ++recorded;
                }
            }
        });
    } catch (const Error&) {
        written = false;
    }
    if (!written) {
        // Kept for the next call, unless newer uses of the same tokens came meanwhile.
        std::lock_guard lock(m_mutex);
        for (auto& [id, use] : uses) {
            if (m_uses.size() < k_max_pending) {
                m_uses.try_emplace(id, std::move(use));
            }
        }
        return 0;
    }
    return recorded;
}

std::size_t TokenUses::pending() const {
    std::lock_guard lock(m_mutex);
    return m_uses.size();
}

TokenCounts count_tokens(Session& session, Millis now, Millis within) {
    TokenCounts counts;
    session.read([&] { counts = session.store().token_counts(now, within); });
    return counts;
}

} // namespace tokenctl
