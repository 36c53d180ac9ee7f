#pragma once

#include <tokenctl/command_table.h>
#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/session.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <unistd.h>

// The unit tests' SQLite registry (test_apps.cpp, test_client_refresh.cpp).
namespace tokenctl::testing {

namespace fs = std::filesystem;

// A SQLite registry in a private folder (removed at the end) with an administrator, alice
// (who made her application, billing), bob (who holds a token of it, made for him by the
// administrator) and carol (who holds none).
struct Registry {
    fs::path folder;
    Paths paths;

    Registry() {
        std::string tmpl = (fs::temp_directory_path() / "tokenctl-unit.XXXXXX").string();
        folder = ::mkdtemp(tmpl.data());
        paths = Paths{parse_location((folder / "tokens.db").string()), folder / "tokens.db.key"};
        init_database(paths, std::string("admin"));
        {
            Session admin = as("admin", CommandId::user_add);
            add_user(admin, "alice", Role::user);
            add_user(admin, "bob", Role::user);
            add_user(admin, "carol", Role::user);
            add_user(admin, "gateway", Role::verifier);
        }
        AddAppRequest own;
        own.redirect_uri = "https://billing.example.com/cb";
        Session alice = as("alice", CommandId::add_app);
        add_app(alice, own);
        AddAppRequest for_bob = own;
        for_bob.name = "shared";
        for_bob.for_user = "bob";
        Session admin = as("admin", CommandId::add_app);
        add_app(admin, for_bob);
    }
    ~Registry() { fs::remove_all(folder); }

    Session as(const std::string& name, CommandId command) { return Session(paths, name, command); }
    std::string secret(const std::string& actor, const std::string& app) {
        Session s = as(actor, CommandId::download);
        TokenFile file = app_secret(s, app, Delivery{});
        return file.text();
    }
    std::int64_t count(const std::string& sql) {
        SQLite::Database db((folder / "tokens.db").string());
        return db.execAndGet(sql).getInt64();
    }
};

// The status `fn` throws with (ok when it returns).
inline Status status_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.status();
    }
    return Status::ok;
}

} // namespace tokenctl::testing
