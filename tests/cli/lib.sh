# Shared helpers of the end-to-end suites: each suite sources this file, runs the real
# tokenctl binary in a private temporary HOME, and ends with `finish`.
#
# TOKENCTL_TEST_BACKEND=postgres (default sqlite) runs a suite against a PostgreSQL
# registry instead of a SQLite file, as git's test suite switches its ref backend: each
# suite (and each fresh_db) gets a new database on the server that tests/pg/with-postgres
# started (TOKENCTL_PG_HOST, _PORT, _SUPERUSER, or TOKENCTL_PG_STATE naming the file that
# `with-postgres --start` wrote), TOKENCTL_DB is its URI, and every tokenctl command
# connects as the login its acting user names (tests/pg/as-login). The helpers below
# work on both; a case about SQLite files alone is wrapped in `if sqlite_only; then`.
#
#   run [--stdin TEXT] ARGS...   runs tokenctl; sets RC, OUT, ERR
#   run_closed_stdout ARGS...    runs tokenctl with a standard output nobody reads any more
#                                (`| true` once true has exited: a pipe whose read end is
#                                closed), SIGPIPE as a shell leaves it; sets RC (141 for a
#                                death by SIGPIPE), ERR, and OUT empty
#   run_full_stdout ARGS...      runs tokenctl with standard output on /dev/full
#   expect_rc N                  the exit status
#   expect_out TEXT              stdout exactly (a trailing newline is implied)
#   expect_out_has TEXT / expect_err_has TEXT
#   expect_error_line            stderr is one `tokenctl: error:` line (plus optional hint:)
#   snapshot / expect_unchanged  the database's logical content (audit table excluded
#                                unless AUDIT=1) before and after a command
#   stored_state                 everything stored (SQLite: the file's bytes), as one line
#   clone_tokens N               N more tokens, copies of the oldest, straight in the database
#   sql QUERY                    a query against the database, straight in it: sqlite3, or
#                                psql as the superuser with the tokenctl schema first on
#                                the search path, SQLite's hex, strftime and group_concat at
#                                hand, and the registry's triggers off (what sets up a case
#                                is no login's change)
#   owner_sql QUERY              a query as the database's owner, whom its rules bind: on
#                                SQLite sql, on PostgreSQL psql as the login that ran init
#   dump                         the database's whole content as text
#   key_file                     the path of the database's default key file
#   registry_id                  the registry's ID on PostgreSQL, nothing on SQLite
#   sqlite_only                  true on SQLite; on PostgreSQL it counts a skipped case
#   require_tools TOOL...        a suite that calls TOOL (jq, column, ...) fails at once with
#                                one line naming each one missing (scripts/install-deps
#                                installs them all)
set -u

# Before anything else, so that a missing tool is one line and not a cascade of failures.
require_tools() {
  local tool missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "FAIL $(basename "$0" .sh): missing tool: ${missing[*]} (run scripts/install-deps)"
  exit 1
}

: "${TOKENCTL_BIN:?TOKENCTL_BIN must name the tokenctl binary}"
SUITE=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tokenctl-$SUITE.XXXXXX")
# At exit: the temporary folder, and on PostgreSQL the suite's database.
lib_cleanup() {
  [ -z "${PG_DATABASE-}" ] || pg_drop_database >/dev/null 2>&1
  rm -rf "$TMP"
}
trap lib_cleanup EXIT
export HOME="$TMP/home"
mkdir -p "$HOME"
unset TOKENCTL_DB TOKENCTL_USER TOKENCTL_KEY_FILE XDG_DATA_HOME XDG_CONFIG_HOME
# libpq's environment of whoever runs the tests must not reach the commands under test.
unset PGUSER PGHOST PGHOSTADDR PGPORT PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE \
  PGSERVICEFILE PGOPTIONS PGSSLMODE PGAPPNAME PGCONNECT_TIMEOUT PGTARGETSESSIONATTRS
