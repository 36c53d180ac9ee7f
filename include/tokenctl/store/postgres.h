#pragma once

#include <tokenctl/store.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// The PostgreSQL backend: one registry shared by many hosts, in the schema `tokenctl` of
// the database a libpq URI names. Commands go through open_store/create_store.
namespace tokenctl {

// Opens the registry at `location` (see open_store). A registry from an older tokenctl is
// refused with the hint to run `tokenctl migrate`, unless `migrate`, which upgrades it.
std::unique_ptr<Store> open_postgres_store(const Location& location, bool migrate);

// Creates the schema, its group roles and grants, and runs `first_write` in the same
// transaction: a failed `first_write` leaves the database as it was.
std::unique_ptr<Store> create_postgres_store(const Location& location,
                                             const std::function<void(Store&)>& first_write);

// The schema version this tokenctl creates and reads on PostgreSQL.
int postgres_schema_version();

// A statement as the PostgreSQL store sends it: SQL with the placeholders $1, $2, … and
// their values, in text form.
struct PostgresStatement {
    std::string sql;
    std::vector<std::string> params;
};

// The statement the PostgreSQL store's for_each_token sends for `filter`: exposed, as the
// other listings' below, so that a test can hold every listing to an index.
PostgresStatement postgres_token_listing_sql(const TokenFilter& filter);

// The statement of the PostgreSQL store's for_each_app (see Store::for_each_app).
PostgresStatement postgres_app_listing_sql(bool include_removed, std::optional<std::int64_t> holder,
                                           Millis now);

// The statement of the PostgreSQL store's for_each_user: the active users at `now`.
PostgresStatement postgres_user_listing_sql(Millis now);

// The statement of the PostgreSQL store's for_each_audit for `filter`.
PostgresStatement postgres_audit_sql(const AuditFilter& filter);

// The statement of the PostgreSQL store's for_each_name for `query`.
PostgresStatement postgres_name_sql(const NameQuery& query);

// EXPLAIN of `statement`, its parameters bound, on the registry at `location` as its login
// reads it (in a read-only transaction, as the store's listings): one line per line of the
// plan, as PostgreSQL words it ("Index Scan using tokens_by_user on tokens t").
std::vector<std::string> postgres_query_plan(const Location& location,
                                             const PostgresStatement& statement);

} // namespace tokenctl
