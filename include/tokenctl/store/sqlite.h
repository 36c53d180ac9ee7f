#pragma once

#include <tokenctl/store.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

// The SQLite backend's own knobs, for the few callers that need them (tokenctl-seed, the
// query-plan test); commands go through open_store/create_store.
namespace tokenctl {

struct SqliteOptions {
    // The page cache, for a bulk load (tokenctl-seed writing many rows in a few large
    // transactions): with about this many bytes the pages of the random-keyed indexes
    // (token IDs, digests) stay in memory instead of being spilled to the log and read
    // back. 0 keeps SQLite's default. Durability and results are unchanged.
    std::int64_t cache_bytes = 0;
};

// Opens an existing tokenctl database (see open_store).
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path,
                                         const SqliteOptions& options = {});

// Creates a new database at `path`, which must not exist, with mode 0600.
std::unique_ptr<Store> create_sqlite_store(const std::filesystem::path& path);

// Copies the database at `source` to the existing empty file `dest` with SQLite's online
// backup: one consistent snapshot, while other processes go on reading and writing. Errors
// name the copy `shown` (the file `dest` becomes), not `dest`, a temporary file.
void sqlite_backup(const std::filesystem::path& source, const std::filesystem::path& dest,
                   const std::filesystem::path& shown);

// The schema version this build writes and reads.
int sqlite_schema_version();

// The SQL that the SQLite store's for_each_token runs for `filter` (its parameters unbound):
// exposed so that a test can hold every listing to an index.
std::string sqlite_token_listing_sql(const TokenFilter& filter);

// The SQL that the SQLite store's token_counts runs (?1 now, ?2 now + within).
std::string sqlite_token_counts_sql();
// The SQL that the SQLite store's for_each_name runs for `query` (parameters unbound).
std::string sqlite_name_sql(const NameQuery& query);

// EXPLAIN QUERY PLAN of `sql` on the tokenctl database at `path`, opened read-only: one
// line per step, as SQLite words it ("SEARCH t USING INDEX tokens_by_user (user_id=?)").
std::vector<std::string> sqlite_query_plan(const std::filesystem::path& path,
                                           const std::string& sql);

} // namespace tokenctl
