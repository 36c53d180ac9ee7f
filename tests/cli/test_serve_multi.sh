#!/usr/bin/env bash
# Two serve processes on one registry, A and B, each on a socket of its own: a token
# passes on both; a revoke through the CLI is honoured by the very next /auth and
# /introspect of both; a refresh through A's /oauth2/token is honoured by B at once; an
# application removed through the CLI is refused by both; a refresh token rotated through A
# and replayed through B after the reuse grace is a reuse (invalid_grant, the token
# revoked, one refresh-reuse record); 50 simultaneous refreshes of one token, split
# between A and B, make exactly one successor, stored and audited once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

client_registry
a2=$(new_token --as alice)
ACCESS2=$("$TOKENCTL_BIN" --as alice download "$a2" --format access-token)
BOB_ACCESS=$("$TOKENCTL_BIN" --as bob download "$B1" --format access-token)
BOB_REFRESH=$("$TOKENCTL_BIN" --as bob download "$B1" --format refresh-token)
SOCK_A="$TMP/a.sock"
SOCK_B="$TMP/b.sock"
FORM="Content-Type: application/x-www-form-urlencoded"
q() { printf 'client_id=%s&client_secret=%s&grant_type=refresh_token&refresh_token=%s' "$1" "$2" "$3"; }
rotations() { sql "select count(*) from audit where action = 'refresh' and detail = 'both secrets rotated, by its client'"; }
reuses() { sql "select count(*) from audit where action = 'refresh-reuse'"; }

# on A|B: the next requests go to that server.
on() { if [ "$1" = A ]; then SOCK=$SOCK_A; else SOCK=$SOCK_B; fi; }
# start_both ARGS...: A and B, each with ARGS; PID_A, PID_B.
start_both() {
  on A
  start_serve "$@"
  PID_A=$SERVE_PID
  on B
  start_serve "$@"
  PID_B=$SERVE_PID
}
stop_both() {
  SERVE_PID=$PID_A
  stop_serve
  check test "$SERVE_RC" = 0
  SERVE_PID=$PID_B
  stop_serve
  check test "$SERVE_RC" = 0
}
# passes SERVER ACCESS ID: /auth 204 naming token ID, /introspect active, on SERVER.
passes() {
  on "$1"
  req GET /auth "Authorization: Bearer $2"
  expect_status 204
  expect_header "x-tokenctl-token-id: $3"
  req POST /introspect "$FORM" --body "token=$2"
  expect_status 200
  if [ "$(json_field "$BODY" active 2>/dev/null)" = True ] &&
    [ "$(json_field "$BODY" token_id 2>/dev/null)" = "$3" ]; then pass; else fail "$1: not active: $BODY"; fi
}
# refused SERVER ACCESS: /auth 401, /introspect exactly {"active":false}, on SERVER.
refused() {
  on "$1"
  req GET /auth "Authorization: Bearer $2"
  expect_status 401
  expect_body '{"error":"invalid_token"}'
  req POST /introspect "$FORM" --body "token=$2"
  expect_status 200
  expect_body '{"active":false}'
}

start_both
case_ "one token passes on both servers"
passes A "$ACCESS" "$A1"
passes B "$ACCESS" "$A1"
passes A "$ACCESS2" "$a2"
passes B "$ACCESS2" "$a2"

case_ "a revoke through the CLI: the very next /auth and /introspect of both refuse"
"$TOKENCTL_BIN" --as alice revoke "$a2" --yes >/dev/null
refused A "$ACCESS2"
refused B "$ACCESS2"
check test "$(status_of alice "$a2")" = revoked

case_ "a refresh through A: B refuses the old access token and passes the new one at once"
on A
req POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$REFRESH")"
expect_status 200
NEXT=$(json_field "$BODY" refresh_token)
NEW_ACCESS=$(json_field "$BODY" access_token)

case_ "the old refresh token again through B, within the grace: A's successor, no second rotation"
# At once: each request of serve_client.py takes up to 2 s (it waits to see whether the
# server closes the connection), and the grace is 10 s.
on B
req POST /oauth2/token "$FORM" --body "$(q "$CLIENT_ID" "$SECRET" "$REFRESH")"
expect_status 200
check test "$(json_field "$BODY" refresh_token)" = "$NEXT"
check test "$(json_field "$BODY" access_token)" = "$NEW_ACCESS"
check test "$(rotations)" = 1