export TOKENCTL_USER=admin
BACKEND=${TOKENCTL_TEST_BACKEND:-sqlite}
case $BACKEND in
sqlite)
  require_tools sqlite3 python3
  export TOKENCTL_DB="$TMP/db/tokens.db"
  ;;
postgres)
  . "$(dirname "${BASH_SOURCE[0]}")/../pg/lib-postgres.sh"
  ;;
*)
  echo "TOKENCTL_TEST_BACKEND must be sqlite or postgres, not $BACKEND"
  exit 1
  ;;
esac
DB="$TOKENCTL_DB"
if [ "$BACKEND" = postgres ]; then
  pg_create_database >/dev/null || { echo "cannot create database $PG_DATABASE"; exit 1; }
fi

PASSED=0
FAILED=0
SKIPPED=0
CASE="(setup)"

case_() { CASE="$*"; }

fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL [%s] %s\n' "$CASE" "$*"
  printf '  stdout: %s\n' "$(printf '%s' "${OUT-}" | head -c 2000)"
  printf '  stderr: %s\n' "$(printf '%s' "${ERR-}" | head -c 2000)"
}
pass() { PASSED=$((PASSED + 1)); }
check() { if "$@"; then pass; else fail "check failed: $*"; fi; }

run() {
  local stdin=""
  local have_stdin=0
  if [ "${1-}" = "--stdin" ]; then
    stdin=$2
    have_stdin=1
    shift 2
  fi
  if [ $have_stdin -eq 1 ]; then
    printf '%s' "$stdin" >"$TMP/stdin"
  else
    : >"$TMP/stdin"
  fi
  "$TOKENCTL_BIN" "$@" <"$TMP/stdin" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

run_closed_stdout() {
  python3 - "$TMP/err" "$TOKENCTL_BIN" "$@" <<'PY'
import os, subprocess, sys
read_end, write_end = os.pipe()
os.close(read_end)
with open(sys.argv[1], "wb") as err:
    # restore_signals (the default) gives the command SIGPIPE's default action, as a
    # shell does: a command that does not handle it dies of it.
    rc = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=write_end, stderr=err)
sys.exit(128 - rc if rc < 0 else rc)
PY
  RC=$?
  OUT=""
  ERR=$(cat "$TMP/err")
}
run_full_stdout() {
  "$TOKENCTL_BIN" "$@" </dev/null >/dev/full 2>"$TMP/err"
  RC=$?
  OUT=""
  ERR=$(cat "$TMP/err")
}

expect_rc() { if [ "$RC" -eq "$1" ]; then pass; else fail "exit status $RC, expected $1"; fi; }
expect_out() { if [ "$OUT" = "$1" ]; then pass; else fail "stdout differs; expected: $1"; fi; }
expect_out_has() {
  if printf '%s' "$OUT" | grep -qF -- "$1"; then pass; else fail "stdout lacks: $1"; fi
}
expect_err_has() {
  if printf '%s' "$ERR" | grep -qF -- "$1"; then pass; else fail "stderr lacks: $1"; fi
}
expect_err_empty() { if [ -z "$ERR" ]; then pass; else fail "stderr not empty"; fi; }
expect_error_line() {
  local first rest
  first=$(printf '%s\n' "$ERR" | head -n 1)
  rest=$(printf '%s\n' "$ERR" | tail -n +2)
  if [[ "$first" == "tokenctl: error: "* ]] &&
    { [ -z "$rest" ] || [[ "$rest" == "hint: "* && $(printf '%s\n' "$rest" | wc -l) -eq 1 ]]; }; then
    pass
  else
    fail "stderr is not one error line (and an optional hint)"
  fi
}
# An error: the exit status, one error line, nothing on stdout.
expect_error() {
  expect_rc "$1"
  expect_error_line
  if [ -z "$OUT" ]; then pass; else fail "stdout not empty on error"; fi
}

