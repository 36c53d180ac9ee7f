#!/usr/bin/env bash
# PostgreSQL registry under concurrency, kill -9 and identity, against the real binary:
#   1. 8 writers and 2 readers from different logins at once
#   2. two concurrent refreshes of one token
#   3. a held write lock: the wait, the timeout and its message; a killed holder; a user
#      removed or an administrator demoted while their write waits for it
#   4. kill -9 of writers mid-flight
#   5. two administrators demoting each other (tokenctl, then psql) never leave none
#   6. identity: --as, TOKENCTL_USER, unknown logins, user add, passwords in the URI
# and, before them, two inits at once.
#
# The server comes from tests/pg/with-postgres: TOKENCTL_PG_HOST (socket folder),
# TOKENCTL_PG_PORT and TOKENCTL_PG_SUPERUSER, or TOKENCTL_PG_STATE naming the file its
# --start wrote. Without a server the suite is skipped (exit 77). It makes its own
# database and login roles (names carry the process ID: roles are the whole server's)
# and drops them at the end. PG_CONC_OPS sets the rounds per writer in case 1.
. "$(dirname "$0")/server.sh"
if ! pg_server_known; then
  echo "test_pg_concurrency: skipped: no PostgreSQL server (run it under tests/pg/with-postgres)"
  exit 77
fi

. "$(dirname "$0")/../cli/lib.sh"
require_tools jq psql
# (finish then also looks for secrets in the server's log.)
BACKEND=postgres

# Each command's login is PGUSER (lib.sh clears libpq's environment).
unset TOKENCTL_USER

OPS=${PG_CONC_OPS:-4}
URI=https://app.example.com/cb
W=$TMP/work
mkdir -p "$W"

P=pgc$$r$RANDOM
PGDB=${P}_db
OWNER=${P}_own
ADM1=${P}_adm1
ADM2=${P}_adm2
READER=${P}_reader
OUTSIDER=${P}_outsider
PWLOGIN=${P}_pw
WRITERS=()
for i in 1 2 3 4 5 6 7 8; do WRITERS+=("${P}_w$i"); done
LOGINS=("$OWNER" "$ADM1" "$ADM2" "$READER" "$OUTSIDER" "$PWLOGIN" "${WRITERS[@]}")
URI_BASE="postgresql:///$PGDB?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT"
export TOKENCTL_DB=$URI_BASE
DB=$TOKENCTL_DB

# psql as the superuser on the suite's database: unaligned, no headers.
pq() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" \
    -U "$TOKENCTL_PG_SUPERUSER" -d "${PQ_DB:-$PGDB}" "$@"
}
sql() { pq -c "$1"; }

