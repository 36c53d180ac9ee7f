#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/keyfile.h>
#include <tokenctl/secret.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl {

namespace {

constexpr std::string_view k_rotate = "rotate the key";
constexpr std::string_view k_back_up = "back up the registry";

// A named temporary file beside `path` (".NAME.tokenctl-XXXXXX", the pattern tokenctl's
// own sweep knows), removed with its SQLite side files unless kept.
class TempBeside {
  public:
    explicit TempBeside(const std::filesystem::path& path) {
        std::string name =
            (folder_of(path) / ("." + path.filename().string() + ".tokenctl-XXXXXX")).string();
        int fd = ::mkostemp(name.data(), O_CLOEXEC);
        if (fd < 0) {
            throw Error(Status::failure, fmt::format("cannot create a temporary file beside {}: {}",
                                                     path.string(), std::strerror(errno)));
        }
        ::fchmod(fd, 0600);
        // Held until the file is closed: the next backup's sweep (remove_orphaned_temps_of)
        // leaves a temporary file alone while its writer lives, and removes it once a kill
        // has released the lock.
        ::flock(fd, LOCK_EX);
        m_fd = fd;
        m_path = name;
    }
    TempBeside(const TempBeside&) = delete;
    TempBeside& operator=(const TempBeside&) = delete;
    ~TempBeside() {
        ::close(m_fd);
        if (!m_kept) {
            ::unlink(m_path.c_str());
        }
        // What SQLite left beside the copy while checking it belongs to no file now.
        for (const char* suffix : {"-wal", "-shm", "-journal"}) {
            ::unlink(with_suffix(m_path, suffix).c_str());
        }
    }
    int fd() const { return m_fd; }
    const std::filesystem::path& path() const { return m_path; }
    // Links the finished file in as `dest` (replacing it only when `force`).
    void link_as(const std::filesystem::path& dest, bool force) {
        int rc =
            force ? ::rename(m_path.c_str(), dest.c_str())
                  : ::renameat2(AT_FDCWD, m_path.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
        if (rc != 0) {
            int err = errno;
            if (err == EEXIST) {
                throw Error(Status::conflict, fmt::format("{} already exists", dest.string()),
                            "pass --force to replace it");
            }
            throw Error(Status::failure,
                        fmt::format("cannot create {}: {}", dest.string(), std::strerror(err)));
        }
        m_kept = true;
    }

  private:
    int m_fd = -1;
    std::filesystem::path m_path;
    bool m_kept = false;
};

// Re-seals every secret under `new_key` and stores its key check; how many tokens.
std::int64_t reseal(Session& session, const Key& old_key, const Key& new_key) {
    std::int64_t count = 0;
    session.enforce(policy::may_administer(session.actor(), k_rotate));
    auto& store = session.store();
    Sealer sealer(new_key);
    store.for_each_sealed([&](const SealedSecrets& t) {
        auto access_context = sealing_context(t.token_id, SecretKind::access);
        auto refresh_context = sealing_context(t.token_id, SecretKind::refresh);
        std::string access = open_sealed(old_key, t.access_sealed, access_context);
        std::string refresh = open_sealed(old_key, t.refresh_sealed, refresh_context);
        Bytes access_sealed = sealer.seal(access, access_context);
        Bytes refresh_sealed = sealer.seal(refresh, refresh_context);
        wipe(access);
        wipe(refresh);
        store.replace_sealed(t.id, access_sealed, refresh_sealed);
        ++count;
    });
    store.for_each_sealed_client([&](const ClientSecret& c) {
        auto context = sealing_context(c.client_id, SecretKind::client);
        std::string secret = open_sealed(old_key, c.sealed, context);
        Bytes sealed = sealer.seal(secret, context);
        wipe(secret);
        store.replace_sealed_client(c.app_id, sealed);
    });
    store_key_check(store, new_key);
    session.audit_ok(
        {}, fmt::format("{} token{} re-sealed under a new key", count, count == 1 ? "" : "s"));
    return count;
}

} // namespace

std::int64_t plan_rekey(Session& session) {
    session.enforce(policy::may_administer(session.actor(), k_rotate));
    std::int64_t count = 0;
    session.read([&] { session.store().for_each_sealed([&](const SealedSecrets&) { ++count; }); });
    return count;
}

std::int64_t rekey(Session& session) {
    session.enforce(policy::may_administer(session.actor(), k_rotate));
    const Key& old_key = session.key(); // finishes or rolls back an interrupted rekey first
    Key new_key = Key::generate();
    PendingKey pending(session.paths().key, new_key);
    std::int64_t count = 0;
    try {
        session.write([&] { count = reseal(session, old_key, new_key); });
    } catch (const UnknownOutcome& e) {
        pending.keep(); // if the re-sealing committed, it alone opens the secrets
        throw UnknownOutcome(
            fmt::format("{}; {} is kept", e.what(), pending.path().string()),
            "run `tokenctl check`: the next command finds out which key the registry uses, "
            "and puts it in place or removes the other");
    }
    pending.install();
    return count;
}

std::pair<int, int> migrate_registry(const Paths& paths,
                                     const std::optional<std::string>& claimed) {
    Session session(paths, claimed, CommandId::migrate, true);
    session.enforce(policy::may_administer(session.actor(), "migrate the registry"));
    Store& store = session.store();
    std::pair<int, int> versions{store.opened_schema_version(), store.schema_version()};
    // Applications made before client secrets get theirs now, in the write below (every
    // write that holds the key gives them: Session::write): the upgrade itself ran when the
    // registry was opened, without the key file.
    auto missing = static_cast<std::int64_t>(store.apps_without_client_secret().size());
    if (missing > 0) {
        try {
            session.key();
        } catch (const Error& e) {
            throw Error(e.status(),
                        fmt::format("{}; the schema is at version {}, but {} application{} "
                                    "{} no client secret yet",
                                    e.what(), versions.second, missing, missing == 1 ? "" : "s",
                                    missing == 1 ? "has" : "have"),
                        "run `tokenctl migrate` again with the registry's key file "
                        "(TOKENCTL_KEY_FILE)");
        }
    }
    if (versions.first != versions.second || missing > 0) {
        session.write([&] {
            session.audit_ok(
                {}, versions.first != versions.second
                        ? fmt::format("schema version {} -> {}", versions.first, versions.second)
                        : fmt::format("client secrets for {} application{}", missing,
                                      missing == 1 ? "" : "s"));
        });
    }
    return versions;
}

void backup_registry(Session& session, const std::filesystem::path& dest, bool force) {
    if (dest == "-") {
        throw Error(Status::usage,
                    "a backup is two files, the database and its key file: standard output "
                    "(-) cannot hold them",
                    "name the copy's file: tokenctl backup /path/to/copy.db");
    }
    const Location& location = session.paths().db;
    require_backup(location);
    session.enforce(policy::may_administer(session.actor(), k_back_up));
    const auto dest_key = with_suffix(dest, ".key");
    const auto keep = registry_files(session.paths());
    check_output_file(dest, force, keep);
    check_output_file(dest_key, force, keep);
    const Key& key = session.key();

    remove_orphaned_temps_of(dest);
    remove_orphaned_temps_of(dest_key);
    TempBeside copy(dest);
    try {
        // The copy must open as a registry, and with this key.
        auto store = backup_store(location, copy.path(), dest);
        if (!key_matches(*store, key)) {
            throw Error(Status::failure, "the copy does not open with the registry's key file");
        }
    } catch (const Error& e) {
        // The temporary file's name means nothing to the user: the copy is DEST.
        std::string message = e.what();
        const std::string temp = copy.path().string();
        for (auto at = message.find(temp); at != std::string::npos;
             at = message.find(temp, at + dest.string().size())) {
            message.replace(at, temp.size(), dest.string());
        }
        throw Error(e.status(), message, e.hint());
    }
    TempBeside key_copy(dest_key);
    std::string_view raw(reinterpret_cast<const char*>(key.data()), Key::k_size);
    if (::write(key_copy.fd(), raw.data(), raw.size()) != static_cast<ssize_t>(raw.size()) ||
        ::fsync(key_copy.fd()) != 0) {
        throw Error(Status::failure,
                    fmt::format("cannot write {}: {}", dest_key.string(), std::strerror(errno)));
    }
    // What is there now may have changed while the copy was made.
    check_output_file(dest, force, keep);
    check_output_file(dest_key, force, keep);
    copy.link_as(dest, force);
    try {
        key_copy.link_as(dest_key, force);
    } catch (...) {
        ::unlink(dest.c_str()); // both or neither
        throw;
    }
    sync_folder(folder_of(dest));
    session.write([&] { session.audit_ok(dest.string(), "database and key file copied"); });
}

} // namespace tokenctl
