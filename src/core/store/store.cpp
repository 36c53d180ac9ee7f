#include <tokenctl/error.h>
#include <tokenctl/store.h>
#include <tokenctl/store/sqlite.h>
#include <tokenctl/validate.h>

#include <array>

namespace tokenctl {

namespace {

std::unique_ptr<Store> open_sqlite(const Location& location) {
    return open_sqlite_store(location.path);
}

std::unique_ptr<Store> create_sqlite(const Location& location) {
    return create_sqlite_store(location.path);
}

[[noreturn]] std::unique_ptr<Store> postgres_unavailable(const Location&) {
    throw Error(Status::failure, "this tokenctl cannot open PostgreSQL registries yet",
                "use a SQLite database file with --db PATH");
}

// One row per backend: how its locations are recognised, opened and created.
struct Backend {
    Location::Kind kind;
    std::unique_ptr<Store> (*open)(const Location&);
    std::unique_ptr<Store> (*create)(const Location&);
};

constexpr std::array k_backends{
    Backend{Location::Kind::sqlite, &open_sqlite, &create_sqlite},
    Backend{Location::Kind::postgres, &postgres_unavailable, &postgres_unavailable},
};

const Backend& backend_of(const Location& location) {
    for (const Backend& backend : k_backends) {
        if (backend.kind == location.kind) {
            return backend;
        }
    }
    throw Error(Status::failure, "no storage backend for this location");
}

} // namespace

void Store::append_audit(const AuditEntry& entry) {
    AuditEntry clean = entry;
    for (std::string* field :
         {&clean.actor, &clean.action, &clean.subject, &clean.outcome, &clean.detail}) {
        *field = redact_secret_shapes(*field);
    }
    store_audit(clean);
}

std::vector<std::filesystem::path> Location::files() const {
    if (kind != Kind::sqlite) {
        return {};
    }
    auto with = [&](const char* suffix) {
        auto file = path;
        file += suffix;
        return file;
    };
    return {path, with("-wal"), with("-shm")};
}

Location parse_location(std::string_view text) {
    if (text.empty()) {
        throw Error(Status::usage, "the database path is empty");
    }
    Location location;
    location.text = std::string(text);
    if (text.starts_with("postgresql://") || text.starts_with("postgres://")) {
        location.kind = Location::Kind::postgres;
    } else {
        location.path = location.text;
    }
    return location;
}

std::unique_ptr<Store> open_store(const Location& location) {
    return backend_of(location).open(location);
}

std::unique_ptr<Store> create_store(const Location& location) {
    return backend_of(location).create(location);
}

} // namespace tokenctl
