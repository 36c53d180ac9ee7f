#include "store/sqlite/files.h"

#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/store/sqlite.h>

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl {

namespace sqlite {

namespace {

// Reads the big-endian 32-bit integer at `offset` of the 100-byte SQLite header.
std::uint32_t header_u32(const std::array<unsigned char, 100>& header, std::size_t offset) {
    return (std::uint32_t{header[offset]} << 24) | (std::uint32_t{header[offset + 1]} << 16) |
           (std::uint32_t{header[offset + 2]} << 8) | std::uint32_t{header[offset + 3]};
}

// The files SQLite keeps beside a database: it creates them itself, with the database's
// mode, and trusts what it finds in them (a -wal's pages become the database's content).
constexpr std::array<const char*, 3> k_companions = {"-wal", "-shm", "-journal"};

// The database's real path (SQLite follows a symbolic link to it and keeps its companions
// beside the target). For a database that does not exist yet, its folder's real path.
std::filesystem::path real_path(const std::filesystem::path& path) {
    if (char* resolved = ::realpath(path.c_str(), nullptr)) {
        std::filesystem::path real(resolved);
        std::free(resolved);
        return real;
    }
    auto folder = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    if (char* resolved = ::realpath(folder.c_str(), nullptr)) {
        std::filesystem::path real(resolved);
        std::free(resolved);
        return real / path.filename();
    }
    return path;
}

bool writable(const std::filesystem::path& path, int& err) {
    if (::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) == 0) {
        return true;
    }
    err = errno;
    return false;
}

// A file: URI that opens `path` read-only and immutable, its special characters escaped.
std::string immutable_uri(const std::string& path) {
    std::string uri = path.starts_with('/') ? "file://" : "file:";
    for (char c : path) {
        if (c == '%' || c == '?' || c == '#') {
            uri += fmt::format("%{:02x}", static_cast<unsigned char>(c));
        } else {
            uri += c;
        }
    }
    return uri + "?mode=ro&immutable=1";
}

} // namespace

namespace {

// A descriptor of the database file `st` describes, to read its header with. Closing a
// descriptor drops every POSIX lock the process holds on the file, those of SQLite's own
// connections included (SQLite keeps its descriptors open for that reason): in a process
// with several connections (serve's threads), another connection's lost locks would let
// other processes delete the -wal and -shm files it still uses, and it would read a stale
// registry from then on. So the descriptor is kept open, one per file, for the life of
// the process; -1 when the file cannot be opened.
int header_fd(const std::filesystem::path& path, const struct stat& st) {
    static std::mutex mutex;
    static std::map<std::pair<dev_t, ino_t>, int> open_files;
    std::lock_guard lock(mutex);
    auto known = open_files.find({st.st_dev, st.st_ino});
    if (known != open_files.end()) {
        return known->second;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return -1;
    }
    struct stat opened {};
    if (::fstat(fd, &opened) != 0) {
        return fd; // left open: it may be the file SQLite holds locks on
    }
    open_files.emplace(std::pair{opened.st_dev, opened.st_ino}, fd);
    return fd;
}

} // namespace

uid_t check_header(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw Error(Status::failure, fmt::format("no database at {}", path.string()),
                    "run `tokenctl init` to create one, or name another with --db");
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(
            Status::failure,
            fmt::format("{} is not a tokenctl database (not a regular file)", path.string()));
    }
    int fd = header_fd(path, st);
    if (fd < 0) {
        throw Error(Status::failure, fmt::format("cannot read database {}", path.string()));
    }
    std::array<unsigned char, 100> header{};
    ssize_t got = ::pread(fd, header.data(), header.size(), 0);
    constexpr std::string_view k_magic{"SQLite format 3\0", 16};
    if (got != static_cast<ssize_t>(header.size()) ||
        std::string_view(reinterpret_cast<const char*>(header.data()), 16) != k_magic ||
        header_u32(header, 68) != static_cast<std::uint32_t>(k_application_id)) {
        throw Error(Status::failure, fmt::format("{} is not a tokenctl database", path.string()),
                    "check --db / TOKENCTL_DB; tokenctl leaves other files untouched");
    }
    return st.st_uid;
}

void check_surroundings(const std::filesystem::path& db, uid_t owner) {
    const auto real = real_path(db);
    const auto folder = real.parent_path();
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0) {
        throw Error(Status::failure,
                    fmt::format("database {}: cannot examine its folder {}: {}", db.string(),
                                folder.string(), std::strerror(errno)));
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || (st.st_uid != owner && st.st_uid != 0)) {
        throw Error(Status::failure,
                    fmt::format("database {} is in a folder that others may write to ({}, "
                                "mode {:04o}, uid {})",
                                db.string(), folder.string(), st.st_mode & 07777, st.st_uid),
                    "another user could plant its -wal or -shm file there; keep the database "
                    "in a folder that only its owner may write to");
    }
    for (const char* suffix : k_companions) {
        auto file = with_suffix(real, suffix);
        if (::lstat(file.c_str(), &st) != 0) {
            continue;
        }
        std::string problem;
        if (!S_ISREG(st.st_mode)) {
            problem = "is not a regular file";
        } else if (st.st_uid != owner) {
            problem = fmt::format("belongs to uid {}, the database to uid {}", st.st_uid, owner);
        } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
            problem =
                fmt::format("is writable by group or others (mode {:04o})", st.st_mode & 07777);
        }
        if (!problem.empty()) {
            throw Error(Status::failure,
                        fmt::format("database {}: {} {}", db.string(), file.string(), problem),
                        "tokenctl reads and writes nothing through a file it cannot trust; find "
                        "out who made it, and remove it while no tokenctl runs");
        }
    }
}

