#!/usr/bin/env bash
# pg_rls: the server enforces the roles (SPEC.md, "The server enforces the roles").
#
# Every kind of login connects with psql and its own credentials and tries, table by
# table and column by column, to read what it may not read and to change what it may
# not change: SELECT, INSERT, UPDATE, DELETE, TRUNCATE, ALTER TABLE … DISABLE TRIGGER,
# SET ROLE. A superuser's snapshot before and after each attempt shows that nothing
# forbidden changed; what psql printed must not hold another user's names, token IDs,
# digests or sealed bytes. The allowed things must work (alice reads her own tokens,
# adm2 revokes bob's). Then, for each row-level security policy of the schema, a copy
# of the database without that policy must make at least one probe fail.
#
# The server: TOKENCTL_PG_HOST (socket folder), TOKENCTL_PG_PORT, TOKENCTL_PG_SUPERUSER,
# or the state file TOKENCTL_PG_STATE that tests/pg/with-postgres --start writes.
#
# Every failure names the contract item it breaks; the last lines list them.

# --- The schema's names, in one place ------------------------------------------------
SCHEMA=tokenctl
T_REGISTRY=registry
T_META=meta
T_USERS=users
T_APPS=apps
T_TOKENS=tokens
T_SECRETS=secrets
T_AUDIT=audit
T_CLIENT=client_secrets
TABLES="$T_REGISTRY $T_META $T_USERS $T_APPS $T_TOKENS $T_SECRETS $T_CLIENT $T_AUDIT"
F_SYNC=sync_registry_role          # (login text): the login's groups as its users row says
F_LOOKUP=token_by_access_digest     # (bytea): the row verify needs, no secrets
F_STAMP=stamp_token_use             # (access digest, now in ms): only a holder of the token
F_ROTATE_CLIENT=rotate_client_secret # (app, digest, sealed, now in ms): admins and the creator
F_CLAIM=claim_client_refresh        # (client ID, client secret, refresh token, now, grace): serve
F_ROTATE_FOR=rotate_for_client      # (client ID, client secret, refresh token, new pair…): serve
F_COUNTS=token_counts               # (now in ms, within in ms): serve's /metrics, counts only
# The registry's group roles: ${GROUP_PREFIX}<registry id>_{admin,user,verifier}.
GROUP_PREFIX=tokenctl_
# Columns that identify a row to someone who should not see it: what psql may never
# print to a login that may not read that row.
declare -A IDENT=(
  [$T_USERS]="r.name"
  [$T_APPS]="r.name r.client_id"
  [$T_TOKENS]="r.token_id encode(r.access_digest,'hex') encode(r.refresh_digest,'hex')"
  [$T_SECRETS]="substr(encode(r.access_sealed,'hex'),1,48) substr(encode(r.refresh_sealed,'hex'),1,48)"
  [$T_CLIENT]="encode(r.digest,'hex') substr(encode(r.sealed,'hex'),1,48)"
)
# --------------------------------------------------------------------------------------

# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
. "$(dirname "$0")/../cli/lib.sh"
require_tools psql diff
unset TOKENCTL_USER PGUSER PGDATABASE PGHOST PGPORT PGOPTIONS PGSERVICE

if [ -z "${TOKENCTL_PG_HOST-}" ] && [ -n "${TOKENCTL_PG_STATE-}" ] && [ -f "$TOKENCTL_PG_STATE" ]; then
  # shellcheck disable=SC1090
  . "$TOKENCTL_PG_STATE"
fi
if [ -z "${TOKENCTL_PG_HOST-}" ] || [ -z "${TOKENCTL_PG_PORT-}" ] || [ -z "${TOKENCTL_PG_SUPERUSER-}" ]; then
  echo "no PostgreSQL server: run the suite under tests/pg/with-postgres (or set TOKENCTL_PG_HOST, TOKENCTL_PG_PORT and TOKENCTL_PG_SUPERUSER)"
  exit 1
fi

# Roles are the cluster's: every name carries this run's suffix.
RUN=$(printf 'r%s%04x' "$$" "$RANDOM")
OWN=own_$RUN
ADM2=adm2_$RUN
ALICE=alice_$RUN
BOB=bob_$RUN
CAROL=carol_$RUN
GW=gw_$RUN
STRANGER=stranger_$RUN
LOGINS="$OWN $ADM2 $ALICE $BOB $CAROL $GW $STRANGER"
MAIN_DB=rls_$RUN
PGDB=$MAIN_DB
export TOKENCTL_DB="postgresql:///$MAIN_DB?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT"

psql_super() {
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$TOKENCTL_PG_SUPERUSER" -d "$PGDB" "$@"
}

REGISTRY_ID=
cleanup() {
  local roles="" db
  for db in $(PGDB=postgres psql_super -c "SELECT datname FROM pg_database WHERE datname LIKE 'rls\_${RUN}%'" 2>/dev/null); do
    PGDB=postgres psql_super -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
  done
  [ -z "$REGISTRY_ID" ] || roles="${GROUP_PREFIX}${REGISTRY_ID}_admin, ${GROUP_PREFIX}${REGISTRY_ID}_user, ${GROUP_PREFIX}${REGISTRY_ID}_verifier, "
  PGDB=postgres psql_super -c "DROP ROLE IF EXISTS ${roles}${LOGINS// /, }" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

# Runs tokenctl as the PostgreSQL login $1 (the acting user is the login).
as() {
  local login=$1
  shift
  PGUSER=$login run "$@"
}

# --- Setup, through tokenctl as its users would -----------------------------------------
case_ "setup"
PGDB=postgres psql_super -c "CREATE ROLE $OWN LOGIN CREATEROLE" \
  -c "CREATE ROLE $ADM2 LOGIN; CREATE ROLE $ALICE LOGIN; CREATE ROLE $BOB LOGIN;
      CREATE ROLE $CAROL LOGIN; CREATE ROLE $GW LOGIN; CREATE ROLE $STRANGER LOGIN" \
  -c "CREATE DATABASE $MAIN_DB OWNER $OWN" || {
  echo "cannot create the suite's roles and database"
  exit 1
}
setup_step() {
  as "$@"
  if [ "$RC" -ne 0 ]; then
    fail "tokenctl $* as ${1}: exit $RC"
    finish
    exit 1
  fi
}
new_app_token() { # LOGIN ARGS… -> prints the token ID
  local login=$1
  shift
  PGUSER=$login "$TOKENCTL_BIN" add-app -q --redirect-uri "https://$login.example.com/cb" "$@"
}
setup_step "$OWN" init
REGISTRY_ID=$(psql_super -c "SELECT registry_id FROM $SCHEMA.$T_REGISTRY")
G_ADMIN=${GROUP_PREFIX}${REGISTRY_ID}_admin
G_USER=${GROUP_PREFIX}${REGISTRY_ID}_user
G_VERIFIER=${GROUP_PREFIX}${REGISTRY_ID}_verifier
setup_step "$OWN" user add "$ADM2" --role admin
setup_step "$OWN" user add "$ALICE"
setup_step "$OWN" user add "$BOB"
setup_step "$OWN" user add "$CAROL"
setup_step "$OWN" user add "$GW" --role verifier

# alice: A1 (her application), A2 (made for her by adm2, application shared_RUN),
# A3 (revoked by her), A4 (expired). bob: B1, B2 (revoked by adm2). adm2: one of his own.
if ! { TID_A1=$(new_app_token "$ALICE") &&
  TID_A2=$(new_app_token "$ADM2" --for "$ALICE" --name "shared_$RUN") &&
  TID_A3=$(new_app_token "$ALICE") &&
  TID_A4=$(new_app_token "$ALICE") &&
  TID_B1=$(new_app_token "$BOB") &&
  TID_B2=$(new_app_token "$BOB") &&
  new_app_token "$ADM2" >/dev/null; }; then
  echo "add-app failed during setup"
  exit 1
fi
setup_step "$ALICE" revoke "$TID_A3" --yes
setup_step "$ADM2" revoke "$TID_B2" --yes
# Expired by hand, past the triggers (which rightly refuse even the superuser this).
psql_super -c "SET session_replication_role = replica" \
  -c "UPDATE $SCHEMA.$T_TOKENS SET access_expires_at = 500, refresh_expires_at = 1000
      WHERE token_id = '$TID_A4'" >/dev/null
if [ "$(psql_super -c "SELECT refresh_expires_at FROM $SCHEMA.$T_TOKENS WHERE token_id = '$TID_A4'")" != 1000 ]; then
  echo "setup: token A4 could not be made expired"
  exit 1
