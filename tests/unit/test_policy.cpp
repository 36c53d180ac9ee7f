#include <tokenctl/policy.h>

#include <doctest/doctest.h>

using namespace tokenctl;
using namespace tokenctl::policy;

namespace {

User make_user(std::int64_t id, std::string name, Role role) {
    User u;
    u.id = id;
    u.name = std::move(name);
    u.role = role;
    return u;
}

TokenRow token_of(const User& owner) {
    TokenRow t;
    t.token_id = "0123456789abcdef";
    t.user_id = owner.id;
    t.user = owner.name;
    return t;
}

const User admin = make_user(1, "admin", Role::admin);
const User admin2 = make_user(2, "root", Role::admin);
const User alice = make_user(3, "alice", Role::user);
const User bob = make_user(4, "bob", Role::user);

} // namespace

TEST_CASE("only administrators administer") {
    CHECK(may_administer(admin, "x").allowed());
    Decision d = may_administer(alice, "manage users");
    CHECK(d.status == Status::permission);
    CHECK(d.reason == "only administrators can manage users");
}

TEST_CASE("tokens for oneself, or by an administrator for a non-admin") {
    CHECK(may_create_token(alice, nullptr).allowed());
    CHECK(may_create_token(admin, nullptr).allowed());
    CHECK(may_create_token(admin, &alice).allowed());
    SUBCASE("a non-admin cannot use --for, not even for themselves") {
        CHECK(may_create_token(alice, &bob).status == Status::permission);
        CHECK(may_create_token(alice, &alice).status == Status::permission);
    }
    SUBCASE("--for names a non-admin only") {
        CHECK(may_create_token(admin, &admin2).status == Status::permission);
        CHECK(may_create_token(admin, &admin).status == Status::permission);
    }
}

TEST_CASE("a non-admin's application is named after them") {
    CHECK(may_use_application_name(alice, "alice").allowed());
    CHECK(may_use_application_name(alice, "ALICE").allowed());
    Decision d = may_use_application_name(alice, "billing");
    CHECK(d.status == Status::permission);
    CHECK(d.reason.find("named after the user") != std::string::npos);
    CHECK(may_use_application_name(admin, "billing").allowed());
}

TEST_CASE("only the token's own user reads its secrets") {
    CHECK(may_read_secret(alice, token_of(alice)).allowed());
    CHECK(may_read_secret(admin, token_of(admin)).allowed());
    CHECK(may_read_secret(bob, token_of(alice)).status == Status::permission);
    Decision d = may_read_secret(admin, token_of(alice));
    CHECK(d.status == Status::permission);
    CHECK(d.reason.find("administrators cannot download another user's token") == 0);
    CHECK(may_read_secret(admin, token_of(admin2)).status == Status::permission);
}

TEST_CASE("administrators revoke any token; users their own") {
    CHECK(may_revoke(admin, token_of(alice)).allowed());
    CHECK(may_revoke(admin, token_of(admin2)).allowed());
    CHECK(may_revoke(alice, token_of(alice)).allowed());
    CHECK(may_revoke(alice, token_of(bob)).status == Status::permission);
    CHECK(may_revoke(alice, token_of(admin)).status == Status::permission);
    CHECK(may_revoke_for_user(alice, alice).allowed());
    CHECK(may_revoke_for_user(alice, bob).status == Status::permission);
    CHECK(may_revoke_for_user(admin, bob).allowed());
}

TEST_CASE("the last administrator stays") {
    CHECK(may_change_admins(1).allowed());
    CHECK(may_change_admins(5).allowed());
    Decision d = may_change_admins(0);
    CHECK(d.status == Status::conflict);
}

TEST_CASE("a non-admin removes their application only while it holds no other user's token") {
    App bobs;
    bobs.id = 7;
    bobs.name = "bob";
    CHECK(may_remove_app_holding(bob, bobs, 0).allowed());
    CHECK(may_remove_app_holding(admin, bobs, 3).allowed());
    Decision one = may_remove_app_holding(bob, bobs, 1);
    CHECK(one.status == Status::permission);
    CHECK(one.reason == "application 'bob' holds an active token of another user; only an "
                        "administrator can remove it");
    CHECK(may_remove_app_holding(bob, bobs, 2).reason ==
          "application 'bob' holds 2 active tokens of other users; only an administrator can "
          "remove it");
}

TEST_CASE("client secrets: read by administrators, the creator and holders; rotated by "
          "administrators and the creator; never by a verifier") {
    const User verifier = make_user(5, "gateway", Role::verifier);
    App app;
    app.id = 7;
    app.name = "billing";
    app.created_by = alice.id;
    CHECK(may_read_client_secret(admin, app, false).allowed());
    CHECK(may_read_client_secret(alice, app, false).allowed());
    CHECK(may_read_client_secret(bob, app, true).allowed());
    Decision d = may_read_client_secret(bob, app, false);
    CHECK(d.status == Status::permission);
    CHECK(d.reason.find("billing") != std::string::npos);
    CHECK(may_read_client_secret(verifier, app, true).status == Status::permission);

    CHECK(may_rotate_client_secret(admin, app).allowed());
    CHECK(may_rotate_client_secret(alice, app).allowed());
    CHECK(may_rotate_client_secret(bob, app).status == Status::permission);
    App made_by_verifier = app;
    made_by_verifier.created_by = verifier.id;
    CHECK(may_rotate_client_secret(verifier, made_by_verifier).status == Status::permission);
    CHECK(may_read_client_secret(verifier, made_by_verifier, false).status == Status::permission);

    CHECK(may_see_app(admin, app, false).allowed());
    CHECK(may_see_app(bob, app, true).allowed());
    CHECK(may_see_app(bob, app, false).status == Status::permission);
}

TEST_CASE("a verifier runs only the commands marked for verifiers") {
    const User ver = make_user(5, "ver", Role::verifier);
    CHECK(may_run(ver, CommandId::verify).allowed());
    CHECK(may_run(ver, CommandId::whoami).allowed());
    CHECK(may_run(ver, CommandId::check).allowed());
    CHECK(may_run(alice, CommandId::user_add).allowed());
    Decision d = may_run(ver, CommandId::app_list);
    CHECK(d.status == Status::permission);
    CHECK(d.reason == "ver is a verifier, which may only run verify, whoami and check");
}
