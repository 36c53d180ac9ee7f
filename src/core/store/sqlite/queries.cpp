#include "store/sqlite/queries.h"

#include <tokenctl/error.h>
#include <tokenctl/store/sqlite.h>

#include "store/sqlite/files.h"
#include "store/token_columns.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>

namespace tokenctl {

namespace sqlite {

std::pair<std::optional<std::string>, std::optional<std::string>>
prefix_range(const NameQuery& query) {
    if (query.prefix.empty()) {
        return {};
    }
    // User names compare case-insensitively (COLLATE NOCASE folds ASCII letters only, and
    // user names are ASCII): the range's bounds are in lower case.
    std::string low = query.prefix;
    if (query.kind == NameQuery::Kind::user_names) {
        std::transform(low.begin(), low.end(), low.begin(), [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        });
    }
    // Every string that begins with `low` is below `low` with its last byte raised by one
    // (UTF-8 has no 0xFF byte, but a prefix of them has no upper bound).
    std::string high = low;
    while (!high.empty() && static_cast<unsigned char>(high.back()) == 0xFF) {
        high.pop_back();
    }
    if (high.empty()) {
        return {low, std::nullopt};
    }
    high.back() = static_cast<char>(static_cast<unsigned char>(high.back()) + 1);
    return {low, high};
}

} // namespace sqlite

using namespace sqlite;
namespace col = token_columns;

std::string sqlite_token_listing_sql(const TokenFilter& filter) {
    // One statement per combination of filters, so each can use its index.
    std::string sql = fmt::format("SELECT {}{} WHERE 1", col::k_row, k_token_joins);
    if (filter.user_id) {
        sql += " AND t.user_id = ?1";
    }
    if (filter.app_id) {
        sql += " AND t.app_id = ?2";
    }
    if (!filter.include_revoked || filter.active_at) {
        sql += " AND t.revoked_at IS NULL";
    }
    if (filter.active_at) {
        sql += " AND t.refresh_expires_at > ?5";
    }
    if (filter.expiring_before) {
        sql += " AND t.refresh_expires_at <= ?3";
    }
    if (filter.unused_since) {
        sql += " AND coalesce(t.last_used_at, t.generated_at) <= ?4";
    }
    if (filter.expiring_before) {
        sql += " ORDER BY t.refresh_expires_at, t.id";
    } else if (filter.unused_since) {
        sql += " ORDER BY coalesce(t.last_used_at, t.generated_at), t.id";
    } else {
        sql += " ORDER BY t.id";
    }
    return sql;
}

std::string sqlite_token_counts_sql() {
    // ?1 now, ?2 now + within. The tokens not revoked, active or expired, are counted in
    // ranges of the index on their refresh expiry (which holds only them); the revoked are
    // the rest of all the tokens, which count(*) reads from the smallest index. One
    // statement: one snapshot, so the counts add up.
    return "SELECT count(*), "
           "(SELECT count(*) FROM tokens t WHERE t.revoked_at IS NULL "
           "AND t.refresh_expires_at > ?1), "
           "(SELECT count(*) FROM tokens t WHERE t.revoked_at IS NULL "
           "AND t.refresh_expires_at <= ?1), "
           "(SELECT count(*) FROM tokens t WHERE t.revoked_at IS NULL "
           "AND t.refresh_expires_at > ?1 AND t.refresh_expires_at <= ?2) "
           "FROM tokens";
}

std::string sqlite_name_sql(const NameQuery& query) {
    // ?1 now, ?2 the user or the role, ?3 and ?4 the prefix's range, ?5 the limit.
    auto [low, high] = prefix_range(query);
    std::string_view column;
    std::string sql;
    switch (query.kind) {
    case NameQuery::Kind::token_ids:
        column = "t.token_id";
        sql = fmt::format("SELECT t.token_id FROM tokens t WHERE {}", k_token_active_at);
        if (query.user_id) {
            sql += " AND t.user_id = ?2";
        }
        break;
    case NameQuery::Kind::user_names:
        column = "name";
        sql = "SELECT name FROM users WHERE removed_at IS NULL AND ?1 IS NOT NULL";
        if (query.role) {
            sql += " AND role = ?2";
        }
        break;
    case NameQuery::Kind::app_names:
        column = "a.name";
        // Live applications only: a removed one's name may be taken again.
        sql = query.user_id
                  ? "SELECT DISTINCT a.name FROM tokens t JOIN apps a ON a.id = t.app_id "
                    "WHERE t.user_id = ?2 AND a.removed_at IS NULL AND ?1 IS NOT NULL"
                  : "SELECT a.name FROM apps a WHERE a.removed_at IS NULL AND ?1 IS NOT NULL";
        break;
    }
    if (low) {
        sql += fmt::format(" AND {} >= ?3", column);
    }
    if (high) {
        sql += fmt::format(" AND {} < ?4", column);
    }
    sql += fmt::format(" ORDER BY {}{} LIMIT ?5", column, query.last ? " DESC" : "");
    return sql;
}

std::vector<std::string> sqlite_query_plan(const std::filesystem::path& path,
                                           const std::string& sql) {
    check_header(path);
    try {
        SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
        SQLite::Statement st(db, "EXPLAIN QUERY PLAN " + sql);
        std::vector<std::string> steps;
        while (st.executeStep()) {
            steps.push_back(st.getColumn(3).getString());
        }
        return steps;
    } catch (const SQLite::Exception& e) {
        throw Error(Status::failure, fmt::format("database {}: cannot explain a query: {}",
                                                 path.string(), e.what()));
    }
}

} // namespace tokenctl
