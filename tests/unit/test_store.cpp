#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/store.h>
#include <tokenctl/store/sqlite.h>

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace tokenctl;
namespace fs = std::filesystem;

namespace {

// A private folder removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "tokenctl-unit.XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string contents(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Status open_status(const fs::path& path) {
    try {
        open_sqlite_store(path);
        return Status::ok;
    } catch (const Error& e) {
        return e.status();
    }
}

Token make_token(std::string id, std::int64_t user, std::int64_t app, Millis at) {
    Token t;
    t.token_id = std::move(id);
    t.user_id = user;
    t.app_id = app;
    t.created_by = user;
    t.generated_at = t.issued_at = at;
    t.access_ttl = 1000;
    t.refresh_ttl = 2000;
    t.access_expires_at = at + 1000;
    t.refresh_expires_at = at + 2000;
    t.access_digest = Bytes(32, static_cast<std::uint8_t>(at));
    t.refresh_digest = Bytes(32, static_cast<std::uint8_t>(at + 100));
    t.access_sealed = Bytes{1, 2, 3};
    t.refresh_sealed = Bytes{4, 5, 6};
    return t;
}

} // namespace

TEST_CASE("a new store keeps users, applications and tokens") {
    TempDir dir;
    fs::path db = dir.path / "tokens.db";
    auto store = create_sqlite_store(db);
    CHECK((fs::status(db).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    std::int64_t alice = 0, bob = 0, app = 0;
    store->write([&] {
        alice = store->insert_user("Alice", Role::admin, 10);
        bob = store->insert_user("bob", Role::user, 11);
        app = store->insert_app(App{0, "billing", "https://b/cb", "c1", 12, alice, std::nullopt});
        store->insert_token(make_token("00000000000000a1", bob, app, 20));
        store->insert_token(make_token("00000000000000a2", alice, app, 21));
        store->insert_token(make_token("00000000000000a3", bob, app, 22));
    });

    SUBCASE("client secrets: stored once, replaced, re-sealed, walked in row id order") {
        CHECK_FALSE(store->find_client_secret(app));
        auto missing = store->apps_without_client_secret();
        REQUIRE(missing.size() == 1);
        CHECK(missing[0].app_id == app);
        CHECK(missing[0].client_id == "c1");
        store->write([&] {
            store->insert_client_secret(ClientSecret{app, "c1", Bytes{1, 2}, Bytes{3, 4}, 50});
        });
        CHECK(store->apps_without_client_secret().empty());
        auto found = store->find_client_secret(app);
        REQUIRE(found);
        CHECK(found->client_id == "c1");
        CHECK(found->digest == Bytes{1, 2});
        CHECK(found->sealed == Bytes{3, 4});
        CHECK(found->created_at == 50);
        // One secret an application: a rotation replaces it (a second is refused, below).
        store->write([&] {
            store->replace_client_secret(ClientSecret{app, "c1", Bytes{7}, Bytes{8}, 52});
            store->replace_sealed_client(app, Bytes{9});
        });
        std::vector<ClientSecret> walked;
        store->for_each_sealed_client([&](const ClientSecret& c) { walked.push_back(c); });
        REQUIRE(walked.size() == 1);
        CHECK(walked[0].digest == Bytes{7});
        CHECK(walked[0].sealed == Bytes{9});
        CHECK(walked[0].created_at == 52);
        CHECK_THROWS_AS(store->write([&] {
            store->insert_client_secret(ClientSecret{app, "c1", Bytes{5}, Bytes{6}, 51});
        }),
                        Error);
    }
    SUBCASE("users match case-insensitively; removed users only when asked") {
        REQUIRE(store->find_user("alice", false));
        CHECK(store->find_user("ALICE", false)->name == "Alice");
        CHECK(store->count_admins() == 1);
        store->write([&] { store->mark_user_removed(bob, 30); });
        CHECK_FALSE(store->find_user("bob", false));
        CHECK(store->find_user("bob", true)->removed_at == 30);
    }
    SUBCASE("a duplicate user name is refused, whatever its case") {
        CHECK_THROWS_AS(store->write([&] { store->insert_user("BOB", Role::user, 1); }), Error);
    }
    SUBCASE("tokens stream in creation order, filtered") {
        std::vector<std::string> ids;
        TokenFilter by_bob;
        by_bob.user_id = bob;
        store->for_each_token(by_bob, [&](const TokenRow& r) { ids.push_back(r.token_id); });
        CHECK(ids == std::vector<std::string>{"00000000000000a1", "00000000000000a3"});
    }
    SUBCASE("revoked tokens are listed only when asked") {
        auto t = store->find_token("00000000000000a1");
        REQUIRE(t);
        CHECK(t->user == "bob");
        CHECK(t->application == "billing");
        CHECK(t->client_id == "c1");
        store->write([&] { store->revoke_token(t->id, alice, 40); });
        int active = 0, all = 0;
        store->for_each_token({}, [&](const TokenRow&) { ++active; });
        TokenFilter with_revoked;
        with_revoked.include_revoked = true;
        store->for_each_token(with_revoked, [&](const TokenRow&) { ++all; });
        CHECK(active == 2);
        CHECK(all == 3);
        CHECK(store->find_token("00000000000000a1")->revoked_at == 40);
    }
    SUBCASE("active tokens are counted per user, as user list counts them") {
        // bob's tokens were generated at 20 and 22; their refresh tokens expire at 2020, 2022.
        CHECK(store->count_active_tokens(bob, 100) == 2);
        CHECK(store->count_active_tokens(alice, 100) == 1);
        CHECK(store->count_active_tokens(bob, 2020) == 1); // a1 expired at 2020
        CHECK(store->count_active_tokens(bob, 2022) == 0);
        store->write(
            [&] { store->revoke_token(store->find_token("00000000000000a3")->id, alice, 40); });
        CHECK(store->count_active_tokens(bob, 100) == 1);
        std::vector<UserRow> rows;
        store->for_each_user(100, [&](const UserRow& row) { rows.push_back(row); });
        REQUIRE(rows.size() == 2);
        for (const UserRow& row : rows) {
            CHECK(row.active_tokens == store->count_active_tokens(row.user.id, 100));
        }
    }
    SUBCASE("a token is found by its access digest") {
        auto t = store->find_token_by_access_digest(Bytes(32, 21));
        REQUIRE(t);
        CHECK(t->token_id == "00000000000000a2");
        CHECK_FALSE(store->find_token_by_access_digest(Bytes(32, 99)));
    }
    SUBCASE("a failed write changes nothing") {
        CHECK_THROWS(store->write([&] {
            store->insert_user("carol", Role::user, 50);
            throw Error(Status::conflict, "stop");
        }));
        CHECK_FALSE(store->find_user("carol", true));
    }
    SUBCASE("audit records are append-only") {
        store->write([&] { store->append_audit(AuditEntry{0, 1, "Alice", "init", "", "ok", ""}); });
        SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
        CHECK_THROWS(raw.exec("UPDATE audit SET outcome = 'denied'"));
        CHECK_THROWS(raw.exec("DELETE FROM audit"));
        std::vector<std::string> actors;
        AuditFilter f;
        f.actor = "alice";
        store->for_each_audit(f, [&](const AuditEntry& e) { actors.push_back(e.actor); });
        CHECK(actors == std::vector<std::string>{"Alice"});
    }
    SUBCASE("text shaped like a secret is redacted from every field before it is stored") {
        const std::string secret = "tca_" + std::string(49, 'Q');
        store->write([&] {
            store->append_audit(AuditEntry{0, 1, secret, "x" + secret, "y" + secret, "denied",
                                           "given as " + secret + "."});
        });
        std::vector<AuditEntry> rows;
        store->for_each_audit({}, [&](const AuditEntry& e) { rows.push_back(e); });
        REQUIRE(rows.size() == 1);
        const std::string redacted = "tca_\u2026(redacted)";
        CHECK(rows[0].actor == redacted);
        CHECK(rows[0].action == "x" + redacted);
        CHECK(rows[0].subject == "y" + redacted);
        CHECK(rows[0].detail == "given as " + redacted + ".");
        SQLite::Database raw(db.string(), SQLite::OPEN_READONLY);
        CHECK(raw.execAndGet("SELECT count(*) FROM audit WHERE actor || action || subject || "
                             "outcome || detail LIKE '%QQQQ%'")
                  .getInt() == 0);
    }
}

TEST_CASE("a write whose statement failed is rolled back, and the next one runs") {
    TempDir dir;
    auto store = create_sqlite_store(dir.path / "tokens.db");
    store->write([&] { store->insert_user("alice", Role::admin, 10); });
    // The second insert's step fails (the name is taken): its statement keeps that error,
    // which a plain reset would throw again before the rollback.
    CHECK_THROWS_AS(store->write([&] {
        store->insert_user("bob", Role::user, 11);
        store->insert_user("alice", Role::user, 12);
    }),
                    Error);
    CHECK_FALSE(store->find_user("bob", true));
    store->write([&] { store->insert_user("carol", Role::user, 13); });
    CHECK(store->find_user("carol", false));
}

TEST_CASE("the store refuses what is not a tokenctl database, untouched") {
    TempDir dir;
    SUBCASE("missing") {
        CHECK(open_status(dir.path / "none.db") == Status::failure);
    }
    SUBCASE("text, empty, folder") {
        fs::path text = dir.path / "notes.txt";
        std::ofstream(text) << "hello, world\n";
        CHECK(open_status(text) == Status::failure);
        CHECK(contents(text) == "hello, world\n");
        fs::path empty = dir.path / "empty.db";
        std::ofstream(empty).close();
        CHECK(open_status(empty) == Status::failure);
        CHECK(fs::file_size(empty) == 0);
        CHECK(open_status(dir.path) == Status::failure);
    }
    SUBCASE("another SQLite database") {
        fs::path other = dir.path / "other.db";
        {
            SQLite::Database raw(other.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            raw.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
        }
        std::string before = contents(other);
        CHECK(open_status(other) == Status::failure);
        CHECK(contents(other) == before);
    }
    SUBCASE("a newer schema") {
        fs::path db = dir.path / "tokens.db";
        create_sqlite_store(db).reset();
        {
            SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
            raw.exec(fmt::format("PRAGMA user_version = {}", sqlite_schema_version() + 1));
        }
        std::string before = contents(db);
        CHECK(open_status(db) == Status::failure);
        CHECK(contents(db) == before);
    }
    SUBCASE("a current one opens") {
        fs::path db = dir.path / "tokens.db";
        create_sqlite_store(db).reset();
        CHECK(open_status(db) == Status::ok);
        CHECK_THROWS_AS(create_sqlite_store(db), Error);
    }
}

TEST_CASE("key files") {
    TempDir dir;
    fs::path key = dir.path / "k";
    Key original = Key::generate();
    create_private_file(key, std::string_view(reinterpret_cast<const char*>(original.data()), 32));
    CHECK_NOTHROW(read_key_file(key));
    fs::permissions(key, fs::perms::group_read, fs::perm_options::add);
    CHECK_THROWS_AS(read_key_file(key), Error);
    fs::permissions(key, fs::perms::group_read, fs::perm_options::remove);
    fs::resize_file(key, 31);
    CHECK_THROWS_AS(read_key_file(key), Error);
    CHECK_THROWS_AS(read_key_file(dir.path / "missing"), Error);
}

TEST_CASE("atomic writes never clobber without being asked") {
    TempDir dir;
    fs::path file = dir.path / "token.json";
    write_file_atomically(file, "one", false);
    CHECK(contents(file) == "one");
    try {
        write_file_atomically(file, "two", false);
        FAIL("overwrote");
    } catch (const Error& e) {
        CHECK(e.status() == Status::conflict);
    }
    CHECK(contents(file) == "one");
    write_file_atomically(file, "three", true);
    CHECK(contents(file) == "three");
    CHECK((fs::status(file).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    int entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) {
        ++entries;
    }
    CHECK(entries == 1); // no temporary file left behind
}

TEST_CASE("parse_location hides a PostgreSQL URI's passwords where libpq finds them") {
    auto shown = [](std::string_view uri) {
        Location location = parse_location(uri);
        CHECK(location.kind == Location::Kind::postgres);
        CHECK(location.uri == uri);
        return std::pair(location.text, location.passwords);
    };
    using Passwords = std::vector<std::string>;
    CHECK(shown("postgresql://host/db") ==
          std::pair(std::string("postgresql://host/db"), Passwords{}));
    CHECK(shown("postgresql://u@host/db?sslmode=require") ==
          std::pair(std::string("postgresql://u@host/db?sslmode=require"), Passwords{}));
    CHECK(shown("postgresql://u:pw@host/db") ==
          std::pair(std::string("postgresql://u:***@host/db"), Passwords{"pw"}));
    CHECK(shown("postgres://:pw@/db") ==
          std::pair(std::string("postgres://:***@/db"), Passwords{"pw"}));
    // libpq's user info runs to the first '@' before any '/': a '?' belongs to it.
    CHECK(shown("postgresql://u:p?w@/db?host=/run/pg") ==
          std::pair(std::string("postgresql://u:***@/db?host=/run/pg"), Passwords{"p?w"}));
    // A raw '@' in the user info: libpq would take what follows the first one for the
    // host. Refused, and the message hides the password up to the last '@'.
    for (std::string_view uri : {"postgresql://u:p@ss@host/db", "postgresql://a@b@host/db?x=1"}) {
        try {
            parse_location(uri);
            FAIL("a raw @ in the user info was accepted: " << uri);
        } catch (const Error& e) {
            CHECK(e.status() == Status::usage);
            CHECK(std::string_view(e.what()).find("ss@") == std::string_view::npos);
            CHECK(std::string_view(e.what()).find("@host/db") != std::string_view::npos);
        }
    }
    CHECK_THROWS_AS(parse_location("postgresql://u:p@ss@host/db"), Error);
    // An '@' in the query, after the host, is the query's.
    CHECK(shown("postgresql://u:pw@host?user=a@b.c") ==
          std::pair(std::string("postgresql://u:***@host?user=a@b.c"), Passwords{"pw"}));
    // A '@' after the first '/' is no user info.
    CHECK(shown("postgresql://host/db?user=a@b.c") ==
          std::pair(std::string("postgresql://host/db?user=a@b.c"), Passwords{}));
    CHECK(shown("postgresql:///db?host=/run/pg&password=pw&user=u") ==
          std::pair(std::string("postgresql:///db?host=/run/pg&password=***&user=u"),
                    Passwords{"pw"}));
    // Keywords are percent-decoded, as libpq decodes them.
    CHECK(shown("postgresql:///db?pass%77ord=pw") ==
          std::pair(std::string("postgresql:///db?pass%77ord=***"), Passwords{"pw"}));
    CHECK(shown("postgresql:///db?%70%41ssword=pw") ==
          std::pair(std::string("postgresql:///db?%70%41ssword=pw"), Passwords{}));
    CHECK(shown("postgresql:///db?sslpassword=k&password=") ==
          std::pair(std::string("postgresql:///db?sslpassword=***&password=***"),
                    Passwords{"k", ""}));
    CHECK(shown("postgresql:///db?xpassword=pw&&") ==
          std::pair(std::string("postgresql:///db?xpassword=pw&&"), Passwords{}));
}

TEST_CASE("hide_passwords hides a URI's passwords in a message, and nothing else") {
    Location one = parse_location("postgresql://u:x@host/db");
    // A one-letter password is hidden only where it stands as the password.
    CHECK(hide_passwords("could not translate host name \"host\" to address: Name or service "
                         "not known",
                         one) ==
          "could not translate host name \"host\" to address: Name or service not known");
    CHECK(hide_passwords("invalid URI: \"postgresql://u:x@host/db\"", one) ==
          "invalid URI: \"postgresql://u:***@host/db\"");
    CHECK(hide_passwords("invalid percent-encoded token: \"x\"", one) ==
          "invalid percent-encoded token: \"***\"");
    CHECK(hide_passwords("max x0 x", one) == "max x0 x");

    Location param = parse_location("postgresql:///db?host=/run/pg&password=p&user=u");
    CHECK(hide_passwords("bad: password=p&user=u", param) == "bad: password=***&user=u");
    CHECK(hide_passwords("password authentication failed for user \"u\"", param) ==
          "password authentication failed for user \"u\"");

    // A long one is hidden wherever it occurs.
    Location long_one = parse_location("postgresql://u:correct-horse@host/db");
    CHECK(hide_passwords("near correct-horse!", long_one) == "near ***!");
    // A file path is no URI: nothing to hide.
    CHECK(hide_passwords("a:x@b", parse_location("/tmp/x")) == "a:x@b");
}
