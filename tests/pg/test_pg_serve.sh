#!/usr/bin/env bash
# pg_serve: serve's POST /oauth2/token on a PostgreSQL registry while others hold what it
# needs, and when its connection breaks while committing (SPEC.md, `tokenctl serve`;
# "Concurrency"; "Unknown is not failed"). serve runs as the verifier gw.
#   1. an administrator's psql holds the token's row in an open transaction (revoking it
#      through tokenctl.revoke_token(), as `tokenctl revoke` does): the request waits (no answer before the release) while serve, with 2
#      workers, answers /auth for another token meanwhile; after ROLLBACK it completes
#      (200, a successor, stored), after a COMMIT that revoked the token it is refused
#      (400 invalid_grant); held past the lock timeout (10 s) the answer is 503
#      temporarily_unavailable with the state unchanged, and the old refresh token works
#      afterwards
#   2. the writers' lock (tokenctl.lock_writers()) held by an administrator does not hold
#      up a client's refresh: a verifier takes no writers' lock, the token's row is what
#      serializes it (a CLI writer locks that row too)
#   3. `tokenctl refresh` by the token's user at the same time as /oauth2/token, released
#      together from a held row and free-running: each presented refresh token makes at
#      most one successor; the stored secrets are the CLI's last file (the client's
#      request, when it came second, got the CLI's successor again within the grace)
#   4. serve's connection through tests/pg/commit_proxy.py, cut just after the COMMIT of a
#      client refresh was sent (its answer lost): 503, serve keeps running and connects
#      again for the next request; the same request again within the grace gets the
#      committed successor (200, the secrets `tokenctl download` shows), not a second
#      rotation; cut just before the COMMIT: 503, nothing committed, and the old refresh
#      token works on the retry
SUITE_TAG=pgs
LOGIN_NAMES="own adm alice gw"
. "$(dirname "$0")/lib-registry.sh"
. "$(dirname "$0")/../cli/serve_lib.sh"
# serve_lib.sh's exit trap knows nothing of the registry's: both, the servers first.
EXTRA_CLEANUP='kill_serves; end_holder; stop_proxy'
trap registry_cleanup EXIT

