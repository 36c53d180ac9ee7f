#pragma once

#include <tokenctl/model.h>

#include <string_view>

// What both backends select of a token, in one order, and how a row of it is read: each
// backend passes an accessor of its own rows (Columns: int64(i), text(i),
// optional_int64(i), bytes(i) and null(i) of column i).
namespace tokenctl::token_columns {

// The columns of a token's row (TokenRow), then of the whole token (Token).
enum Col : int {
    id,
    token_id,
    user_id,
    user_name,
    app_name,
    redirect_uri,
    generated_at,
    access_expires_at,
    refresh_expires_at,
    revoked_at,
    client_id,
    last_used_at,
    // Token only
    app_id,
    created_by,
    issued_at,
    access_ttl,
    refresh_ttl,
    access_digest,
    refresh_digest,
    access_sealed,
    refresh_sealed
};

// The row's columns, from tokens t, users u and apps a.
inline constexpr std::string_view k_row =
    "t.id, t.token_id, t.user_id, u.name, a.name, a.redirect_uri, t.generated_at, "
    "t.access_expires_at, t.refresh_expires_at, t.revoked_at, a.client_id, t.last_used_at";

template <class Columns> void read_row(const Columns& c, TokenRow& row) {
    row.id = c.int64(id);
    row.token_id = c.text(token_id);
    row.user_id = c.int64(user_id);
    row.user = c.text(user_name);
    row.application = c.text(app_name);
    row.redirect_uri = c.text(redirect_uri);
    row.generated_at = c.int64(generated_at);
    row.access_expires_at = c.int64(access_expires_at);
    row.refresh_expires_at = c.int64(refresh_expires_at);
    row.revoked_at = c.optional_int64(revoked_at);
    row.client_id = c.text(client_id);
    row.last_used_at = c.optional_int64(last_used_at);
}

// The whole token; sealed secrets left empty where they are NULL (not readable here).
template <class Columns> Token read_token(const Columns& c) {
    Token t;
    read_row(c, t);
    t.app_id = c.int64(app_id);
    t.created_by = c.int64(created_by);
    t.issued_at = c.int64(issued_at);
    t.access_ttl = c.int64(access_ttl);
    t.refresh_ttl = c.int64(refresh_ttl);
    t.access_digest = c.bytes(access_digest);
    t.refresh_digest = c.bytes(refresh_digest);
    if (!c.null(access_sealed)) {
        t.access_sealed = c.bytes(access_sealed);
        t.refresh_sealed = c.bytes(refresh_sealed);
    }
    return t;
}

} // namespace tokenctl::token_columns
