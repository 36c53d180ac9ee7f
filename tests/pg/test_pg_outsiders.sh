#!/usr/bin/env bash
# pg_outsiders: what a login with psql can do to others on a PostgreSQL registry besides
# reading and writing rows (SPEC.md, "The server enforces the roles", "Concurrency"):
#   1. a login that is no user of the registry (CONNECT is PUBLIC's by default) holds
#      tokenctl's old advisory lock key, session and transaction variants, and tries
#      LOCK TABLE and SELECT … FOR UPDATE (refused: no USAGE on the schema); meanwhile an
#      administrator's revoke, user add and add-app complete within 5 s
#   1b. a verifier takes whatever lock it can (the writers' lock function, FOR UPDATE, LOCK
#      TABLE); an administrator's revoke and add-app complete within 5 s
#   2. a plain user pins their own token rows (FOR UPDATE, FOR SHARE) in an open
#      transaction; an administrator's revoke and user remove complete within 5 s
#   3. verify never waits: while an administrator holds the token's row FOR UPDATE, and
#      while an UPDATE of it is open, verify ends within 3 s, exit 0, with the right output
#   4. a network that goes silent after the connection started (commit_proxy.py silent):
#      verify, and an administrator's revoke, end by themselves within 45 s, exit 1, one
#      error line (the revoke revoking nothing); so does verify when the server never
#      answers the start-up (commit_proxy.py mute)
#   5. forged audit records: a verifier and a plain user insert records naming another
#      login, or back-dated by a day: refused, and `tokenctl audit` shows none
#   6. control characters stored through psql (an audit detail with a newline and ESC, a
#      redirect URI with ESC) are printed escaped by audit, app list and app show
SUITE_TAG=pgo
LOGIN_NAMES="own adm alice bob gw stranger newbie"
. "$(dirname "$0")/lib-registry.sh"

URI=https://app.example.com/cb
LOCK_KEY="x'746f6b656e63746c'::bigint"
EXTRA_CLEANUP='end_holds; stop_proxy'

case_ "setup"
new_registry
setup() { "$@" >/dev/null 2>"$TMP/setup.err" || { cat "$TMP/setup.err"; echo "setup failed: $*"; exit 1; }; }
setup tc "$L_own" user add "$L_adm" --role admin
setup tc "$L_own" user add "$L_alice"
setup tc "$L_own" user add "$L_bob"
setup tc "$L_own" user add "$L_gw" --role verifier
new_id() { tc "$1" add-app -q --redirect-uri "$URI" "${@:2}"; }
T_ALICE1=$(new_id "$L_alice") && T_ALICE2=$(new_id "$L_alice") && T_BOB1=$(new_id "$L_bob") &&
  T_BOB2=$(new_id "$L_bob") && T_BOB3=$(new_id "$L_bob") || { echo "setup: add-app failed"; exit 1; }
setup token_file "$L_bob" "$T_BOB1" "$TMP/bob1.json"
access_of "$TMP/bob1.json" >"$TMP/bob1.access"

