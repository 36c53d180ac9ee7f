-- Every function of the schema tokenctl: created by init (before the tables, whose
-- bodies are checked when called), and replaced by every upgrade, so that an upgraded
-- registry runs the same code as a new one.
--
-- Each runs with search_path = pg_catalog, tokenctl, pg_temp: the server's catalog first,
-- pg_temp last (left out, it would be searched FIRST for tables and types, and any login
-- may create objects there), and names what it uses with its schema. EXECUTE is revoked
-- from PUBLIC and granted to the groups that need it (grants.sql, upgrade-2.sql).
SET LOCAL check_function_bodies = off;

-- User names compare case-insensitively by fold(), which folds ASCII letters only, as
-- SQLite's NOCASE.
CREATE OR REPLACE FUNCTION tokenctl.fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, tokenctl, pg_temp
    AS $$ SELECT pg_catalog.translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;

CREATE OR REPLACE FUNCTION tokenctl.audit_is_append_only() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'audit records cannot be %',
        CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Who the connecting login is in the registry. SECURITY DEFINER: they read users past its
-- policies; session_user, not current_user, so that SET ROLE changes nothing.
-- The functions that every statement or every check calls are PL/pgSQL, whose statements'
-- plans a connection keeps: a SQL function with a SET clause is planned again at each call,
-- which cost a gateway's check more than the check itself.
CREATE OR REPLACE FUNCTION tokenctl.my_id() RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN (SELECT id FROM tokenctl.users
            WHERE tokenctl.fold(name) = tokenctl.fold(session_user) AND removed_at IS NULL);
END
$$;
CREATE OR REPLACE FUNCTION tokenctl.is_admin() RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN coalesce((SELECT role = 'admin' FROM tokenctl.users WHERE tokenctl.fold(name) =
                     tokenctl.fold(session_user) AND removed_at IS NULL), false);
END
$$;

-- What the policies (policies.sql) ask of other tables, read past those tables' own policies (a
-- policy that read them directly would recurse): arrays, so that each is read once a
-- statement.
CREATE OR REPLACE FUNCTION tokenctl.my_app_ids() RETURNS bigint[] LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT t.app_id), '{}') FROM tokenctl.tokens t
            WHERE t.user_id = tokenctl.my_id());
END
$$;
CREATE OR REPLACE FUNCTION tokenctl.my_app_creators() RETURNS bigint[] LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT a.created_by), '{}') FROM tokenctl.apps a
            WHERE a.id = ANY (tokenctl.my_app_ids()));
END
$$;
CREATE OR REPLACE FUNCTION tokenctl.apps_named_as_me() RETURNS bigint[] LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(a.id), '{}') FROM tokenctl.apps a
            WHERE tokenctl.fold(a.name) = tokenctl.fold(session_user));
END
$$;
CREATE OR REPLACE FUNCTION tokenctl.role_of(id bigint) RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN (SELECT u.role FROM tokenctl.users u WHERE u.id = role_of.id AND u.removed_at IS NULL);
END
$$;

-- The writers' lock: the registry's one row, which only its users may lock (outsiders have
-- no right on the schema), taken through these functions (they have no right to update
-- it). try_lock_writers() answers at once whether it got it.
CREATE OR REPLACE FUNCTION tokenctl.lock_writers() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    PERFORM 1 FROM tokenctl.registry FOR UPDATE;
END
$$;
CREATE OR REPLACE FUNCTION tokenctl.try_lock_writers() RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM tokenctl.registry FOR UPDATE SKIP LOCKED)
$$;

