#pragma once

#include <tokenctl/store.h>

#include <functional>
#include <memory>

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

} // namespace tokenctl