# --- Sessions held open in psql -------------------------------------------------------------
# hold LOGIN SQL: runs SQL as LOGIN in the background, then sleeps 60 s in the same
# session (its locks held); returns once the sleep began. Its output: $TMP/hold.LOGIN.*
HOLDS=()
hold() {
  local login=$1 i
  # (a refused statement does not end the transaction: what was taken stays held)
  printf '\\set ON_ERROR_ROLLBACK on\n%s\nSELECT pg_sleep(60);\n' "$2" |
    PGOPTIONS="-c client_min_messages=warning" psql -X -A -t -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" \
      -U "$login" -d "$PGDB" -f - >"$TMP/hold.$login.out" 2>"$TMP/hold.$login.err" &
  HOLDS+=("$!")
  for ((i = 0; i < 200; i++)); do
    [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename = '$login' AND wait_event = 'PgSleep'")" = 1 ] && return 0
    kill -0 "${HOLDS[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  grep -q 'permission denied for database' "$TMP/hold.$login.err" ||
    echo "the held session of $login did not start: $(cat "$TMP/hold.$login.err")"
  return 1
}
end_holds() {
  local pid
  sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$PGDB'
       AND starts_with(usename, '$P') AND wait_event = 'PgSleep'" >/dev/null 2>&1
  for pid in "${HOLDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  HOLDS=()
}
# The held session's statements took their locks, or the server refused them (which is
# one way to keep a member from pinning rows), or named a function this schema does not
# have: any other error is the test's own.
held_or_refused() {
  if grep 'ERROR' "$TMP/hold.$1.err" | grep -v 'permission denied' | grep -qv 'function tokenctl\..* does not exist'; then
    fail "the held session failed otherwise: $(grep ERROR "$TMP/hold.$1.err" | head -n 2 | tr '\n' '|')"
  else
    pass
  fi
}
# timed LIMIT LOGIN ARGS...: run as LOGIN under `timeout LIMIT`; ELAPSED in seconds.
timed() {
  local limit=$1 login=$2 start
  shift 2
  start=$(date +%s.%N)
  PGUSER=$login timeout -k 2 "$limit" "$TOKENCTL_BIN" "$@" <"${STDIN_FILE:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  ELAPSED=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
expect_in_time() { # WHAT
  if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
    fail "$1 did not end in time (killed after ${ELAPSED}s)"
    return 1
  fi
  pass
}

# --- 1. An outsider and the writers ---------------------------------------------------------------
case_ "outsider: no LOCK TABLE, no SELECT … FOR UPDATE on the registry's tables"
for t in registry meta users apps tokens secrets audit; do
  PGOPTIONS="-c lock_timeout=2s" psql_login "$L_stranger" -c "BEGIN; LOCK TABLE tokenctl.$t IN ACCESS EXCLUSIVE MODE; COMMIT;" \
    >"$TMP/p.out" 2>"$TMP/p.err"
  if grep -q 'permission denied' "$TMP/p.err"; then pass; else OUT=$(cat "$TMP/p.out") ERR=$(cat "$TMP/p.err"); fail "LOCK TABLE tokenctl.$t was not refused"; fi
  PGOPTIONS="-c lock_timeout=2s" psql_login "$L_stranger" -c "SELECT 1 FROM tokenctl.$t FOR UPDATE" \
    >"$TMP/p.out" 2>"$TMP/p.err"
  if grep -q 'permission denied' "$TMP/p.err"; then pass; else OUT=$(cat "$TMP/p.out") ERR=$(cat "$TMP/p.err"); fail "SELECT FROM tokenctl.$t FOR UPDATE was not refused"; fi
done

case_ "outsider: holding the advisory lock keys holds up no administrator's write"
if hold "$L_stranger" "SELECT pg_advisory_lock($LOCK_KEY);
  SELECT pg_advisory_lock(1953459054, 1668576364);
  BEGIN;
  SELECT pg_advisory_xact_lock($LOCK_KEY);
  SELECT pg_advisory_xact_lock(1953459054, 1668576364);"; then
  check test "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.usename = '$L_stranger' AND l.locktype = 'advisory' AND l.granted")" -ge 2
  timed 5 "$L_adm" revoke "$T_ALICE1" --yes
  expect_in_time "revoke" && expect_rc 0
  check test "$(sql "SELECT revoked_at IS NOT NULL FROM tokenctl.tokens WHERE token_id = '$T_ALICE1'")" = t
  timed 5 "$L_adm" user add "$L_newbie"
  expect_in_time "user add" && expect_rc 0
  check test "$(sql "SELECT count(*) FROM tokenctl.users WHERE name = '$L_newbie' AND removed_at IS NULL")" = 1
  timed 5 "$L_adm" add-app -q --redirect-uri "$URI"
  expect_in_time "add-app" && expect_rc 0
  new=$OUT
  check test "$(sql "SELECT count(*) FROM tokenctl.tokens WHERE token_id = '$new'")" = 1
  timed 5 "$L_alice" revoke "$T_ALICE2" --yes
  expect_in_time "a user's revoke" && expect_rc 0
  check test "$(sql "SELECT revoked_at IS NOT NULL FROM tokenctl.tokens WHERE token_id = '$T_ALICE2'")" = t
elif grep -q 'permission denied for database' "$TMP/hold.$L_stranger.err"; then
  # The registry's database takes no connection from outsiders at all: stronger still.
  pass
else
  fail "the outsider's session did not start"
fi
end_holds

# --- 1b. A verifier and the writers -------------------------------------------------------------
# A verifier may verify and nothing else (SPEC.md): holding the writers' lock, or the rows
# writers change, is something else.
case_ "a verifier holds up no administrator's write"
id=$(new_id "$L_bob")
locks="SELECT pg_advisory_lock($LOCK_KEY); BEGIN; SELECT pg_advisory_xact_lock($LOCK_KEY);"
for f in $(sql "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'tokenctl' AND p.proname LIKE '%lock%' AND p.pronargs = 0 AND p.prokind = 'f'"); do
  locks+=" SELECT tokenctl.$f();"
