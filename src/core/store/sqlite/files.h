#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <utility>

// The SQLite backend's files: what a database file and its surroundings must be before
// SQLite may open them, how this process may open them, and their health (check).
namespace tokenctl::sqlite {

// "TkCt": marks a file as a tokenctl database (PRAGMA application_id).
inline constexpr std::int32_t k_application_id = 0x546B4374;
inline constexpr int k_busy_timeout_ms = 10000;

// Refuses anything but a tokenctl database, from its header alone, before SQLite opens it
// (and before anything could write to it). Returns the uid of its owner.
uid_t check_header(const std::filesystem::path& path);

// Refuses a database whose companions someone other than its owner could have made: a
// folder that others may write to (a sticky /tmp), or a -wal, -shm or -journal file that
// belongs to another user, is writable by group or others, or is not a regular file.
// `owner` is the uid of the database file (the acting process's for a new one).
void check_surroundings(const std::filesystem::path& db, uid_t owner);

// How this process can open a database: read-write, or read-only and why.
struct Access {
    bool read_only = false;
    // Read-only with nothing waiting in a -wal: the main file is the whole database, and
    // SQLite reads it without a -wal or -shm file (which it could not create, or would
    // create with the read-only file's mode, breaking every later write). Without the
    // -shm's locks, a writer that checkpoints into the main file while this reads could
    // show it a torn page: a failed read, never a write, and only where someone else
    // writes a database that this process may not.
    bool immutable = false;
    std::string why;  // "it is on a read-only file system", "FOLDER is not writable", ...
    std::string hint; // what would let this process write, when one command does it
};

// How this process may open the database at `db`.
Access probe_access(const std::filesystem::path& db);

// The name and flags a connection to `path` opens with, as `access` allows: read-write
// unless `read_only` or the access says otherwise; immutable where it says so.
std::pair<std::string, int> connection_of(const std::string& path, const Access& access,
                                          bool read_only);

// check's "files" line: the database file and its folder may be written by nobody else;
// the -wal and -shm files belong to the database's owner and only they may write them.
// Returns the problem ("" when sound) and sets `hint`.
std::string check_files(const std::filesystem::path& db, std::string& hint);

} // namespace tokenctl::sqlite
