#pragma once

#include <array>
#include <string_view>

// The SQLite backend's schema, as the migrations that make it.
namespace tokenctl::sqlite {

// Migration N brings a database from user_version N to N + 1. Append only: a released
// migration is never edited.
inline constexpr std::array<std::string_view, 3> k_migrations = {
    R"sql(
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);

CREATE TABLE apps (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    redirect_uri TEXT NOT NULL,
    client_id    TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES users (id)
);

CREATE TABLE tokens (
    id                 INTEGER PRIMARY KEY,
    token_id           TEXT NOT NULL UNIQUE,
    user_id            INTEGER NOT NULL REFERENCES users (id),
    app_id             INTEGER NOT NULL REFERENCES apps (id),
    created_by         INTEGER NOT NULL REFERENCES users (id),
    generated_at       INTEGER NOT NULL,
    issued_at          INTEGER NOT NULL,
    access_ttl         INTEGER NOT NULL,
    refresh_ttl        INTEGER NOT NULL,
    access_expires_at  INTEGER NOT NULL,
    refresh_expires_at INTEGER NOT NULL,
    access_digest      BLOB NOT NULL UNIQUE,
    refresh_digest     BLOB NOT NULL UNIQUE,
    access_sealed      BLOB NOT NULL,
    refresh_sealed     BLOB NOT NULL,
    revoked_at         INTEGER,
    revoked_by         INTEGER REFERENCES users (id)
);
CREATE INDEX tokens_by_user ON tokens (user_id, id);
CREATE INDEX tokens_by_app ON tokens (app_id, id);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied')),
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_actor ON audit (actor COLLATE NOCASE, id);
CREATE INDEX audit_by_action ON audit (action, id);
CREATE INDEX audit_by_time ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records cannot be changed');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records cannot be deleted');
END;
)sql",
    // 2: role verifier; removable applications (a name is unique among live ones); the
    // tokens' last use; indexes for --expiring and --unused-for. Tables whose constraints
    // change are rebuilt (SQLite's own procedure: foreign keys are off meanwhile and
    // checked before the commit).
    R"sql(
CREATE TABLE users_v2 (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'user', 'verifier')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
INSERT INTO users_v2 (id, name, role, created_at, removed_at)
    SELECT id, name, role, created_at, removed_at FROM users;
DROP TABLE users;
ALTER TABLE users_v2 RENAME TO users;

CREATE TABLE apps_v2 (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    client_id    TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    removed_at   INTEGER
);
INSERT INTO apps_v2 (id, name, redirect_uri, client_id, created_at, created_by)
    SELECT id, name, redirect_uri, client_id, created_at, created_by FROM apps;
DROP TABLE apps;
ALTER TABLE apps_v2 RENAME TO apps;
CREATE UNIQUE INDEX apps_live_name ON apps (name) WHERE removed_at IS NULL;

ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
CREATE INDEX tokens_active_by_refresh_expiry ON tokens (refresh_expires_at)
    WHERE revoked_at IS NULL;
CREATE INDEX tokens_active_by_last_use ON tokens (coalesce(last_used_at, generated_at))
    WHERE revoked_at IS NULL;
)sql",
    // 3: applications' client secrets (digest for serve's lookup by client ID, sealed for
    // app secret). Existing applications get theirs from the first write that holds the key
    // (Session::write): a migration runs on open, without the key file. A token's previous
    // refresh digest, kept by every rotation (rotated at its issued_at), for serve's
    // refresh-token reuse detection.
    R"sql(
CREATE TABLE client_secrets (
    app_id     INTEGER PRIMARY KEY REFERENCES apps (id),
    digest     BLOB NOT NULL UNIQUE,
    sealed     BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
ALTER TABLE tokens ADD COLUMN previous_refresh_digest BLOB;
CREATE INDEX tokens_by_previous_refresh ON tokens (previous_refresh_digest)
    WHERE previous_refresh_digest IS NOT NULL;
)sql",
};

inline constexpr int k_schema_version = static_cast<int>(k_migrations.size());

} // namespace tokenctl::sqlite
