-- Applications' client secrets and tokens' previous refresh digests (schema version 3): created by init after policies.sql, and
-- by the upgrade from version 2 (before upgrade-3.sql). The digest is what serve looks up by
-- client ID; the sealed secret is what app secret reads back. They live apart from the rows
-- listings read, so that grants and policies keep them to those who may read them.
CREATE TABLE tokenctl.client_secrets (
    app        bigint PRIMARY KEY REFERENCES tokenctl.apps (id),
    digest     bytea NOT NULL UNIQUE,
    sealed     bytea NOT NULL,
    created_at bigint NOT NULL
);
ALTER TABLE tokenctl.client_secrets ENABLE ROW LEVEL SECURITY;

-- Read by administrators, by the application's creator and by the users who hold its tokens
-- (a verifier's group has no right on the table at all); stored once, by the application's
-- creator (add-app, in the transaction that creates it) or an administrator; changed only
-- through rotate_client_secret() (no UPDATE grant), and re-sealed by the owner (rekey).
CREATE POLICY client_secrets_read ON tokenctl.client_secrets FOR SELECT USING (
    (SELECT tokenctl.is_admin()) OR app = ANY ((SELECT tokenctl.my_app_ids())::bigint[])
    OR EXISTS (SELECT 1 FROM tokenctl.apps a
               WHERE a.id = app AND a.created_by = (SELECT tokenctl.my_id())));
CREATE POLICY client_secrets_add ON tokenctl.client_secrets FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM tokenctl.apps a WHERE a.id = app
        AND ((SELECT tokenctl.is_admin()) OR a.created_by = (SELECT tokenctl.my_id()))));

-- A token's previous refresh digest, kept by every rotation (rotated at its issued_at): serve
-- tells a client that lost its answer (within the reuse grace) from a thief (after it).
ALTER TABLE tokenctl.tokens ADD COLUMN previous_refresh_digest bytea;
CREATE INDEX tokens_by_previous_refresh ON tokenctl.tokens (previous_refresh_digest)
    WHERE previous_refresh_digest IS NOT NULL;