URI=https://app.example.com/cb
setup() { "$@" >/dev/null 2>"$TMP/setup.err" || { cat "$TMP/setup.err"; echo "setup failed: $*"; exit 1; }; }
new_registry
setup tc "$L_own" user add "$L_adm" --role admin
setup tc "$L_own" user add "$L_alice"
setup tc "$L_own" user add "$L_gw" --role verifier
new_id() { tc "$L_alice" add-app -q --redirect-uri "$URI"; }
T1=$(new_id) && T2=$(new_id) || { echo "setup: add-app failed"; exit 1; }
CID=$(tc "$L_alice" app show "$L_alice" --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["client_id"])')
SECRET=$(tc "$L_alice" app secret "$L_alice")
[ -n "$CID" ] && [ -n "$SECRET" ] || { echo "setup: no client credentials"; exit 1; }
secret_of() { tc "$L_alice" download "$1" --format "$2"; }
ACCESS2=$(secret_of "$T2" access-token)
q() { printf 'client_id=%s&client_secret=%s&grant_type=refresh_token&refresh_token=%s' "$CID" "$SECRET" "$1"; }
# The token's stored state: digests, revocation, and the audit records about it.
state_of() {
  sql "SELECT encode(access_digest, 'hex') || ' ' || encode(refresh_digest, 'hex') || ' ' ||
         coalesce(revoked_at::text, '-') FROM tokenctl.tokens WHERE token_id = '$1'
       UNION ALL SELECT count(*)::text FROM tokenctl.audit WHERE subject = '$1'"
}
rotations() { sql "SELECT count(*) FROM tokenctl.audit WHERE subject = '$1' AND action = 'refresh'
  AND detail = 'both secrets rotated, by its client'"; }
resends() { sql "SELECT count(*) FROM tokenctl.audit WHERE subject = '$1' AND action = 'refresh'
  AND detail = 'by its client, again within the reuse grace'"; }

serve_as_gw() { PGUSER=$L_gw SERVE_AS=$L_gw start_serve "$@"; }

# --- A psql session held open, fed through a FIFO ------------------------------------------
HOLDER=
# start_holder LOGIN SQL: psql as LOGIN runs BEGIN and SQL and stays in the transaction.
start_holder() {
  rm -f "$TMP/holder.in"
  mkfifo "$TMP/holder.in"
  HOLDER=$(PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$TOKENCTL_PG_HOST" -p "$TOKENCTL_PG_PORT" -U "$1" -d "$PGDB" \
    >"$TMP/holder.out" 2>&1 <"$TMP/holder.in" & echo $!)
  exec 9>"$TMP/holder.in"
  printf 'BEGIN;\n%s\n\\echo holding\n' "$2" >&9
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qx holding "$TMP/holder.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the held session did not start: $(cat "$TMP/holder.out")"
  exit 1
}
# end_holder [SQL]: the held session runs SQL (COMMIT, ROLLBACK, …) and ends.
end_holder() {
  [ -n "${HOLDER-}" ] || return 0
  [ -z "${1-}" ] || printf '%s\n' "$1" >&9
  exec 9>&-
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$HOLDER" 2>/dev/null || break
    sleep 0.1
  done
  kill "$HOLDER" 2>/dev/null
  HOLDER=
}
# hold_row ID: an administrator revokes token ID in an open transaction, as `tokenctl
# revoke` does (the writers' lock, then tokenctl.revoke_token()), and holds its row so
# until end_holder (ROLLBACK: nothing revoked; COMMIT: revoked). No login may lock a
# token's row otherwise (no UPDATE grant: no SELECT … FOR UPDATE).
hold_row() {
  start_holder "$L_adm" "SELECT tokenctl.lock_writers();
    SELECT tokenctl.revoke_token((SELECT id FROM tokenctl.tokens WHERE token_id = '$1'),
      (extract(epoch FROM clock_timestamp()) * 1000)::bigint);"
}

# --- A request in flight --------------------------------------------------------------------
# send_token REFRESH: POST /oauth2/token with REFRESH, in the background; its answer in
# $TMP/inflight, SENT_AT the time it was sent.
send_token() {
  : >"$TMP/inflight"
  SENT_AT=$(now_ms)
  python3 "$CLIENT" "$SOCK" request POST "/oauth2/token?$(q "$1")" >"$TMP/inflight" 2>&1 &
  INFLIGHT=$!
}
# answered: the request in flight has its answer (its status line is out).
answered() { [ -s "$TMP/inflight" ]; }
# await_token: waits for the request in flight; STATUS and BODY as req sets them; TOOK ms.
await_token() {
  wait "$INFLIGHT"
  TOOK=$(($(now_ms) - SENT_AT))
  STATUS=$(head -n 1 "$TMP/inflight")
  BODY=$(sed -n '/^$/,$p' "$TMP/inflight" | sed '1d' | grep -v '^closed$')
  OUT=$(cat "$TMP/inflight")
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

serve_as_gw --workers 2

# ---------------------------------------------------------------------------------------
case_ "the token's row held by an administrator: /oauth2/token waits, /auth of another token is answered"
R1=$(secret_of "$T1" refresh-token)
before=$(state_of "$T1")
hold_row "$T1"
send_token "$R1"
sleep 2
if answered; then fail "answered while the row was held: $(head -n 1 "$TMP/inflight")"; else pass; fi
req GET /auth "Authorization: Bearer $ACCESS2"
expect_status 204
expect_header "x-tokenctl-token-id: $T2"
if answered; then fail "answered while the row was held"; else pass; fi
check test "$(state_of "$T1")" = "$before"
case_ "the row released (ROLLBACK): the waiting request completes, 200 and a successor"
end_holder "ROLLBACK;"
await_token
expect_status 200
NEXT=$(field "$BODY" refresh_token)
check test -n "$NEXT"
check test "$NEXT" != "$R1"
check test "$(secret_of "$T1" refresh-token)" = "$NEXT"
check test "$(secret_of "$T1" access-token)" = "$(field "$BODY" access_token)"
check test "$(rotations "$T1")" = 1
if [ "$TOOK" -ge 1900 ]; then pass; else fail "answered after $TOOK ms, before the release"; fi

case_ "the row held by an administrator whose revoke commits: the waiting request gets invalid_grant"
T3=$(new_id)
R3=$(secret_of "$T3" refresh-token)
hold_row "$T3"
send_token "$R3"
sleep 1.5
if answered; then fail "answered while the row was held"; else pass; fi
end_holder "COMMIT;"
await_token
expect_status 400
check grep -qx '{"error":"invalid_grant"}' <<<"$BODY"
check test "$(rotations "$T3")" = 0
check test "$(sql "SELECT revoked_at IS NOT NULL FROM tokenctl.tokens WHERE token_id = '$T3'")" = t

case_ "the row held past the lock timeout: 503 temporarily_unavailable, the state unchanged"
before=$(state_of "$T1")
hold_row "$T1"
send_token "$NEXT"
await_token
end_holder "ROLLBACK;"
expect_status 503
check grep -qx '{"error":"temporarily_unavailable"}' <<<"$BODY"
if [ "$TOOK" -ge 9500 ] && [ "$TOOK" -le 20000 ]; then pass; else fail "503 after $TOOK ms, expected about 10 s"; fi
check test "$(state_of "$T1")" = "$before"
case_ "after the timeout and the release, the old refresh token still works"
req POST "/oauth2/token?$(q "$NEXT")"
expect_status 200
PREV=$NEXT
NEXT=$(field "$BODY" refresh_token)
check test "$NEXT" != "$PREV"
check test "$(secret_of "$T1" refresh-token)" = "$NEXT"
check test "$(rotations "$T1")" = 2

# ---------------------------------------------------------------------------------------
case_ "the writers' lock held by an administrator: a client's refresh does not wait for it"
start_holder "$L_adm" "SELECT tokenctl.lock_writers();"
send_token "$NEXT"
await_token
expect_status 200
if [ "$TOOK" -lt 5000 ]; then pass; else fail "took $TOOK ms under the writers' lock"; fi
PREV=$NEXT
NEXT=$(field "$BODY" refresh_token)
check test "$NEXT" != "$PREV"
# A CLI writer waits for the holder: it is serialized with serve by the token's row.
timeout -k 2 5 env PGUSER="$L_alice" "$TOKENCTL_BIN" refresh "$T1" --format refresh-token >/dev/null 2>&1
check test $? = 124
end_holder "ROLLBACK;"
check test "$(secret_of "$T1" refresh-token)" = "$NEXT"

# ---------------------------------------------------------------------------------------
# race_cli_http REFRESH: `tokenctl refresh` of T1 by alice and POST /oauth2/token with
# REFRESH at once; CLI_RC, CLI_OUT (its new refresh token), STATUS, BODY.
race_cli_http() {
  PGUSER=$L_alice "$TOKENCTL_BIN" refresh "$T1" --format refresh-token >"$TMP/cli.out" 2>"$TMP/cli.err" &
  local cli=$!
  send_token "$1"
  wait "$cli"
  CLI_RC=$?
  CLI_OUT=$(cat "$TMP/cli.out")
  await_token
}
# After a race: each presented refresh token made one successor at most, and the stored
# secrets are the CLI's (which came last, or whose successor the client got again).
race_consistent() {
  check test "$CLI_RC" = 0
  expect_status 200
  local http stored
  http=$(field "$BODY" refresh_token)
  stored=$(secret_of "$T1" refresh-token)
  check test "$stored" = "$CLI_OUT"
  if [ "$http" = "$CLI_OUT" ]; then
    CLIENT_SECOND=$((CLIENT_SECOND + 1))
    # The client came second: its old refresh token was the previous one, within the grace.
    check test "$(resends "$T1")" = $((resends_before + 1))
    check test "$(rotations "$T1")" = "$rotations_before"
  else
    CLIENT_FIRST=$((CLIENT_FIRST + 1))
    # The client came first: one rotation of its own, then the CLI's on top of it.
    check test "$(rotations "$T1")" = $((rotations_before + 1))
    check test "$(resends "$T1")" = "$resends_before"
    check test "$(sql "SELECT encode(previous_refresh_digest, 'hex') FROM tokenctl.tokens WHERE token_id = '$T1'")" = \
      "$(printf '%s' "$http" | sha256sum | cut -d' ' -f1)"
  fi
  check test "$(sql "SELECT count(*) FROM tokenctl.tokens WHERE token_id = '$T1' AND revoked_at IS NULL")" = 1
}
CLIENT_FIRST=0
CLIENT_SECOND=0
case_ "tokenctl refresh and /oauth2/token of one token, queued behind a held row and released together"
rotations_before=$(rotations "$T1")
resends_before=$(resends "$T1")
hold_row "$T1"
PGUSER=$L_alice "$TOKENCTL_BIN" refresh "$T1" --format refresh-token >"$TMP/cli.out" 2>"$TMP/cli.err" &
cli=$!
send_token "$NEXT"
sleep 1
end_holder "ROLLBACK;"
wait "$cli"
CLI_RC=$? CLI_OUT=$(cat "$TMP/cli.out")
await_token
race_consistent
NEXT=$(secret_of "$T1" refresh-token)

case_ "tokenctl refresh and /oauth2/token of one token at the same time, five rounds"
for round in 1 2 3 4 5; do
  rotations_before=$(rotations "$T1")
  resends_before=$(resends "$T1")
  race_cli_http "$NEXT"
  race_consistent
  NEXT=$(secret_of "$T1" refresh-token)
done
echo "races of tokenctl refresh and /oauth2/token: the client first $CLIENT_FIRST times, second $CLIENT_SECOND times"
stop_serve
check test "$SERVE_RC" = 0

# ---------------------------------------------------------------------------------------
# serve_through MODE: serve (1 worker: the next request uses the session whose connection
# was cut) through the proxy, which cuts at the COMMIT of the first client refresh.
serve_through() {
  COMMIT_PROXY_AFTER=claim_client_refresh start_proxy "$1"
  SOCK="$TMP/proxied.sock"
  PGUSER=$L_gw SERVE_AS=$L_gw TOKENCTL_DB=$PROXY_DB start_serve --workers 1
}

case_ "the COMMIT's answer lost during /oauth2/token: 503, serve keeps running"
R=$(secret_of "$T2" refresh-token)
serve_through after
req POST "/oauth2/token?$(q "$R")"
expect_status 503
expect_body '{"error":"temporarily_unavailable"}'
if grep -q '^CUT after' "$TMP/proxy.log" 2>/dev/null; then pass; else fail "the proxy cut nothing: $(tr '\n' '|' <"$TMP/proxy.log" | head -c 600)"; fi
check kill -0 "$SERVE_PID"
check test "$(rotations "$T2")" = 1
COMMITTED_REFRESH=$(secret_of "$T2" refresh-token)
COMMITTED_ACCESS=$(secret_of "$T2" access-token)
check test "$COMMITTED_REFRESH" != "$R"
case_ "the COMMIT's answer lost: serve connects again; the retry gets the committed successor"
req GET /healthz
expect_status 200
req POST "/oauth2/token?$(q "$R")"
expect_status 200
check test "$(field "$BODY" refresh_token)" = "$COMMITTED_REFRESH"
check test "$(field "$BODY" access_token)" = "$COMMITTED_ACCESS"
check test "$(rotations "$T2")" = 1
check test "$(resends "$T2")" = 1
req GET /auth "Authorization: Bearer $COMMITTED_ACCESS"
expect_status 204
expect_header "x-tokenctl-token-id: $T2"
req GET /auth "Authorization: Bearer $ACCESS2"
expect_status 401
stop_serve
check test "$SERVE_RC" = 0
check grep -q 'whether it was made is unknown' "$SERVE_LOG"
check grep -q 'the connection to the registry was lost; connecting again' "$SERVE_LOG"
stop_proxy

case_ "cut just before the COMMIT of /oauth2/token: 503, nothing committed"
R=$COMMITTED_REFRESH
before=$(state_of "$T2")
serve_through before
req POST "/oauth2/token?$(q "$R")"
expect_status 503
expect_body '{"error":"temporarily_unavailable"}'
if grep -q '^CUT before' "$TMP/proxy.log" 2>/dev/null; then pass; else fail "the proxy cut nothing: $(tr '\n' '|' <"$TMP/proxy.log" | head -c 600)"; fi
check kill -0 "$SERVE_PID"
check test "$(state_of "$T2")" = "$before"
case_ "cut before the COMMIT: the old refresh token works on the retry"
req POST "/oauth2/token?$(q "$R")"
expect_status 200
NEW=$(field "$BODY" refresh_token)
check test "$NEW" != "$R"
check test "$(secret_of "$T2" refresh-token)" = "$NEW"
check test "$(rotations "$T2")" = 2
req GET /auth "Authorization: Bearer $(field "$BODY" access_token)"
expect_status 204
stop_serve
check test "$SERVE_RC" = 0
stop_proxy

case_ "no secret in serve's log"
no_secret_in_log

finish