done
for t in registry meta users apps tokens secrets audit; do
  locks+=" SELECT 1 FROM tokenctl.$t FOR UPDATE; SELECT 1 FROM tokenctl.$t FOR SHARE;"
  locks+=" LOCK TABLE tokenctl.$t IN SHARE ROW EXCLUSIVE MODE;"
done
if hold "$L_gw" "$locks"; then
  timed 5 "$L_adm" revoke "$id" --yes
  expect_in_time "revoke" && expect_rc 0
  check test "$(sql "SELECT revoked_at IS NOT NULL FROM tokenctl.tokens WHERE token_id = '$id'")" = t
  timed 5 "$L_adm" add-app -q --redirect-uri "$URI"
  expect_in_time "add-app" && expect_rc 0
else
  fail "the verifier's session did not start"
fi
end_holds

# --- 2. A member pinning rows an administrator must change ---------------------------------------
case_ "a user pinning their own token rows holds up no administrator's revoke or user remove"
T_BOB_PIN=$(new_id "$L_bob")
for mode in "FOR UPDATE" "FOR NO KEY UPDATE" "FOR SHARE" "FOR KEY SHARE"; do
  case_ "a user's SELECT … $mode of their own tokens holds up no administrator's revoke"
  id=$(new_id "$L_bob")
  if hold "$L_bob" "BEGIN; SELECT token_id FROM tokenctl.tokens WHERE token_id IN ('$id', '$T_BOB_PIN') $mode;
      SELECT id FROM tokenctl.users $mode;"; then
    held_or_refused "$L_bob"
    timed 5 "$L_adm" revoke "$id" --yes
    expect_in_time "revoke" && expect_rc 0
    check test "$(sql "SELECT revoked_at IS NOT NULL FROM tokenctl.tokens WHERE token_id = '$id'")" = t
  fi
  end_holds
done
case_ "a user pinning their own rows holds up no administrator's user remove"
if hold "$L_bob" "BEGIN; SELECT id FROM tokenctl.tokens FOR UPDATE; SELECT id FROM tokenctl.users FOR SHARE;
    SELECT id FROM tokenctl.apps FOR UPDATE;"; then
  held_or_refused "$L_bob"
  timed 5 "$L_adm" user remove "$L_bob" --yes
  expect_in_time "user remove" && expect_rc 0
  check test "$(sql "SELECT removed_at IS NOT NULL FROM tokenctl.users WHERE name = '$L_bob'")" = t
  check test "$(sql "SELECT count(*) FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id
    WHERE u.name = '$L_bob' AND t.revoked_at IS NULL")" = 0
fi
end_holds

# --- 3. verify never waits -----------------------------------------------------------------------
# A fresh token of alice's (bob was removed, and his tokens revoked, above).
T_V=$(new_id "$L_alice") || { echo "setup: add-app failed"; exit 1; }
rm -f "$TMP/v.json"
setup token_file "$L_alice" "$T_V" "$TMP/v.json"
access_of "$TMP/v.json" >"$TMP/v.access"
# A use not recorded yet, so that verify wants to record one.
unstamp() {
  pq -c "SET session_replication_role = replica" \
    -c "UPDATE tokenctl.tokens SET last_used_at = NULL WHERE token_id = '$T_V'" >/dev/null
}
# What verify prints of it, nobody holding anything.
V_BASE=$(PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/v.access" 2>/dev/null)
case "$V_BASE" in valid*"$T_V"*) ;; *) echo "setup: verify printed: $V_BASE"; exit 1 ;; esac
verify_ok() { # WHAT
  STDIN_FILE=$TMP/v.access timed 3 "$L_gw" verify
  expect_in_time "verify ($1)" || return
  expect_rc 0
  expect_out "$V_BASE"
  expect_err_empty
}
case_ "verify never waits: the token's row held FOR UPDATE by an administrator"
unstamp
if hold "$L_adm" "BEGIN; SELECT token_id FROM tokenctl.tokens WHERE token_id = '$T_V' FOR UPDATE;"; then
  held_or_refused "$L_adm"
  verify_ok "row held FOR UPDATE"
