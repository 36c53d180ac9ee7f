-- Schema version 1 to 2, after functions.sql has replaced every function (and created the
-- new ones): writers lock the registry's row, applications and tokens change only through
-- functions (no UPDATE, so no row locks), audit records only in the writer's own name.
DROP FUNCTION tokenctl.grant_registry_role(text, text);
DROP POLICY apps_change ON tokenctl.apps;
DROP POLICY tokens_change ON tokenctl.tokens;
DROP POLICY secrets_change ON tokenctl.secrets;
REVOKE UPDATE ON tokenctl.apps, tokenctl.tokens, tokenctl.secrets
    FROM @admin@, @user@, @verifier@;
DROP POLICY tokens_add ON tokenctl.tokens;
CREATE POLICY tokens_add ON tokenctl.tokens FOR INSERT WITH CHECK (
    created_by = (SELECT tokenctl.my_id()) AND (
        (user_id = (SELECT tokenctl.my_id()) AND
         ((SELECT tokenctl.is_admin()) OR
          app_id = ANY ((SELECT tokenctl.apps_named_as_me())::bigint[])))
        OR ((SELECT tokenctl.is_admin()) AND tokenctl.role_of(user_id) = 'user'))
    @fresh_token@);
DROP POLICY audit_add ON tokenctl.audit;
CREATE POLICY audit_add ON tokenctl.audit FOR INSERT WITH CHECK (
    login = session_user AND tokenctl.fold(actor) = tokenctl.fold(session_user) AND
    abs(at - (extract(epoch FROM clock_timestamp()) * 1000)::bigint) <= 300000);
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tokenctl FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tokenctl.lock_writers(), tokenctl.try_lock_writers()
    TO @admin@, @user@;
GRANT EXECUTE ON FUNCTION tokenctl.revoke_token(bigint, bigint),
    tokenctl.rotate_token(bigint, bigint, bigint, bigint, bytea, bytea, bytea, bytea),
    tokenctl.stamp_own_token_use(bigint, bigint), tokenctl.remove_app(bigint, bigint),
    tokenctl.others_active_tokens(bigint, bigint), tokenctl.require_now(bigint)
    TO @admin@, @user@;
GRANT EXECUTE ON FUNCTION tokenctl.sync_registry_role(text) TO @admin@, @user@, @verifier@;