sql() {
  if [ "$BACKEND" = postgres ]; then pg_psql -c "$1"; else sqlite3 -batch -noheader "$DB" "$@"; fi
}
owner_sql() {
  if [ "$BACKEND" = postgres ]; then pg_psql_as admin -c "$1"; else sql "$1"; fi
}
dump() {
  if [ "$BACKEND" = postgres ]; then
    pg_dump -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$TOKENCTL_PG_SUPERUSER" \
      --schema=tokenctl "$PG_DATABASE"
  else
    sqlite3 -batch "$DB" .dump
  fi
}
# The registry's ID on PostgreSQL (whoami and check show it; it names the key file);
# nothing on SQLite.
registry_id() {
  if [ "$BACKEND" = postgres ]; then pg_registry_id; fi
}
key_file() {
  if [ "$BACKEND" = postgres ]; then
    printf '%s\n' "$HOME/.config/tokenctl/$(registry_id).key"
  else
    printf '%s\n' "$DB.key"
  fi
}
# Makes token ID $1 long expired (access and refresh), straight in the database.
expire_token() {
  sql "update tokens set access_expires_at = 1000, refresh_expires_at = 2000 where token_id = '$1'"
}

# Adds $1 copies of the oldest token straight in the database: token IDs from
# 0000000000010001 up, digests of their own, the same sealed secrets.
clone_tokens() {
  if [ "$BACKEND" = postgres ]; then
    sql "WITH first AS (SELECT * FROM tokens ORDER BY id LIMIT 1),
    added AS (
      INSERT INTO tokens (token_id, user_id, app_id, created_by, generated_at, issued_at,
        access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, access_digest,
        refresh_digest)
      SELECT lpad(to_hex(65536 + i), 16, '0'), user_id, app_id, created_by, generated_at,
        issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at,
        sha256(('access ' || i)::bytea), sha256(('refresh ' || i)::bytea)
      FROM generate_series(1, $1) AS i, first
      RETURNING id)
    INSERT INTO secrets (token, access_sealed, refresh_sealed)
    SELECT added.id, s.access_sealed, s.refresh_sealed
    FROM added, first JOIN secrets s ON s.token = first.id"
  else
    sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
    INSERT INTO tokens (token_id, user_id, app_id, created_by, generated_at, issued_at,
      access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, access_digest,
      refresh_digest, access_sealed, refresh_sealed)
    SELECT printf('%016x', 65536 + i), user_id, app_id, created_by, generated_at, issued_at,
      access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, randomblob(32),
      randomblob(32), access_sealed, refresh_sealed
    FROM n, (SELECT * FROM tokens ORDER BY id LIMIT 1)"
  fi
}

snapshot() {
  local audit_filter="audit"
  [ "${AUDIT-0}" = 1 ] && audit_filter="__none__"
  if [ "$BACKEND" = postgres ]; then
    SNAPSHOT=$(pg_snapshot 2>&1 | sha256sum)
  else
    SNAPSHOT=$(sqlite3 -batch "$DB" .dump 2>&1 | grep -v "^INSERT INTO $audit_filter " | sha256sum)
  fi
}
# Everything stored, as one line, for a command that may write nothing at all: on SQLite
# the database file's digest and its WAL's size (after a checkpoint, so that an earlier
# write in the WAL cannot hide a later one), on PostgreSQL every row, audit included.
stored_state() {
  if [ "$BACKEND" = postgres ]; then
    AUDIT=1 snapshot
    printf '%s\n' "$SNAPSHOT"
  else
    local wal=0
    if [ -s "$DB-wal" ]; then
      sqlite3 -batch "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
      [ -s "$DB-wal" ] && wal=$(stat -c %s "$DB-wal")
    fi
    printf '%s wal=%s\n' "$(sha256sum <"$DB")" "$wal"
  fi
}
expect_unchanged() {
  local before=$SNAPSHOT
  snapshot
  if [ "$before" = "$SNAPSHOT" ]; then pass; else fail "the database changed"; fi
}

