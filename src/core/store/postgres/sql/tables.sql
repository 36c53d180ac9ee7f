-- The tables of the schema tokenctl, created by init in one transaction (after
-- functions.sql). Text compares byte-wise (COLLATE "C", as SQLite's BINARY); user names
-- case-insensitively by tokenctl.fold(). Times are milliseconds since the epoch, as on
-- SQLite.
SET LOCAL search_path = tokenctl, pg_temp;

CREATE TABLE registry (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    application    text NOT NULL CHECK (application = 'tokenctl'),
    schema_version integer NOT NULL,
    registry_id    text NOT NULL
);

CREATE TABLE meta (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'user', 'verifier')),
    created_at bigint NOT NULL,
    removed_at bigint
);
CREATE UNIQUE INDEX users_by_name ON users (fold(name));

CREATE TABLE apps (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text COLLATE "C" NOT NULL,
    redirect_uri text NOT NULL,
    client_id    text COLLATE "C" NOT NULL UNIQUE,
    created_at   bigint NOT NULL,
    created_by   bigint NOT NULL REFERENCES users (id),
    removed_at   bigint
);
CREATE UNIQUE INDEX apps_live_name ON apps (name) WHERE removed_at IS NULL;

CREATE TABLE tokens (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id           text COLLATE "C" NOT NULL UNIQUE,
    user_id            bigint NOT NULL REFERENCES users (id),
    app_id             bigint NOT NULL REFERENCES apps (id),
    created_by         bigint NOT NULL REFERENCES users (id),
    generated_at       bigint NOT NULL,
    issued_at          bigint NOT NULL,
    access_ttl         bigint NOT NULL,
    refresh_ttl        bigint NOT NULL,
    access_expires_at  bigint NOT NULL,
    refresh_expires_at bigint NOT NULL,
    access_digest      bytea NOT NULL UNIQUE,
    refresh_digest     bytea NOT NULL UNIQUE,
    revoked_at         bigint,
    revoked_by         bigint REFERENCES users (id),
    last_used_at       bigint
);
CREATE INDEX tokens_by_user ON tokens (user_id, id);
CREATE INDEX tokens_by_app ON tokens (app_id, id);
CREATE INDEX tokens_active_by_refresh_expiry ON tokens (refresh_expires_at)
    WHERE revoked_at IS NULL;
CREATE INDEX tokens_active_by_last_use ON tokens (coalesce(last_used_at, generated_at))
    WHERE revoked_at IS NULL;

-- The sealed secrets, apart from the rows listings read, so that grants and policies can
-- keep them to the token's own user.
CREATE TABLE secrets (
    token          bigint PRIMARY KEY REFERENCES tokens (id),
    access_sealed  bytea NOT NULL,
    refresh_sealed bytea NOT NULL
);

CREATE TABLE audit (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      bigint NOT NULL,
    actor   text COLLATE "C" NOT NULL,
    action  text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL DEFAULT '',
    outcome text NOT NULL CHECK (outcome IN ('ok', 'denied')),
    detail  text NOT NULL DEFAULT '',
    login   text NOT NULL DEFAULT session_user
);
CREATE INDEX audit_by_actor ON audit (fold(actor), id);
CREATE INDEX audit_by_action ON audit (action, id);
CREATE INDEX audit_by_time ON audit (at);