fi

q1() { psql_super -c "$1"; }
uid() { q1 "SELECT id FROM $SCHEMA.$T_USERS WHERE name = '$1'"; }
tok() { q1 "SELECT id FROM $SCHEMA.$T_TOKENS WHERE token_id = '$1'"; }
U_OWN=$(uid "$OWN")
U_ADM2=$(uid "$ADM2")
U_ALICE=$(uid "$ALICE")
U_BOB=$(uid "$BOB")
U_CAROL=$(uid "$CAROL")
U_GW=$(uid "$GW")
A1=$(tok "$TID_A1")
A2=$(tok "$TID_A2")
A3=$(tok "$TID_A3")
A4=$(tok "$TID_A4")
B1=$(tok "$TID_B1")
B2=$(tok "$TID_B2")
APP_ALICE=$(q1 "SELECT app_id FROM $SCHEMA.$T_TOKENS WHERE id = $A1")
APP_SHARED=$(q1 "SELECT app_id FROM $SCHEMA.$T_TOKENS WHERE id = $A2")
APP_BOB=$(q1 "SELECT app_id FROM $SCHEMA.$T_TOKENS WHERE id = $B1")
B1_DIGEST=$(q1 "SELECT encode(access_digest, 'hex') FROM $SCHEMA.$T_TOKENS WHERE id = $B1")
B1_SHOWN=$(q1 "SELECT t.token_id || chr(10) || u.name || chr(10) || a.name || chr(10) || a.client_id
              || chr(10) || encode(t.access_digest, 'hex') || chr(10) || encode(t.refresh_digest, 'hex')
              FROM $SCHEMA.$T_TOKENS t JOIN $SCHEMA.$T_USERS u ON u.id = t.user_id
              JOIN $SCHEMA.$T_APPS a ON a.id = t.app_id WHERE t.id = $B1")
CLIENT_BOB=$(q1 "SELECT client_id FROM $SCHEMA.$T_APPS WHERE id = $APP_BOB")
CLIENT_BOB_DIGEST=$(q1 "SELECT encode(digest, 'hex') FROM $SCHEMA.$T_CLIENT WHERE app = $APP_BOB")
B1_REFRESH_DIGEST=$(q1 "SELECT encode(refresh_digest, 'hex') FROM $SCHEMA.$T_TOKENS WHERE id = $B1")
for v in U_OWN U_ADM2 U_ALICE U_BOB U_CAROL U_GW A1 A2 A3 A4 B1 B2 APP_ALICE APP_SHARED APP_BOB B1_DIGEST \
  CLIENT_BOB CLIENT_BOB_DIGEST B1_REFRESH_DIGEST; do
  [ -n "${!v}" ] || {
    echo "setup: $v is empty"
    exit 1
  }
done

# --- What each login may read (the contract), as SQL over a row `r` ---------------------
# pred LOGIN TABLE: a condition on `r`, a row of TABLE, true where LOGIN may read it.
nonadmin_pred() { # USER_ID TABLE
  local u=$1
  case $2 in
  "$T_REGISTRY" | "$T_META") echo true ;;
  "$T_USERS") echo "r.id = $u OR r.id IN (SELECT a.created_by FROM $SCHEMA.$T_APPS a
                 JOIN $SCHEMA.$T_TOKENS t ON t.app_id = a.id WHERE t.user_id = $u)" ;;
  "$T_APPS") echo "r.created_by = $u OR r.id IN (SELECT t.app_id FROM $SCHEMA.$T_TOKENS t WHERE t.user_id = $u)" ;;
  "$T_TOKENS") echo "r.user_id = $u" ;;
  "$T_SECRETS") echo "r.token IN (SELECT t.id FROM $SCHEMA.$T_TOKENS t WHERE t.user_id = $u)" ;;
  "$T_CLIENT") echo "r.app IN (SELECT a.id FROM $SCHEMA.$T_APPS a WHERE a.created_by = $u)
                 OR r.app IN (SELECT t.app_id FROM $SCHEMA.$T_TOKENS t WHERE t.user_id = $u)" ;;
  *) echo false ;;
  esac
}
pred() { # LOGIN TABLE
  case $1 in
  "$OWN") echo true ;;
  "$ADM2")
    if [ "$2" = "$T_SECRETS" ]; then nonadmin_pred "$U_ADM2" "$2"; else echo true; fi
    ;;
  "$ALICE") nonadmin_pred "$U_ALICE" "$2" ;;
  "$BOB") nonadmin_pred "$U_BOB" "$2" ;;
  "$CAROL") nonadmin_pred "$U_CAROL" "$2" ;;
  "$GW")
    case $2 in
    "$T_REGISTRY" | "$T_META") echo true ;;
    "$T_USERS") echo "r.id = $U_GW" ;;
    *) echo false ;;
    esac
    ;;
  *) echo false ;;
  esac
}

# The strings LOGIN may never see (FORBID_<login> files): the identifying columns of the
# rows it may not read, but for those a row it may read also holds (a user name that is
# also an application's name, say).
forbidden_for() {
  local login=$1 t p col hidden=() shown=()
  for t in "${!IDENT[@]}"; do
    p=$(pred "$login" "$t")
    for col in ${IDENT[$t]}; do
      hidden+=("SELECT $col FROM $SCHEMA.$t r WHERE NOT coalesce(($p), false)")
      shown+=("SELECT $col FROM $SCHEMA.$t r WHERE coalesce(($p), false)")
    done
  done
  local h s
  h=$(printf '%s UNION ' "${hidden[@]}")
  s=$(printf '%s UNION ' "${shown[@]}")
  psql_super -c "(${h% UNION }) EXCEPT (${s% UNION })" >"$TMP/forbid.$1"
}
for l in $LOGINS; do forbidden_for "$l"; done

# --- The superuser's snapshot: every row, and what guards them ------------------------
STATE_SQL=$(
  echo "SELECT line FROM ("
  for t in $TABLES; do
    printf "SELECT '%s ' || r::text FROM %s.%s r UNION ALL\n" "$t" "$SCHEMA" "$t"
  done
  cat <<SQL
SELECT 'trigger ' || c.relname || ' ' || t.tgname || ' ' || t.tgenabled::text
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = '$SCHEMA' AND NOT t.tgisinternal
UNION ALL
SELECT 'class ' || c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
       || ' force=' || c.relforcerowsecurity || ' owner=' || c.relowner::regrole::text
       || ' acl=' || coalesce(c.relacl::text, '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$SCHEMA'
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || a.attacl::text
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = '$SCHEMA' AND a.attacl IS NOT NULL
UNION ALL
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd || ' '
       || roles::text || ' ' || coalesce(qual, '-') || ' ' || coalesce(with_check, '-')
  FROM pg_policies WHERE schemaname = '$SCHEMA'
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text || ' owner=' || p.proowner::regrole::text
       || ' definer=' || p.prosecdef || ' acl=' || coalesce(p.proacl::text, '')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '$SCHEMA'
UNION ALL
SELECT 'schema ' || nspowner::regrole::text || ' ' || coalesce(nspacl::text, '')
  FROM pg_namespace WHERE nspname = '$SCHEMA'
UNION ALL
SELECT 'member ' || r.rolname || ' ' || m.rolname || ' ' || a.admin_option
  FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
  WHERE starts_with(r.rolname, '${GROUP_PREFIX}${REGISTRY_ID}_')
     OR m.rolname IN ('${LOGINS// /\', \'}')
UNION ALL
SELECT 'role ' || rolname || ' ' || rolsuper || rolcreaterole || rolcreatedb || rolbypassrls
       || rolinherit || rolcanlogin
  FROM pg_roles WHERE starts_with(rolname, '${GROUP_PREFIX}${REGISTRY_ID}_')
     OR rolname IN ('${LOGINS// /\', \'}')
) s(line) ORDER BY line COLLATE "C"
SQL
)
# snap: NOW holds the snapshot (an empty one would hide every change: that stops the suite).
snap() {
  if ! NOW=$(psql_super -c "$STATE_SQL") || [ -z "$NOW" ]; then
    echo "the superuser's snapshot failed"
    exit 1
  fi
}

# Sealed bytes and digests are long: a failure shows their first characters only.
shorten() { sed -E 's/([0-9a-f]{12})[0-9a-f]{20,}/\1…/g' | head -c 3000; }

# --- Probes ----------------------------------------------------------------------------
# Each probe belongs to a table (the policy loop reruns a table's probes) and names the
# contract item it checks. In a policy's copy (MUTANT=1) a failing probe is counted, not
# reported, and the remaining probes are skipped once one has failed.
MUTANT=
BITES=0
ONLY=
BASE=
declare -a BROKEN=()
FIRST_BITE=