fi
end_holds
case_ "verify never waits: an UPDATE of the token's row open in an administrator's transaction"
unstamp
# (by hand where the administrator may, else through the function that revokes, whose
# revocation is not committed yet)
if hold "$L_adm" "BEGIN; UPDATE tokenctl.tokens SET last_used_at = last_used_at WHERE token_id = '$T_V';
    SELECT tokenctl.revoke_token((SELECT id FROM tokenctl.tokens WHERE token_id = '$T_V'),
      (extract(epoch FROM clock_timestamp()) * 1000)::bigint);"; then
  held_or_refused "$L_adm"
  verify_ok "open UPDATE"
fi
end_holds
case_ "verify never waits: the token's own user holds its row FOR UPDATE"
unstamp
if hold "$L_alice" "BEGIN; SELECT token_id FROM tokenctl.tokens WHERE token_id = '$T_V' FOR UPDATE;
    SELECT tokenctl.stamp_own_token_use((SELECT id FROM tokenctl.tokens WHERE token_id = '$T_V'),
      (extract(epoch FROM clock_timestamp()) * 1000)::bigint);"; then
  held_or_refused "$L_alice"
  verify_ok "row held by its user"
fi
end_holds
case_ "verify never waits: an outsider holds the advisory lock keys"
unstamp
if hold "$L_stranger" "SELECT pg_advisory_lock($LOCK_KEY); BEGIN; SELECT pg_advisory_xact_lock($LOCK_KEY);"; then
  verify_ok "advisory lock held"
elif grep -q 'permission denied for database' "$TMP/hold.$L_stranger.err"; then
  pass
else
  fail "the outsider's session did not start"
fi
end_holds

# --- 4. A network gone silent -----------------------------------------------------------------------
# gives_up MODE WHAT LOGIN ARGS...: tokenctl ARGS as LOGIN through the proxy in MODE
# ends by itself within 45 s (killed at 60), with exit 1 and one error line.
gives_up() {
  local mode=$1 what=$2 login=$3
  shift 3
  start_proxy "$mode"
  TOKENCTL_DB=$PROXY_DB timed 60 "$login" "$@"
  if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
    fail "$what still waited after 60 s (killed)"
  else
    pass
    expect_rc 1
    expect_error_line
    check awk -v e="$ELAPSED" 'BEGIN { exit !(e <= 45) }'
    printf '  %s gave up after %ss\n' "$what" "$ELAPSED"
  fi
  stop_proxy
}

case_ "verify through a network gone silent ends by itself within 45 s"
unstamp
STDIN_FILE=$TMP/v.access gives_up silent verify "$L_gw" verify
if grep -q '^CUT silent' "$TMP/proxy.log"; then pass; else fail "the proxy never went silent: $(tr '\n' '|' <"$TMP/proxy.log")"; fi

case_ "verify through a server that never answers the start-up ends by itself within 45 s"
STDIN_FILE=$TMP/v.access gives_up mute verify "$L_gw" verify

case_ "revoke through a network gone silent ends by itself within 45 s, and revokes nothing"
id=$(new_id "$L_alice")
gives_up silent revoke "$L_adm" revoke "$id" --yes
check test "$(sql "SELECT revoked_at IS NULL FROM tokenctl.tokens WHERE token_id = '$id'")" = t

# --- 5. Forged audit records -------------------------------------------------------------------------
NOW_SQL="(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
for who in "$L_gw" "$L_alice"; do
  case_ "$who: an audit record naming another login is refused"
  for forged in "$NOW_SQL, '$L_adm', 'revoke', '$L_bob', 'ok', 'forged-other-$who'" \
    "$NOW_SQL, '$L_own', 'rekey', '', 'ok', 'forged-owner-$who'" \
    "$NOW_SQL - 86400000, '$who', 'revoke', '$L_bob', 'ok', 'forged-backdated-$who'" \
    "$NOW_SQL - 86400000, '$L_adm', 'user add', '$who', 'ok', 'forged-both-$who'"; do
    psql_login "$who" -c "INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail) VALUES ($forged)" \
      >"$TMP/p.out" 2>"$TMP/p.err"
    if grep -q 'ERROR' "$TMP/p.err"; then pass; else
      OUT=$(cat "$TMP/p.out") ERR=$(cat "$TMP/p.err")
      fail "the server took an audit record ($forged)"
    fi
  done
