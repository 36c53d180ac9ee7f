#include "store/postgres/schema.h"
#include "store/postgres/sql.h"

#include <tokenctl/error.h>
#include <tokenctl/secret.h>
#include <tokenctl/store.h>

#include <fmt/format.h>

#include <functional>
#include <map>
#include <string_view>

namespace tokenctl::postgres {

namespace {

// What tokens_add asks of a new token's times (the policy is in policies.sql and
// upgrade-2.sql): made now by the server's clock, active, unused, with lifetimes within
// SPEC's bounds (access 1 minute to 30 days, refresh up to 365 days) and the expiries they
// give.
constexpr std::string_view k_fresh_token =
    "AND abs(generated_at - (extract(epoch FROM clock_timestamp()) * 1000)::bigint) <= 300000 "
    "AND issued_at = generated_at AND revoked_at IS NULL AND revoked_by IS NULL "
    "AND last_used_at IS NULL AND access_ttl BETWEEN 60000 AND 2592000000 "
    "AND refresh_ttl BETWEEN access_ttl AND 31536000000 "
    "AND access_expires_at = issued_at + access_ttl "
    "AND refresh_expires_at = issued_at + refresh_ttl";

// The schema's SQL (sql/*.sql) for the registry `id`: each @NAME@ replaced by its value.
std::string schema_sql(std::string_view text, const std::string& id) {
    auto group = [&](std::string_view role) { return fmt::format("tokenctl_{}_{}", id, role); };
    auto quoted = [](const std::string& value) { return "'" + value + "'"; };
    const std::map<std::string, std::string, std::less<>> values = {
        {"admin", group("admin")},
        {"user", group("user")},
        {"verifier", group("verifier")},
        {"admin_text", quoted(group("admin"))},
        {"user_text", quoted(group("user"))},
        {"verifier_text", quoted(group("verifier"))},
        {"id_text", quoted(id)},
        {"changed", std::string(k_changed)},
        {"owner_stays", std::string(k_owner_stays)},
        {"clock_skew", std::string(k_clock_skew)},
        {"fresh_token", std::string(k_fresh_token)},
        {"last_use_resolution", std::to_string(k_last_use_resolution_ms)},
    };
    std::string out;
    std::size_t at = 0;
    for (auto open = text.find('@'); open != std::string_view::npos; open = text.find('@', at)) {
        auto close = text.find('@', open + 1);
        auto value = close == std::string_view::npos
                         ? values.end()
                         : values.find(text.substr(open + 1, close - open - 1));
        if (value == values.end()) {
            out += text.substr(at, open + 1 - at); // an @ of the SQL itself
            at = open + 1;
            continue;
        }
        out += text.substr(at, open - at);
        out += value->second;
        at = close + 1;
    }
    out += text.substr(at);
    return out;
}

// What upgrades schema version `from` to from + 1: every function replaced as the newest
// version has it, then what else changed.
std::string upgrade_sql(int from, const std::string& id) {
    switch (from) {
    case 1:
        return schema_sql(sql::k_functions, id) + schema_sql(sql::k_upgrade_2, id);
    case 2:
        return schema_sql(sql::k_functions, id) + schema_sql(sql::k_client_secrets, id) +
               schema_sql(sql::k_upgrade_3, id);
    case 3:
        return schema_sql(sql::k_functions, id) + schema_sql(sql::k_upgrade_4, id);
    default:
        throw Error(Status::failure, fmt::format("no upgrade from schema version {}", from));
    }
}

} // namespace

Opening read_opening(Connection& db, bool migrate) {
    // One round trip: the mark, and what a command asks next (the login's own row, the
    // key check), kept for those first questions.
    auto marks = db.query("open the registry",
                          "SELECT r.application, r.schema_version, r.registry_id, session_user, "
                          "u.id, u.name, u.role, u.created_at, u.removed_at, (SELECT value "
                          "FROM tokenctl.meta WHERE name = 'key_check') FROM tokenctl.registry r "
                          "LEFT JOIN tokenctl.users u ON tokenctl.fold(u.name) = "
                          "tokenctl.fold(session_user)",
                          Params(), &Connection::open_error);
    if (marks.rows() != 1) {
        throw Error(Status::failure,
                    fmt::format("registry {}: its schema tokenctl is not tokenctl's", db.shown()),
                    "tokenctl leaves it untouched; name another database with --db");
    }
    Opening opening;
    opening.version = static_cast<int>(marks.int64(0, 1));
    opening.registry_id = marks.str(0, 2);
    opening.login = marks.str(0, 3);
    if (!marks.null(0, 4)) {
        opening.user = User{marks.int64(0, 4), marks.str(0, 5), parse_role(marks.view(0, 6)),
                            marks.int64(0, 7), marks.optional_int64(0, 8)};
    }
    if (!marks.null(0, 9)) {
        opening.key_check = marks.bytes(0, 9);
    }
    if (opening.version > k_schema_version) {
        throw Error(Status::failure,
                    fmt::format("registry {} has schema version {}, newer than this "
                                "tokenctl knows ({})",
                                db.shown(), opening.version, k_schema_version),
                    "upgrade tokenctl; the registry was left untouched");
    }
    if (opening.version < k_schema_version && !migrate) {
        throw Error(Status::failure,
                    fmt::format("registry {} has schema version {}, older than this "
                                "tokenctl's ({})",
                                db.shown(), opening.version, k_schema_version),
                    "the registry's owner upgrades it with `tokenctl migrate`");
    }
    return opening;
}

Created create_schema(Connection& db) {
    auto exists = db.query("look for a registry", "SELECT count(*), session_user FROM pg_namespace "
                                                  "WHERE nspname = 'tokenctl'");
    if (exists.int64(0, 0) != 0) {
        throw Error(Status::conflict, fmt::format("a registry already exists in {}", db.shown()),
                    "tokenctl init never overwrites; name another database with --db");
    }
    Created created{random_hex(8), exists.str(0, 1)};
    const std::string& id = created.registry_id;
    db.exec("create the registry", "CREATE SCHEMA tokenctl;\n" + schema_sql(sql::k_functions, id) +
                                       schema_sql(sql::k_tables, id) +
                                       schema_sql(sql::k_policies, id) +
                                       schema_sql(sql::k_client_secrets, id));
    db.exec("create the registry's roles", schema_sql(sql::k_grants, id));
    db.run("mark the registry",
           "INSERT INTO tokenctl.registry (application, schema_version, registry_id) "
           "VALUES ('tokenctl', $1, $2)",
           Params().text(std::int64_t{k_schema_version}).text(id));
    return created;
}

void upgrade_schema(Connection& db, const std::string& id) {
    // Read again under the write lock: another host may have migrated meanwhile.
    auto current = db.query("read the schema version",
                            "SELECT schema_version FROM tokenctl.registry FOR UPDATE")
                       .int64(0, 0);
    for (auto v = current; v < k_schema_version; ++v) {
        db.exec("upgrade the registry", upgrade_sql(static_cast<int>(v), id));
    }
    db.run("upgrade the registry", "UPDATE tokenctl.registry SET schema_version = $1",
           Params().text(std::int64_t{k_schema_version}));
}

} // namespace tokenctl::postgres
