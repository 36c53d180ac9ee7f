#include "registry.h"

#include <tokenctl/secret.h>

#include <doctest/doctest.h>

using namespace tokenctl;
using tokenctl::testing::Registry;
using tokenctl::testing::status_of;

TEST_CASE("every new application has a client secret, read by admins, its creator, holders") {
    Registry r;
    CHECK(r.count("SELECT count(*) FROM apps a WHERE NOT EXISTS (SELECT 1 FROM client_secrets "
                  "c WHERE c.app_id = a.id)") == 0);
    std::string by_alice = r.secret("alice", "alice");
    REQUIRE(by_alice.ends_with("\n"));
    CHECK(is_well_formed_secret(by_alice.substr(0, by_alice.size() - 1), SecretKind::client));
    CHECK(r.secret("admin", "alice") == by_alice);
    // The shared application: made by the administrator, held by bob.
    std::string shared = r.secret("bob", "shared");
    CHECK(shared != by_alice);
    CHECK(r.secret("admin", "shared") == shared);

    CHECK(status_of([&] { r.secret("carol", "alice"); }) == Status::permission);
    CHECK(status_of([&] { r.secret("alice", "shared"); }) == Status::permission);
    CHECK(status_of([&] { r.secret("bob", "nothing"); }) == Status::not_found);
    // A verifier reads no client secret (the session refuses it any command but its own).
    CHECK(status_of([&] { r.secret("gateway", "shared"); }) == Status::permission);

    // Reads are audited as downloads, refusals too; no record holds the secret.
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'download' AND outcome = 'ok' AND "
                  "subject IN ('alice', 'shared')") == 4);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'download' AND outcome = 'denied' "
                  "AND subject IN ('alice', 'shared')") == 2);
    CHECK(r.count("SELECT count(*) FROM audit WHERE actor || action || subject || detail LIKE "
                  "'%tcs%'") == 0);
}

TEST_CASE("a rotation replaces the client secret at once, for admins and the creator only") {
    Registry r;
    std::string before = r.secret("alice", "alice");
    std::int64_t digests = r.count("SELECT count(DISTINCT digest) FROM client_secrets");
    {
        Session alice = r.as("alice", CommandId::app_rotate_secret);
        CHECK(rotate_app_secret(alice, "alice").name == "alice");
    }
    std::string after = r.secret("alice", "alice");
    CHECK(after != before);
    CHECK(is_well_formed_secret(after.substr(0, after.size() - 1), SecretKind::client));
    CHECK(r.count("SELECT count(DISTINCT digest) FROM client_secrets") == digests);
    {
        Session admin = r.as("admin", CommandId::app_rotate_secret);
        rotate_app_secret(admin, "alice");
    }
    CHECK(r.secret("alice", "alice") != after);
    // bob holds a token of shared, but did not make it.
    Session bob = r.as("bob", CommandId::app_rotate_secret);
    CHECK(status_of([&] { rotate_app_secret(bob, "shared"); }) == Status::permission);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'app rotate-secret' AND outcome = "
                  "'ok'") == 2);
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'app rotate-secret' AND outcome = "
                  "'denied'") == 1);
}

TEST_CASE("app show: one application as app list shows it, to whom app list shows it") {
    Registry r;
    Session bob = r.as("bob", CommandId::app_show);
    AppRow shown = show_app(bob, "shared");
    CHECK(shown.app.name == "shared");
    CHECK(shown.created_by == "admin");
    CHECK(shown.active_tokens == 1);
    CHECK(shown.app.client_id.size() == 32);
    CHECK(status_of([&] { show_app(bob, "alice"); }) == Status::permission);
    CHECK(status_of([&] { show_app(bob, "nothing"); }) == Status::not_found);
    Session admin = r.as("admin", CommandId::app_show);
    CHECK(show_app(admin, "alice").created_by == "alice");
}

TEST_CASE("applications made before client secrets get theirs from the first write with the key") {
    Registry r;
    {
        SQLite::Database db((r.folder / "tokens.db").string(), SQLite::OPEN_READWRITE);
        db.exec("DELETE FROM client_secrets");
    }
    {
        // A listing (no key) leaves them as they are.
        Session alice = r.as("alice", CommandId::app_list);
        list_apps(alice, false, [](const RowStream<AppRow>&) {});
    }
    CHECK(r.count("SELECT count(*) FROM client_secrets") == 0);
    std::string secret = r.secret("bob", "shared");
    CHECK(is_well_formed_secret(secret.substr(0, secret.size() - 1), SecretKind::client));
    CHECK(r.count("SELECT count(*) FROM client_secrets") == r.count("SELECT count(*) FROM apps"));
}
