#!/usr/bin/env bash
# pg_migrate: `tokenctl migrate` upgrades a PostgreSQL registry of schema version 1 to the
# current one: every function's search_path pinned (pg_temp last), the writers' lock a row
# that only the registry's users may lock, and audit records only in the writer's name and
# time (version 2); applications' client secrets, given to the existing applications by
# migrate, which holds the key (version 3); token_counts(), serve's GET /metrics for a
# verifier (version 4). Version 1 is made from a fresh registry by undoing what versions 4, 3
# and 2 added, version 2 by undoing what versions 4 and 3 added, version 3 by undoing what
# version 4 added.
. "$(dirname "$0")/../cli/lib.sh"

# Undoes what version 4 added: the function that counts the registry's tokens.
undo_version_4() {
  sql "DROP FUNCTION tokenctl.token_counts(bigint, bigint);
    UPDATE tokenctl.registry SET schema_version = 3" >/dev/null
}

# Undoes what versions 4 and 3 added: the applications' client secrets, the tokens' previous refresh
# digests and serve's client refresh.
undo_version_3() {
  undo_version_4
  sql "DROP TABLE tokenctl.client_secrets;
    DROP FUNCTION tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint);
    DROP FUNCTION tokenctl.claim_client_refresh(text, text, text, bigint, bigint);
    DROP FUNCTION tokenctl.rotate_for_client(text, text, text, bigint, bigint, bigint, bytea, bytea,
    bytea, bytea);
    ALTER TABLE tokenctl.tokens DROP COLUMN previous_refresh_digest;
    UPDATE tokenctl.registry SET schema_version = 2" >/dev/null
}

# The schema's functions whose search_path is not pinned with pg_temp last.
unpinned() {
  sql "SELECT coalesce(string_agg(p.proname, ' ' ORDER BY p.proname), '') FROM pg_proc p
    WHERE p.pronamespace = 'tokenctl'::regnamespace AND NOT coalesce(
      'search_path=pg_catalog, tokenctl, pg_temp' = ANY (p.proconfig), false)"
}

# token_counts() is the administrators' and the verifiers' only: not PUBLIC's, not users'.
check_token_counts_grants() {
  local f="'tokenctl.token_counts(bigint, bigint)'" g="tokenctl_$(registry_id)"
  check test "$(sql "SELECT has_function_privilege('public', $f, 'EXECUTE'),
    has_function_privilege('${g}_user', $f, 'EXECUTE'),
    has_function_privilege('${g}_verifier', $f, 'EXECUTE'),
    has_function_privilege('${g}_admin', $f, 'EXECUTE')")" = "f|f|t|t"
}

case_ "a new registry pins every function's search_path"
fresh_db
pg_psql -c "DO \$\$ BEGIN CREATE ROLE adm2 LOGIN; EXCEPTION WHEN duplicate_object THEN END \$\$" >/dev/null
run --as admin user add adm2 --role admin
expect_rc 0
check test "$(unpinned)" = ""
check test "$(sql "SELECT schema_version FROM tokenctl.registry")" = 4
check_token_counts_grants

case_ "a registry of version 1 is refused until migrated"
t1=$(new_token --as admin)
undo_version_3
sql "DO \$\$ DECLARE f regprocedure; BEGIN
  FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'tokenctl'::regnamespace LOOP
    EXECUTE format('ALTER FUNCTION %s RESET search_path', f);
  END LOOP; END \$\$;
  DROP FUNCTION tokenctl.lock_writers(), tokenctl.try_lock_writers(),
    tokenctl.revoke_token(bigint, bigint), tokenctl.stamp_own_token_use(bigint, bigint),
    tokenctl.rotate_token(bigint, bigint, bigint, bigint, bytea, bytea, bytea, bytea),
    tokenctl.remove_app(bigint, bigint), tokenctl.others_active_tokens(bigint, bigint);
  DROP FUNCTION tokenctl.sync_registry_role(text);
  CREATE FUNCTION tokenctl.grant_registry_role(login text, role text) RETURNS void
    LANGUAGE plpgsql AS 'BEGIN END';
  CREATE POLICY apps_change ON tokenctl.apps FOR UPDATE USING (true);
  CREATE POLICY tokens_change ON tokenctl.tokens FOR UPDATE USING (true);
  CREATE POLICY secrets_change ON tokenctl.secrets FOR UPDATE USING (true);
  GRANT UPDATE (removed_at) ON tokenctl.apps TO tokenctl_$(registry_id)_user;
  DROP POLICY audit_add ON tokenctl.audit;
  CREATE POLICY audit_add ON tokenctl.audit FOR INSERT WITH CHECK (login = session_user);
  UPDATE tokenctl.registry SET schema_version = 1" >/dev/null
check test "$(unpinned)" != ""
run list
expect_error 1
expect_err_has "schema version 1, older than this tokenctl's (4)"
expect_err_has "tokenctl migrate"

case_ "migrate by an administrator who is not the owner is refused"
run --as adm2 migrate
check test "$RC" -ne 0
check test "$(sql "SELECT schema_version FROM tokenctl.registry")" = 1

case_ "migrate by the owner upgrades to version 4"
run --as admin migrate
expect_rc 0
check test "$(sql "SELECT schema_version FROM tokenctl.registry")" = 4
check test "$(unpinned)" = ""
check test "$(sql "SELECT count(*) FROM pg_proc WHERE proname IN ('lock_writers', 'try_lock_writers')
  AND pronamespace = 'tokenctl'::regnamespace")" = 2