cleanup() {
  local id roles
  set +e
  for pid in $(jobs -p); do kill -9 "$pid" 2>/dev/null; done
  id=$(sql "SELECT registry_id FROM tokenctl.registry" 2>/dev/null)
  PQ_DB=postgres pq -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null 2>&1
  roles=$(printf '"%s", ' "${LOGINS[@]}")
  if [ -n "$id" ]; then
    roles+=$(printf '"tokenctl_%s_admin", "tokenctl_%s_user", "tokenctl_%s_verifier", ' "$id" "$id" "$id")
  fi
  PQ_DB=postgres pq -c "DROP ROLE IF EXISTS ${roles%, }" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tokenctl as login $1 (the acting user on PostgreSQL is the login).
tc() {
  local login=$1
  shift
  PGUSER=$login "$TOKENCTL_BIN" "$@"
}
# lib.sh's run, as login $1.
run_as() {
  local login=$1
  shift
  PGUSER=$login run "$@"
}

# Everything stored, audit included, as one digest.
# state [MAX_AUDIT_ID]: the audit records up to MAX_AUDIT_ID only, when given.
state() {
  sql "SELECT 'u' || u::text FROM tokenctl.users u UNION ALL SELECT 'a' || a::text FROM
    tokenctl.apps a UNION ALL SELECT 't' || t::text FROM tokenctl.tokens t UNION ALL
    SELECT 's' || s::text FROM tokenctl.secrets s UNION ALL SELECT 'l' || l::text FROM
    tokenctl.audit l WHERE l.id <= ${1:-l.id} UNION ALL SELECT 'm' || m::text FROM
    tokenctl.meta m ORDER BY 1" | sha256sum
}
# Sessions of this database waiting for a lock (the writers' lock is a row lock).
lock_waiters() {
  sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND
    wait_event_type = 'Lock'"
}
audit_max() { sql "SELECT coalesce(max(id), 0) FROM tokenctl.audit"; }
now() { date +%s.%N; }
is_token_id() { [[ $1 =~ ^[0-9a-f]{16}$ ]]; }
# Whether $1 - $2 (seconds, fractional) lies in [$3, $4].
elapsed_within() { awk -v d="$(awk -v a="$1" -v b="$2" 'BEGIN { print a - b }')" -v lo="$3" -v hi="$4" \
  'BEGIN { exit !(d >= lo && d <= hi) }'; }
# The SHA-256 (hex) of field $2 of the token file $1, read without printing it.
secret_digest() { jq -j ".$2" "$1" | sha256sum | cut -d' ' -f1; }
# "ACCESS_HEX REFRESH_HEX": token $1's stored digests.
stored_digests() {
  sql "SELECT encode(access_digest, 'hex') || ' ' || encode(refresh_digest, 'hex') FROM
    tokenctl.tokens WHERE token_id = '$1'"
}
file_digests() { echo "$(secret_digest "$1" access_token) $(secret_digest "$1" refresh_token)"; }
# Waits (up to 10 s) until no tokenctl connection is left on the database.
wait_no_clients() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PGDB' AND
      application_name = 'tokenctl'")" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------
case_ "setup"
roles_sql="CREATE ROLE \"$OWNER\" LOGIN CREATEROLE;"
for login in "${LOGINS[@]:1}"; do roles_sql+="CREATE ROLE \"$login\" LOGIN;"; done
PQ_DB=postgres pq -c "$roles_sql" -c "CREATE DATABASE \"$PGDB\" OWNER \"$OWNER\"" >/dev/null ||
  { echo "cannot create the suite's roles and database"; exit 1; }
# Two inits at once: one creates the registry, the other finds it (exit 5) and leaves
# no key file of its own.
tc "$OWNER" init >"$TMP/init1.out" 2>"$TMP/init1.err" &
p1=$!
tc "$OWNER" init >"$TMP/init2.out" 2>"$TMP/init2.err" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check [ "$(printf '%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" = "0 5 " ]
if [ "$r1" = 5 ]; then loser=1; else loser=2; fi
RC=5 OUT=$(cat "$TMP/init$loser.out") ERR=$(cat "$TMP/init$loser.err")
expect_error 5
check [ "$ERR" = "tokenctl: error: a registry already exists in $DB
hint: tokenctl init never overwrites; name another database with --db" ]
id=$(sql "SELECT registry_id FROM tokenctl.registry")
check [ "$(ls "$HOME/.config/tokenctl")" = "$id.key" ]
for login in "$ADM1" "$ADM2"; do
  run_as "$OWNER" user add "$login" --role admin
  expect_rc 0
done
for login in "$READER" "$PWLOGIN" "${WRITERS[@]}"; do
  run_as "$OWNER" user add "$login"
  expect_rc 0
done
run_as "$READER" add-app -q --redirect-uri "$URI"
expect_rc 0

# ---------------------------------------------------------------------------------------
case_ "8 writers and 2 readers from different logins"
# Each writer, OPS times: add-app, refresh it, download it, and every other time revoke
# it. Each command's line in NAME.log: `ACTION EXIT-STATUS TOKEN`; its stderr in NAME.err.
writer() {
  local login=$1 i id rc
  local dir=$W/$login
  mkdir -p "$dir"
  : >"$dir.log"
  for ((i = 1; i <= OPS; i++)); do
    id=$(tc "$login" add-app -q --redirect-uri "$URI" 2>>"$dir.err")
    rc=$?
    echo "add-app $rc $id" >>"$dir.log"
    [ $rc -eq 0 ] || continue
    tc "$login" refresh "$id" -o "$dir/$id.refreshed" >/dev/null 2>>"$dir.err"
    echo "refresh $? $id" >>"$dir.log"
    tc "$login" download "$id" -o "$dir/$id.downloaded" >/dev/null 2>>"$dir.err"
    echo "download $? $id" >>"$dir.log"
    if ((i % 2 == 0)); then
      [ "$(tc "$login" revoke "$id" --yes 2>>"$dir.err")" = "revoked $id" ]
      echo "revoke $? $id" >>"$dir.log"
    fi
  done
}
# A reader lists until the writers are done: `list` as a user, `system-list` as an
# administrator. Each run's exit status in NAME.log.
reader() {
  local login=$1
  shift
  : >"$W/$login.log"
  while [ ! -e "$W/done" ]; do
    tc "$login" "$@" >/dev/null 2>>"$W/$login.err"
    echo "$?" >>"$W/$login.log"
  done
}
audit_before=$(audit_max)
reader "$READER" list --all &
reader_pids=($!)
reader "$ADM1" system-list --all --format csv &
reader_pids+=($!)
writer_pids=()
started=$(now)
for login in "${WRITERS[@]}"; do
  writer "$login" &
  writer_pids+=($!)
done
wait "${writer_pids[@]}"
writers_took=$(awk -v a="$(now)" -v b="$started" 'BEGIN { printf "%.1f", a - b }')
touch "$W/done"
wait "${reader_pids[@]}"

writes=$(cat "$W/${P}"_w?.log | wc -l)
failed=$(cat "$W/${P}"_w?.log | awk '$2 != 0' | wc -l)
check [ "$writes" -ge $((8 * OPS * 3)) ]
if [ "$failed" -eq 0 ]; then pass; else fail "$failed writes failed: $(cat "$W/${P}"_w?.log | awk '$2 != 0' | head -5)"; fi
reads=$(cat "$W/$READER.log" "$W/$ADM1.log" | wc -l)
check [ "$(grep -c '^0$' "$W/$READER.log")" -ge 1 ]
check [ "$(grep -c '^0$' "$W/$ADM1.log")" -ge 1 ]
if [ "$(cat "$W/$READER.log" "$W/$ADM1.log" | grep -vc '^0$')" -eq 0 ]; then pass; else fail "a reader failed"; fi
errors=$(cat "$W"/*.err 2>/dev/null)
if [ -z "$errors" ]; then pass; else fail "commands wrote to stderr: $(printf '%s' "$errors" | head -c 500)"; fi
if ! grep -qiE 'deadlock|could not serialize' <<<"$errors"; then pass; else fail "deadlock or serialization failure"; fi
echo "case 1: $writes writes by 8 logins in ${writers_took}s, $reads listings by 2 logins alongside"

# The registry holds exactly what succeeded: each writer's tokens, revocations, and one
# audit record per successful write.
for login in "${WRITERS[@]}"; do
  log=$W/$login.log
  check [ "$(sql "SELECT count(*) FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id
    WHERE u.name = '$login'")" = "$(grep -c '^add-app 0 ' "$log")" ]
  check [ "$(sql "SELECT count(*) FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id
    WHERE u.name = '$login' AND t.revoked_at IS NOT NULL")" = "$(grep -c '^revoke 0 ' "$log")" ]
  for action in add-app refresh download revoke; do
    check [ "$(sql "SELECT count(*) FROM tokenctl.audit WHERE id > $audit_before AND actor = '$login'
      AND action = '$action' AND outcome = 'ok'")" = "$(grep -c "^$action 0 " "$log")" ]
  done
  # The file downloaded after the refresh holds the token's current secrets: the ones
  # the refresh delivered, matching the stored digests.
  while read -r _ rc id; do
    [ "$rc" = 0 ] || continue
    check [ "$(file_digests "$W/$login/$id.downloaded")" = "$(stored_digests "$id")" ]
    check [ "$(file_digests "$W/$login/$id.refreshed")" = "$(stored_digests "$id")" ]
  done < <(grep '^add-app ' "$log")
done
check [ "$(sql "SELECT count(*) FROM tokenctl.audit WHERE id > $audit_before")" = "$writes" ]
check [ "$(sql "SELECT count(*) FROM tokenctl.audit WHERE outcome <> 'ok'")" = 0 ]
run_as "$ADM1" system-list --all --format csv --no-headers
expect_rc 0
check [ "$(printf '%s\n' "$OUT" | wc -l)" = "$(sql "SELECT count(*) FROM tokenctl.tokens")" ]

# ---------------------------------------------------------------------------------------
case_ "two concurrent refreshes of one token"
W1=${WRITERS[0]}
T=$(tc "$W1" add-app -q --redirect-uri "$URI")
check is_token_id "$T"
audit_before=$(audit_max)
ok_refreshes=0
for round in 1 2 3 4 5; do
  dir=$W/refresh$round
  mkdir "$dir"
  tc "$W1" refresh "$T" -o "$dir/a.json" >"$dir/a.out" 2>"$dir/a.err" &
  pa=$!
  tc "$W1" refresh "$T" -o "$dir/b.json" >"$dir/b.out" 2>"$dir/b.err" &
  pb=$!
  wait $pa
  ra=$?
  wait $pb
  rb=$?
  stored=$(stored_digests "$T")
  winners=0
  for side in a b; do
    if [ "$side" = a ]; then rc=$ra; else rc=$rb; fi
    if [ "$rc" -eq 0 ]; then
      ok_refreshes=$((ok_refreshes + 1))
      [ "$(file_digests "$dir/$side.json")" = "$stored" ] && winners=$((winners + 1))
    else
      # A refresh that fails does so cleanly: one error line, no file.
      RC=$rc OUT=$(cat "$dir/$side.out") ERR=$(cat "$dir/$side.err")
      expect_error_line
      check [ ! -e "$dir/$side.json" ]
    fi
  done
  # Both digests come from one refresh's output, never one from each.
  if [ "$winners" -eq 1 ]; then pass; else fail "round $round: the stored digests match $winners outputs (exits $ra, $rb)"; fi
  check [ $((ra == 0 || rb == 0)) = 1 ]
  # The stored secrets are the winner's: download gives them back.
  tc "$W1" download "$T" -o "$dir/now.json" 2>"$dir/download.err"
  check [ "$(file_digests "$dir/now.json")" = "$stored" ]
  # The loser's access token no longer verifies (unknown: exit 4).
  if [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]; then
    for side in a b; do
      if [ "$(file_digests "$dir/$side.json")" != "$stored" ]; then
        run_as "$W1" --stdin "$(jq -j .access_token "$dir/$side.json")" verify
        expect_rc 4
      fi
    done
  fi
done
check [ "$(sql "SELECT count(*) FROM tokenctl.audit WHERE id > $audit_before AND action = 'refresh'
  AND outcome = 'ok'")" = "$ok_refreshes" ]
echo "case 2: $ok_refreshes of 10 concurrent refreshes succeeded"

# ---------------------------------------------------------------------------------------
case_ "a held write lock: wait, time out, state unchanged"
mkfifo "$W/holder.in"
# An idle transaction that holds tokenctl's lock, as a stuck client's would.
# (Started from a subshell, so that it is no job of this shell, which would print a
# note when it is killed.)
start_holder() {
  holder=$(psql -X -q -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$TOKENCTL_PG_SUPERUSER" \
    -d "$PGDB" >"$W/holder.out" 2>&1 <"$W/holder.in" & echo $!)
  exec 9>"$W/holder.in"
  echo "BEGIN; SELECT tokenctl.lock_writers(); \\echo holding" >&9
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qx holding "$W/holder.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the lock holder did not get the lock"
  exit 1
}
start_holder
before=$(state)
# Readers do not wait for writers.
t0=$(now)
run_as "$W1" list
expect_rc 0
check elapsed_within "$(now)" "$t0" 0 5
t0=$(now)
run_as "$W1" add-app --redirect-uri "$URI"
t1=$(now)
expect_error 1
check [ "$ERR" = "tokenctl: error: registry $DB: another tokenctl held the write lock for more than 10s
hint: try again; a stuck client's lock is released when its connection ends" ]
if elapsed_within "$t1" "$t0" 9.5 15; then pass; else fail "gave up after $(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }') s, expected 10"; fi
check [ "$(state)" = "$before" ]
# A writer waits; the holder is killed (kill -9, so its connection just ends); the
# writer proceeds at once.
tc "$W1" add-app -q --redirect-uri "$URI" >"$W/waiter.out" 2>"$W/waiter.err" &
waiter=$!
sleep 1.5
check kill -0 $waiter
killed_at=$(now)
kill -9 "$holder"
exec 9>&-
wait $waiter
RC=$? OUT=$(cat "$W/waiter.out") ERR=$(cat "$W/waiter.err")
done_at=$(now)
expect_rc 0
expect_err_empty
check is_token_id "$OUT"
if elapsed_within "$done_at" "$killed_at" 0 3; then pass; else fail "the waiting writer took $(awk -v a="$done_at" -v b="$killed_at" 'BEGIN { print a - b }') s after the holder was killed"; fi
echo "case 3: the lock timed out after $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')s; a waiter finished $(awk -v a="$done_at" -v b="$killed_at" 'BEGIN { printf "%.2f", a - b }')s after kill -9 of the holder"

case_ "removed or demoted while waiting for the lock"
# The holder removes a user, or demotes an administrator, while that login's write waits
# for the lock: the write, once it has the lock, reads its user again and is refused.
# Runs tokenctl ARGS as LOGIN while the holder has the lock; once it waits, the holder
# runs SQL and commits. Sets RC, OUT, ERR.
race() {
  local sql=$1 login=$2 i
  shift 2
  start_holder
  tc "$login" "$@" >"$W/race.out" 2>"$W/race.err" &
  local waiter=$!
  for ((i = 0; i < 100; i++)); do
    [ "$(lock_waiters)" = 1 ] && break
    sleep 0.1
  done
  if [ "$i" -lt 100 ]; then pass; else fail "tokenctl $* did not wait for the lock"; fi
  echo "$sql; COMMIT;" >&9
  exec 9>&-
  wait $waiter
  RC=$? OUT=$(cat "$W/race.out") ERR=$(cat "$W/race.err")
}
W7=${WRITERS[6]}
race "UPDATE tokenctl.users SET removed_at = 1 WHERE name = '$W7'" "$W7" add-app -q --redirect-uri "$URI"
expect_error 3
expect_err_has "$W7 is not a user of this database"
check [ "$(sql "SELECT count(*) FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id
  WHERE u.name = '$W7'")" = "$(grep -c '^add-app 0 ' "$W/$W7.log")" ]
race "UPDATE tokenctl.users SET role = 'user' WHERE name = '$ADM2'" "$ADM2" user set-role "$READER" admin
expect_error 3
check [ "$(sql "SELECT role FROM tokenctl.users WHERE name = '$READER'")" = user ]
run_as "$ADM1" user set-role "$ADM2" admin
expect_rc 0

# ---------------------------------------------------------------------------------------
case_ "kill -9 of writers mid-flight"
# Rounds of seven writers started at once (four add-apps, a refresh, a download, and the
# owner's rekey, which re-seals every secret and replaces the key file), each killed
# after a random 0-99 ms; some finish, some die before connecting, some in their
# transaction, some between a rekey's commit and its key file.
W5=${WRITERS[4]}
W6=${WRITERS[5]}
T5=$(tc "$W5" add-app -q --redirect-uri "$URI")
T6=$(tc "$W6" add-app -q --redirect-uri "$URI")
# One round; prints how many of its writers finished. (Its stderr is bash's notes on the
# killed jobs.)
kill_round() {
  local pids=() pid login finished=0
  # Started as simple commands, so that each $! is tokenctl itself.
  for login in "${WRITERS[@]:0:4}"; do
    PGUSER=$login "$TOKENCTL_BIN" add-app -q --redirect-uri "$URI" >/dev/null 2>&1 &
    pids+=($!)
  done
  PGUSER=$W5 "$TOKENCTL_BIN" refresh "$T5" >/dev/null 2>&1 &
  pids+=($!)
  PGUSER=$W6 "$TOKENCTL_BIN" download "$T6" >/dev/null 2>&1 &
  pids+=($!)
  PGUSER=$OWNER "$TOKENCTL_BIN" rekey --yes >/dev/null 2>&1 &
  pids+=($!)
  for pid in "${pids[@]}"; do
    (
      sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
      kill -9 "$pid"
    ) 2>/dev/null &
  done
  for pid in "${pids[@]}"; do
    wait "$pid" && finished=$((finished + 1))
  done
  wait
  echo "$finished"
}
rollbacks() { sql "SELECT xact_rollback FROM pg_stat_database WHERE datname = '$PGDB'"; }
rollbacks_before=$(rollbacks)
launched=0
finished=0
for round in $(seq 1 15); do
  launched=$((launched + 7))
  finished=$((finished + $(kill_round 2>/dev/null)))
done
# The server ends the killed clients' transactions: their locks go with them.
check wait_no_clients
echo "case 4: $launched writers launched, $finished finished before kill -9;" \
  "the server rolled back $(($(rollbacks) - rollbacks_before)) transactions"
check [ "$(sql "SELECT tokenctl.try_lock_writers()")" = t ]
# No partial rows: every token has its secrets, every committed add-app its audit record
# (same transaction), and the refreshed token's digests and sealed secrets agree.
check [ "$(sql "SELECT count(*) FROM tokenctl.tokens t WHERE NOT EXISTS (SELECT 1 FROM
  tokenctl.secrets s WHERE s.token = t.id)")" = 0 ]
check [ "$(sql "SELECT count(*) FROM tokenctl.tokens")" = "$(sql "SELECT count(*) FROM
  tokenctl.audit WHERE action = 'add-app' AND outcome = 'ok'")" ]
check [ "$(sql "SELECT count(*) FROM tokenctl.tokens t WHERE NOT EXISTS (SELECT 1 FROM
  tokenctl.audit a WHERE a.action = 'add-app' AND a.subject = t.token_id)")" = 0 ]
tc "$W5" download "$T5" -o "$W/t5.json"
check [ "$(file_digests "$W/t5.json")" = "$(stored_digests "$T5")" ]
# The owner's check opens every sealed secret with the key file on disk.
run_as "$OWNER" check
expect_rc 0
check [ "$(printf '%s\n' "$OUT" | grep -vc '^ok ')" = 0 ]
expect_out_has "ok secrets"
expect_out_has "ok key-file"
expect_err_empty
run_as "$ADM1" check
expect_rc 0
# The checks the server keeps to the owner are skipped, never reported as ok.
check [ "$(printf '%s\n' "$OUT" | grep -v '^ok ' | sort)" = "skipped integrity: only the registry's owner reads every token's sealed secrets
skipped secrets: only the registry's owner reads every token's sealed secrets" ]
expect_out_has "ok administrators"
# The next writer proceeds at once.
t0=$(now)
run_as "$W1" add-app -q --redirect-uri "$URI"
expect_rc 0
check elapsed_within "$(now)" "$t0" 0 3

# ---------------------------------------------------------------------------------------
case_ "two administrators demoting each other"
# ADM1 and ADM2, and the owner, who stays an administrator: demoting it is refused.
run_as "$ADM1" user set-role "$OWNER" user
expect_error 5
id=$(sql "SELECT registry_id FROM tokenctl.registry")
# The administrators, by the registry's rows and by the server's grants.
admins() { sql "SELECT string_agg(name, ' ' ORDER BY name) FROM tokenctl.users WHERE role = 'admin' AND removed_at IS NULL"; }
admin_members() {
  sql "SELECT string_agg(DISTINCT m.rolname, ' ' ORDER BY m.rolname) FROM pg_auth_members a JOIN pg_roles r
    ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = 'tokenctl_${id}_admin'"
}
check [ "$(admins)" = "$ADM1 $ADM2 $OWNER" ]
check [ "$(admin_members)" = "$ADM1 $ADM2 $OWNER" ]
audit_before=$(audit_max)
for round in $(seq 1 10); do
  tc "$ADM1" user set-role "$ADM2" user >"$W/d1.out" 2>"$W/d1.err" &
  p1=$!
  tc "$ADM2" user set-role "$ADM1" user >"$W/d2.out" 2>"$W/d2.err" &
  p2=$!
  wait $p1
  r1=$?
  wait $p2
  r2=$?
  left=$(admins)
  if [ -n "$left" ]; then pass; else fail "round $round: no administrator left (exits $r1, $r2)"; fi
  # Exactly one wins; the other, demoted while it waited for the lock, is refused.
  if [ "$r1" = 0 ] && [ "$r2" = 3 ]; then
    check [ "$left" = "$ADM1 $OWNER" ]
    winner=$ADM1 loser=$ADM2 loser_err=$W/d2.err
  elif [ "$r1" = 3 ] && [ "$r2" = 0 ]; then
    check [ "$left" = "$ADM2 $OWNER" ]
    winner=$ADM2 loser=$ADM1 loser_err=$W/d1.err
  else
    fail "round $round: exits $r1 and $r2, administrators: $left"
    break
  fi
  RC=3 OUT="" ERR=$(cat "$loser_err")
  expect_error_line
  check [ "$(admin_members)" = "$winner $OWNER" ]
  run_as "$winner" user set-role "$loser" admin
  expect_rc 0
done
check [ "$(admins)" = "$ADM1 $ADM2 $OWNER" ]
# The demotions, the promotions back and the refusals are all in the audit log.
check [ "$(sql "SELECT count(*) FROM tokenctl.audit WHERE id > $audit_before AND action = 'user set-role'
  AND outcome = 'ok'")" = 20 ]
check [ "$(sql "SELECT count(*) FROM tokenctl.audit WHERE id > $audit_before AND action = 'user set-role'
  AND outcome = 'denied'")" = 10 ]
# The server keeps the rule itself: the same race through psql, each administrator's
# own login updating the other's row in a transaction that lasts long enough (0.3 s)
# for the other to start. The loser's update is refused, or finds no row it may change.
psql_as() {
  local login=$1
  shift
  psql -X -A -t -v ON_ERROR_STOP=1 -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$login" \
    -d "$PGDB" "$@"
}
demote_sql() {
  echo "BEGIN; UPDATE tokenctl.users SET role = 'user' WHERE name = '$1'; SELECT pg_sleep(0.3); COMMIT;"
}
refused=0
for round in $(seq 1 5); do
  psql_as "$ADM1" -c "$(demote_sql "$ADM2")" >"$W/d1.out" 2>&1 &
  p1=$!
  psql_as "$ADM2" -c "$(demote_sql "$ADM1")" >"$W/d2.out" 2>&1 &
  p2=$!
  wait $p1 $p2
  left=$(admins)
  if [ -n "$left" ]; then pass; else fail "psql round $round: no administrator left"; fi
  if grep -qx 'UPDATE 1' "$W/d1.out"; then
    winner=$ADM1 loser=$ADM2 loser_out=$W/d2.out
  else
    winner=$ADM2 loser=$ADM1 loser_out=$W/d1.out
  fi
  check [ "$left" = "$winner $OWNER" ]
  if grep -qx 'UPDATE 0' "$loser_out"; then
    pass
  elif grep -q "ERROR:  $loser is no longer an administrator of the registry" "$loser_out"; then
    refused=$((refused + 1))
    pass
  else
    fail "psql round $round: the loser's update: $(cat "$loser_out")"
  fi
  run_as "$winner" user set-role "$loser" admin
  expect_rc 0
done
echo "case 5: through psql, the server refused $refused of 5 losers' updates (the others found no row they may change)"
check [ "$(admins)" = "$ADM1 $ADM2 $OWNER" ]

# ---------------------------------------------------------------------------------------
case_ "identity: --as and TOKENCTL_USER another user"
before=$(state)
audit_before=$(audit_max)
run_as "$READER" --as "$ADM1" system-list
expect_error 3
check [ "$ERR" = "tokenctl: error: you are connected as $READER, not $ADM1: on a PostgreSQL registry you act as your login
hint: connect as that login (PGUSER or the URI's user), or drop --as and TOKENCTL_USER" ]
TOKENCTL_USER=$ADM1 run_as "$READER" user add "$OUTSIDER"
expect_error 3
expect_err_has "you are connected as $READER, not $ADM1"
TOKENCTL_USER=$ADM1 run_as "$READER" revoke --user "$W1" --yes
expect_error 3
# Nothing changed but the three refusals' records, each the reader's own.
check [ "$(state "$audit_before")" = "$before" ]
check [ "$(sql "SELECT string_agg(concat_ws('|', actor, action, subject, outcome, detail, login),
  ' ' ORDER BY id) FROM tokenctl.audit WHERE id > $audit_before")" = \
  "$READER|system-list|$ADM1|denied|asked to act as $ADM1|$READER $READER|user add|$ADM1|denied|asked to act as $ADM1|$READER $READER|revoke|$ADM1|denied|asked to act as $ADM1|$READER" ]
before=$(state)
# The same name in other letters is the same user.
run_as "$READER" --as "${READER^^}" list --format csv --no-headers
expect_rc 0
check [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ]

case_ "identity: a login that is no user of the registry"
run_as "$OUTSIDER" list
expect_error 3
check [ "$ERR" = "tokenctl: error: $OUTSIDER is not a user of this database
hint: an administrator of the registry adds your login with \`tokenctl user add NAME\`" ]
run_as "$OUTSIDER" add-app --redirect-uri "$URI"
expect_error 3
check [ "$(state)" = "$before" ]

case_ "identity: user add of a missing login"
run_as "$ADM1" user add "${P}_nosuchlogin"
expect_error 4
check [ "$ERR" = "tokenctl: error: ${P}_nosuchlogin is not a login of the PostgreSQL server
hint: the database administrator creates it first: CREATE ROLE \"${P}_nosuchlogin\" LOGIN" ]
check [ "$(state)" = "$before" ]

case_ "identity: a password in the URI"
SECRET_PW=pw-$RANDOM$RANDOM-not-shown
WARNING="tokenctl: warning: the registry's URI holds a password, which shows in ps and in shell history; keep it in ~/.pgpass or PGPASSFILE"
# The password never shows; the URI is shown with *** in its place.
expect_no_password() {
  if [[ $OUT$ERR != *"$SECRET_PW"* ]]; then pass; else fail "the password shows"; fi
}
in_userinfo="postgresql://$PWLOGIN:$SECRET_PW@/$PGDB?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT"
run add-app -q --db "$in_userinfo" --redirect-uri "$URI"
expect_rc 0
check [ "$ERR" = "$WARNING" ]
expect_no_password
run add-app --db "$in_userinfo" --redirect-uri "$URI"
expect_rc 0
expect_out_has "tokenctl --db 'postgresql://$PWLOGIN:***@/$PGDB?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT' download "
expect_no_password
in_query="$URI_BASE&user=$PWLOGIN&password=$SECRET_PW"
run --db "$in_query" add-app --redirect-uri "$URI"
expect_rc 0
expect_out_has "tokenctl --db '$URI_BASE&user=$PWLOGIN&password=***' download "
check [ "$ERR" = "$WARNING" ]
expect_no_password
# Where libpq finds a password, tokenctl hides it: user info holding a '?', a keyword
# in percent-encoding, the client key's sslpassword.
for form in "postgresql://$PWLOGIN:?$SECRET_PW@/$PGDB?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT" \
  "$URI_BASE&user=$PWLOGIN&pass%77ord=$SECRET_PW" "$URI_BASE&user=$PWLOGIN&sslpassword=$SECRET_PW"; do
  run --db "$form" add-app --redirect-uri "$URI"
  expect_rc 0
  check [ "$ERR" = "$WARNING" ]
  expect_out_has "***"
  expect_no_password
done
# A failed connection names the URI, its password hidden; libpq's reason quotes a
# malformed token, which is hidden too.
run --db "$URI_BASE&user=$PWLOGIN&password=$SECRET_PW%zz" whoami
expect_rc 1
expect_err_has 'invalid percent-encoded token: "***"'
expect_no_password
run --db "postgresql://$PWLOGIN:$SECRET_PW@/${PGDB}_missing?host=$TOKENCTL_PG_HOST&port=$TOKENCTL_PG_PORT" whoami
expect_rc 1
check [ "$(printf '%s\n' "$ERR" | head -n 1)" = "$WARNING" ]
expect_err_has "tokenctl: error: cannot connect to registry postgresql://$PWLOGIN:***@/${PGDB}_missing?host="
expect_no_password
# Nor is it stored anywhere, nor in the server's log.
check [ "$(sql "SELECT count(*) FROM tokenctl.audit a WHERE strpos(a::text, '$SECRET_PW') > 0")" = 0 ]
if [ -n "${TOKENCTL_PG_DIR-}" ]; then
  check [ "$(grep -caF -- "$SECRET_PW" "$TOKENCTL_PG_DIR/server.log")" = 0 ]
fi

finish