# A fresh database with administrator `admin` and user `alice`.
fresh_db() {
  if [ "$BACKEND" = postgres ]; then
    { pg_drop_database && pg_create_database; } >/dev/null || { echo "no fresh database"; exit 1; }
  else
    rm -rf "$TMP/db"
  fi
  "$TOKENCTL_BIN" init --admin admin >/dev/null || { echo "init failed"; exit 1; }
  "$TOKENCTL_BIN" --as admin user add alice >/dev/null || { echo "user add failed"; exit 1; }
}

# On SQLite, true. On PostgreSQL, false: the case is about SQLite's files and is skipped
# (counted). `if sqlite_only; then …; fi` around the case, or `sqlite_only || return` in
# a function.
sqlite_only() {
  [ "$BACKEND" = sqlite ] && return 0
  SKIPPED=$((SKIPPED + 1))
  printf 'SKIP [%s] SQLite only\n' "$CASE"
  return 1
}

# True where the refusal of an unknown or removed acting user is recorded in the audit log:
# on SQLite. On PostgreSQL such a login has no grant in the registry, so it cannot append
# to the audit log (the server's own log has its connection); the README says so.
unknown_actor_audited() { [ "$BACKEND" = sqlite ]; }

# bench_smoke SCRIPT FIGURES: runs bench/SCRIPT --smoke (tiny registries, one run each,
# figures not judged) with the real binaries; it succeeds and prints FIGURES figure lines.
bench_smoke() {
  local bin=${TOKENCTL_REAL_BIN:-$TOKENCTL_BIN}
  TOKENCTL_BIN=$bin TOKENCTL_SEED_BIN="$(dirname "$bin")/tokenctl-seed" \
    python3 "$TOKENCTL_SOURCE_DIR/bench/$1" --smoke >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | grep -cE '^ratio [^ ]+ [0-9.]+ target (<=|>=) [0-9.]+ (OK|MISS)$')" = "$2"
}

# no_raw_control WHAT [LINES]: $TMP/out (the output of WHAT) holds no raw control
# character, and LINES lines if given; JSON output must parse, and may hold DEL as it is.
no_raw_control() {
  local ctrl='[\x00-\x08\x0b-\x1f\x7f]'
  # (CSV ends its records with CRLF, RFC 4180: that CR is no stray control character)
  if [[ $1 == *csv* ]]; then sed -i 's/\r$//' "$TMP/out"; fi
  if [[ $1 == *json* ]]; then
    ctrl='[\x00-\x08\x0b-\x1f]'
    if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/out" 2>/dev/null; then pass; else fail "$1 is not JSON"; fi
  fi
  if LC_ALL=C grep -qaP "$ctrl" "$TMP/out"; then
    fail "$1 printed a raw control character: $(LC_ALL=C grep -naP "$ctrl" "$TMP/out" | head -n 1 | cut -c1-120 | od -c | head -n 3 | tr '\n' ' ')"
  else
    pass
  fi
  if [ -n "${2-}" ]; then
    local n
    n=$(wc -l <"$TMP/out")
    if [ "$n" -eq "$2" ]; then pass; else fail "$1 printed $n lines, expected $2 (a newline printed raw?)"; fi
  fi
}

# json_field JSON KEY: the value of KEY in the JSON object JSON.
json_field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# client_of APP: the client ID of application APP (app show, as the acting user).
client_of() { json_field "$("$TOKENCTL_BIN" app show "$1" --format json)" client_id; }

# expect_client_refresh_file JSON TOKEN_ID CLIENT_ID OLD_REFRESH OLD_ACCESS: JSON is the
# token file of alice's token TOKEN_ID of her application alice, just rotated by its client
# (download's keys, in order; both secrets new; a fresh access token).
expect_client_refresh_file() {
  check python3 - "$@" <<'PY'
import json, sys
f = json.loads(sys.argv[1])
assert list(f) == ["access_token", "appname", "authenticated_userid", "created_at",
                   "credential_id", "expires_in", "id", "refresh_token", "scope",
                   "token_type"], f
assert f["id"] == sys.argv[2] and f["credential_id"] == sys.argv[3], f
assert f["authenticated_userid"] == "alice" and f["appname"] == "alice", f
assert f["refresh_token"] != sys.argv[4] and f["access_token"] != sys.argv[5], f
assert 7100 <= f["expires_in"] <= 7200, f
PY
}

