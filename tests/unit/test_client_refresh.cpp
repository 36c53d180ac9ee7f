#include "registry.h"

#include <tokenctl/secret.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace tokenctl;
using tokenctl::testing::Registry;
using tokenctl::testing::status_of;

namespace {

constexpr Millis k_grace = 60'000;

// What a client of application `app` holds: its client ID and secret, and the token file
// of `user`'s token of it (downloaded by that user).
struct Client {
    ClientRefresh request;
    nlohmann::json file;
};

Client client_of(Registry& r, const std::string& user, const std::string& app) {
    Client c;
    std::string secret = r.secret(user, app);
    c.request.client_secret = secret.substr(0, secret.size() - 1);
    std::string token_id;
    {
        Session s = r.as(user, CommandId::list);
        ListRequest all;
        list_tokens(s, all, [&](const RowStream<TokenRow>& rows) {
            rows([&](const TokenRow& row) {
                if (row.application == app) {
                    token_id = row.token_id;
                    c.request.client_id = row.client_id;
                }
            });
        });
    }
    Session s = r.as(user, CommandId::download);
    c.file = nlohmann::json::parse(download_token(s, token_id, Delivery{}).text());
    c.request.refresh_token = c.file["refresh_token"];
    return c;
}

nlohmann::json refresh(Registry& r, const ClientRefresh& request, Millis grace = k_grace) {
    Session gateway = r.as("gateway", CommandId::verify);
    return nlohmann::json::parse(refresh_for_client(gateway, request, grace).text());
}

// The reason refresh_for_client refuses `request`; none when it does not.
std::optional<GrantError> refusal(Registry& r, const ClientRefresh& request,
                                  Millis grace = k_grace) {
    try {
        refresh(r, request, grace);
    } catch (const GrantRefused& e) {
        return e.code();
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("a client's refresh rotates both secrets, audited as a refresh by the token's user") {
    Registry r;
    Client alice = client_of(r, "alice", "alice");
    nlohmann::json fresh = refresh(r, alice.request);
    CHECK(fresh["id"] == alice.file["id"]);
    CHECK(fresh["authenticated_userid"] == "alice");
    CHECK(fresh["credential_id"] == alice.request.client_id);
    CHECK(fresh["access_token"] != alice.file["access_token"]);
    CHECK(fresh["refresh_token"] != alice.file["refresh_token"]);
    CHECK(is_well_formed_secret(fresh["refresh_token"].get<std::string>(), SecretKind::refresh));
    // What alice downloads now is the new pair.
    Client again = client_of(r, "alice", "alice");
    CHECK(again.file["refresh_token"] == fresh["refresh_token"]);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'refresh' AND actor = 'alice' AND "
                  "subject = '" +
                  alice.file["id"].get<std::string>() + "' AND outcome = 'ok'") == 1);
    CHECK(r.count("SELECT count(*) FROM tokens WHERE previous_refresh_digest IS NOT NULL") == 1);
    // The new refresh token refreshes in turn.
    ClientRefresh next = alice.request;
    next.refresh_token = fresh["refresh_token"];
    CHECK(refresh(r, next)["refresh_token"] != fresh["refresh_token"]);
    CHECK(r.count("SELECT count(*) FROM audit WHERE actor || action || subject || detail LIKE "
                  "'%tc_\\_%' ESCAPE '\\'") == 0);
}

TEST_CASE("within the grace the old refresh token gets the same successor; after it, revocation") {
    Registry r;
    Client alice = client_of(r, "alice", "alice");
    nlohmann::json first = refresh(r, alice.request);
    nlohmann::json retry = refresh(r, alice.request);
    CHECK(retry["access_token"] == first["access_token"]);
    CHECK(retry["refresh_token"] == first["refresh_token"]);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'refresh' AND detail LIKE "
                  "'%again within the reuse grace%'") == 1);

    // Presented after the grace: evidence of theft. The token is revoked, both secrets with it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(refusal(r, alice.request, 10) == GrantError::invalid_grant);
    CHECK(r.count("SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL AND token_id = '" +
                  alice.file["id"].get<std::string>() + "'") == 1);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'refresh-reuse' AND actor = "
                  "'gateway' AND subject = '" +
                  alice.file["id"].get<std::string>() + "'") == 1);
    ClientRefresh successor = alice.request;
    successor.refresh_token = first["refresh_token"];
    CHECK(refusal(r, successor) == GrantError::invalid_grant);
    CHECK(refusal(r, alice.request) == GrantError::invalid_grant);
    // Recorded once: a revoked token's reuse is only refused.
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'refresh-reuse'") == 1);
    CHECK(std::ranges::count(audit_actions(), "refresh-reuse") == 1);
}

