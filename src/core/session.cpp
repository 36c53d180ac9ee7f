#include "client_secret.h"
#include "libcrypto.h"

#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/keyfile.h>
#include <tokenctl/session.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

namespace tokenctl {

namespace {

constexpr std::string_view k_key_check_name = "key_check";
constexpr std::string_view k_key_check_text = "tokenctl key check";

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    return std::string(value);
}

} // namespace

Paths resolve_paths(const std::optional<std::string>& db_flag) {
    std::string where;
    auto data = env("XDG_DATA_HOME");
    if (db_flag) {
        where = *db_flag;
    } else if (auto db = env("TOKENCTL_DB")) {
        where = *db;
    } else if (data && data->starts_with('/')) {
        // A relative XDG_DATA_HOME is invalid and ignored, as the XDG specification says.
        where = (std::filesystem::path(*data) / "tokenctl" / "tokens.db").string();
    } else if (auto home = env("HOME")) {
        where =
            (std::filesystem::path(*home) / ".local" / "share" / "tokenctl" / "tokens.db").string();
    } else {
        throw Error(Status::usage, "cannot tell where the database is: HOME is not set",
                    "name it with --db PATH or TOKENCTL_DB");
    }
    Paths paths{parse_location(where), {}};
    if (auto key = env("TOKENCTL_KEY_FILE")) {
        paths.key = *key;
    } else {
        paths.key = paths.db.default_key_file();
    }
    return paths;
}

std::filesystem::path registry_key_path(const std::string& registry_id) {
    std::filesystem::path config;
    auto xdg = env("XDG_CONFIG_HOME");
    if (xdg && xdg->starts_with('/')) {
        config = *xdg;
    } else if (auto home = env("HOME")) {
        config = std::filesystem::path(*home) / ".config";
    } else {
        throw Error(Status::usage, "cannot tell where the registry's key file is: HOME is not set",
                    "name it with TOKENCTL_KEY_FILE");
    }
    return config / "tokenctl" / (registry_id + ".key");
}

std::vector<std::filesystem::path> registry_files(const Paths& paths) {
    auto files = paths.db.files();
    files.push_back(paths.key);
    return files;
}

std::optional<std::string> claimed_acting_name(const std::optional<std::string>& as_flag) {
    std::optional<std::string> name = as_flag ? as_flag : env("TOKENCTL_USER");
    if (name) {
        validate_user_name(*name);
    }
    return name;
}

std::string acting_name(Store& store, const std::optional<std::string>& claimed) {
    if (auto login = store.login()) {
        if (claimed && !iequals(*claimed, *login)) {
            throw Error(Status::permission,
                        fmt::format("you are connected as {}, not {}: on a PostgreSQL registry "
                                    "you act as your login",
                                    *login, *claimed),
                        "connect as that login (PGUSER or the URI's user), or drop --as and "
                        "TOKENCTL_USER");
        }
        return *login;
    }
    if (claimed) {
        return *claimed;
    }
    const passwd* pw = ::getpwuid(::geteuid());
    if (pw == nullptr) {
        throw Error(Status::failure,
                    "cannot tell who is acting: the effective uid has no login name",
                    "name the acting user with --as NAME or TOKENCTL_USER");
    }
    validate_user_name(pw->pw_name);
    return pw->pw_name;
}

Session::Session(const Paths& paths, const std::optional<std::string>& claimed, CommandId command,
                 bool migrate)
    : m_paths(paths), m_store(open_store(paths.db, {.migrate = migrate})),
      m_command(command_path(command)), m_command_id(command) {
    if (m_paths.key.empty()) {
        if (auto id = m_store->registry_id()) {
            m_paths.key = registry_key_path(*id);
        }
    }
    std::string name;
    try {
        name = acting_name(*m_store, claimed);
    } catch (const Error& e) {
        // On PostgreSQL a claim to act as someone else is refused (exit 3); when the login
        // is a user of the registry, the refusal is theirs and is audited as theirs.
        auto login = m_store->login();
        if (e.status() == Status::permission && login && claimed) {
            std::optional<User> user;
            try {
                user = m_store->find_user(*login, false);
            } catch (const Error&) {
                // The refusal is what the user must hear about, as in record_denial.
            }
            if (user) {
                m_actor = std::move(*user);
                deny(AuditEntry{0, now_ms(), m_actor.name, m_command, *claimed, "denied",
                                fmt::format("asked to act as {}", *claimed)});
            }
        }
        throw;
    }
    auto user = m_store->find_user(name, false);
    if (!user) {
        refuse_unknown_actor(name);
    }
    m_actor = std::move(*user);
    enforce(policy::may_run(m_actor, m_command_id));
}

void Session::refuse_unknown_actor(const std::string& name) {
    deny(AuditEntry{0, now_ms(), name, m_command, {}, "denied", "unknown acting user"});
    throw Error(Status::permission, fmt::format("{} is not a user of this database", name),
                "act as a user of the database with --as NAME or TOKENCTL_USER; an "
                "administrator adds users with `tokenctl user add`");
}

void Session::reload_actor() {
    auto user = m_store->find_user(m_actor.name, false);
    if (!user || user->id != m_actor.id) {
        refuse_unknown_actor(m_actor.name);
    }
    m_actor = std::move(*user);
    enforce(policy::may_run(m_actor, m_command_id));
}

