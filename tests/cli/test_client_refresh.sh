#!/usr/bin/env bash
# serve's client refresh (POST /oauth2/token without HTTP: tokenctl-client-refresh calls
# refresh_for_client): client ID + client secret + refresh token rotate both secrets, as
# refresh does; refresh-token reuse within the grace gets the same successor, after it
# revokes the token. On PostgreSQL it runs as the verifier login gw, through the schema's
# functions.
. "$(dirname "$0")/lib.sh"
require_tools python3

client_registry
a1=$A1
b1=$B1
CLIENT=$CLIENT_ID

case_ "the client's refresh rotates both secrets and returns the token file"
client_refresh "$CLIENT" "$SECRET" "$REFRESH"
expect_rc 0
expect_err_empty
FIRST=$OUT
expect_client_refresh_file "$OUT" "$a1" "$CLIENT" "$REFRESH" "$ACCESS"
NEXT=$(json_field "$FIRST" refresh_token)
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$NEXT"
run --stdin "$ACCESS" --as gw verify
expect_rc 4
check test "$(sql "select actor || '|' || action || '|' || subject || '|' || outcome from audit where action like 'refresh%'")" = "alice|refresh|$a1|ok"

case_ "the same refresh token again, within the grace: the same successor, no second rotation"
client_refresh "$CLIENT" "$SECRET" "$REFRESH"
expect_rc 0
check test "$(json_field "$OUT" refresh_token)" = "$NEXT"
check test "$(json_field "$OUT" access_token)" = "$(json_field "$FIRST" access_token)"
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$NEXT"

case_ "simultaneous refreshes of one token make one successor"
REFRESH=$NEXT
for i in $(seq 1 20); do
  # Each in a folder of its own: client_refresh keeps its input and output in $TMP.
  (
    out=$TMP/par.$i
    TMP=$TMP/client.$i
    mkdir -p "$TMP"
    client_refresh "$CLIENT" "$SECRET" "$REFRESH"
    printf '%s %s\n' "$RC" "$(json_field "$OUT" refresh_token)" >"$out"
  ) &
done
wait
check test "$(cat "$TMP"/par.* | sort -u | wc -l)" = 1
check test "$(cut -d' ' -f1 "$TMP"/par.* | sort -u)" = 0
NEXT=$(cut -d' ' -f2 "$TMP/par.1")
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$NEXT"
check test "$(sql "select count(*) from audit where action = 'refresh' and detail = 'both secrets rotated, by its client'")" = 2

case_ "wrong client secret, unknown client, another application's credentials: invalid_client"
snapshot
client_refresh "$CLIENT" "$BOB_SECRET" "$NEXT"
check test "$RC" = 10
expect_out "invalid_client"
expect_err_empty
client_refresh "00000000000000000000000000000000" "$SECRET" "$NEXT"
check test "$RC" = 10
client_refresh "$BOB_CLIENT" "$BOB_SECRET" "$NEXT"
check test "$RC" = 10
expect_unchanged

case_ "an unknown refresh token or an access token: invalid_grant"
client_refresh "$CLIENT" "$SECRET" "$("$TOKENCTL_BIN" --as bob download "$b1" --format refresh-token)"
check test "$RC" = 10 # bob's token is another application's
client_refresh "$CLIENT" "$SECRET" "tcr_0000000000000000000000000000000000000000000000000"
check test "$RC" = 11
expect_out "invalid_grant"
client_refresh "$CLIENT" "$SECRET" "$ACCESS"
check test "$RC" = 11

case_ "only a verifier or an administrator refreshes for clients"
client_refresh "$CLIENT" "$SECRET" "$NEXT" 10000 alice
expect_rc 3
client_refresh "$CLIENT" "$SECRET" "$NEXT" 10000 admin
expect_rc 0
PREVIOUS=$NEXT
NEXT=$(json_field "$OUT" refresh_token)

case_ "an old refresh token after the grace: the token is revoked, refresh-reuse recorded"
# Two rotations back it is only unknown; the one rotated away last is a reuse.
client_refresh "$CLIENT" "$SECRET" "$REFRESH" 10
check test "$RC" = 11
check test "$(status_of alice "$a1")" = active
sleep 0.1
client_refresh "$CLIENT" "$SECRET" "$PREVIOUS" 10
check test "$RC" = 11
expect_out "invalid_grant"
check test "$(status_of alice "$a1")" = revoked
check test "$(sql "select actor || '|' || action || '|' || subject || '|' || outcome from audit where action = 'refresh-reuse'")" = "gw|refresh-reuse|$a1|ok"
# Both secrets stopped working: the successor too.
client_refresh "$CLIENT" "$SECRET" "$NEXT"
check test "$RC" = 11
run --as alice download "$a1"
expect_error 5
run audit --action refresh-reuse --format csv --no-headers
expect_rc 0
expect_out_has ",gw,refresh-reuse,$a1,ok,"

case_ "no secret in any audit record"
check test "$(sql "select count(*) from audit where actor || action || subject || detail like '%tc_\\_%' escape '\\'")" = 0

finish
