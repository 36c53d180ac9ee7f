#include <tokenctl/error.h>
#include <tokenctl/store.h>
#include <tokenctl/store/postgres.h>
#include <tokenctl/store/sqlite.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <array>

namespace tokenctl {

namespace {

using FirstWrite = std::function<void(Store&)>;

std::unique_ptr<Store> open_sqlite(const Location& location, bool) {
    return open_sqlite_store(location.path);
}

std::unique_ptr<Store> create_sqlite(const Location& location, const FirstWrite& first_write) {
    auto store = create_sqlite_store(location.path);
    store->write([&] { first_write(*store); });
    return store;
}

// One row per backend: how its locations are opened and created.
struct Backend {
    Location::Kind kind;
    std::unique_ptr<Store> (*open)(const Location&, bool migrate);
    std::unique_ptr<Store> (*create)(const Location&, const FirstWrite&);
};

constexpr std::array k_backends{
    Backend{Location::Kind::sqlite, &open_sqlite, &create_sqlite},
    Backend{Location::Kind::postgres, &open_postgres_store, &create_postgres_store},
};

const Backend& backend_of(const Location& location) {
    for (const Backend& backend : k_backends) {
        if (backend.kind == location.kind) {
            return backend;
        }
    }
    throw Error(Status::failure, "no storage backend for this location");
}

// A password in a connection URI (user:password@ or password=): shown as ***.
std::string redact_uri(std::string_view uri, bool& redacted) {
    std::string out(uri);
    auto scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        auto authority = scheme_end + 3;
        auto authority_end = out.find_first_of("/?", authority);
        auto at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
        if (at != std::string::npos && at >= authority) {
            auto colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) {
                out.replace(colon + 1, at - colon - 1, "***");
                redacted = true;
            }
        }
    }
    for (std::size_t at = out.find("password="); at != std::string::npos;
         at = out.find("password=", at + 1)) {
        if (at > 0 && out[at - 1] != '?' && out[at - 1] != '&') {
            continue;
        }
        auto value = at + 9;
        auto end = out.find('&', value);
        out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
        redacted = true;
    }
    return out;
}

} // namespace

void Store::insert_tokens(const std::vector<Token>& tokens, std::int64_t revoked_by) {
    for (const Token& token : tokens) {
        auto id = insert_token(token);
        if (!id) {
            throw Error(Status::conflict, fmt::format("token ID {} is taken", token.token_id));
        }
        if (token.revoked_at) {
            revoke_token(*id, revoked_by, *token.revoked_at);
        }
    }
}

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
        location.uri = location.text;
        location.text = redact_uri(text, location.password_given);
    } else {
        location.path = location.text;
    }
    return location;
}

std::unique_ptr<Store> open_store(const Location& location, bool migrate) {
    return backend_of(location).open(location, migrate);
}

std::unique_ptr<Store> create_store(const Location& location, const FirstWrite& first_write) {
    return backend_of(location).create(location, first_write);
}

} // namespace tokenctl
