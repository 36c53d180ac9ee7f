#pragma once

#include "store/postgres/connection.h"

#include <cstdint>
#include <string>

// The registry's schema on PostgreSQL: sql/*.sql (embedded in the binary) filled in for one
// registry, created by init and upgraded by migrate.
namespace tokenctl::postgres {

// The schema's versions: init creates the newest at once from sql/*.sql, upgrade_schema()
// upgrades an older one.
// 2: every function's search_path pinned (pg_temp last), the writers' lock a row only the
// registry's users may lock, audit records only in the writer's own name and time.
inline constexpr int k_schema_version = 2;

// Every writer locks the registry's row (tokenctl.lock_writers()) for its whole
// transaction, as BEGIN IMMEDIATE serializes SQLite's writers; the server releases it when
// the transaction ends or its client goes away. Version 1's writers took this advisory
// lock instead, which an upgrade takes too.
inline constexpr std::int64_t k_version_1_write_lock = 0x746f6b656e63746c; // "tokenctl"

// Creates the schema tokenctl of the registry `id` (functions, tables, policies, its group
// roles and their grants) and marks it with k_schema_version, in the running transaction.
void create_schema(Connection& db, const std::string& id);

// Upgrades the schema of the registry `id` to k_schema_version, in the running transaction
// (which holds the writers' lock): the version is read again under it.
void upgrade_schema(Connection& db, const std::string& id);

} // namespace tokenctl::postgres
