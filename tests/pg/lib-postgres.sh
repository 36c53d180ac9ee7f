# The PostgreSQL side of tests/cli/lib.sh (TOKENCTL_TEST_BACKEND=postgres), sourced by it:
# the server's facts, the suite's database, psql as the superuser. lib.sh's helpers call
# these; suites do not.
#
#   pg_psql ARGS...          psql on the suite's database as the superuser, unaligned, no
#                            headers, stopping at the first error; search path tokenctl,
#                            then sqlite_compat (SQLite's hex, strftime, group_concat); the
#                            registry's triggers do not fire (session_replication_role), so
#                            that a suite may set up what no login could, as it does with
#                            sqlite3 on SQLite, whose token table has no triggers
#   pg_psql_as LOGIN ARGS... psql on the suite's database as LOGIN, the triggers firing
#   pg_create_database       the suite's database, empty, owned by `admin` (the login
#                            that runs `tokenctl init` in fresh_db), with sqlite_compat
#   pg_drop_database         drops it, and the roles and key file of its registry
#   pg_registry_id           the registry's ID (empty before init)
#   pg_snapshot              the registry's rows (audit only with AUDIT=1) and its roles'
#                            members, sorted, as text
#
# A suite on PostgreSQL needs psql and pg_dump (Debian's postgresql-client) and python3, as
# lib.sh's require_tools checks (defined there, before this file is sourced).

require_tools psql pg_dump python3
. "$(dirname "${BASH_SOURCE[0]}")/server.sh"
if ! pg_server_known; then
  echo "no PostgreSQL server: run the suite under tests/pg/with-postgres"
  exit 1
fi

PG_DATABASE=$(printf 't_%s_%s' "${SUITE#test_}" "$$" | tr -c 'a-z0-9_' '_')
export TOKENCTL_DB="postgresql:///$PG_DATABASE?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT"
# Every command connects as the login its acting user names.
export TOKENCTL_REAL_BIN=$TOKENCTL_BIN
TOKENCTL_BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/as-login

pg_psql() {
  PGOPTIONS="-c session_replication_role=replica" pg_psql_as "$TOKENCTL_PG_SUPERUSER" "$@"
}
pg_psql_as() {
  local login=$1
  shift
  PGOPTIONS="${PGOPTIONS-} -c search_path=tokenctl,sqlite_compat -c TimeZone=UTC -c client_min_messages=warning" \
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" \
    -U "$login" -d "$PG_DATABASE" "$@"
}

# What the suites' SQLite queries use that PostgreSQL spells otherwise, and the snapshot.
PG_COMPAT_SQL=$(
  cat <<'SQL'
CREATE SCHEMA sqlite_compat;
SET search_path = sqlite_compat;
CREATE FUNCTION hex(bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT upper(encode($1, 'hex')) $$;
-- strftime('%Y-%m-%dT%H:%M:%SZ', SECONDS, 'unixepoch'), the one form the suites use.
CREATE FUNCTION strftime(format text, seconds numeric, modifier text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
  IF format <> '%Y-%m-%dT%H:%M:%SZ' OR modifier <> 'unixepoch' THEN
    RAISE 'sqlite_compat.strftime: % with % is not supported', format, modifier;
  END IF;
  RETURN to_char(to_timestamp(seconds) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
END $$;
CREATE FUNCTION group_concat_step(acc text, value text, separator text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN value IS NULL THEN acc WHEN acc IS NULL THEN value
              ELSE acc || separator || value END $$;
CREATE FUNCTION group_concat_step(acc text, value text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT group_concat_step(acc, value, ',') $$;
CREATE AGGREGATE group_concat(text, text) (SFUNC = group_concat_step, STYPE = text);
CREATE AGGREGATE group_concat(text) (SFUNC = group_concat_step, STYPE = text);
-- pg_snapshot's rows: each table of the registry as `TABLE (ROW)` (audit only WITH_AUDIT),
-- and `member GROUP LOGIN` for each member of the registry's group roles.
CREATE FUNCTION snapshot(with_audit boolean) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  registry text;
  t text;
BEGIN
  IF to_regclass('tokenctl.registry') IS NULL THEN
    RETURN;
  END IF;
  SELECT registry_id INTO registry FROM tokenctl.registry;
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'tokenctl'
             AND (tablename <> 'audit' OR with_audit) LOOP
    RETURN QUERY EXECUTE format('SELECT %L || '' '' || r::text FROM tokenctl.%I r', t, t);
  END LOOP;
  RETURN QUERY SELECT 'member ' || r.rolname || ' ' || m.rolname
    FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
    JOIN pg_roles m ON m.oid = a.member
    WHERE starts_with(r.rolname, 'tokenctl_' || registry || '_');
END $$;
SQL
)

pg_create_database() {
  pg_psql -d postgres -c "CREATE DATABASE \"$PG_DATABASE\" OWNER admin" &&
    pg_psql -c "$PG_COMPAT_SQL"
}

pg_registry_id() { pg_psql -c "SELECT registry_id FROM tokenctl.registry" 2>/dev/null; }

pg_drop_database() {
  local id roles
  id=$(pg_registry_id)
  pg_psql -d postgres -c "DROP DATABASE IF EXISTS \"$PG_DATABASE\" WITH (FORCE)" || return 1
  [ -n "$id" ] || return 0
  rm -f "$HOME/.config/tokenctl/$id.key"
  roles=$(pg_psql -d postgres -c "SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles
    WHERE starts_with(rolname, 'tokenctl_$id')")
  [ -z "$roles" ] || pg_psql -d postgres -c "DROP ROLE $roles"
}

pg_snapshot() {
  pg_psql -c "SELECT line FROM sqlite_compat.snapshot(${AUDIT:-0} = 1) AS line ORDER BY line COLLATE \"C\""
}
