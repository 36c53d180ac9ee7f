#pragma once

#include "store/postgres/connection.h"

#include <tokenctl/model.h>

#include <cstdint>
#include <optional>
#include <string>

// The registry's schema on PostgreSQL: sql/*.sql (embedded in the binary) filled in for one
// registry, created by init and upgraded by migrate.
namespace tokenctl::postgres {

// The schema's versions: init creates the newest at once from sql/*.sql, upgrade_schema()
// upgrades an older one.
// 2: every function's search_path pinned (pg_temp last), the writers' lock a row only the
// registry's users may lock, audit records only in the writer's own name and time.
// 3: applications' client secrets (client-secrets.sql, upgrade-3.sql).
// 4: token_counts(), serve's GET /metrics for a verifier (upgrade-4.sql).
inline constexpr int k_schema_version = 4;

// Every writer locks the registry's row (tokenctl.lock_writers()) for its whole
// transaction, as BEGIN IMMEDIATE serializes SQLite's writers; the server releases it when
// the transaction ends or its client goes away. Version 1's writers took this advisory
// lock instead, which an upgrade takes too.
inline constexpr std::int64_t k_version_1_write_lock = 0x746f6b656e63746c; // "tokenctl"

// What opening a registry reads in one round trip: its mark, and what a command asks next,
// kept for those first questions.
struct Opening {
    int version = k_schema_version;
    std::string registry_id;
    std::string login;              // session_user
    std::optional<User> user;       // the login's row of users, if it has one
    std::optional<Bytes> key_check; // meta's key_check, if set
};

// Reads the mark of the registry on `db`. Refuses a schema tokenctl that is not tokenctl's,
// a newer schema version, and an older one unless `migrate` (which upgrade_schema() then
// upgrades).
Opening read_opening(Connection& db, bool migrate);

// A registry just created: its new ID, and the login that created it.
struct Created {
    std::string registry_id;
    std::string login;
};

// Creates the schema tokenctl with a new registry ID (functions, tables, policies, its group
// roles and their grants) and marks it with k_schema_version, in the running transaction;
// Error(conflict) when the database has a registry already.
Created create_schema(Connection& db);

// Upgrades the schema of the registry `id` to k_schema_version, in the running transaction
// (which holds the writers' lock): the version is read again under it.
void upgrade_schema(Connection& db, const std::string& id);

} // namespace tokenctl::postgres