-- The only ways anyone but the owner changes an application or a token (no login is
-- granted UPDATE on them, so none can lock their rows and hold up an administrator's
-- revocation): each checks who may, as row-level security would, and token_rules() checks
-- the rest.
--
-- Refuses a time `at_ms` of the caller's that is more than five minutes from the server's:
-- the times the functions below store are the server's to vouch for, within a clock's
-- drift, as the audit log's are.
CREATE OR REPLACE FUNCTION tokenctl.require_now(at_ms bigint) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    IF at_ms IS NULL OR abs(at_ms - (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                        > 300000 THEN
        RAISE EXCEPTION 'this host''s clock is more than five minutes from the server''s'
            USING ERRCODE = '@clock_skew@';
    END IF;
END
$$;

-- Revokes the active token of row `token_row`: administrators any, others their own.
CREATE OR REPLACE FUNCTION tokenctl.revoke_token(token_row bigint, at_ms bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    PERFORM tokenctl.require_now(at_ms);
    UPDATE tokenctl.tokens t SET revoked_at = at_ms, revoked_by = tokenctl.my_id()
    WHERE t.id = token_row AND t.revoked_at IS NULL
        AND (tokenctl.is_admin() OR t.user_id = tokenctl.my_id());
    RETURN FOUND;
END
$$;
-- Rotates both secrets of the caller's own token (token_rules: only while it is active),
-- issued now, with the token's own lifetimes.
CREATE OR REPLACE FUNCTION tokenctl.rotate_token(token_row bigint, new_issued_at bigint,
    new_access_expires_at bigint, new_refresh_expires_at bigint, new_access_digest bytea,
    new_refresh_digest bytea, new_access_sealed bytea, new_refresh_sealed bytea)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    PERFORM tokenctl.require_now(new_issued_at);
    IF EXISTS (SELECT 1 FROM tokenctl.tokens t WHERE t.id = token_row AND (
                   new_access_expires_at <> new_issued_at + t.access_ttl OR
                   new_refresh_expires_at <> new_issued_at + t.refresh_ttl)) THEN
        RAISE EXCEPTION 'a rotated token keeps its lifetimes'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE tokenctl.tokens t SET previous_refresh_digest = t.refresh_digest,
        issued_at = new_issued_at, access_expires_at = new_access_expires_at,
        refresh_expires_at = new_refresh_expires_at, access_digest = new_access_digest,
        refresh_digest = new_refresh_digest
    WHERE t.id = token_row AND t.user_id = tokenctl.my_id();
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE tokenctl.secrets s SET access_sealed = new_access_sealed,
        refresh_sealed = new_refresh_sealed
    WHERE s.token = token_row;
    RETURN true;
END
$$;
-- Gives live application `app_row` a new client secret (app rotate-secret): administrators
-- any, others one they created; the old one stops working when the transaction commits.
CREATE OR REPLACE FUNCTION tokenctl.rotate_client_secret(app_row bigint, new_digest bytea,
    new_sealed bytea, at_ms bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    PERFORM tokenctl.require_now(at_ms);
    UPDATE tokenctl.client_secrets c SET digest = new_digest, sealed = new_sealed,
        created_at = at_ms
    WHERE c.app = app_row AND EXISTS (
        SELECT 1 FROM tokenctl.apps a WHERE a.id = app_row AND a.removed_at IS NULL
            AND (tokenctl.is_admin() OR a.created_by = tokenctl.my_id()));
    RETURN FOUND;
END
$$;
-- Records a use of the caller's own token (download, refresh), at most once a minute.
CREATE OR REPLACE FUNCTION tokenctl.stamp_own_token_use(token_row bigint, at_ms bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    PERFORM tokenctl.require_now(at_ms);
    UPDATE tokenctl.tokens t SET last_used_at = at_ms
    WHERE t.id = token_row AND t.user_id = tokenctl.my_id()
        AND (t.last_used_at IS NULL OR t.last_used_at <= at_ms - @last_use_resolution@);
    RETURN FOUND;
END
$$;
-- How many active tokens of application `app_row` belong to users other than the caller:
-- what decides whether a non-admin may remove it, which row-level security hides from them.
-- For administrators and for the user it is named after; NULL for anyone else.
CREATE OR REPLACE FUNCTION tokenctl.others_active_tokens(app_row bigint, at_ms bigint)
RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, tokenctl, pg_temp AS $$
    SELECT count(*) FROM tokenctl.tokens t
    WHERE t.app_id = app_row AND t.revoked_at IS NULL AND t.refresh_expires_at > at_ms
        AND t.user_id IS DISTINCT FROM tokenctl.my_id()
    HAVING tokenctl.is_admin() OR EXISTS (
        SELECT 1 FROM tokenctl.apps a WHERE a.id = app_row
            AND tokenctl.fold(a.name) = tokenctl.fold(session_user))
$$;
-- Marks an application removed and revokes its tokens: administrators any, others the one
-- named after them, and only while it holds no active token of another user (which they
-- may not revoke).
CREATE OR REPLACE FUNCTION tokenctl.remove_app(app_row bigint, at_ms bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    PERFORM tokenctl.require_now(at_ms);
    IF NOT tokenctl.is_admin() AND tokenctl.others_active_tokens(app_row, at_ms) > 0 THEN
        RAISE EXCEPTION 'the application holds other users'' tokens'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE tokenctl.apps a SET removed_at = at_ms
    WHERE a.id = app_row AND a.removed_at IS NULL
        AND (tokenctl.is_admin() OR tokenctl.fold(a.name) = tokenctl.fold(session_user));
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- Its tokens go with it, as app remove revokes them.
    UPDATE tokenctl.tokens t SET revoked_at = at_ms, revoked_by = tokenctl.my_id()
    WHERE t.app_id = app_row AND t.revoked_at IS NULL;
    RETURN true;
END
$$;

-- The trigger of what no policy can say. A token's identity never changes; a revoked token
-- stays revoked, by whom it was; whoever revokes is the acting login; only the token's own
-- user rotates it, and only while it is active.
CREATE OR REPLACE FUNCTION tokenctl.token_rules() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    IF (NEW.token_id, NEW.user_id, NEW.app_id, NEW.created_by, NEW.generated_at,
        NEW.access_ttl, NEW.refresh_ttl) IS DISTINCT FROM
       (OLD.token_id, OLD.user_id, OLD.app_id, OLD.created_by, OLD.generated_at,
        OLD.access_ttl, OLD.refresh_ttl) THEN
        RAISE EXCEPTION 'a token''s ID, user, application and creation never change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revoked_at IS NOT NULL AND (NEW.revoked_at, NEW.revoked_by) IS DISTINCT FROM
                                      (OLD.revoked_at, OLD.revoked_by) THEN
        RAISE EXCEPTION 'a revoked token stays revoked' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
       AND NEW.revoked_by IS DISTINCT FROM tokenctl.my_id() THEN
        RAISE EXCEPTION 'a token is revoked by the acting login'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NULL AND NEW.revoked_by IS NOT NULL THEN
        RAISE EXCEPTION 'only a revocation names who revoked'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.issued_at, NEW.access_expires_at, NEW.refresh_expires_at, NEW.access_digest,
        NEW.refresh_digest) IS DISTINCT FROM
       (OLD.issued_at, OLD.access_expires_at, OLD.refresh_expires_at, OLD.access_digest,
        OLD.refresh_digest) THEN
        -- ... or rotate_for_client(), for the client that proved its refresh token, which
        -- marks the one row it rotates (no login may update tokens but through functions).
        IF OLD.user_id IS DISTINCT FROM tokenctl.my_id() AND
           pg_catalog.current_setting('tokenctl.client_rotation', true)
               IS DISTINCT FROM OLD.id::text THEN
            RAISE EXCEPTION 'only a token''s own user rotates it'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NOT NULL OR
           OLD.refresh_expires_at <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint THEN
            RAISE EXCEPTION 'only an active token is rotated'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- The trigger that keeps the last administrator: nobody demotes or removes them, even two
-- logins at once; nor the schema's owner, the administrator of last resort (whose
-- membership of the groups it created the server keeps on PostgreSQL 16 and newer). The
-- checks take the writers' lock first, and refuse a snapshot older than the statement.
CREATE OR REPLACE FUNCTION tokenctl.keep_an_admin() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    IF OLD.role = 'admin' AND OLD.removed_at IS NULL AND
       (NEW.role <> 'admin' OR NEW.removed_at IS NOT NULL) THEN
        PERFORM tokenctl.lock_writers();
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'administrators change in READ COMMITTED transactions only'
                USING ERRCODE = 'serialization_failure';
        END IF;
        -- Read after the lock, as it now stands: an administrator demoted by the writer
        -- this one waited for changes no one.
        IF EXISTS (SELECT 1 FROM tokenctl.users u WHERE u.removed_at IS NULL AND
                   tokenctl.fold(u.name) = tokenctl.fold(session_user)) AND
           NOT EXISTS (SELECT 1 FROM tokenctl.users u WHERE u.removed_at IS NULL AND
                       u.role = 'admin' AND tokenctl.fold(u.name) = tokenctl.fold(session_user))
        THEN
            RAISE EXCEPTION '% is no longer an administrator of the registry', session_user
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                   WHERE n.nspname = 'tokenctl' AND
                         tokenctl.fold(n.nspowner::regrole::text) = tokenctl.fold(OLD.name)) THEN
            RAISE EXCEPTION '% owns the registry''s schema and stays its administrator', OLD.name
                USING ERRCODE = '@owner_stays@';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM tokenctl.users WHERE role = 'admin' AND removed_at IS NULL
                       AND id <> OLD.id) THEN
            RAISE EXCEPTION 'that would leave the registry without an administrator'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- verify, for any user of the registry, verifiers included, who read no tokens: the one
-- token whose current access token has this digest, without its sealed secrets.
CREATE OR REPLACE FUNCTION tokenctl.token_by_access_digest(digest bytea) RETURNS TABLE (
    id bigint, token_id text, user_id bigint, user_name text, app_name text,
    redirect_uri text, generated_at bigint, access_expires_at bigint,
    refresh_expires_at bigint, revoked_at bigint, client_id text, last_used_at bigint,
    app_id bigint, created_by bigint, issued_at bigint, access_ttl bigint,
    refresh_ttl bigint, access_digest bytea, refresh_digest bytea, access_sealed bytea,
    refresh_sealed bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT t.id, t.token_id, t.user_id, u.name, a.name, a.redirect_uri, t.generated_at,
           t.access_expires_at, t.refresh_expires_at, t.revoked_at, a.client_id,
           t.last_used_at, t.app_id, t.created_by, t.issued_at, t.access_ttl, t.refresh_ttl,
           t.access_digest, t.refresh_digest, NULL::bytea, NULL::bytea
    FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id
         JOIN tokenctl.apps a ON a.id = t.app_id
    WHERE t.access_digest = token_by_access_digest.digest AND tokenctl.my_id() IS NOT NULL;
END
$$;
-- For the functions of serve's client refresh (called from them, as the owner): refuses a
-- caller who is no verifier or administrator of the registry, or whose time is not the
-- server's.
CREATE OR REPLACE FUNCTION tokenctl.require_serve_login(at_ms bigint) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    IF tokenctl.my_id() IS NULL OR tokenctl.role_of(tokenctl.my_id()) NOT IN ('admin', 'verifier')
    THEN
        RAISE EXCEPTION 'only a verifier or an administrator refreshes tokens for clients'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM tokenctl.require_now(at_ms);
END
$$;
-- A secret's SHA-256 digest, as tokenctl stores it.
CREATE OR REPLACE FUNCTION tokenctl.secret_digest(secret text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, tokenctl, pg_temp AS $$
    SELECT pg_catalog.sha256(pg_catalog.convert_to(secret, 'UTF8'))
$$;

-- serve's POST /oauth2/token, for its login (a verifier or an administrator, who read no
-- client secret and no other user's sealed secrets): what a client's claim to refresh a token
-- proves. The client ID and its secret's digest, then the refresh token's digest, current
-- or previous, are checked here, and the token's row is locked until the transaction ends
-- (a revoke or refresh by the CLI waits for it, and it for them). Answers one row:
--   invalid_client, invalid_grant: nothing else;
--   rotate: the token, without its sealed secrets (rotate_for_client() follows, with the
--     new secrets sealed for its token ID);
--   resend: the previous refresh token within the grace (at most five minutes, whatever is
--     asked): the token with its current sealed secrets, recorded as a refresh by its user;
--   reused: the previous refresh token after the grace, evidence of theft: the token is
--     revoked and the reuse recorded, in this transaction.
-- The secrets are digested here, so that a login who reads a digest (an administrator reads
-- every token's) cannot use it; digests are compared as digests of them, so that no timing
-- tells how much of one matched.
CREATE OR REPLACE FUNCTION tokenctl.claim_client_refresh(client text, client_secret text,
    refresh_token text, at_ms bigint, grace_ms bigint)
RETURNS TABLE (outcome text, id bigint, token_id text, user_id bigint, user_name text,
    app_name text, redirect_uri text, generated_at bigint, access_expires_at bigint,
    refresh_expires_at bigint, revoked_at bigint, client_id text, last_used_at bigint,
    app_id bigint, created_by bigint, issued_at bigint, access_ttl bigint,
    refresh_ttl bigint, access_digest bytea, refresh_digest bytea, access_sealed bytea,
    refresh_sealed bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
#variable_conflict use_column
DECLARE
    me bigint := tokenctl.my_id();
    client_digest bytea := tokenctl.secret_digest(client_secret);
    refresh bytea := tokenctl.secret_digest(refresh_token);
    client_app bigint;
    tok tokenctl.tokens%ROWTYPE;
    previous boolean := false;
    answer text;
    shown bigint;
BEGIN
    PERFORM tokenctl.require_serve_login(at_ms);
    SELECT a.id INTO client_app FROM tokenctl.apps a
        JOIN tokenctl.client_secrets c ON c.app = a.id
    WHERE a.client_id = client AND a.removed_at IS NULL
        AND pg_catalog.sha256(c.digest) = pg_catalog.sha256(client_digest);
    IF client_app IS NULL THEN
        answer := 'invalid_client';
    ELSE
        SELECT * INTO tok FROM tokenctl.tokens t WHERE t.refresh_digest = refresh FOR UPDATE;
        IF NOT FOUND THEN
            -- A new statement: it sees a rotation committed while this one waited.
            SELECT * INTO tok FROM tokenctl.tokens t WHERE t.previous_refresh_digest = refresh
                FOR UPDATE;
            previous := FOUND;
            IF NOT FOUND THEN
                tok := NULL;
            END IF;
        END IF;
        IF tok.id IS NULL THEN
            answer := 'invalid_grant';
        ELSIF tok.app_id <> client_app THEN
            answer := 'invalid_client';
        ELSIF tok.revoked_at IS NOT NULL OR tok.refresh_expires_at <= at_ms THEN
            answer := 'invalid_grant';
        ELSIF NOT previous THEN
            answer := 'rotate';
            shown := tok.id;
        ELSIF at_ms - tok.issued_at <= least(greatest(grace_ms, 0), 300000) THEN
            answer := 'resend';
            shown := tok.id;
            INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail)
                SELECT at_ms, u.name, 'refresh', tok.token_id, 'ok',
                       'by its client, again within the reuse grace'
                FROM tokenctl.users u WHERE u.id = tok.user_id;
        ELSE
            answer := 'reused';
            shown := tok.id;
            UPDATE tokenctl.tokens t SET revoked_at = at_ms, revoked_by = me WHERE t.id = tok.id;
            INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail)
                SELECT at_ms, me_user.name, 'refresh-reuse', tok.token_id, 'ok',
                       pg_catalog.format('user %s: a refresh token rotated away %s s ago was '
                                         'presented again; token revoked', holder.name,
                                         (at_ms - tok.issued_at) / 1000)
                FROM tokenctl.users me_user, tokenctl.users holder
                WHERE me_user.id = me AND holder.id = tok.user_id;
        END IF;
    END IF;
    RETURN QUERY SELECT answer, t.id, t.token_id, t.user_id, u.name, a.name, a.redirect_uri,
        t.generated_at, t.access_expires_at, t.refresh_expires_at, t.revoked_at, a.client_id,
        t.last_used_at, t.app_id, t.created_by, t.issued_at, t.access_ttl, t.refresh_ttl,
        t.access_digest, t.refresh_digest,
        CASE WHEN answer = 'resend' THEN s.access_sealed END,
        CASE WHEN answer = 'resend' THEN s.refresh_sealed END
    FROM (SELECT 1) one LEFT JOIN tokenctl.tokens t ON t.id = shown
        LEFT JOIN tokenctl.users u ON u.id = t.user_id
        LEFT JOIN tokenctl.apps a ON a.id = t.app_id
        LEFT JOIN tokenctl.secrets s ON s.token = t.id;
END
$$;
-- After claim_client_refresh() said rotate, in the same transaction: checks the claim again
-- (the row is still locked by it) and rotates both secrets, issued now with the token's own
-- lifetimes, keeping the previous refresh digest; records the use, and a refresh by the
-- token's user. False when the claim does not hold.
CREATE OR REPLACE FUNCTION tokenctl.rotate_for_client(client text, client_secret text,
    refresh_token text, new_issued_at bigint, new_access_expires_at bigint,
    new_refresh_expires_at bigint, new_access_digest bytea, new_refresh_digest bytea,
    new_access_sealed bytea, new_refresh_sealed bytea)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
DECLARE
    client_digest bytea := tokenctl.secret_digest(client_secret);
    refresh bytea := tokenctl.secret_digest(refresh_token);
    tok tokenctl.tokens%ROWTYPE;
BEGIN
    PERFORM tokenctl.require_serve_login(new_issued_at);
    SELECT t.* INTO tok FROM tokenctl.tokens t JOIN tokenctl.apps a ON a.id = t.app_id
        JOIN tokenctl.client_secrets c ON c.app = a.id
    WHERE t.refresh_digest = refresh AND a.client_id = client AND a.removed_at IS NULL
        AND pg_catalog.sha256(c.digest) = pg_catalog.sha256(client_digest)
        AND t.revoked_at IS NULL AND t.refresh_expires_at > new_issued_at
    FOR UPDATE OF t;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF new_access_expires_at <> new_issued_at + tok.access_ttl OR
       new_refresh_expires_at <> new_issued_at + tok.refresh_ttl THEN
        RAISE EXCEPTION 'a rotated token keeps its lifetimes'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_catalog.set_config('tokenctl.client_rotation', tok.id::text, true);
    UPDATE tokenctl.tokens t SET previous_refresh_digest = t.refresh_digest,
        issued_at = new_issued_at, access_expires_at = new_access_expires_at,
        refresh_expires_at = new_refresh_expires_at, access_digest = new_access_digest,
        refresh_digest = new_refresh_digest, last_used_at = new_issued_at
    WHERE t.id = tok.id;
    PERFORM pg_catalog.set_config('tokenctl.client_rotation', '', true);
    UPDATE tokenctl.secrets s SET access_sealed = new_access_sealed,
        refresh_sealed = new_refresh_sealed
    WHERE s.token = tok.id;
    INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail)
        SELECT new_issued_at, u.name, 'refresh', tok.token_id, 'ok',
               'both secrets rotated, by its client'
        FROM tokenctl.users u WHERE u.id = tok.user_id;
    RETURN true;
END
$$;

-- serve's GET /metrics, for its login (a verifier, who reads no token rows, or an
-- administrator): every token of the registry counted by status at `at_ms` (revoked if
-- revoked, else expired once its refresh token has expired, else active: as tokenctl's
-- TokenRow::status_at), and the active ones whose refresh token expires at or before
-- at_ms + within_ms. One row of counts, nothing of any one token. The time is the caller's,
-- not checked against the server's: counts decide nothing, and an administrator or a
-- verifier may count at any time. Plain users are not granted it (they would learn of
-- other users' tokens) and are refused here too.
CREATE OR REPLACE FUNCTION tokenctl.token_counts(at_ms bigint, within_ms bigint)
RETURNS TABLE (active bigint, expired bigint, revoked bigint, expiring bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    IF tokenctl.my_id() IS NULL OR tokenctl.role_of(tokenctl.my_id()) NOT IN ('admin', 'verifier')
    THEN
        RAISE EXCEPTION 'only a verifier or an administrator counts the registry''s tokens'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT
        count(*) FILTER (WHERE t.revoked_at IS NULL AND t.refresh_expires_at > at_ms),
        count(*) FILTER (WHERE t.revoked_at IS NULL AND t.refresh_expires_at <= at_ms),
        count(*) FILTER (WHERE t.revoked_at IS NOT NULL),
        count(*) FILTER (WHERE t.revoked_at IS NULL AND t.refresh_expires_at > at_ms
                             AND t.refresh_expires_at <= at_ms + within_ms)
    FROM tokenctl.tokens t;
END
$$;

-- Whether a token ID or a live application name exists, for a user of the registry who may
-- not read it: tokenctl then refuses it as another user's (exit 3), as on SQLite, instead
-- of calling it missing. Nothing else of it is told.
CREATE OR REPLACE FUNCTION tokenctl.token_exists(token_id text) RETURNS boolean LANGUAGE sql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
    SELECT tokenctl.my_id() IS NOT NULL AND EXISTS (
        SELECT 1 FROM tokenctl.tokens t WHERE t.token_id = $1)
$$;
CREATE OR REPLACE FUNCTION tokenctl.user_exists(name text, include_removed boolean) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
    SELECT tokenctl.my_id() IS NOT NULL AND EXISTS (
        SELECT 1 FROM tokenctl.users u WHERE tokenctl.fold(u.name) = tokenctl.fold($1)
        AND ($2 OR u.removed_at IS NULL))
$$;
CREATE OR REPLACE FUNCTION tokenctl.app_exists(name text) RETURNS boolean LANGUAGE sql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
    SELECT tokenctl.my_id() IS NOT NULL AND EXISTS (
        SELECT 1 FROM tokenctl.apps a WHERE a.name = $1 AND a.removed_at IS NULL)
$$;

-- A write's check that what it read before taking the lock is still so (the key check).
CREATE OR REPLACE FUNCTION tokenctl.require_meta(name text, value bytea) RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, tokenctl, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tokenctl.meta m WHERE m.name = $1 AND m.value = $2) THEN
        RAISE EXCEPTION 'the registry''s % changed', $1 USING ERRCODE = '@changed@';
    END IF;
END
$$;

-- verify's record of a use, by whoever holds the access token (its digest): at most once a
-- minute, at a time near the server's, and never waiting: a row locked by another
-- transaction is left unstamped.
CREATE OR REPLACE FUNCTION tokenctl.stamp_token_use(digest bytea, now bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
DECLARE
    server_now bigint := (extract(epoch FROM pg_catalog.clock_timestamp()) * 1000)::bigint;
BEGIN
    IF tokenctl.my_id() IS NULL OR abs(now - server_now) > 300000 THEN
        RETURN false;
    END IF;
    UPDATE tokenctl.tokens t SET last_used_at = now WHERE t.id = (
        SELECT s.id FROM tokenctl.tokens s WHERE s.access_digest = digest
            AND (s.last_used_at IS NULL OR s.last_used_at <= now - @last_use_resolution@)
        FOR UPDATE SKIP LOCKED);
    RETURN FOUND;
END
$$;

-- user add, set-role and remove: makes a login's membership of the registry's groups what
-- its row in users says (none once removed), whichever member calls it (an administrator
-- who just removed themselves too): it can only make the server's grants agree with the
-- table that row-level security guards. It runs as the schema's owner, which may grant the
-- roles it created.
CREATE OR REPLACE FUNCTION tokenctl.sync_registry_role(login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, tokenctl, pg_temp AS $$
DECLARE
    wanted text := (SELECT 'tokenctl_' || @id_text@ || '_' || u.role FROM tokenctl.users u
                    WHERE tokenctl.fold(u.name) = tokenctl.fold(login) AND u.removed_at IS NULL);
    granted text;
BEGIN
    -- Only what this owner granted and the row no longer says is revoked, and only what is
    -- missing is granted: the server has nothing to warn about (its warnings would name
    -- other logins to the caller).
    FOR granted IN
        SELECT g.rolname FROM pg_catalog.pg_auth_members m
            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
            JOIN pg_catalog.pg_roles l ON l.oid = m.member
        WHERE l.rolname = login AND m.grantor = current_user::regrole
            AND g.rolname IN (@admin_text@, @user_text@, @verifier_text@)
            AND g.rolname IS DISTINCT FROM wanted
    LOOP
        EXECUTE pg_catalog.format('REVOKE %I FROM %I', granted, login);
    END LOOP;
    IF wanted IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_auth_members m
            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
            JOIN pg_catalog.pg_roles l ON l.oid = m.member
        WHERE l.rolname = login AND g.rolname = wanted AND m.grantor = current_user::regrole)
    THEN
        EXECUTE pg_catalog.format('GRANT %I TO %I', wanted, login);
    END IF;
END
$$;

SET LOCAL check_function_bodies = on;
