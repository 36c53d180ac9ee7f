-- What the server enforces, whatever client a login uses: row-level security, and the
-- triggers that say what no policy can. Created by init after tables.sql.
SET LOCAL search_path = tokenctl, pg_temp;

-- Row-level security: what each login reads and writes, whatever client it uses. The
-- owner (the administrator of last resort) is not subject to it. (SELECT f()) runs f once
-- a statement, not once a row.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE apps ENABLE ROW LEVEL SECURITY;
ALTER TABLE tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;

-- Users: administrators read everyone; others their own row and the creators of the
-- applications they hold tokens of (app list shows them). Only administrators write.
CREATE POLICY users_read ON users FOR SELECT USING (
    (SELECT is_admin()) OR id = (SELECT my_id()) OR id = ANY ((SELECT my_app_creators())::bigint[]));
CREATE POLICY users_add ON users FOR INSERT WITH CHECK ((SELECT is_admin()));
CREATE POLICY users_change ON users FOR UPDATE USING ((SELECT is_admin()))
    WITH CHECK ((SELECT is_admin()));

-- Applications: administrators read any; others those they created or hold tokens of, and
-- create only the one named after them (remove_app() removes them).
CREATE POLICY apps_read ON apps FOR SELECT USING (
    (SELECT is_admin()) OR created_by = (SELECT my_id()) OR fold(name) = fold(session_user)
    OR id = ANY ((SELECT my_app_ids())::bigint[]));
CREATE POLICY apps_add ON apps FOR INSERT WITH CHECK (
    created_by = (SELECT my_id()) AND ((SELECT is_admin()) OR fold(name) = fold(session_user)));

-- Tokens: administrators read any, and create them for themselves and for non-admin users;
-- others read and create only their own, of their application (the functions above change
-- them).
CREATE POLICY tokens_read ON tokens FOR SELECT
    USING ((SELECT is_admin()) OR user_id = (SELECT my_id()));
CREATE POLICY tokens_add ON tokens FOR INSERT WITH CHECK (
    created_by = (SELECT my_id()) AND (
        (user_id = (SELECT my_id()) AND
         ((SELECT is_admin()) OR app_id = ANY ((SELECT apps_named_as_me())::bigint[])))
        OR ((SELECT is_admin()) AND role_of(user_id) = 'user')));

-- Sealed secrets: only the token's own user reads them (and rotates them, through
-- rotate_token()), administrators included; whoever creates the token stores them once.
CREATE POLICY secrets_read ON secrets FOR SELECT USING (EXISTS (
    SELECT 1 FROM tokens t WHERE t.id = token AND t.user_id = (SELECT my_id())));
CREATE POLICY secrets_add ON secrets FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM tokens t WHERE t.id = token AND t.created_by = (SELECT my_id())));

-- Audit: administrators read it.
CREATE POLICY audit_read ON audit FOR SELECT USING ((SELECT is_admin()));
-- Everyone appends, as the login they are, naming themselves, at the server's time (give
-- or take five minutes): no back-dated record, none in another's name.
CREATE POLICY audit_add ON tokenctl.audit FOR INSERT WITH CHECK (
    login = session_user AND tokenctl.fold(actor) = tokenctl.fold(session_user) AND
    abs(at - (extract(epoch FROM clock_timestamp()) * 1000)::bigint) <= 300000);

-- The audit log is append-only, for the owner too.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

-- A token's identity never changes; a revoked token stays revoked, by whom it was; whoever
-- revokes is the acting login; only the token's own user rotates it, while it is active.
CREATE TRIGGER token_rules BEFORE UPDATE ON tokens
    FOR EACH ROW EXECUTE FUNCTION token_rules();

-- The last administrator, and the owner, stay administrators.
CREATE TRIGGER keep_an_admin BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION keep_an_admin();