want() { # TABLES (a list): whether this probe runs now
  [ -z "$MUTANT" ] || [ "$BITES" -eq 0 ] || return 1
  [ -z "$ONLY" ] || [[ " $1 " == *" $ONLY "* ]]
}
verdict() { # OK? MESSAGE
  if [ "$1" -eq 0 ]; then
    [ -n "$MUTANT" ] || pass
    return 0
  fi
  if [ -n "$MUTANT" ]; then
    BITES=$((BITES + 1))
    FIRST_BITE="$CASE: $2"
    return 1
  fi
  OUT=$(shorten <"$TMP/pout")
  ERR=$(shorten <"$TMP/perr")
  fail "$2"
  BROKEN+=("$CASE")
}

# Runs SQL (argument 2) as login $1 on PGDB; stdout to $TMP/pout, stderr to $TMP/perr.
# The first line proves the session ran, as that login; it is taken off the output.
psql_as() {
  printf "SELECT 'alive' || chr(9) || session_user;\n%s\n" "$2" |
    PGOPTIONS="-c client_min_messages=warning -c lock_timeout=5s -c statement_timeout=30s" \
      psql -X -A -t -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$1" -d "$PGDB" -f - \
      >"$TMP/praw" 2>"$TMP/perr"
  local first
  IFS= read -r first <"$TMP/praw"
  if [ "$first" != "alive"$'\t'"$1" ]; then
    cp "$TMP/praw" "$TMP/pout"
    return 1
  fi
  tail -n +2 "$TMP/praw" >"$TMP/pout"
}

# Whether psql printed (stdout or stderr) a string login $1 may not see; strings the
# probe's own SQL ($2) or $3 (allowed strings, one a line) hold do not count.
leaked() {
  local s
  while IFS= read -r s; do
    [[ ${2,,} == *"${s,,}"* ]] && continue
    [[ $'\n'"${3-}"$'\n' == *$'\n'"$s"$'\n'* ]] && continue
    LEAK=$s
    return 0
  done < <(cat "$TMP/pout" "$TMP/perr" | grep -oiF -f "$TMP/forbid.$1" | sort -u)
  return 1
}

# unchanged: the registry is as BASE holds it (else the verdict names the change).
unchanged() { # DESCRIPTION
  snap
  [ "$NOW" = "$BASE" ] && return 0
  verdict 1 "$1 changed: $(diff <(printf '%s\n' "$BASE") <(printf '%s\n' "$NOW") | grep '^[<>]' | head -n 6 | shorten)"
  restore
  return 1
}

# The rows as the probes began, kept in a schema no login may use, so that a probe that
# changed them does not mislead the next ones: restore puts them back (triggers and
# foreign keys off, as pg_restore --disable-triggers does).
PRISTINE=rls_pristine
keep_pristine() {
  local t sql="CREATE SCHEMA $PRISTINE;"
  for t in $TABLES; do sql+="CREATE TABLE $PRISTINE.$t AS SELECT * FROM $SCHEMA.$t;"; done
  psql_super -c "$sql"
  snap
  BASE=$NOW
}
restore() {
  local t sql="SET session_replication_role = replica; TRUNCATE"
  for t in $TABLES; do sql+=" $SCHEMA.$t,"; done
  sql="${sql%,};"
  for t in $TABLES; do
    sql+="INSERT INTO $SCHEMA.$t OVERRIDING SYSTEM VALUE SELECT * FROM $PRISTINE.$t;"
  done
  psql_super -c "$sql" >/dev/null
  snap
  if [ "$NOW" != "$BASE" ]; then
    echo "the registry could not be restored after a probe changed it"
    diff <(printf '%s\n' "$BASE") <(printf '%s\n' "$NOW") | grep '^[<>]' | head -n 6 | shorten
    BASE=$NOW
  fi
}

# deny TABLES LOGIN ITEM SQL: forbidden changes (each statement on its own, run even
# after another failed); afterwards nothing changed and nothing leaked.
deny() {
  want "$1" || return 0
  local login=$2 sql=$4
  case_ "$3"
  psql_as "$login" "$sql" || {
    verdict 1 "psql did not run as $login"
    return
  }
  unchanged "as $login, [$sql]" || return
  if leaked "$login" "$sql"; then
    verdict 1 "as $login, [$sql] printed ${LEAK:0:16}…, which $login may not see"
    return
  fi
  verdict 0
}

# refused LOGIN ITEM SQL: the server answers SQL with "permission denied" (or, granting a
# role, "must have admin option"): for what changes nothing and so would pass deny (a row
# lock).
refused() {
  [ -z "$MUTANT" ] || return 0
  local login=$1 sql=$3
  case_ "$2"
  psql_as "$login" "$sql"
  if grep -qE 'permission denied|must have admin option' "$TMP/perr"; then verdict 0; else
    verdict 1 "as $login, [$sql] was not refused"
  fi
}

# allow TABLES LOGIN ITEM SQL EXPECTED…: an allowed change, run in a transaction that is
# rolled back; psql printed no error and each EXPECTED line (a command tag: UPDATE 1).
allow() {
  want "$1" || return 0
  local login=$2 sql=$4 e
  case_ "$3"
  shift 4
  psql_as "$login" "BEGIN; $sql; ROLLBACK;" || {
    verdict 1 "psql did not run as $login"
    return
  }
  if grep -q 'ERROR' "$TMP/perr"; then
    verdict 1 "as $login, [$sql] was refused"
    return
  fi
  for e in "$@"; do
    if ! grep -qxF -- "$e" "$TMP/pout"; then
      verdict 1 "as $login, [$sql] did not print $e"
      return
    fi
  done
  unchanged "as $login, [$sql] (rolled back)" || return
  verdict 0
}

# The statements that read TABLE column by column, each line `TABLE.COLUMN<TAB>VALUE`; a
# WHERE clause ($2) keeps the rows the superuser's expectation reads.
declare -A COLUMNS=()
load_columns() {
  local t
  for t in $TABLES; do
    COLUMNS[$t]=$(q1 "SELECT column_name FROM information_schema.columns
                      WHERE table_schema = '$SCHEMA' AND table_name = '$t' ORDER BY ordinal_position")
  done
}
column_reads() { # TABLE WHERE
  local col
  for col in ${COLUMNS[$1]}; do
    printf "SELECT '%s.%s' || chr(9) || coalesce(r.%s::text, '<null>') FROM %s.%s r WHERE %s;\n" \
      "$1" "$col" "$col" "$SCHEMA" "$1" "$2"
  done
}
# What LOGIN may read of TABLE, as column_reads prints it, sorted, into EXP (the data is
# the same in every copy of the registry, so it is read once).
declare -A EXPECTED=()
expected() { # LOGIN TABLE
  local key="$1 $2"
  [ -n "${EXPECTED[$key]+set}" ] ||
    EXPECTED[$key]=$(psql_super -c "$(column_reads "$2" "coalesce(($(pred "$1" "$2")), false)")" | LC_ALL=C sort)
  EXP=${EXPECTED[$key]}
}

# reads TABLES LOGIN ITEM [PREFIX]: LOGIN reads each table column by column. Without
# PREFIX it must see exactly the rows the contract gives it (none: empty or refused).
# With PREFIX (SET ROLE …) run first, it must see nothing more than those.
reads() {
  want "$1" || return 0
  local tables=$1 login=$2 prefix=${4-} t expected="" sql=""
  case_ "$3"
  for t in $tables; do
    expected "$login" "$t"
    expected+=$EXP$'\n'
    sql+=$(column_reads "$t" true)$'\n'
  done
  expected=$(printf '%s' "$expected" | grep -v '^$' | LC_ALL=C sort)
  psql_as "$login" "$prefix
$sql" || {
    verdict 1 "psql did not run as $login"
    return
  }
  local got
  got=$(grep -v -e '^SET$' -e '^RESET$' "$TMP/pout" | LC_ALL=C sort)
  if [ -z "$prefix" ]; then
    if [ -n "$expected" ] && grep -q 'ERROR' "$TMP/perr"; then
      verdict 1 "as $login, reading $tables was refused (some column or all)"
      return
    fi
    if [ "$got" != "$expected" ]; then
      verdict 1 "as $login, $tables reads other rows than the contract's: $(diff <(printf '%s\n' "$expected") <(printf '%s\n' "$got") | grep '^[<>] .' | head -n 6 | shorten)"
      return
    fi
  else
    local extra
    extra=$(LC_ALL=C comm -13 <(printf '%s\n' "$expected" | LC_ALL=C sort -u) <(printf '%s\n' "$got" | LC_ALL=C sort -u) | grep -v '^$')
    if [ -n "$extra" ]; then
      verdict 1 "as $login after [$prefix], it read rows it may not: $(printf '%s\n' "$extra" | head -n 4 | shorten)"
      return
    fi
  fi
  if leaked "$login" "$prefix"; then
    verdict 1 "as $login, reading $tables printed ${LEAK:0:16}…, which $login may not see"
    return
  fi
  verdict 0
}