bool key_matches(Store& store, const Key& key, Bytes* check_read) {
    auto check = store.meta(k_key_check_name);
    if (!check) {
        throw Error(Status::failure, "the database has no key check; it is damaged");
    }
    if (check_read != nullptr) {
        *check_read = *check;
    }
    // A libcrypto that cannot be loaded is an error of its own (with its hint), not a key
    // that does not match: load it before the check, whose failures all mean "no match".
    libcrypto();
    try {
        return open_sealed(key, *check, k_key_check_name) == k_key_check_text;
    } catch (const Error&) {
        return false;
    }
}

const Key& Session::key() {
    if (!m_key) {
        using State = KeyRecovery::State;
        const auto recovery = recover_pending_key(
            m_paths.key, [&](const Key& k) { return key_matches(*m_store, k); });
        const auto pending = pending_key_path(m_paths.key);
        if (recovery.state == State::stuck) {
            throw Error(Status::failure,
                        fmt::format("a key rotation is under way: the registry's secrets open "
                                    "with {}, which cannot replace {}: {}",
                                    pending.string(), m_paths.key.string(), recovery.error),
                        fmt::format("put {} in place of {} (a mounted secret: update its "
                                    "source), then run the command again",
                                    pending.string(), m_paths.key.string()));
        }
        Key key = read_key_file(m_paths.key);
        if (!key_matches(*m_store, key, &m_key_check)) {
            if (recovery.state == State::busy) {
                throw Error(Status::failure,
                            "a key rotation is under way: tokenctl rekey has re-sealed the "
                            "secrets and is putting the new key file in place",
                            "run the command again in a moment");
            }
            throw Error(Status::failure,
                        fmt::format("key file {} does not match database {}", m_paths.key.string(),
                                    m_paths.db.text),
                        recovery.state == State::neither
                            ? fmt::format("neither it nor {} opens the registry; use the key "
                                          "file that `tokenctl init` created with it",
                                          pending.string())
                            : "use the key file that `tokenctl init` created with this database "
                              "(TOKENCTL_KEY_FILE names another place)");
        }
        m_key.emplace(std::move(key));
    }
    return *m_key;
}

void Session::write(const std::function<void()>& body) {
    transaction(&Store::write, body);
}

void Session::read(const std::function<void()>& body) {
    transaction(&Store::read, body);
}

void Session::transaction(void (Store::*store_call)(const std::function<void()>&),
                          const std::function<void()>& body) {
    m_in_transaction = true;
    try {
        ((*m_store).*store_call)([&] {
            // A writer reads the user again under the lock whatever the counter says, and
            // its own changes (which the counter does not show) force the next read to.
            std::optional<std::int64_t> counter = m_store->change_counter();
            if (store_call == &Store::write || !counter || counter != m_actor_read_at) {
                m_actor_read_at.reset();
                reload_actor();
                if (store_call != &Store::write) {
                    m_actor_read_at = counter;
                }
            }
            // The key was read before the lock: a rekey may have committed since.
            if (m_key && store_call == &Store::write) {
                m_store->require_meta(
                    k_key_check_name, m_key_check,
                    Error(Status::failure,
                          "the registry's key was rotated while this command waited",
                          "run the command again"));
                // Applications made before client secrets get theirs from the first writer
                // that holds the key: a migration runs when the registry opens, before any
                // key file is read, and so cannot seal them itself. Once a search finds none
                // missing (so nothing it wrote can be rolled back), it is not made again.
                if (!m_client_secrets_complete) {
                    m_client_secrets_complete = give_missing_client_secrets(*m_store, *m_key) == 0;
                }
            }
            body();
        });
    } catch (...) {
        m_in_transaction = false;
        if (m_pending_denial) {
            AuditEntry denial = std::move(*m_pending_denial);
            m_pending_denial.reset();
            record_denial(std::move(denial));
        }
        throw;
    }
    m_in_transaction = false;
}

void Session::enforce(const policy::Decision& decision, std::string_view subject) {
    if (decision.allowed()) {
        return;
    }
    if (decision.status == Status::permission) {
        deny(AuditEntry{0, now_ms(), m_actor.name, m_command, std::string(subject), "denied",
                        decision.reason});
    }
    throw Error(decision.status, decision.reason);
}

void Session::audit_ok(std::string_view subject, std::string_view detail) {
    m_store->append_audit(AuditEntry{0, now_ms(), m_actor.name, m_command, std::string(subject),
                                     "ok", std::string(detail)});
}

// Inside a transaction the record waits for the rollback; outside, it is written now.
void Session::deny(AuditEntry entry) {
    if (m_in_transaction) {
        m_pending_denial = std::move(entry);
    } else {
        record_denial(std::move(entry));
    }
}

void Session::record_denial(AuditEntry entry) {
    // The refusal itself is what the user must hear about: a database that cannot take
    // the record (read-only, say) does not turn it into another error.
    try {
        m_store->write([&] { m_store->append_audit(entry); });
    } catch (const Error&) {
    }
}

void store_key_check(Store& store, const Key& key) {
    store.set_meta(k_key_check_name, seal(key, k_key_check_text, k_key_check_name));
}

} // namespace tokenctl