case_ "a refresh through A: B refuses the old access token and passes the new one at once"
refused B "$ACCESS"
passes B "$NEW_ACCESS" "$A1"
refused A "$ACCESS"
passes A "$NEW_ACCESS" "$A1"
check test "$("$TOKENCTL_BIN" --as alice download "$A1" --format refresh-token)" = "$NEXT"
check test "$(rotations)" = 1

case_ "50 simultaneous refreshes of one token, split between A and B: one successor"
before=$(rotations)
tokens_before=$(sql "select count(*) from tokens")
python3 "$CLIENT" "$SOCK_A" parallel 25 POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$NEXT")" >"$TMP/par.a" &
par_a=$!
python3 "$CLIENT" "$SOCK_B" parallel 25 POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$NEXT")" >"$TMP/par.b" &
par_b=$!
wait "$par_a" "$par_b"
cat "$TMP/par.a" "$TMP/par.b" >"$TMP/parallel"
check test "$(wc -l <"$TMP/parallel")" = 50
# Within the grace every one of them gets the one successor.
check test "$(grep -c '^200 tcr_' "$TMP/parallel")" = 50
check test "$(sort -u "$TMP/parallel" | wc -l)" = 1
SUCCESSOR=$(head -n 1 "$TMP/parallel" | cut -d' ' -f2)
check test "$SUCCESSOR" != "$NEXT"
check test "$("$TOKENCTL_BIN" --as alice download "$A1" --format refresh-token)" = "$SUCCESSOR"
check test "$(rotations)" = $((before + 1))
check test "$(sql "select count(*) from tokens")" = "$tokens_before"
check test "$(status_of alice "$A1")" = active
run --as alice list --all --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -c "^$A1,")" = 1
NEXT=$SUCCESSOR
CURRENT_ACCESS=$("$TOKENCTL_BIN" --as alice download "$A1" --format access-token)
passes A "$CURRENT_ACCESS" "$A1"
passes B "$CURRENT_ACCESS" "$A1"

case_ "an application removed through the CLI: both refuse its tokens"
passes A "$BOB_ACCESS" "$B1"
passes B "$BOB_ACCESS" "$B1"
"$TOKENCTL_BIN" --as bob app remove bob --yes >/dev/null
refused A "$BOB_ACCESS"
refused B "$BOB_ACCESS"
for server in A B; do
  on $server
  req POST "/oauth2/token?$(q "$BOB_CLIENT" "$BOB_SECRET" "$BOB_REFRESH")"
  expect_status 401
  expect_body '{"error":"invalid_client"}'
done
check test "$(status_of bob "$B1")" = revoked
stop_both

case_ "rotated through A, replayed through B after the reuse grace: reuse, the token revoked"
start_both --reuse-grace 1s
on A
req POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$NEXT")"
expect_status 200
OLD=$NEXT
NEXT=$(json_field "$BODY" refresh_token)
LAST_ACCESS=$(json_field "$BODY" access_token)
passes B "$LAST_ACCESS" "$A1"
sleep 1.5
on B
req POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$OLD")"
expect_status 400
expect_body '{"error":"invalid_grant"}'
check test "$(status_of alice "$A1")" = revoked
check test "$(sql "select actor || '|' || action || '|' || subject || '|' || outcome from audit where action = 'refresh-reuse'")" = "gw|refresh-reuse|$A1|ok"
refused A "$LAST_ACCESS"
refused B "$LAST_ACCESS"

case_ "after the reuse: the successor and the old token again, on either server, are invalid_grant, audited once"
for server in A B; do
  on $server
  req POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$NEXT")"
  expect_status 400
  expect_body '{"error":"invalid_grant"}'
  req POST "/oauth2/token?$(q "$CLIENT_ID" "$SECRET" "$OLD")"
  expect_status 400
  expect_body '{"error":"invalid_grant"}'
done
check test "$(reuses)" = 1
run audit --action refresh-reuse --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -c ",gw,refresh-reuse,$A1,ok,")" = 1
on B
req GET /metrics
check grep -qx 'tokenctl_serve_refresh_reuse_total 1' <<<"$BODY"
on A
req GET /metrics
check grep -qx 'tokenctl_serve_refresh_reuse_total 0' <<<"$BODY"
stop_both

case_ "no secret in either server's log"
no_secret_in_log

finish