# sees TABLES LOGIN ITEM SQL EXPECTED_REGEX [ALLOWED_STRINGS]: the output of a statement
# matches; nothing it may not see leaks (but ALLOWED_STRINGS); state unchanged.
sees() {
  want "$1" || return 0
  local login=$2 sql=$4 re=$5 allowed=${6-}
  case_ "$3"
  psql_as "$login" "$sql" || {
    verdict 1 "psql did not run as $login"
    return
  }
  if ! grep -Eq -- "$re" "$TMP/pout"; then
    verdict 1 "as $login, [$sql] did not print /$re/"
    return
  fi
  if leaked "$login" "$sql" "$allowed"; then
    verdict 1 "as $login, [$sql] printed ${LEAK:0:16}…, which $login may not see"
    return
  fi
  unchanged "as $login, [$sql]" || return
  verdict 0
}

S=$SCHEMA
NOW_MS="(extract(epoch from now()) * 1000)::bigint"
# An INSERT of a token row: user, application, created by, [token ID].
token_insert() {
  printf "INSERT INTO %s.%s (token_id, user_id, app_id, created_by, generated_at, issued_at,
    access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, access_digest, refresh_digest)
    VALUES (%s, %s, %s, %s, %s, %s, 7200000, 1296000000,
    %s + 7200000, %s + 1296000000, sha256(random()::text::bytea), sha256(random()::text::bytea))" \
    "$S" "$T_TOKENS" "${4:-substr(md5(random()::text), 1, 16)}" "$1" "$2" "$3" "$NOW_MS" "$NOW_MS" \
    "$NOW_MS" "$NOW_MS"
}
# A token and its secrets, as add-app writes them: user, application, created by.
token_and_secrets_insert() {
  printf "%s;\nINSERT INTO %s.%s (token, access_sealed, refresh_sealed)
    SELECT id, '\\\\x01', '\\\\x02' FROM %s.%s WHERE token_id = 'fedcba9876543210'" \
    "$(token_insert "$1" "$2" "$3" "'fedcba9876543210'")" "$S" "$T_SECRETS" "$S" "$T_TOKENS"
}
app_insert() { # NAME CREATED_BY
  printf "INSERT INTO %s.%s (name, redirect_uri, client_id, created_at, created_by)
    VALUES ('%s', 'https://x.example.com/cb', md5(random()::text), %s, %s)" \
    "$S" "$T_APPS" "$1" "$NOW_MS" "$2"
}
user_insert() { # NAME ROLE
  printf "INSERT INTO %s.%s (name, role, created_at) VALUES ('%s', '%s', %s)" \
    "$S" "$T_USERS" "$1" "$2" "$NOW_MS"
}
rotate() { # TOKEN
  printf "UPDATE %s.%s SET access_digest = sha256(random()::text::bytea),
    refresh_digest = sha256(random()::text::bytea), issued_at = %s,
    access_expires_at = %s + 7200000, refresh_expires_at = %s + 1296000000 WHERE id = %s" \
    "$S" "$T_TOKENS" "$NOW_MS" "$NOW_MS" "$NOW_MS" "$1"
}
# The functions through which alone tokens and applications change.
revoke_fn() { # TOKEN
  printf "SELECT %s.revoke_token(%s, %s)" "$S" "$1" "$NOW_MS"
}
rotate_fn() { # TOKEN
  printf "SELECT %s.rotate_token(%s, %s, %s + 7200000, %s + 1296000000,
    sha256(random()::text::bytea), sha256(random()::text::bytea), '\\x00', '\\x00')" \
    "$S" "$1" "$NOW_MS" "$NOW_MS" "$NOW_MS"
}
rotate_client_fn() { # APP
  printf "SELECT %s.%s(%s, sha256(random()::text::bytea), '\\\\x00', %s)" \
    "$S" "$F_ROTATE_CLIENT" "$1" "$NOW_MS"
}
# A new application and its client secret, as add-app writes them.
app_and_client_secret_insert() { # NAME CREATED_BY
  printf "%s;\nINSERT INTO %s.%s (app, digest, sealed, created_at)
    SELECT id, sha256(random()::text::bytea), '\\\\x01', %s FROM %s.%s
    WHERE name = '%s' AND removed_at IS NULL" \
    "$(app_insert "$1" "$2")" "$S" "$T_CLIENT" "$NOW_MS" "$S" "$T_APPS" "$1"
}
# serve's client refresh with credentials that do not prove it: the client secret and the
# refresh token as their digests (what an administrator reads), or made up.
claim_fn() { # CLIENT_SECRET REFRESH_TOKEN
  printf "SELECT * FROM %s.%s('%s', '%s', '%s', %s, 300000)" \
    "$S" "$F_CLAIM" "$CLIENT_BOB" "$1" "$2" "$NOW_MS"
}
rotate_for_fn() { # CLIENT_SECRET REFRESH_TOKEN
  printf "SELECT %s.%s('%s', '%s', '%s', %s, %s + 7200000, %s + 1296000000,
    sha256(random()::text::bytea), sha256(random()::text::bytea), '\\x00', '\\x00')" \
    "$S" "$F_ROTATE_FOR" "$CLIENT_BOB" "$1" "$2" "$NOW_MS" "$NOW_MS" "$NOW_MS"
}
remove_app_fn() { # APP
  printf "SELECT %s.remove_app(%s, %s)" "$S" "$1" "$NOW_MS"
}
revoke_sql() { # TOKEN REVOKED_BY
  printf "UPDATE %s.%s SET revoked_at = %s, revoked_by = %s WHERE id = %s" \
    "$S" "$T_TOKENS" "$NOW_MS" "$2" "$1"
}
audit_insert() { # ACTOR LOGIN-or-DEFAULT [AT]: a record in ACTOR's name, at AT (default now)
  if [ "$2" = DEFAULT ]; then
    printf "INSERT INTO %s.%s (at, actor, action, outcome) VALUES (%s, '%s', 'probe', 'ok')" \
      "$S" "$T_AUDIT" "${3:-$NOW_MS}" "$1"
  else
    printf "INSERT INTO %s.%s (at, actor, action, outcome, login) VALUES (%s, '%s', 'probe', 'ok', '%s')" \
      "$S" "$T_AUDIT" "${3:-$NOW_MS}" "$1" "$2"
  fi
}

# Every login's reads, table by table and column by column.
probe_reads() {
  local login t
  for login in $LOGINS; do
    for t in $TABLES; do
      reads "$t" "$login" "$login reads only its rows of $t (contract: SELECT)"
    done
  done
}

# What no login but the owner may do to any table: DELETE, TRUNCATE, ALTER TABLE.
probe_ddl_and_deletes() {
  local login t
  for login in $ADM2 $ALICE $GW $STRANGER; do
    for t in $TABLES; do
      deny "$t" "$login" "$login: no DELETE, TRUNCATE, DISABLE TRIGGER or DISABLE ROW LEVEL SECURITY on $t" \
        "DELETE FROM $S.$t; TRUNCATE $S.$t CASCADE;
         ALTER TABLE $S.$t DISABLE TRIGGER ALL; ALTER TABLE $S.$t DISABLE TRIGGER USER;
         ALTER TABLE $S.$t DISABLE ROW LEVEL SECURITY; ALTER TABLE $S.$t NO FORCE ROW LEVEL SECURITY"
    done
    deny "$TABLES" "$login" "$login: no DROP POLICY" \
      "$(q1 "SELECT string_agg(format('DROP POLICY %I ON %I.%I', policyname, schemaname, tablename), '; ')
             FROM pg_policies WHERE schemaname = '$S'")"
    [ "$login" = "$ADM2" ] ||
      deny "$T_REGISTRY $T_META" "$login" "$login: no UPDATE/INSERT of registry or meta" \
      "UPDATE $S.$T_REGISTRY SET registry_id = 'x'; UPDATE $S.$T_META SET value = '\\x00';
       INSERT INTO $S.$T_META (name, value) VALUES ('probe', '\\x00')"
  done
}