# client_registry: what the client-refresh suites start from, a fresh registry with users
# alice and bob, the verifier gw, and one token each of their applications alice and bob:
# A1 and B1 (token IDs), CLIENT_ID and SECRET (alice's client credentials), BOB_CLIENT
# and BOB_SECRET (bob's), REFRESH and ACCESS (A1's secrets).
client_registry() {
  fresh_db
  "$TOKENCTL_BIN" user add bob >/dev/null || { echo "user add failed"; exit 1; }
  "$TOKENCTL_BIN" user add gw --role verifier >/dev/null || { echo "user add failed"; exit 1; }
  A1=$(new_token --as alice) && B1=$(new_token --as bob) || { echo "add-app failed"; exit 1; }
  CLIENT_ID=$(client_of alice)
  SECRET=$("$TOKENCTL_BIN" --as alice app secret alice)
  BOB_CLIENT=$(client_of bob)
  BOB_SECRET=$("$TOKENCTL_BIN" --as bob app secret bob)
  REFRESH=$("$TOKENCTL_BIN" --as alice download "$A1" --format refresh-token)
  ACCESS=$("$TOKENCTL_BIN" --as alice download "$A1" --format access-token)
}
# status_of USER ID: the status of USER's token ID as `list --all` shows it (active,
# revoked, expired), as USER.
status_of() { "$TOKENCTL_BIN" --as "$1" list --all --format csv | grep "^$2," | tr -d '\r' | cut -d, -f9; }

# client_refresh CLIENT_ID CLIENT_SECRET REFRESH_TOKEN [GRACE_MS] [AS]: what serve's POST
# /oauth2/token does (tokenctl-client-refresh, refresh_for_client) as verifier AS (default
# gw, who must be a user), grace default 10 s; sets RC (10 invalid_client, 11 invalid_grant),
# OUT, ERR. On PostgreSQL through as-login, as the login AS.
client_refresh() {
  printf '%s\n%s\n%s\n' "$1" "$2" "$3" >"$TMP/stdin"
  local grace=${4:-10000} as=${5:-gw}
  if [ "$BACKEND" = postgres ]; then
    TOKENCTL_REAL_BIN=$TOKENCTL_CLIENT_REFRESH_BIN "$TOKENCTL_BIN" --as "$as" --grace "$grace" \
      <"$TMP/stdin" >"$TMP/out" 2>"$TMP/err"
  else
    "$TOKENCTL_CLIENT_REFRESH_BIN" --as "$as" --grace "$grace" <"$TMP/stdin" >"$TMP/out" 2>"$TMP/err"
  fi
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

# Creates a token for the acting user; prints its ID.
new_token() { "$TOKENCTL_BIN" add-app -q --redirect-uri https://app.example.com/cb "$@"; }

mode_of() { stat -c %a "$1"; }

finish() {
  local skipped=""
  # The server logs failed statements and refused logins: no secret may be among them.
  if [ "$BACKEND" = postgres ] && [ -n "${TOKENCTL_PG_DIR-}" ]; then
    CASE="(the server's log)"
    if grep -qaE 'tc[ar]_[0-9A-Za-z]{43}' "$TOKENCTL_PG_DIR/server.log"; then
      fail "a secret in the PostgreSQL server's log"
    else
      pass
    fi
  fi
  [ "$SKIPPED" -eq 0 ] || skipped=", $SKIPPED skipped on $BACKEND"
  printf '%s: %d passed, %d failed%s\n' "$SUITE" "$PASSED" "$FAILED" "$skipped"
  [ "$FAILED" -eq 0 ]
}
