#include "store/postgres/listings.h"

#include "store/token_columns.h"

#include <fmt/format.h>

#include <cstdint>
#include <utility>

namespace tokenctl {

namespace {

// Appends `value` to the statement's values; its placeholder.
std::string bind(PostgresStatement& statement, std::string value) {
    statement.params.push_back(std::move(value));
    return fmt::format("${}", statement.params.size());
}

std::string bind(PostgresStatement& statement, std::int64_t value) {
    return bind(statement, std::to_string(value));
}

// Whether application `a` has a token of the user at the parameter `user`.
std::string holds_token_of(std::string_view user) {
    return fmt::format(
        "EXISTS (SELECT 1 FROM tokenctl.tokens t WHERE t.app_id = a.id AND t.user_id = {})", user);
}

} // namespace

namespace postgres {

std::string token_active_at(std::string_view at) {
    return fmt::format("t.revoked_at IS NULL AND t.refresh_expires_at > {}", at);
}

Params params_of(const PostgresStatement& statement) {
    Params params;
    for (const std::string& value : statement.params) {
        params.text(value);
    }
    return params;
}

} // namespace postgres

PostgresStatement postgres_token_listing_sql(const TokenFilter& filter) {
    PostgresStatement st;
    st.sql = fmt::format("SELECT {}{} WHERE true", token_columns::k_row, postgres::k_token_joins);
    if (filter.user_id) {
        st.sql += " AND t.user_id = " + bind(st, *filter.user_id);
    }
    if (filter.app_id) {
        st.sql += " AND t.app_id = " + bind(st, *filter.app_id);
    }
    if (filter.active_at) {
        st.sql += " AND " + postgres::token_active_at(bind(st, *filter.active_at));
    } else if (!filter.include_revoked) {
        st.sql += " AND t.revoked_at IS NULL";
    }
    if (filter.expiring_before) {
        st.sql += " AND t.refresh_expires_at <= " + bind(st, *filter.expiring_before);
    }
    if (filter.unused_since) {
        st.sql +=
            " AND coalesce(t.last_used_at, t.generated_at) <= " + bind(st, *filter.unused_since);
    }
    if (filter.expiring_before) {
        st.sql += " ORDER BY t.refresh_expires_at, t.id";
    } else if (filter.unused_since) {
        st.sql += " ORDER BY coalesce(t.last_used_at, t.generated_at), t.id";
    } else {
        st.sql += " ORDER BY t.id";
    }
    return st;
}

PostgresStatement postgres_app_listing_sql(bool include_removed, std::optional<std::int64_t> holder,
                                           Millis now) {
    PostgresStatement st;
    std::string active = postgres::token_active_at(bind(st, now));
    std::string user = holder ? bind(st, *holder) : std::string();
    st.sql = fmt::format(
        "SELECT a.id, a.name, a.redirect_uri, a.client_id, a.created_at, a.created_by, "
        "a.removed_at, u.name, (SELECT count(*) FROM tokenctl.tokens t WHERE t.app_id = a.id "
        "AND {}{}) FROM tokenctl.apps a JOIN tokenctl.users u ON u.id = a.created_by "
        "WHERE true",
        active, holder ? " AND t.user_id = " + user : std::string());
    if (!include_removed) {
        st.sql += " AND a.removed_at IS NULL";
    }
    if (holder) {
        st.sql += " AND " + holds_token_of(user);
    }
    st.sql += " ORDER BY a.name, a.id";
    return st;
}

PostgresStatement postgres_user_listing_sql(Millis now) {
    PostgresStatement st;
    st.sql = fmt::format("SELECT id, name, role, created_at, removed_at, "
                         "(SELECT count(*) FROM tokenctl.tokens t WHERE t.user_id = users.id "
                         "AND {}) FROM tokenctl.users WHERE removed_at IS NULL "
                         "ORDER BY tokenctl.fold(name)",
                         postgres::token_active_at(bind(st, now)));
    return st;
}

PostgresStatement postgres_audit_sql(const AuditFilter& filter) {
    PostgresStatement st;
    st.sql = "SELECT id, at, actor, action, subject, outcome, detail FROM "
             "tokenctl.audit WHERE true";
    if (filter.actor) {
        st.sql += " AND tokenctl.fold(actor) = tokenctl.fold(" + bind(st, *filter.actor) + ")";
    }
    if (filter.action) {
        st.sql += " AND action = " + bind(st, *filter.action);
    }
    if (filter.since) {
        st.sql += " AND at >= " + bind(st, *filter.since);
    }
    if (filter.subject) {
        st.sql += fmt::format(
            " AND (tokenctl.fold(subject) = tokenctl.fold({0}) OR subject IN (SELECT "
            "t.token_id FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id "
            "WHERE tokenctl.fold(u.name) = tokenctl.fold({0}) UNION SELECT t.token_id FROM "
            "tokenctl.tokens t JOIN tokenctl.apps a ON a.id = t.app_id WHERE a.name = {0}))",
            bind(st, *filter.subject));
    }
    st.sql += " ORDER BY id";
    return st;
}

PostgresStatement postgres_name_sql(const NameQuery& names) {
    PostgresStatement st;
    std::string column;
    switch (names.kind) {
    case NameQuery::Kind::token_ids:
        column = "t.token_id";
        st.sql = "SELECT t.token_id FROM tokenctl.tokens t WHERE " +
                 postgres::token_active_at(bind(st, names.now));
        if (names.user_id) {
            st.sql += " AND t.user_id = " + bind(st, *names.user_id);
        }
        break;
    case NameQuery::Kind::user_names:
        column = "tokenctl.fold(name)";
        st.sql = "SELECT name FROM tokenctl.users WHERE removed_at IS NULL";
        if (names.role) {
            st.sql += " AND role = " + bind(st, std::string(role_name(*names.role)));
        }
        break;
    case NameQuery::Kind::app_names:
        column = "a.name";
        st.sql = "SELECT a.name FROM tokenctl.apps a WHERE a.removed_at IS NULL";
        if (names.user_id) {
            st.sql += " AND " + holds_token_of(bind(st, *names.user_id));
        }
        break;
    }
    if (!names.prefix.empty()) {
        std::string low = names.prefix;
        if (names.kind == NameQuery::Kind::user_names) {
            for (char& c : low) {
                c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            }
        }
        // Byte-wise, as the "C" collation orders them: the names that begin with `low`.
        st.sql += fmt::format(" AND starts_with({}, {})", column, bind(st, std::move(low)));
    }
    st.sql += fmt::format(" ORDER BY {}{} LIMIT {}", column, names.last ? " DESC" : "",
                          bind(st, static_cast<std::int64_t>(names.limit)));
    return st;
}

std::vector<std::string> postgres_query_plan(const Location& location,
                                             const PostgresStatement& statement) {
    postgres::Connection db(location.text);
    db.connect(location);
    std::vector<std::string> plan;
    db.read([&] {
        auto r = db.query("explain a listing", "EXPLAIN " + statement.sql,
                          postgres::params_of(statement));
        for (int i = 0; i < r.rows(); ++i) {
            plan.push_back(r.str(i, 0));
        }
    });
    return plan;
}

} // namespace tokenctl