# A non-admin: alice (and carol, who holds no application).
probe_nonadmin() {
  deny "$T_USERS" "$ALICE" "non-admin: no own role change (UPDATE users)" \
    "UPDATE $S.$T_USERS SET role = 'admin' WHERE id = $U_ALICE"
  deny "$T_USERS" "$ALICE" "non-admin: no UPDATE on users" \
    "UPDATE $S.$T_USERS SET removed_at = 1 WHERE id = $U_ALICE"
  deny "$T_USERS" "$ALICE" "non-admin: no UPDATE on users" \
    "UPDATE $S.$T_USERS SET name = 'x_$RUN' WHERE id = $U_BOB"
  deny "$T_USERS" "$ALICE" "non-admin: no INSERT on users" "$(user_insert "evil_$RUN" admin)"
  deny "$T_USERS" "$ALICE" "non-admin: $F_SYNC grants only what the users table says" \
    "SELECT $S.$F_SYNC('$ALICE'); SELECT $S.$F_SYNC('$ADM2'); SELECT $S.$F_SYNC('$BOB')"
  refused "$ALICE" "non-admin: no grant of the admin group herself" \
    "GRANT ${GROUP_PREFIX}${REGISTRY_ID}_admin TO $ALICE"

  deny "$T_APPS" "$ALICE" "non-admin: INSERT apps only created_by = self" \
    "$(app_insert "x_$RUN" "$U_BOB")"
  deny "$T_APPS" "$CAROL" "non-admin: INSERT apps only named after self" \
    "$(app_insert "other_$RUN" "$U_CAROL")"
  deny "$T_APPS" "$CAROL" "non-admin: INSERT apps only created_by = self" \
    "$(app_insert "$CAROL" "$U_BOB")"
  allow "$T_APPS" "$CAROL" "non-admin: INSERT apps of her own name works" \
    "$(app_insert "$CAROL" "$U_CAROL")" "INSERT 0 1"
  deny "$T_APPS" "$ALICE" "non-admin: no UPDATE of another's application" \
    "UPDATE $S.$T_APPS SET redirect_uri = 'https://evil.example.com/' WHERE id = $APP_BOB"
  allow "$T_APPS" "$ALICE" "non-admin: removing her own application works (remove_app)" \
    "$(remove_app_fn "$APP_ALICE")" "t"
  deny "$T_APPS" "$ALICE" "non-admin: removing another's application does nothing (remove_app)" \
    "$(remove_app_fn "$APP_BOB")"
  allow "$T_APPS" "$ADM2" "admin: removing any application works (remove_app)" \
    "$(remove_app_fn "$APP_BOB")" "t"
  deny "$T_APPS" "$ALICE" "non-admin: no UPDATE of applications at all (no row to lock)" \
    "UPDATE $S.$T_APPS SET removed_at = $NOW_MS WHERE id = $APP_ALICE"
  refused "$ALICE" "non-admin: no row lock on applications" \
    "SELECT 1 FROM $S.$T_APPS WHERE id = $APP_ALICE FOR UPDATE"

  deny "$T_TOKENS" "$ALICE" "non-admin: INSERT tokens only user_id = created_by = self" \
    "$(token_insert "$U_BOB" "$APP_ALICE" "$U_ALICE")"
  deny "$T_TOKENS" "$ALICE" "non-admin: INSERT tokens only user_id = created_by = self" \
    "$(token_insert "$U_ALICE" "$APP_ALICE" "$U_BOB")"
  deny "$T_TOKENS" "$ALICE" "non-admin: INSERT tokens only user_id = created_by = self" \
    "$(token_insert "$U_BOB" "$APP_BOB" "$U_BOB")"
  allow "$T_TOKENS" "$ALICE" "non-admin: INSERT of her own token works" \
    "$(token_insert "$U_ALICE" "$APP_ALICE" "$U_ALICE")" "INSERT 0 1"
  deny "$T_TOKENS" "$ALICE" "a new token lives as long as its lifetimes say (no 100-year refresh)" \
    "$(token_insert "$U_ALICE" "$APP_ALICE" "$U_ALICE" | sed 's/+ 1296000000/+ 3153600000000/')"
  deny "$T_TOKENS" "$ALICE" "a new token lives within SPEC's bounds (no 100-year lifetime)" \
    "$(token_insert "$U_ALICE" "$APP_ALICE" "$U_ALICE" | sed 's/1296000000/3153600000000/g')"
  local fresh
  fresh=$(token_insert "$U_ALICE" "$APP_ALICE" "$U_ALICE")
  deny "$T_TOKENS" "$ALICE" "a new token is made now (not back-dated)" \
    "${fresh//"$NOW_MS"/($NOW_MS - 86400000)}"
  allow "$T_SECRETS" "$ALICE" "non-admin: INSERT of her own token's secrets works" \
    "$(token_and_secrets_insert "$U_ALICE" "$APP_ALICE" "$U_ALICE")" "INSERT 0 1"
  deny "$T_TOKENS" "$ALICE" "non-admin: UPDATE tokens only own (revoke another's)" \
    "$(revoke_sql "$B1" "$U_ALICE")"
  deny "$T_TOKENS" "$ALICE" "non-admin: UPDATE tokens only own (rotate another's)" "$(rotate "$B1")"
  deny "$T_TOKENS" "$ALICE" "non-admin: revoke_token only own (another's does nothing)" \
    "$(revoke_fn "$B1")"
  deny "$T_TOKENS" "$ALICE" "non-admin: rotate_token only own (another's does nothing)" \
    "$(rotate_fn "$B1")"
  refused "$ALICE" "non-admin: no row lock on her own tokens" \
    "SELECT 1 FROM $S.$T_TOKENS WHERE id = $A1 FOR UPDATE"
  refused "$ALICE" "non-admin: no row lock on her own tokens (FOR SHARE)" \
    "SELECT 1 FROM $S.$T_TOKENS WHERE id = $A1 FOR SHARE"
  refused "$ALICE" "non-admin: no row lock on her own secrets" \
    "SELECT 1 FROM $S.$T_SECRETS WHERE token = $A1 FOR UPDATE"
  deny "$T_TOKENS" "$ALICE" "revoked_by is the acting login's id" "$(revoke_sql "$A1" "$U_BOB")"
  deny "$T_TOKENS" "$ALICE" "revoked_by is the acting login's id" "$(revoke_sql "$A1" NULL)"
  allow "$T_TOKENS" "$ALICE" "non-admin: revoking her own token works (revoke_token)" \
    "$(revoke_fn "$A1")" "t"
  allow "$T_TOKENS $T_SECRETS" "$ALICE" "non-admin: rotating her own active token works (rotate_token)" \
    "$(rotate_fn "$A1")" "t"
  deny "$T_TOKENS" "$ALICE" "rotate only while active (revoked)" "$(rotate_fn "$A3")"
  deny "$T_TOKENS" "$ALICE" "rotate only while active (expired)" "$(rotate_fn "$A4")"
  deny "$T_TOKENS" "$ALICE" "no un-revoke (revoked_at to NULL)" \
    "UPDATE $S.$T_TOKENS SET revoked_at = NULL, revoked_by = NULL WHERE id = $A3"
  deny "$T_TOKENS" "$ALICE" "no un-revoke (revoked_at to NULL)" \
    "UPDATE $S.$T_TOKENS SET revoked_at = NULL WHERE id = $A3"
  deny "$T_TOKENS" "$ALICE" "no un-revoke (revoked_at changed)" \
    "UPDATE $S.$T_TOKENS SET revoked_at = revoked_at + 1000000 WHERE id = $A3"
  deny "$T_TOKENS" "$ALICE" "no change of revoked_by once revoked" \
    "UPDATE $S.$T_TOKENS SET revoked_by = $U_ALICE + 0 * id, revoked_at = revoked_at WHERE id = $B2"
  local col val
  for col in token_id user_id app_id created_by generated_at; do
    case $col in
    token_id) val="'0123456789abcdef'" ;;
    user_id) val=$U_BOB ;;
    app_id) val=$APP_BOB ;;
    created_by) val=$U_BOB ;;
    generated_at) val=1 ;;
    esac
    deny "$T_TOKENS" "$ALICE" "never change $col of a token" \
      "UPDATE $S.$T_TOKENS SET $col = $val WHERE id = $A1"
  done
  deny "$T_SECRETS" "$ALICE" "non-admin: no change of another's secrets" \
    "UPDATE $S.$T_SECRETS SET access_sealed = '\\x00' WHERE token = $B1"
  deny "$T_SECRETS" "$ALICE" "non-admin: another's secrets do not leak through RETURNING" \
    "UPDATE $S.$T_SECRETS SET access_sealed = access_sealed WHERE token = $B1 RETURNING *"
  # Applications' client secrets: stored once by the application's creator, rotated only
  # through the function, by the creator (or an administrator), never updated by hand.
  allow "$T_CLIENT" "$CAROL" "non-admin: INSERT of her new application's client secret works" \
    "$(app_and_client_secret_insert "$CAROL" "$U_CAROL")" "INSERT 0 1"
  deny "$T_CLIENT" "$ALICE" "non-admin: no client secret for another's application" \
    "DELETE FROM $S.$T_CLIENT WHERE app = $APP_BOB;
     INSERT INTO $S.$T_CLIENT (app, digest, sealed, created_at) VALUES ($APP_BOB, '\\x00', '\\x00', $NOW_MS)"
  deny "$T_CLIENT" "$ALICE" "non-admin: no UPDATE of client secrets (another's)" \
    "UPDATE $S.$T_CLIENT SET sealed = '\\x00' WHERE app = $APP_BOB"
  deny "$T_CLIENT" "$ALICE" "non-admin: no UPDATE of client secrets (her own: the function only)" \
    "UPDATE $S.$T_CLIENT SET sealed = '\\x00' WHERE app = $APP_ALICE RETURNING *"
  deny "$T_CLIENT" "$ALICE" "non-admin: $F_ROTATE_CLIENT only of an application she created (bob's does nothing)" \
    "$(rotate_client_fn "$APP_BOB")"
  deny "$T_CLIENT" "$ALICE" "non-admin: $F_ROTATE_CLIENT only of an application she created (holding a token is not enough)" \
    "$(rotate_client_fn "$APP_SHARED")"
  allow "$T_CLIENT" "$ALICE" "non-admin: rotating her own application's client secret works ($F_ROTATE_CLIENT)" \
    "$(rotate_client_fn "$APP_ALICE")" "t"
  refused "$ALICE" "non-admin: no row lock on client secrets" \
    "SELECT 1 FROM $S.$T_CLIENT WHERE app = $APP_ALICE FOR UPDATE"
  deny "$T_TOKENS" "$ALICE" "no un-revoke (bob's, by alice)" \
    "UPDATE $S.$T_TOKENS SET revoked_at = NULL, revoked_by = NULL WHERE id = $B2"
  deny "$T_TOKENS" "$BOB" "no un-revoke (his own, revoked by an admin)" \
    "UPDATE $S.$T_TOKENS SET revoked_at = NULL, revoked_by = NULL WHERE id = $B2"
}