done
case_ "tokenctl audit shows no forged record"
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE detail LIKE 'forged-%'")" = 0
run_as "$L_own" audit --format tsv
expect_rc 0
if printf '%s' "$OUT" | grep -q 'forged-'; then fail "audit shows a forged record"; else pass; fi

# --- 6. Control characters stored through psql ----------------------------------------------------------
case_ "an administrator's audit record with a newline and ESC: allowed, printed escaped"
psql_login "$L_adm" -v ON_ERROR_STOP=1 -c "INSERT INTO tokenctl.audit (at, actor, action, subject, outcome, detail)
  VALUES ($NOW_SQL, '$L_adm', 'probe', 'ctl', 'ok', 'line1' || chr(10) || 'line2 ' || chr(27) || '[31mred' || chr(13) || chr(127))" \
  >"$TMP/p.out" 2>"$TMP/p.err"
RC=$? OUT=$(cat "$TMP/p.out") ERR=$(cat "$TMP/p.err")
expect_rc 0
for fmt in table csv tsv json; do
  records=$(sql "SELECT count(*) FROM tokenctl.audit")
  PGUSER=$L_own "$TOKENCTL_BIN" audit --format "$fmt" --no-headers >"$TMP/out" 2>"$TMP/err"
  RC=$? OUT=$(head -c 2000 "$TMP/out") ERR=$(cat "$TMP/err")
  expect_rc 0
  if [ "$fmt" = json ]; then no_raw_control "audit --format json"; else no_raw_control "audit --format $fmt" "$records"; fi
  if grep -q 'line1' "$TMP/out"; then pass; else fail "audit --format $fmt does not show the record"; fi
done
case_ "a redirect URI with ESC stored by the owner: printed escaped"
app=$(sql "SELECT a.name FROM tokenctl.apps a JOIN tokenctl.tokens t ON t.app_id = a.id WHERE t.token_id = '$T_V'")
psql_login "$L_own" -v ON_ERROR_STOP=1 -c "UPDATE tokenctl.apps SET redirect_uri = 'https://evil.example.com/' || chr(27) || '[2J' || chr(10) || 'x' || chr(7)
  WHERE name = '$app' AND removed_at IS NULL" >"$TMP/p.out" 2>"$TMP/p.err"
RC=$? OUT=$(cat "$TMP/p.out") ERR=$(cat "$TMP/p.err")
expect_rc 0
apps=$(sql "SELECT count(*) FROM tokenctl.apps WHERE removed_at IS NULL")
HAVE_APP_SHOW=
PGUSER=$L_own "$TOKENCTL_BIN" app show "$app" 2>&1 | grep -q "unknown command" || HAVE_APP_SHOW=1
for fmt in table csv tsv json; do
  PGUSER=$L_own "$TOKENCTL_BIN" app list --format "$fmt" --no-headers >"$TMP/out" 2>"$TMP/err"
  RC=$? OUT=$(head -c 2000 "$TMP/out") ERR=$(cat "$TMP/err")
  expect_rc 0
  if [ "$fmt" = json ]; then no_raw_control "app list --format json"; else no_raw_control "app list --format $fmt" "$apps"; fi
  if [ -n "$HAVE_APP_SHOW" ]; then
    PGUSER=$L_own "$TOKENCTL_BIN" app show "$app" --format "$fmt" >"$TMP/out" 2>"$TMP/err"
    RC=$? OUT=$(head -c 2000 "$TMP/out") ERR=$(cat "$TMP/err")
    expect_rc 0
    no_raw_control "app show --format $fmt"
    if grep -q 'evil.example.com' "$TMP/out"; then pass; else fail "app show --format $fmt does not show the redirect URI"; fi
  fi
done
[ -n "$HAVE_APP_SHOW" ] || { SKIPPED=$((SKIPPED + 1)); printf 'SKIP [%s] this tokenctl has no app show\n' "$CASE"; }
case_ "verify and download print the stored redirect URI escaped"
STDIN_FILE=$TMP/v.access timed 10 "$L_gw" verify --format json
expect_rc 0
no_raw_control "verify --format json"
STDIN_FILE=$TMP/v.access timed 10 "$L_gw" verify
expect_rc 0
no_raw_control "verify"
rm -f "$TMP/v2.json"
PGUSER=$L_alice "$TOKENCTL_BIN" download "$T_V" >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(head -c 2000 "$TMP/out") ERR=$(cat "$TMP/err")
expect_rc 0
no_raw_control "download"

finish