# Only the registry's groups may call the new functions.
check test "$(sql "SELECT has_function_privilege('public', 'tokenctl.lock_writers()', 'EXECUTE')")" = f
check test "$(sql "SELECT has_function_privilege('tokenctl_$(registry_id)_user', 'tokenctl.lock_writers()', 'EXECUTE')")" = t
check test "$(sql "SELECT has_function_privilege('tokenctl_$(registry_id)_verifier', 'tokenctl.revoke_token(bigint, bigint)', 'EXECUTE')")" = f
# No login may update (and so lock) applications, tokens or secrets any more.
check test "$(sql "SELECT count(*) FROM information_schema.column_privileges WHERE table_schema = 'tokenctl'
  AND table_name IN ('apps', 'tokens', 'secrets') AND privilege_type = 'UPDATE' AND grantee LIKE 'tokenctl\_%'")" = 0
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'migrate' AND detail = 'schema version 1 -> 4'")" = 1
check_token_counts_grants

case_ "after the upgrade, writes and reads work as before"
run --as alice add-app -q --redirect-uri https://app.example.com/cb
expect_rc 0
t2=$OUT
run --as alice download "$t2" --format access-token
expect_rc 0
run --stdin "$OUT" --as alice verify
expect_rc 0
run --as admin revoke "$t1" --yes
expect_rc 0
expect_out "revoked $t1"
run --as adm2 user set-role admin user
expect_error 5
expect_err_has "owns the registry's schema"

case_ "after the upgrade, the audit log refuses records in another's name"
out=$(pg_psql_as alice -c "INSERT INTO tokenctl.audit (at, actor, action, outcome)
  VALUES ((extract(epoch FROM now()) * 1000)::bigint, 'admin', 'forged', 'ok')" 2>&1)
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'forged'")" = 0
printf '%s\n' "$out" | grep -q "row-level security" && pass || fail "alice's forged record: $out"

case_ "a registry of version 2 is refused until migrated"
undo_version_3
run --as alice list
expect_error 1
expect_err_has "schema version 2, older than this tokenctl's (4)"
check test "$(sql "SELECT count(*) FROM tokenctl.apps")" -ge 2

case_ "migrate without the key file upgrades the schema, and says what is left to do"
TOKENCTL_KEY_FILE="$TMP/no-such.key" run --as admin migrate
expect_error 1
expect_err_has "no client secret yet"
expect_err_has "tokenctl migrate"
check test "$(sql "SELECT schema_version FROM tokenctl.registry")" = 4
check test "$(sql "SELECT count(*) FROM tokenctl.client_secrets")" = 0

case_ "migrate with the key gives every application its client secret, sealed, once"
run --as admin migrate
expect_rc 0
check test "$(sql "SELECT count(*) FROM tokenctl.apps a WHERE NOT EXISTS (
  SELECT 1 FROM tokenctl.client_secrets c WHERE c.app = a.id)")" = 0
check test "$(sql "SELECT count(*) FROM tokenctl.client_secrets WHERE length(digest) <> 32")" = 0
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'migrate' AND detail LIKE 'client secrets for % application%'")" = 1
before=$(sql "SELECT string_agg(encode(digest, 'hex'), ',' ORDER BY app) FROM tokenctl.client_secrets")
run --as admin migrate
expect_rc 0
check test "$(sql "SELECT string_agg(encode(digest, 'hex'), ',' ORDER BY app) FROM tokenctl.client_secrets")" = "$before"
check test "$(unpinned)" = ""
# Verifiers have no right on the client secrets; only the writers' groups rotate them.
check test "$(sql "SELECT has_table_privilege('tokenctl_$(registry_id)_verifier', 'tokenctl.client_secrets', 'SELECT')")" = f
check test "$(sql "SELECT has_table_privilege('tokenctl_$(registry_id)_user', 'tokenctl.client_secrets', 'UPDATE')")" = f
check test "$(sql "SELECT has_function_privilege('public', 'tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint)', 'EXECUTE')")" = f
check test "$(sql "SELECT has_function_privilege('tokenctl_$(registry_id)_verifier', 'tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint)', 'EXECUTE')")" = f
check test "$(sql "SELECT has_function_privilege('tokenctl_$(registry_id)_user', 'tokenctl.rotate_client_secret(bigint, bytea, bytea, bigint)', 'EXECUTE')")" = t
run --as alice add-app -q --redirect-uri https://app.example.com/cb
expect_rc 0
run --as admin rekey --yes
expect_rc 0
run --as admin check
expect_rc 0

case_ "a registry of version 3 is refused until migrated, then counts its tokens for a verifier"
"$TOKENCTL_BIN" --as admin user add gw --role verifier >/dev/null
undo_version_4
run --as gw whoami
expect_error 1
expect_err_has "schema version 3, older than this tokenctl's (4)"
check test "$(sql "SELECT count(*) FROM pg_proc WHERE proname = 'token_counts'")" = 0
run --as admin migrate
expect_rc 0
check test "$(sql "SELECT schema_version FROM tokenctl.registry")" = 4
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'migrate' AND detail = 'schema version 3 -> 4'")" = 1
check test "$(unpinned)" = ""
check_token_counts_grants
# The registry's tokens now: active, revoked, expired or not, as counted row by row.
now=$(date +%s)000
expected=$(sql "SELECT count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at > $now),
  count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at <= $now),
  count(*) FILTER (WHERE revoked_at IS NOT NULL) FROM tokenctl.tokens")
check test "$(pg_psql_as gw -c "SELECT active, expired, revoked FROM tokenctl.token_counts($now, 0)")" = "$expected"
check test "$(cut -d'|' -f3 <<<"$expected")" -ge 1
out=$(pg_psql_as alice -c "SELECT * FROM tokenctl.token_counts(0, 0)" 2>&1)
printf '%s\n' "$out" | grep -q "permission denied for function token_counts" && pass ||
  fail "alice counted the registry's tokens: $out"

finish