probe_admin() {
  allow "$T_TOKENS" "$ADM2" "admin: revoking another user's token works (revoke_token)" \
    "$(revoke_fn "$B1")" "t"
  deny "$T_TOKENS" "$ADM2" "admin: rotate_token only own (another's does nothing)" \
    "$(rotate_fn "$B1")"
  deny "$T_TOKENS" "$ADM2" "revoked_by is the acting login's id" "$(revoke_sql "$B1" "$U_ALICE")"
  deny "$T_TOKENS" "$ADM2" "admin: UPDATE another's token only to revoke it (no rotate)" "$(rotate "$B1")"
  deny "$T_TOKENS" "$ADM2" "admin: UPDATE another's token only to revoke it (no rotate)" \
    "UPDATE $S.$T_TOKENS SET refresh_expires_at = refresh_expires_at + 1000 WHERE id = $A1"
  deny "$T_TOKENS" "$ADM2" "no un-revoke" \
    "UPDATE $S.$T_TOKENS SET revoked_at = NULL, revoked_by = NULL WHERE id = $B2"
  deny "$T_TOKENS" "$ADM2" "never change user_id of a token" \
    "UPDATE $S.$T_TOKENS SET user_id = $U_ADM2 WHERE id = $B1"
  allow "$T_TOKENS" "$ADM2" "admin: INSERT tokens for a non-admin works" \
    "$(token_insert "$U_ALICE" "$APP_SHARED" "$U_ADM2")" "INSERT 0 1"
  allow "$T_SECRETS" "$ADM2" "admin: INSERT of the secrets of a token made for a non-admin works" \
    "$(token_and_secrets_insert "$U_ALICE" "$APP_SHARED" "$U_ADM2")" "INSERT 0 1"
  allow "$T_TOKENS" "$ADM2" "admin: INSERT tokens for self works" \
    "$(token_insert "$U_ADM2" "$APP_SHARED" "$U_ADM2")" "INSERT 0 1"
  deny "$T_TOKENS" "$ADM2" "admin: INSERT tokens for self or non-admins only" \
    "$(token_insert "$U_OWN" "$APP_SHARED" "$U_ADM2")"
  deny "$T_SECRETS" "$ADM2" "admin: no change of another user's secrets" \
    "UPDATE $S.$T_SECRETS SET access_sealed = '\\x00' WHERE token = $A1"
  deny "$T_SECRETS" "$ADM2" "admin: another user's secrets do not leak through RETURNING" \
    "UPDATE $S.$T_SECRETS SET access_sealed = access_sealed WHERE token IN ($A1, $B1) RETURNING *;
     DELETE FROM $S.$T_SECRETS WHERE token = $A1 RETURNING *"

  allow "$T_CLIENT" "$ADM2" "admin: rotating any application's client secret works ($F_ROTATE_CLIENT)" \
    "$(rotate_client_fn "$APP_BOB")" "t"
  deny "$T_CLIENT" "$ADM2" "admin: no UPDATE of client secrets by hand" \
    "UPDATE $S.$T_CLIENT SET sealed = '\\x00' WHERE app = $APP_BOB"

  allow "$T_USERS" "$ADM2" "admin: manage users (INSERT users) works" \
    "$(user_insert "new_$RUN" user)" "INSERT 0 1"
  allow "$T_USERS" "$ADM2" "admin: manage users (UPDATE users) works" \
    "UPDATE $S.$T_USERS SET role = 'admin' WHERE id = $U_BOB" "UPDATE 1"
  allow "$T_USERS" "$ADM2" "admin: demoting one of several administrators works" \
    "UPDATE $S.$T_USERS SET role = 'user' WHERE id = $U_BOB" "UPDATE 1"
  deny "$T_USERS" "$ADM2" "the schema's owner stays an administrator (demote)" \
    "UPDATE $S.$T_USERS SET role = 'user' WHERE id = $U_OWN"
  deny "$T_USERS" "$ADM2" "the schema's owner stays an administrator (remove)" \
    "UPDATE $S.$T_USERS SET removed_at = 1 WHERE id = $U_OWN"
  deny "$T_USERS" "$ADM2" "never zero active admins (demote)" \
    "UPDATE $S.$T_USERS SET role = 'user' WHERE role = 'admin'"
  deny "$T_USERS" "$ADM2" "never zero active admins (remove)" \
    "UPDATE $S.$T_USERS SET removed_at = 1 WHERE role = 'admin'"
  deny "$T_USERS" "$ADM2" "never zero active admins (one at a time, one transaction)" \
    "BEGIN; UPDATE $S.$T_USERS SET role = 'user' WHERE id = $U_OWN;
     UPDATE $S.$T_USERS SET role = 'user' WHERE id = $U_ADM2; COMMIT"

  local login
  for login in $ADM2 $ALICE $GW; do
    allow "$T_AUDIT" "$login" "$login: audit INSERT as itself works" \
      "$(audit_insert "$login" DEFAULT)" "INSERT 0 1"
    deny "$T_AUDIT" "$login" "audit login = session_user (an INSERT claiming another is refused)" \
      "$(audit_insert "$login" "$BOB")"
    deny "$T_AUDIT" "$login" "audit actor = the login (a record in another's name is refused)" \
      "$(audit_insert "$BOB" DEFAULT)"
    deny "$T_AUDIT" "$login" "audit at = now (a back-dated record is refused)" \
      "$(audit_insert "$login" DEFAULT "($NOW_MS - 86400000)")"
    deny "$T_AUDIT" "$login" "no UPDATE of audit" "UPDATE $S.$T_AUDIT SET detail = 'x'"
  done
  # More forged records: in an administrator's or the owner's name, dated in the future.
  for login in $ALICE $GW; do
    deny "$T_AUDIT" "$login" "audit actor = the login (a record in another's name is refused)" \
      "$(audit_insert "$ADM2" DEFAULT)"
    deny "$T_AUDIT" "$login" "audit actor = the login (a record in another's name is refused)" \
      "$(audit_insert "$OWN" DEFAULT)"
    deny "$T_AUDIT" "$login" "audit at = now (a record dated in the future is refused)" \
      "$(audit_insert "$login" DEFAULT "($NOW_MS + 86400000)")"
  done
}