TEST_CASE("a wrong client, secret or application is invalid_client") {
    Registry r;
    Client alice = client_of(r, "alice", "alice");
    Client bob = client_of(r, "bob", "shared");

    ClientRefresh wrong = alice.request;
    wrong.client_secret = generate_secret(SecretKind::client);
    CHECK(refusal(r, wrong) == GrantError::invalid_client);
    wrong = alice.request;
    wrong.client_id = std::string(32, '0');
    CHECK(refusal(r, wrong) == GrantError::invalid_client);
    wrong.client_id = "not a client ID";
    CHECK(refusal(r, wrong) == GrantError::invalid_client);
    wrong = alice.request;
    wrong.client_secret = "tcs_short";
    CHECK(refusal(r, wrong) == GrantError::invalid_client);
    // Another application's credentials with alice's refresh token.
    wrong = bob.request;
    wrong.refresh_token = alice.request.refresh_token;
    CHECK(refusal(r, wrong) == GrantError::invalid_client);
    // A removed application's client is no client any more.
    {
        Session admin = r.as("admin", CommandId::app_remove);
        remove_app(admin, plan_app_removal(admin, "shared"));
    }
    CHECK(refusal(r, bob.request) == GrantError::invalid_client);
    // Nothing was rotated, nothing recorded but the downloads.
    CHECK(r.count("SELECT count(*) FROM tokens WHERE previous_refresh_digest IS NOT NULL") == 0);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action IN ('refresh', 'refresh-reuse')") == 0);
    // The error says only its code.
    try {
        refresh(r, wrong);
    } catch (const GrantRefused& e) {
        CHECK(std::string(e.what()) == "invalid_client");
        CHECK(e.status() == Status::permission);
    }
}

TEST_CASE("an unknown, revoked or expired refresh token is invalid_grant") {
    Registry r;
    Client alice = client_of(r, "alice", "alice");
    Client bob = client_of(r, "bob", "shared");

    ClientRefresh unknown = alice.request;
    unknown.refresh_token = generate_secret(SecretKind::refresh);
    CHECK(refusal(r, unknown) == GrantError::invalid_grant);
    unknown.refresh_token = "tcr_malformed";
    CHECK(refusal(r, unknown) == GrantError::invalid_grant);

    {
        Session s = r.as("alice", CommandId::revoke);
        RevokeRequest request;
        request.token_ids = {alice.file["id"]};
        execute_revoke(s, plan_revoke(s, request));
    }
    CHECK(refusal(r, alice.request) == GrantError::invalid_grant);

    {
        SQLite::Database db((r.folder / "tokens.db").string(), SQLite::OPEN_READWRITE);
        db.exec("UPDATE tokens SET refresh_expires_at = 1000 WHERE token_id = '" +
                bob.file["id"].get<std::string>() + "'");
    }
    CHECK(refusal(r, bob.request) == GrantError::invalid_grant);
}

TEST_CASE("only a verifier or an administrator refreshes for clients") {
    Registry r;
    Client alice = client_of(r, "alice", "alice");
    Session carol = r.as("carol", CommandId::verify);
    CHECK(status_of([&] { refresh_for_client(carol, alice.request, k_grace); }) ==
          Status::permission);
    Session admin = r.as("admin", CommandId::verify);
    CHECK(nlohmann::json::parse(refresh_for_client(admin, alice.request, k_grace).text())["id"] ==
          alice.file["id"]);
}

TEST_CASE("simultaneous refreshes of one token make exactly one successor") {
    Registry r;
    Client alice = client_of(r, "alice", "alice");
    constexpr int k_clients = 100;
    std::mutex mutex;
    std::set<std::string> successors;
    int failures = 0;
    std::vector<std::thread> clients;
    for (int i = 0; i < k_clients; ++i) {
        clients.emplace_back([&] {
            try {
                nlohmann::json file = refresh(r, alice.request);
                std::lock_guard lock(mutex);
                successors.insert(file["refresh_token"].get<std::string>());
            } catch (const std::exception&) {
                std::lock_guard lock(mutex);
                ++failures;
            }
        });
    }
    for (auto& c : clients) {
        c.join();
    }
    CHECK(failures == 0);
    CHECK(successors.size() == 1);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'refresh' AND detail = 'both "
                  "secrets rotated, by its client'") == 1);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'refresh'") == k_clients);
}
