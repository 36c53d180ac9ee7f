#pragma once

#include <tokenctl/command_table.h>
#include <tokenctl/crypto.h>
#include <tokenctl/model.h>
#include <tokenctl/policy.h>
#include <tokenctl/store.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenctl {

// Where the registry and its key file are.
struct Paths {
    Location db;
    std::filesystem::path key;
};

// --db PATH, else TOKENCTL_DB, else $XDG_DATA_HOME/tokenctl/tokens.db (or
// ~/.local/share/...); the key file is TOKENCTL_KEY_FILE, else the database path + ".key"
// (SQLite), else empty until the registry is open (PostgreSQL: registry_key_path).
Paths resolve_paths(const std::optional<std::string>& db_flag);

// The key file of the PostgreSQL registry whose ID is `registry_id`:
// $XDG_CONFIG_HOME/tokenctl/ID.key, or ~/.config/tokenctl/ID.key.
std::filesystem::path registry_key_path(const std::string& registry_id);

// The local files of the registry at `paths` that no output may replace: the database,
// its -wal and -shm files, and the key file.
std::vector<std::filesystem::path> registry_files(const Paths& paths);

// Whom the command claims to act as: --as NAME, else TOKENCTL_USER; none when neither is
// given. Error(usage) for an invalid name.
std::optional<std::string> claimed_acting_name(const std::optional<std::string>& as_flag);

// The acting user's name on `store`. On a store with logins (PostgreSQL) it is the login
// the server authenticated, and a claim naming anyone else is Error(permission); elsewhere
// the claim, else the login name of the effective uid.
std::string acting_name(Store& store, const std::optional<std::string>& claimed);

// An open database and the acting user a command runs as. Every command but `init`
// runs in one.
class Session {
  public:
    // Opens the database at `paths` for `command` run by the acting user (acting_name of
    // `claimed`); its audit records name command_path(command). A missing or foreign
    // database is Error(failure); an unknown or removed acting user, or one policy::may_run
    // refuses, is Error(permission), recorded in the audit log. `migrate` opens a registry
    // of an older schema and upgrades it (open_store).
    Session(const Paths& paths, const std::optional<std::string>& claimed, CommandId command,
            bool migrate = false);

    const User& actor() const { return m_actor; }
    Store& store() { return *m_store; }
    const std::string& command() const { return m_command; }
    const Paths& paths() const { return m_paths; }

    // The database's key, read on first use and checked against the database. A command
    // that needs it calls this before write(): the key file is read outside the write lock,
    // so a key file that cannot be read (a FIFO, say) never holds up other writers.
    const Key& key();

    // Runs `body` in one write transaction (Store::write): writers are serialized, and
    // the acting user is read again under the lock before `body` runs, so that `body`
    // decides with facts no other writer can change before it commits (a user removed or
    // demoted while this command waited cannot act through it). A refusal raised inside
    // by enforce() is recorded in the audit log after the rollback.
    void write(const std::function<void()>& body);
    // Runs `body` in one read transaction (one snapshot), the acting user read again in
    // it; refusals are recorded after it ends, as in write().
    void read(const std::function<void()>& body);

    // Returns when `decision` allows; otherwise throws its Error. A permission refusal is
    // recorded in the audit log with `subject`, even though nothing else changes.
    void enforce(const policy::Decision& decision, std::string_view subject = {});

    // Appends an audit record of this command by the acting user, outcome "ok".
    void audit_ok(std::string_view subject, std::string_view detail = {});

  private:
    // Runs `body` as a transaction of `store_call` (the store's write or read).
    void transaction(void (Store::*store_call)(const std::function<void()>&),
                     const std::function<void()>& body);
    // The acting user as stored now: Error(permission) if removed meanwhile.
    void reload_actor();
    // Refuses an acting user who is not (or no longer) a user of the database.
    [[noreturn]] void refuse_unknown_actor(const std::string& name);
    void deny(AuditEntry entry);
    void record_denial(AuditEntry entry);

    Paths m_paths;
    std::unique_ptr<Store> m_store;
    User m_actor;
    std::string m_command; // command_path(m_command_id), the audit records' action
    CommandId m_command_id;
    std::optional<Key> m_key;
    Bytes m_key_check; // the key check that m_key opened
    bool m_in_transaction = false;
    // A keyed write found every application with its client secret: none can lack one
    // again (new ones get theirs in the write that makes them), so later writes of this
    // session skip the search.
    bool m_client_secrets_complete = false;
    // The store's change counter when the acting user was last read, in a transaction
    // that wrote nothing: while it stays the same, no other connection has changed the
    // user, and this one has not either.
    std::optional<std::int64_t> m_actor_read_at;
    std::optional<AuditEntry> m_pending_denial;
};

// Marks the key check the database keeps so a wrong key file is caught before use.
void store_key_check(Store& store, const Key& key);
// True when `key` opens the database's key check (which goes to `check_read`, if given).
// Error(failure) when it has none.
bool key_matches(Store& store, const Key& key, Bytes* check_read = nullptr);

} // namespace tokenctl