probe_verifier() {
  # What verify prints of the token (its ID, user, application) and its digests may show;
  # no sealed secret may.
  sees "$T_TOKENS" "$GW" "verifier: EXECUTE $F_LOOKUP finds a token by digest" \
    "SELECT * FROM $S.$F_LOOKUP('\\x$B1_DIGEST'::bytea)" "$TID_B1" "$B1_SHOWN"
  deny "$T_TOKENS" "$GW" "verifier: no writes (revoke)" "$(revoke_sql "$B1" "$U_GW")"
  deny "$T_TOKENS" "$GW" "verifier: no writes (INSERT tokens)" \
    "$(token_insert "$U_GW" "$APP_BOB" "$U_GW")"
  deny "$T_TOKENS" "$GW" "verifier: no writes (last_used_at by hand)" \
    "UPDATE $S.$T_TOKENS SET last_used_at = 1"
  deny "$T_USERS" "$GW" "verifier: no own role change" \
    "UPDATE $S.$T_USERS SET role = 'admin' WHERE id = $U_GW"
  deny "$T_USERS" "$GW" "verifier: no INSERT users" "$(user_insert "evil_$RUN" admin)"
  allow "$T_TOKENS" "$GW" "verifier: EXECUTE $F_STAMP works" \
    "SELECT $S.$F_STAMP('\\x$B1_DIGEST'::bytea, $NOW_MS)"
  local login
  for login in $GW $ALICE; do
    deny "$T_TOKENS" "$login" "$F_STAMP records the server's now only (no use in the future)" \
      "SELECT $S.$F_STAMP('\\x$B1_DIGEST'::bytea, $NOW_MS + 86400000)"
  done
  deny "$T_CLIENT" "$GW" "verifier: no rotation of client secrets ($F_ROTATE_CLIENT)" \
    "$(rotate_client_fn "$APP_BOB")"
  refused "$GW" "verifier: reads no client secret (no right on the table)" \
    "SELECT count(*) FROM $S.$T_CLIENT"
  # serve's client refresh: only the client's own secrets prove it, never their digests.
  local digests=("\\x$CLIENT_BOB_DIGEST" "\\x$B1_REFRESH_DIGEST")
  local plain_digests=("$CLIENT_BOB_DIGEST" "$B1_REFRESH_DIGEST")
  local made_up=("tcs_$RUN" "tcr_$RUN")
  local creds
  for creds in digests plain_digests made_up; do
    local -n pair=$creds
    deny "$T_TOKENS" "$GW" "verifier: $F_CLAIM needs the client's secrets ($creds proves nothing)" \
      "$(claim_fn "${pair[0]}" "${pair[1]}")"
    deny "$T_TOKENS" "$GW" "verifier: $F_ROTATE_FOR needs the client's secrets ($creds proves nothing)" \
      "$(rotate_for_fn "${pair[0]}" "${pair[1]}")"
  done
  # serve's GET /metrics: every token counted (the verifier reads none of them), as the
  # superuser counts them row by row; nothing of any one token.
  local counts
  counts=$(psql_super -c "SELECT concat_ws('\\|',
      count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at > $NOW_MS),
      count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at <= $NOW_MS),
      count(*) FILTER (WHERE revoked_at IS NOT NULL),
      count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at > $NOW_MS
                       AND refresh_expires_at <= $NOW_MS + 604800000))
    FROM $S.$T_TOKENS")
  for login in $GW $ADM2; do
    sees "$T_TOKENS" "$login" "serve's logins: EXECUTE $F_COUNTS counts every token, and tells counts only" \
      "SELECT * FROM $S.$F_COUNTS($NOW_MS, 604800000)" "^$counts\$"
  done
  for login in $ALICE $BOB $STRANGER; do
    refused "$login" "only serve's logins (verifiers, administrators) may EXECUTE $F_COUNTS (counts of other users' tokens)" \
      "SELECT * FROM $S.$F_COUNTS($NOW_MS, 604800000)"
    refused "$login" "only serve's logins (verifiers, administrators) may EXECUTE $F_CLAIM" \
      "$(claim_fn "x" "y")"
    refused "$login" "only serve's logins (verifiers, administrators) may EXECUTE $F_ROTATE_FOR" \
      "$(rotate_for_fn "x" "y")"
  done
  deny "$T_CLIENT" "$STRANGER" "stranger: nothing at all ($F_ROTATE_CLIENT)" \
    "$(rotate_client_fn "$APP_BOB")"
  deny "$T_TOKENS" "$STRANGER" "stranger: nothing at all ($F_LOOKUP)" \
    "SELECT * FROM $S.$F_LOOKUP('\\x$B1_DIGEST'::bytea)"
  deny "$T_TOKENS" "$STRANGER" "stranger: nothing at all ($F_STAMP)" \
    "SELECT $S.$F_STAMP('\\x$B1_DIGEST'::bytea, $NOW_MS)"
  deny "$T_AUDIT" "$STRANGER" "stranger: nothing at all (audit INSERT)" "$(audit_insert "$STRANGER" DEFAULT)"
  deny "$T_TOKENS" "$STRANGER" "stranger: nothing at all (INSERT tokens)" \
    "$(token_insert "$U_ALICE" "$APP_ALICE" "$U_ALICE")"
}

# SET ROLE to the owner or to a group gives nothing more: reads and writes again.
probe_set_role() {
  local login target writes own_role
  for login in $ADM2 $ALICE $GW $STRANGER; do
    case $login in
    "$ADM2") own_role="UPDATE $S.$T_USERS SET role = 'user' WHERE role = 'admin'" ;;
    "$ALICE") own_role="UPDATE $S.$T_USERS SET role = 'admin' WHERE id = $U_ALICE" ;;
    "$GW") own_role="UPDATE $S.$T_USERS SET role = 'admin' WHERE id = $U_GW" ;;
    *) own_role="$(user_insert "$STRANGER" admin)" ;;
    esac
    writes="$own_role;
      UPDATE $S.$T_TOKENS SET revoked_at = NULL, revoked_by = NULL WHERE id = $B2;
      $(revoke_sql "$B1" "$U_BOB");
      $(rotate "$B1");
      UPDATE $S.$T_SECRETS SET access_sealed = '\\x00' WHERE token = $B1;
      UPDATE $S.$T_AUDIT SET detail = 'x'; DELETE FROM $S.$T_AUDIT; TRUNCATE $S.$T_AUDIT;
      ALTER TABLE $S.$T_AUDIT DISABLE TRIGGER ALL;
      $(audit_insert "$login" "$BOB")"
    for target in $OWN $G_ADMIN $G_USER $G_VERIFIER; do
      reads "$TABLES" "$login" "SET ROLE $target gives $login nothing more (reads)" "SET ROLE $target;"
      deny "$TABLES" "$login" "SET ROLE $target gives $login nothing more (writes)" "SET ROLE $target; $writes"
    done
  done
}

