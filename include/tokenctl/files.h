#pragma once

#include <tokenctl/crypto.h>

#include <filesystem>
#include <span>
#include <string_view>

namespace tokenctl {

// Creates `dir` and its missing parents with mode 0700. Throws Error(failure).
void make_private_dirs(const std::filesystem::path& dir);

// Creates the new file `path` (never an existing one, never through a link) with mode
// 0600 whatever the umask, writes `data` and syncs it. Throws Error(conflict) when the
// file exists, Error(failure) otherwise.
void create_private_file(const std::filesystem::path& path, std::string_view data);

// Refuses, before anything is committed, an output file that write_file_atomically would
// refuse now: a missing folder (Error(failure)); with Error(conflict), an existing `path`
// unless `overwrite`, and even with it anything but a regular file or a symbolic link (a
// folder, a FIFO, a device, a socket), a link into /proc (/dev/stdout is one), and
// whatever is, or a link resolves to, one of `keep` (compared by device and inode).
void check_output_file(const std::filesystem::path& path, bool overwrite,
                       std::span<const std::filesystem::path> keep);

// Writes `data` to `path` atomically: a temporary file in the same folder, fsync, then
// rename, mode 0600; a symbolic link at `path` is replaced, never what it points to.
// Checks `path` with check_output_file first, and again just before renaming. On any
// failure the temporary file is removed and `path` is as it was. The temporary file is
// unnamed (O_TMPFILE) until complete; a named one (".NAME.tokenctl-XXXXXX") that a
// killed writer left is removed by the next write of `path`, and nothing else is.
void write_file_atomically(const std::filesystem::path& path, std::string_view data, bool overwrite,
                           std::span<const std::filesystem::path> keep = {});

// Reads the key file, opened without following a link and without blocking: it must be a
// regular file of the effective user, of exactly Key::k_size bytes, that neither group nor
// others may access. Throws Error(failure) with a clear message, at once for a FIFO.
Key read_key_file(const std::filesystem::path& path);

// Removes what writers of `path` killed before linking their work in left beside it: the
// named temporary files ".NAME.tokenctl-XXXXXX" (and SQLite's -journal, -wal and -shm of
// each) that are regular, private files of this user whose writer is gone (a live writer
// holds an exclusive flock on its temporary file until it exits). Nothing else.
void remove_orphaned_temps_of(const std::filesystem::path& path);

// The folder `path` is in ("." for a bare name).
std::filesystem::path folder_of(const std::filesystem::path& path);

// `path` with `suffix` appended to its file name: tokens.db, "-wal" -> tokens.db-wal.
std::filesystem::path with_suffix(std::filesystem::path path, std::string_view suffix);

// Makes a rename or link in `folder` durable by syncing the folder (best effort).
void sync_folder(const std::filesystem::path& folder);

// True when something (file, folder, link) exists at `path`.
bool path_exists(const std::filesystem::path& path);

} // namespace tokenctl