Access probe_access(const std::filesystem::path& db) {
    const auto real = real_path(db);
    Access access;
    int err = 0;
    auto read_only = [&](const std::filesystem::path& file) {
        access.read_only = true;
        access.why = err == EROFS ? "it is on a read-only file system"
                                  : fmt::format("{} is not writable", file.string());
    };
    struct stat st {};
    if (!writable(real, err)) {
        read_only(real);
    } else if (::stat(real.c_str(), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        // SQLite would give its -wal and -shm files this mode, and they would be refused.
        access.read_only = true;
        access.why = fmt::format("{} is writable by group or others (mode {:04o})", real.string(),
                                 st.st_mode & 07777);
        access.hint = fmt::format("run: chmod 600 {}", real.string());
    }
    for (const char* suffix : k_companions) {
        auto file = with_suffix(real, suffix);
        if (access.read_only || writable(file, err)) {
            continue;
        }
        // A companion that does not exist (or was just removed by another process's last
        // close) is one SQLite may have to create: the folder must be writable.
        if (err != ENOENT) {
            read_only(file);
        } else if (!writable(real.parent_path(), err)) {
            read_only(real.parent_path());
        }
    }
    if (access.read_only) {
        struct stat wal {};
        auto wal_path = with_suffix(real, "-wal");
        access.immutable = ::stat(wal_path.c_str(), &wal) != 0 || wal.st_size == 0;
    }
    return access;
}

std::pair<std::string, int> connection_of(const std::string& path, const Access& access,
                                          bool read_only) {
    if (access.read_only && access.immutable) {
        return {immutable_uri(path),
                SQLite::OPEN_READONLY | SQLite::OPEN_URI | SQLite::OPEN_NOMUTEX};
    }
    if (access.read_only || read_only) {
        return {path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX};
    }
    return {path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX};
}

std::string check_files(const std::filesystem::path& db_path, std::string& hint) {
    struct stat db {};
    if (::stat(db_path.c_str(), &db) != 0) {
        return fmt::format("cannot read {}", db_path.string());
    }
    if ((db.st_mode & 022) != 0) {
        hint = fmt::format("run: chmod 600 {}", db_path.string());
        return fmt::format("{} is writable by group or others (mode {:04o})", db_path.string(),
                           db.st_mode & 07777);
    }
    auto folder = folder_of(db_path);
    struct stat dir {};
    if (::stat(folder.c_str(), &dir) == 0 && (dir.st_mode & 022) != 0) {
        hint = fmt::format("keep the database in a folder only its owner can write (chmod 700 "
                           "{})",
                           folder.string());
        return fmt::format("its folder {} is writable by group or others (mode {:04o})",
                           folder.string(), dir.st_mode & 07777);
    }
    for (const char* suffix : {"-wal", "-shm"}) {
        auto side = with_suffix(db_path, suffix);
        struct stat st {};
        if (::lstat(side.c_str(), &st) != 0) {
            continue;
        }
        if (!S_ISREG(st.st_mode) || st.st_uid != db.st_uid || (st.st_mode & 022) != 0) {
            hint = fmt::format("stop every tokenctl process, then remove {}", side.string());
            return fmt::format("{} is not a private file of the database's owner", side.string());
        }
    }
    return {};
}

} // namespace sqlite

using namespace sqlite;

void sqlite_backup(const std::filesystem::path& source, const std::filesystem::path& dest,
                   const std::filesystem::path& shown) {
    check_header(source);
    try {
        // A source this process cannot write is read as the store reads it, so that SQLite
        // leaves no -wal or -shm file with the source's read-only mode.
        auto [name, flags] = connection_of(source.string(), probe_access(source), true);
        SQLite::Database from(name, flags);
        from.setBusyTimeout(k_busy_timeout_ms);
        SQLite::Database to(dest.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
        to.exec("PRAGMA synchronous = FULL");
        SQLite::Backup backup(to, from);
        backup.executeStep(); // every page at once: one snapshot of the source
    } catch (const SQLite::Exception& e) {
        throw Error(Status::failure, fmt::format("cannot copy database {} to {}: {}",
                                                 source.string(), shown.string(), e.what()));
    }
}

} // namespace tokenctl
