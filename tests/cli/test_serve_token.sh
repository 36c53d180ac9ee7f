#!/usr/bin/env bash
# serve's POST /oauth2/token: a client's refresh over HTTP (parameters in the query string,
# as pycentral sends them, or a form body), both secrets rotated and committed before the
# answer; the same successor again within the reuse grace, the token revoked after it; the
# RFC 6749 §5.2 errors; simultaneous refreshes of one token make one successor; no secret
# in serve's log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

client_registry
a1=$A1
CID=$CLIENT_ID
FORM="Content-Type: application/x-www-form-urlencoded"
# token QUERY [--body TEXT]: POST /oauth2/token?QUERY
token() {
  local query=$1
  shift
  if [ $# -gt 0 ]; then
    req POST "/oauth2/token?$query" "$FORM" "$@"
  else
    req POST "/oauth2/token?$query"
  fi
}
q() { printf 'client_id=%s&client_secret=%s&grant_type=refresh_token&refresh_token=%s' "$1" "$2" "$3"; }
grant_error() {
  expect_status "$1"
  expect_body "{\"error\":\"$2\"}"
  expect_header "content-type: application/json"
  expect_header "cache-control: no-store"
  expect_header "pragma: no-cache"
}

case_ "--reuse-grace: a bad duration is exit 2"
run --as gw serve --listen "unix:$SOCK" --reuse-grace 10x
expect_error 2
expect_err_has "--reuse-grace"
run --as gw serve --listen "unix:$SOCK" --reuse-grace ""
expect_error 2

start_serve
case_ "the query string, as pycentral sends it: 200, the token file, rotated"
token "$(q "$CID" "$SECRET" "$REFRESH")"
expect_status 200
expect_header "content-type: application/json"
expect_header "cache-control: no-store"
expect_header "pragma: no-cache"
FIRST=$BODY
expect_client_refresh_file "$BODY" "$a1" "$CID" "$REFRESH" "$ACCESS"
NEXT=$(json_field "$FIRST" refresh_token)
NEW_ACCESS=$(json_field "$FIRST" access_token)
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$NEXT"
check test "$(sql "select count(*) from audit where action = 'refresh' and detail = 'both secrets rotated, by its client'")" = 1

case_ "the new access token passes /auth, the old one is 401"
req GET /auth "Authorization: Bearer $NEW_ACCESS"
expect_status 204
expect_header "x-tokenctl-token-id: $a1"
req GET /auth "Authorization: Bearer $ACCESS"
expect_status 401

case_ "the old refresh token again, within the grace: the same file"
token "$(q "$CID" "$SECRET" "$REFRESH")"
expect_status 200
check test "$(json_field "$BODY" refresh_token)" = "$NEXT"
check test "$(json_field "$BODY" access_token)" = "$NEW_ACCESS"
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$NEXT"

case_ "a form body, and the query and the body together"
token "" --body "$(q "$CID" "$SECRET" "$NEXT")"
expect_status 200
PREV=$NEXT
NEXT=$(json_field "$BODY" refresh_token)
check test "$NEXT" != "$PREV"
token "grant_type=refresh_token&client_id=$CID" --body "client_secret=$SECRET&refresh_token=$NEXT"
expect_status 200
PREV=$NEXT
NEXT=$(json_field "$BODY" refresh_token)
check test "$NEXT" != "$PREV"

case_ "wrong client secret, unknown client, another application's: 401 invalid_client"
snapshot
token "$(q "$CID" "$BOB_SECRET" "$NEXT")"
grant_error 401 invalid_client
expect_header 'www-authenticate: Basic realm="tokenctl"'
check test "$CLOSED" = 1
token "$(q 00000000000000000000000000000000 "$SECRET" "$NEXT")"
grant_error 401 invalid_client
token "$(q "$BOB_CLIENT" "$BOB_SECRET" "$NEXT")"
grant_error 401 invalid_client
token "$(q not-a-client "$SECRET" "$NEXT")"
grant_error 401 invalid_client
expect_unchanged

case_ "unknown, malformed, expired or revoked refresh tokens, an access token: 400 invalid_grant"
token "$(q "$CID" "$SECRET" tcr_0000000000000000000000000000000000000000000000000)"
grant_error 400 invalid_grant
token "$(q "$CID" "$SECRET" tcr_short)"
grant_error 400 invalid_grant
token "$(q "$CID" "$SECRET" "$NEW_ACCESS")"
grant_error 400 invalid_grant
a2=$(new_token --as alice)
r2=$("$TOKENCTL_BIN" --as alice download "$a2" --format refresh-token)
expire_token "$a2"
token "$(q "$CID" "$SECRET" "$r2")"
grant_error 400 invalid_grant
a3=$(new_token --as alice)
r3=$("$TOKENCTL_BIN" --as alice download "$a3" --format refresh-token)
"$TOKENCTL_BIN" --as alice revoke "$a3" --yes >/dev/null
token "$(q "$CID" "$SECRET" "$r3")"
grant_error 400 invalid_grant

case_ "missing, empty, repeated or malformed parameters: 400 invalid_request"
token "client_id=$CID&client_secret=$SECRET&grant_type=refresh_token"
grant_error 400 invalid_request
token "client_id=$CID&grant_type=refresh_token&refresh_token=$NEXT"
grant_error 400 invalid_request
token "client_secret=$SECRET&grant_type=refresh_token&refresh_token=$NEXT"
grant_error 400 invalid_request
token "client_id=$CID&client_secret=$SECRET&refresh_token=$NEXT"
grant_error 400 invalid_request
token "$(q "$CID" "$SECRET" "")"
grant_error 400 invalid_request
token "$(q "$CID" "$SECRET" "$NEXT")&client_id=$CID"
grant_error 400 invalid_request
token "$(q "$CID" "$SECRET" "$NEXT")" --body "refresh_token=$NEXT"
grant_error 400 invalid_request
token "$(q "$CID" "$SECRET" "$NEXT")&x=%zz"
grant_error 400 invalid_request
token "$(q "$CID" "$SECRET" "$NEXT")&&"
grant_error 400 invalid_request
req POST /oauth2/token "Content-Type: application/json" --body "{\"grant_type\":\"refresh_token\"}"
grant_error 400 invalid_request
req GET "/oauth2/token?$(q "$CID" "$SECRET" "$NEXT")"
expect_status 405
expect_header "allow: POST"

case_ "another grant_type: 400 unsupported_grant_type"
token "client_id=$CID&client_secret=$SECRET&grant_type=password&username=alice&password=x"
grant_error 400 unsupported_grant_type
token "client_id=$CID&client_secret=$SECRET&grant_type=authorization_code&code=x"
grant_error 400 unsupported_grant_type
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$NEXT"

case_ "100 simultaneous refreshes of one token: one successor"
python3 "$CLIENT" "$SOCK" parallel 100 POST "/oauth2/token?$(q "$CID" "$SECRET" "$NEXT")" >"$TMP/parallel"
check test "$(wc -l <"$TMP/parallel")" = 100
check test "$(grep -c '^200 tcr_' "$TMP/parallel")" -ge 1
# Every answer is the one successor or a refusal; never two successors.
check test "$(grep '^200 ' "$TMP/parallel" | sort -u | wc -l)" = 1
check test "$(grep -vc '^200 ' "$TMP/parallel")" = "$(grep -c '^[45]0[0-9] ' "$TMP/parallel")"
SUCCESSOR=$(grep -m1 '^200 ' "$TMP/parallel" | cut -d' ' -f2)
check test "$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)" = "$SUCCESSOR"
check test "$(status_of alice "$a1")" = active
NEXT=$SUCCESSOR

case_ "metrics: requests of the token endpoint, failed client authentications by client ID"
req GET /metrics
check grep -q '^tokenctl_serve_requests_total{endpoint="token",code="200"} ' <<<"$BODY"
check grep -q '^tokenctl_serve_requests_total{endpoint="token",code="401"} 4$' <<<"$BODY"
check grep -qx "tokenctl_serve_client_auth_failures_total{client_id=\"$CID\"} 1" <<<"$BODY"
check grep -qx "tokenctl_serve_client_auth_failures_total{client_id=\"$BOB_CLIENT\"} 1" <<<"$BODY"
check grep -qx 'tokenctl_serve_client_auth_failures_total{client_id="00000000000000000000000000000000"} 1' <<<"$BODY"
check grep -qx 'tokenctl_serve_client_auth_failures_total{client_id="other"} 1' <<<"$BODY"
check grep -qx 'tokenctl_serve_refresh_reuse_total 0' <<<"$BODY"
stop_serve
check test "$SERVE_RC" = 0

case_ "after the reuse grace: 400 invalid_grant, the token revoked, refresh-reuse audited"
start_serve --reuse-grace 1s
token "$(q "$CID" "$SECRET" "$NEXT")"
expect_status 200
OLD=$NEXT
NEXT=$(json_field "$BODY" refresh_token)
LAST_ACCESS=$(json_field "$BODY" access_token)
req GET /auth "Authorization: Bearer $LAST_ACCESS"
expect_status 204
sleep 1.5
token "$(q "$CID" "$SECRET" "$OLD")"
grant_error 400 invalid_grant
check test "$(status_of alice "$a1")" = revoked
check test "$(sql "select actor || '|' || action || '|' || subject || '|' || outcome from audit where action = 'refresh-reuse'")" = "gw|refresh-reuse|$a1|ok"
req GET /auth "Authorization: Bearer $LAST_ACCESS"
expect_status 401
token "$(q "$CID" "$SECRET" "$NEXT")"
grant_error 400 invalid_grant
req GET /metrics
check grep -qx 'tokenctl_serve_refresh_reuse_total 1' <<<"$BODY"
stop_serve
check grep -q 'presented again after the reuse grace: its token is revoked' "$SERVE_LOG"

case_ "the log holds no secret, no query string"
no_secret_in_log
check grep -q '^tokenctl: serve: POST /oauth2/token 200 ' "$SERVE_LOG"
if grep -qaE "client_secret|refresh_token=|$SECRET" "$SERVE_LOG"; then fail "a parameter in serve's log"; else pass; fi

finish
