CREATE ROLE @admin@ NOLOGIN;
CREATE ROLE @user@ NOLOGIN;
CREATE ROLE @verifier@ NOLOGIN;
REVOKE ALL ON SCHEMA tokenctl FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokenctl FROM PUBLIC;
GRANT USAGE ON SCHEMA tokenctl TO @admin@, @user@, @verifier@;

-- Everyone: the registry's mark and key check, their own row and tokens (a verifier has
-- none: whoami counts them), the audit log to append to, and verify.
GRANT SELECT ON tokenctl.registry, tokenctl.meta TO @admin@, @user@, @verifier@;
GRANT SELECT ON tokenctl.users, tokenctl.tokens TO @admin@, @user@, @verifier@;
GRANT INSERT (at, actor, action, subject, outcome, detail) ON tokenctl.audit
    TO @admin@, @user@, @verifier@;
GRANT EXECUTE ON FUNCTION tokenctl.fold(text), tokenctl.my_id(), tokenctl.is_admin(),
    tokenctl.my_app_ids(), tokenctl.my_app_creators(), tokenctl.apps_named_as_me(),
    tokenctl.role_of(bigint), tokenctl.require_meta(text, bytea),
    tokenctl.token_exists(text), tokenctl.app_exists(text), tokenctl.user_exists(text, boolean),
    tokenctl.token_by_access_digest(bytea), tokenctl.stamp_token_use(bytea, bigint)
    TO @admin@, @user@, @verifier@;
-- Writers (not verifiers, whose writes are appends): the writers' lock.
GRANT EXECUTE ON FUNCTION tokenctl.lock_writers(), tokenctl.try_lock_writers()
    TO @admin@, @user@;

-- Users and administrators: applications and tokens, as the policies allow; changed only
-- through the functions that check who may (no UPDATE: no row lock to hold).
GRANT SELECT, INSERT ON tokenctl.apps, tokenctl.tokens, tokenctl.secrets TO @admin@, @user@;
GRANT EXECUTE ON FUNCTION tokenctl.revoke_token(bigint, bigint),
    tokenctl.rotate_token(bigint, bigint, bigint, bigint, bytea, bytea, bytea, bytea),
    tokenctl.stamp_own_token_use(bigint, bigint), tokenctl.remove_app(bigint, bigint),
    tokenctl.others_active_tokens(bigint, bigint), tokenctl.require_now(bigint)
    TO @admin@, @user@;
-- Applications' client secrets: read and stored as the policies allow, rotated through
-- rotate_client_secret(); verifiers have no right on them at all.
GRANT SELECT, INSERT ON tokenctl.client_secrets TO @admin@, @user@;
GRANT EXECUTE ON FUNCTION tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint)
    TO @admin@, @user@;

-- serve's login (a verifier or an administrator): tokens refreshed for the clients that
-- prove their refresh token and client secret, through the functions that check them.
GRANT EXECUTE ON FUNCTION tokenctl.claim_client_refresh(text, text, text, bigint, bigint),
    tokenctl.rotate_for_client(text, text, text, bigint, bigint, bigint, bytea, bytea, bytea,
                               bytea)
    TO @admin@, @verifier@;
-- serve's GET /metrics: the registry's tokens counted by status, counts only (not users':
-- they would learn of other users' tokens).
GRANT EXECUTE ON FUNCTION tokenctl.token_counts(bigint, bigint) TO @admin@, @verifier@;

-- Administrators: users, and the audit log.
GRANT INSERT (name, role, created_at), UPDATE (role, created_at, removed_at)
    ON tokenctl.users TO @admin@;
GRANT SELECT ON tokenctl.audit TO @admin@;

GRANT EXECUTE ON FUNCTION tokenctl.sync_registry_role(text) TO @admin@, @user@, @verifier@;
