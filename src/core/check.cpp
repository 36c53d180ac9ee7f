#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/secret.h>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl {

namespace {

// Runs one check: `fn` returns the problem ("" when ok) and may set the hint; an Error it
// throws is the problem, with the error's hint, and so is any other exception: whatever a
// damaged file makes a library throw, check goes on to its next line.
void run_check(std::vector<CheckLine>& lines, std::string name,
               const std::function<std::string(std::string& hint)>& fn) {
    CheckLine line{std::move(name), {}, {}, {}};
    try {
        line.problem = fn(line.hint);
    } catch (const Error& e) {
        line.problem = e.what();
        line.hint = e.hint();
    } catch (const std::exception& e) {
        line.problem = fmt::format("unexpected failure: {}", e.what());
    }
    lines.push_back(std::move(line));
}

// A check the acting user may not run: said so, never "ok".
void skip_check(std::vector<CheckLine>& lines, std::string name, std::string why) {
    lines.push_back(CheckLine{std::move(name), {}, {}, std::move(why)});
}

// False where the server keeps other users' sealed secrets from the acting login (an
// administrator of a PostgreSQL registry who is not its owner): that check is the owner's.
bool may_read_every_secret(Store& store) {
    try {
        store.sealed_batch(0, 1);
        return true;
    } catch (const Error& e) {
        // Any other error (a damaged file) is for the checks themselves to report.
        return e.status() != Status::permission;
    }
}

// Runs `walk` over one table of sealed secrets. A damaged table (cells out of order) is its
// problem line, returned, never read again; a refusal of the server is rethrown.
std::optional<std::string> walk_sealed(const std::function<void()>& walk, std::string& hint) {
    try {
        walk();
    } catch (const Error& e) {
        if (e.status() == Status::permission) {
            throw;
        }
        hint = e.hint();
        return e.what();
    }
    return std::nullopt;
}

// Whether `sealed` opens with `key` under `context` to a secret of this `digest`.
bool opens_to(const Key& key, const Bytes& sealed, std::string_view context, const Bytes& digest) {
    try {
        std::string secret = open_sealed(key, sealed, context);
        bool ok = equal_constant_time(sha256(secret), digest);
        wipe(secret);
        return ok;
    } catch (const Error&) {
        return false;
    }
}

// Every sealed secret (the tokens', then the applications' client secrets) opens with the
// key and matches its stored digest.
std::string check_secrets(Store& store, const Key& key, std::string& hint) {
    std::int64_t bad = 0;
    std::string first;
    auto tokens = walk_sealed(
        [&] {
            store.for_each_sealed([&](const SealedSecrets& t) {
                if (!(opens_to(key, t.access_sealed,
                               sealing_context(t.token_id, SecretKind::access), t.access_digest) &&
                      opens_to(key, t.refresh_sealed,
                               sealing_context(t.token_id, SecretKind::refresh),
                               t.refresh_digest)) &&
                    bad++ == 0) {
                    first = t.token_id;
                }
            });
        },
        hint);
    if (tokens) {
        return *tokens;
    }
    std::int64_t bad_clients = 0;
    std::string first_client;
    auto clients = walk_sealed(
        [&] {
            store.for_each_sealed_client([&](const ClientSecret& c) {
                if (!opens_to(key, c.sealed, sealing_context(c.client_id, SecretKind::client),
                              c.digest) &&
                    bad_clients++ == 0) {
                    first_client = c.client_id;
                }
            });
        },
        hint);
    if (clients) {
        return *clients;
    }
    if (bad > 0) {
        hint = "revoke those tokens; their users create new ones with `tokenctl add-app`";
        return fmt::format("{} token{} (first {}) do not open with the key file", bad,
                           bad == 1 ? "" : "s", first);
    }
    if (bad_clients > 0) {
        hint = "give those applications new ones with `tokenctl app rotate-secret`";
        return fmt::format("{} client secret{} (first of client ID {}) do not open with the key "
                           "file",
                           bad_clients, bad_clients == 1 ? "" : "s", first_client);
    }
    return {};
}

} // namespace

std::vector<CheckLine> check_registry(const Paths& paths,
                                      const std::optional<std::string>& claimed) {
    std::vector<CheckLine> lines;
    std::optional<Session> session;
    run_check(lines, "database", [&](std::string&) {
        session.emplace(paths, claimed, CommandId::check);
        return std::string();
    });
    if (!session) {
        return lines;
    }
    Store& store = session->store();
    if (auto id = store.registry_id()) {
        // The registry's ID names its key file on every host (PostgreSQL).
        lines.back().name = fmt::format("registry {}", *id);
    }
    const bool admin = session->actor().is_admin();
    // On PostgreSQL the server keeps every token's sealed secrets, and so the integrity
    // and secrets checks, to the registry's owner; SQLite keeps nothing from an
    // administrator.
    const bool every_secret = admin && may_read_every_secret(store);
    const std::string admins_only = "administrators only";
    const std::string owner_only = "only the registry's owner reads every token's sealed secrets";
    if (every_secret) {
        run_check(lines, "integrity", [&](std::string& hint) {
            auto problems = store.integrity_problems();
            if (problems.empty()) {
                return std::string();
            }
            hint = paths.db.restore_hint();
            return fmt::format("{}{}", problems.front(),
                               problems.size() > 1
                                   ? fmt::format(" (and {} more)", problems.size() - 1)
                                   : std::string());
        });
    } else {
        skip_check(lines, "integrity", admin ? owner_only : admins_only);
    }
    run_check(lines, "schema", [&](std::string&) {
        int version = store.schema_version();
        int expected = paths.db.schema_version();
        return version == expected
                   ? std::string()
                   : fmt::format("schema version {}, this tokenctl uses {}", version, expected);
    });
    run_check(lines, "key-file", [&](std::string&) {
        session->key();
        return std::string();
    });
    const bool key_ok = lines.back().problem.empty();
    if (!paths.db.files().empty()) {
        run_check(lines, "files",
                  [&](std::string& hint) { return check_registry_files(paths.db, hint); });
    }
    if (!admin) {
        for (const char* name : {"administrators", "audit-log", "secrets"}) {
            skip_check(lines, name, admins_only);
        }
        return lines;
    }
    run_check(lines, "administrators", [&](std::string& hint) {
        if (store.count_admins() > 0) {
            return std::string();
        }
        hint = "the database owner adds one with `tokenctl user add NAME --role admin`";
        return std::string("no administrator is left");
    });
    run_check(lines, "audit-log", [&](std::string& hint) {
        if (store.audit_protected()) {
            return std::string();
        }
        hint = "restore the last backup: someone removed the audit log's protection";
        return std::string("the audit log is not protected against changes and deletions");
    });
    if (!every_secret) {
        skip_check(lines, "secrets", owner_only);
    } else if (!key_ok) {
        skip_check(lines, "secrets", "the key file is needed to open them");
    } else {
        run_check(lines, "secrets",
                  [&](std::string& hint) { return check_secrets(store, session->key(), hint); });
    }
    return lines;
}

} // namespace tokenctl