# Times the server records are the server's: a use, a revocation and a rotation's expiries
# are not the caller's to choose (as the audit log's `at` and stamp_token_use's use are
# not), through the functions that alone change tokens. The call, as LOGIN, in a
# transaction rolled back: refused, or what it stored passes CHECK (SQL printing t).
server_time() { # TABLES LOGIN ITEM CALL CHECK
  want "$1" || return 0
  local login=$2 call=$4 check_sql=$5
  case_ "$3"
  psql_as "$login" "BEGIN; $call; SELECT 'stored-ok=' || ($check_sql)::text; ROLLBACK;" || {
    verdict 1 "psql did not run as $login"
    return
  }
  if grep -qx 'stored-ok=true' "$TMP/pout" || grep -q 'ERROR' "$TMP/perr"; then
    unchanged "as $login, [$call] (rolled back)" || return
    verdict 0
  else
    verdict 1 "as $login, [$call] stored a time of the caller's choosing: $(grep stored-ok "$TMP/pout")"
  fi
}
SERVER_MS="(extract(epoch from clock_timestamp()) * 1000)::bigint"
probe_server_time() {
  # (not in the policies' copies: no policy is about times, and a failure here would count
  # as every policy's bite)
  [ -z "$MUTANT" ] || return 0
  server_time "$T_TOKENS" "$ALICE" "stamp_own_token_use records the server's now only (no use in the future)" \
    "SELECT $S.stamp_own_token_use($A1, $NOW_MS + 86400000)" \
    "SELECT coalesce(last_used_at, 0) <= $SERVER_MS + 300000 FROM $S.$T_TOKENS WHERE id = $A1"
  server_time "$T_TOKENS" "$ALICE" "revoke_token records the server's now only (no back-dated revocation)" \
    "SELECT $S.revoke_token($A1, $NOW_MS - 86400000)" \
    "SELECT revoked_at IS NULL OR abs(revoked_at - $SERVER_MS) <= 300000 FROM $S.$T_TOKENS WHERE id = $A1"
  server_time "$T_TOKENS" "$ADM2" "revoke_token records the server's now only (no back-dated revocation)" \
    "SELECT $S.revoke_token($B1, 1000)" \
    "SELECT revoked_at IS NULL OR abs(revoked_at - $SERVER_MS) <= 300000 FROM $S.$T_TOKENS WHERE id = $B1"
  server_time "$T_TOKENS $T_SECRETS" "$ALICE" "rotate_token keeps the token's lifetimes (no expiry of the caller's choosing)" \
    "SELECT $S.rotate_token($A1, $NOW_MS, $NOW_MS + 7200000, $NOW_MS + 100 * 365 * 86400000::bigint,
       sha256(random()::text::bytea), sha256(random()::text::bytea), '\\x00', '\\x00')" \
    "SELECT refresh_expires_at <= $SERVER_MS + refresh_ttl + 300000 AND access_expires_at <= $SERVER_MS + access_ttl + 300000
       FROM $S.$T_TOKENS WHERE id = $A1"
}

# Outsiders and verifiers hold up no writer: they take no lock that a writer needs (the
# writers' lock, a row or table lock on the registry's tables).
probe_locks() {
  local login t
  for login in $STRANGER $GW; do
    for t in $TABLES; do
      refused "$login" "$login: no lock on $t (LOCK TABLE)" \
        "BEGIN; LOCK TABLE $S.$t IN SHARE ROW EXCLUSIVE MODE; ROLLBACK"
      refused "$login" "$login: no row lock on $t (FOR UPDATE)" "SELECT 1 FROM $S.$t FOR UPDATE"
      refused "$login" "$login: no row lock on $t (FOR KEY SHARE)" "SELECT 1 FROM $S.$t FOR KEY SHARE"
    done
    for f in $(q1 "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = '$S' AND p.proname LIKE '%lock%' AND p.pronargs = 0 AND p.prokind = 'f'"); do
      refused "$login" "$login: no writers' lock ($f)" "BEGIN; SELECT $S.$f(); ROLLBACK"
    done
  done
}

all_probes() {
  probe_reads
  probe_server_time
  probe_locks
  probe_nonadmin
  probe_admin
  probe_verifier
  probe_ddl_and_deletes
  probe_set_role
}

load_columns

# --- tokenctl itself, as the logins ------------------------------------------------------
case_ "tokenctl as alice lists her tokens"
as "$ALICE" list --all --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk '{print $1}' | sort | tr '\n' ' ')" = \
  "$(printf '%s\n' "$TID_A1" "$TID_A2" "$TID_A3" "$TID_A4" | sort | tr '\n' ' ')"
case_ "tokenctl as alice downloads her token"
as "$ALICE" download "$TID_A1" -o "$TMP/a1.json"
expect_rc 0
check test -s "$TMP/a1.json"

# --- No function of the schema runs a login's code: each pins its search_path -----------------
# (tests/pg/test_pg_planted.sh plants the objects and calls every function.)
case_ "every function of schema $S pins a search_path that ends with pg_temp"
unpinned=$(q1 "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = '$S' AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c
    WHERE c ~ '^search_path=' AND c ~ '(^search_path=|,\s*)\"?pg_temp\"?\s*$') ORDER BY 1")
if [ -z "$unpinned" ]; then pass; else
  fail "functions whose search_path does not end with pg_temp: $(echo $unpinned)"
  BROKEN+=("$CASE")
fi

# --- The probes, on the registry -----------------------------------------------------------
keep_pristine
all_probes
printf '  probes took %ss\n' "$SECONDS"

# --- Each policy has teeth: drop it in a copy, and some probe of its table must fail -------
mapfile -t POLICIES < <(q1 "SELECT tablename || ' ' || policyname FROM pg_policies
                             WHERE schemaname = '$S' ORDER BY tablename, policyname")
case_ "row-level security policies exist in schema $S"
if [ ${#POLICIES[@]} -eq 0 ]; then
  fail "schema $S has no row-level security policy"
  BROKEN+=("$CASE")
else
  pass
fi
copy=0
for entry in "${POLICIES[@]}"; do
  table=${entry%% *}
  policy=${entry#* }
  copy=$((copy + 1))
  COPY_DB=${MAIN_DB}_p$copy
  case_ "policy $policy on $table has teeth"
  if ! PGDB=postgres psql_super -c "CREATE DATABASE $COPY_DB TEMPLATE $MAIN_DB OWNER $OWN" ||
    ! PGDB=$COPY_DB psql_super -c "DROP POLICY \"$policy\" ON $S.\"$table\""; then
    fail "cannot make a copy of the registry without it"
    continue
  fi
  PGDB=$COPY_DB
  snap
  BASE=$NOW
  MUTANT=1
  BITES=0
  ONLY=$table
  FIRST_BITE=
  all_probes
  MUTANT=
  ONLY=
  PGDB=postgres psql_super -c "DROP DATABASE $COPY_DB WITH (FORCE)" >/dev/null
  PGDB=$MAIN_DB
  case_ "policy $policy on $table has teeth"
  if [ "$BITES" -gt 0 ]; then
    pass
    printf '  without policy %s on %s: %s\n' "$policy" "$table" "$(printf '%s' "$FIRST_BITE" | head -c 200)"
  else
    fail "with policy $policy dropped, every probe of $table still passes"
    BROKEN+=("$CASE")
  fi
done
printf '  with the policy loop, %ss\n' "$SECONDS"
snap
BASE=$NOW

# --- What commits: adm2 revokes bob's token for real ------------------------------------
case_ "admin: adm2 revokes bob's token (committed)"
psql_as "$ADM2" "$(revoke_fn "$B1")"
got=$(q1 "SELECT (revoked_at IS NOT NULL)::text || ' ' || coalesce(revoked_by::text, '-')
          FROM $S.$T_TOKENS WHERE id = $B1")
if [ "$got" = "true $U_ADM2" ]; then pass; else
  fail "token B1 is [$got] after adm2's revoke, expected [true $U_ADM2]"
  BROKEN+=("$CASE")
fi
case_ "no un-revoke by the token's user after an admin's revoke"
snap
BASE=$NOW
deny "$T_TOKENS" "$BOB" "no un-revoke (after an admin's revoke)" \
  "UPDATE $S.$T_TOKENS SET revoked_at = NULL, revoked_by = NULL WHERE id = $B1"

# --- The last administrator, under two concurrent sessions ------------------------------
# adm2 demotes the owner in one session, which waits before committing; meanwhile adm2's
# second session demotes adm2. The trigger must serialize them (the advisory lock) or
# refuse: at least one active administrator remains.
case_ "never zero active admins, under two concurrent sessions"
psql_as "$ADM2" "BEGIN; UPDATE $S.$T_USERS SET role = 'user' WHERE id = $U_OWN;
  SELECT pg_sleep(2); COMMIT;" &
first=$!
# The second session starts once the first one has demoted the owner and sleeps.
for _ in $(seq 100); do
  [ "$(PGDB=postgres q1 "SELECT count(*) FROM pg_stat_activity
        WHERE usename = '$ADM2' AND wait_event = 'PgSleep'")" = 1 ] && break
  sleep 0.1
done
PGOPTIONS="-c lock_timeout=5s" psql -X -q -A -t -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" \
  -U "$ADM2" -d "$MAIN_DB" -c "UPDATE $S.$T_USERS SET role = 'user' WHERE id = $U_ADM2" \
  >/dev/null 2>&1
wait "$first"
admins=$(q1 "SELECT count(*) FROM $S.$T_USERS WHERE role = 'admin' AND removed_at IS NULL")
if [ "$admins" -ge 1 ]; then pass; else
  fail "$admins active administrators after two concurrent demotions"
  BROKEN+=("$CASE")
fi

if [ ${#BROKEN[@]} -gt 0 ]; then
  echo "contract items that fail:"
  printf '%s\n' "${BROKEN[@]}" | sort | uniq -c | sed 's/^ */  /'
fi
finish
