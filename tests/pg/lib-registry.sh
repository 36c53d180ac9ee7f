# A registry of its own for a PostgreSQL suite, on the server of tests/pg/with-postgres:
# a database and login roles whose names carry the suite's process ID (roles are the whole
# server's), dropped at exit. Sourced after tests/cli/lib.sh's variables are wanted: this
# file sources lib.sh itself.
#
#   LOGIN_NAMES            set before sourcing: the short names of the logins (`own` is
#                          the registry's owner, who may create roles); each becomes the
#                          variable L_<name> holding the login's real name
#   pq ARGS...             psql as the superuser on the suite's database (PQ_DB another)
#   sql QUERY              one query through pq
#   tc LOGIN ARGS...       tokenctl as LOGIN
#   run_as LOGIN ARGS...   lib.sh's run, as LOGIN
#   psql_login LOGIN ...   psql as LOGIN on the suite's database (no ON_ERROR_STOP)
#   new_database           a fresh, empty database owned by `own`
#   new_registry           the same, with a registry that `own` made (`tokenctl init`)
#   start_proxy MODE       commit_proxy.py in MODE before the server; PROXY_DB through it
#   stop_proxy             ends it
#   registry_id_now        the registry's ID (empty without one)
#   EXTRA_CLEANUP          shell code the exit runs first (a suite's own leftovers)
#   token_file LOGIN ID F  LOGIN downloads token ID to file F
#   access_of F            the access token of token file F
#   within SECONDS CMD...  runs CMD with a time limit; RC is its status (124: killed)

. "$(dirname "${BASH_SOURCE[0]}")/server.sh"
if ! pg_server_known; then
  echo "$(basename "$0" .sh): no PostgreSQL server (run it under tests/pg/with-postgres)"
  exit 1
fi
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
require_tools psql python3 timeout awk diff
BACKEND=postgres
unset TOKENCTL_USER

P=$(printf '%s%s%04x' "${SUITE_TAG:-pga}" "$$" "$RANDOM")
PGDB=${P}_db
LOGINS=()
for _n in ${LOGIN_NAMES:?LOGIN_NAMES names the suite\'s logins}; do
  printf -v "L_$_n" '%s_%s' "$P" "$_n"
  _v="L_$_n"
  LOGINS+=("${!_v}")
done
unset _n _v
URI_BASE="postgresql:///$PGDB?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT"
export TOKENCTL_DB=$URI_BASE
DB=$TOKENCTL_DB

pq() {
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$TOKENCTL_PG_SUPERUSER" -d "${PQ_DB:-$PGDB}" "$@"
}
sql() { pq -c "$1"; }
psql_login() {
  local login=$1
  shift
  psql -X -q -A -t -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$login" -d "$PGDB" "$@"
}
tc() {
  local login=$1
  shift
  PGUSER=$login "$TOKENCTL_BIN" "$@"
}
run_as() {
  local login=$1
  shift
  PGUSER=$login run "$@"
}
within() {
  local limit=$1
  shift
  timeout -k 5 "$limit" "$@"
}

registry_id_now() { sql "SELECT registry_id FROM tokenctl.registry" 2>/dev/null; }

drop_registry() {
  local id
  id=$(registry_id_now)
  PQ_DB=postgres pq -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null 2>&1
  [ -z "$id" ] || PQ_DB=postgres pq -c "DROP ROLE IF EXISTS \"tokenctl_${id}_admin\",
    \"tokenctl_${id}_user\", \"tokenctl_${id}_verifier\"" >/dev/null 2>&1
}

PROXY_PID=
# start_proxy MODE: commit_proxy.py in MODE between tokenctl and the server (the suite
# stops if it does not start), and PROXY_DB, the URI through it; stop_proxy ends it (a
# suite's EXTRA_CLEANUP calls it too).
start_proxy() {
  rm -f "$TMP/proxy.port" "$TMP/proxy.log"
  python3 "$(dirname "${BASH_SOURCE[0]}")/commit_proxy.py" "$1" \
    "$TOKENCTL_PG_HOST/.s.PGSQL.$TOKENCTL_PG_PORT" "$TMP/proxy.port" "$TMP/proxy.log" 2>"$TMP/proxy.err" &
  PROXY_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$TMP/proxy.port" ] && break
    sleep 0.05
  done
  [ -s "$TMP/proxy.port" ] || { echo "the proxy did not start: $(cat "$TMP/proxy.err")"; exit 1; }
  PROXY_DB="postgresql://127.0.0.1:$(cat "$TMP/proxy.port")/$PGDB?sslmode=disable&gssencmode=disable"
}
stop_proxy() {
  [ -n "${PROXY_PID-}" ] || return 0
  kill "$PROXY_PID" 2>/dev/null
  wait "$PROXY_PID" 2>/dev/null
  PROXY_PID=
}

registry_cleanup() {
  set +e
  local pid
  for pid in $(jobs -p); do kill -9 "$pid" 2>/dev/null; done
  [ -z "${EXTRA_CLEANUP-}" ] || eval "$EXTRA_CLEANUP"
  drop_registry
  PQ_DB=postgres pq -c "DROP ROLE IF EXISTS $(printf '"%s", ' "${LOGINS[@]}" | sed 's/, $//')" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap registry_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_roles_sql=""
for _l in "${LOGINS[@]}"; do
  if [ "$_l" = "${L_own-}" ]; then
    _roles_sql+="CREATE ROLE \"$_l\" LOGIN CREATEROLE;"
  else
    _roles_sql+="CREATE ROLE \"$_l\" LOGIN;"
  fi
done
PQ_DB=postgres pq -c "$_roles_sql" >/dev/null || { echo "cannot create the suite's login roles"; exit 1; }
unset _roles_sql _l

# A fresh, empty database owned by `own` (the registry is not made: new_registry does).
new_database() {
  drop_registry
  PQ_DB=postgres pq -c "CREATE DATABASE \"$PGDB\" OWNER \"$L_own\"" >/dev/null ||
    { echo "cannot create database $PGDB"; exit 1; }
}
new_registry() {
  new_database
  tc "$L_own" init >/dev/null 2>"$TMP/init.err" || { cat "$TMP/init.err"; echo "init failed"; exit 1; }
}

token_file() { tc "$1" download "$2" -o "$3" 2>"$TMP/dl.err" >/dev/null; }
access_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"], end="")' "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
