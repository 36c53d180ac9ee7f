#!/usr/bin/env bash
# serve: GET /auth, POST /introspect, /healthz and /metrics against the registry as the
# CLI changes it (a revoke or a refresh is honoured by the very next request), who may
# serve, and bad --listen values.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

fresh_db
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
id=$(new_token --for alice --name shop)
access=$("$TOKENCTL_BIN" --as alice download "$id" --format access-token)
refresh=$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)

case_ "start-up refusals: one error line each"
run --as alice serve --listen "unix:$SOCK"
expect_error 3
expect_err_has "only verifiers and administrators can run serve, and alice is a user"
if unknown_actor_audited; then
  check test "$(sql "select count(*) from audit where action = 'serve' and outcome = 'denied'")" = 1
fi
run --as gw serve --listen "bogus"
expect_error 2
run --as gw serve --listen "unix:relative.sock"
expect_error 2
run --as gw serve --listen "0.0.0.0:8080"
expect_error 2
expect_err_has "needs TLS"
run --as gw serve --listen "[2001:db8::1]:8080"
expect_error 2
run --as gw serve --listen "127.0.0.1:99999"
expect_error 2
run --as gw serve --workers 0 --listen "unix:$SOCK"
expect_error 2
if sqlite_only; then
  run --db "$TMP/missing.db" --as gw serve --listen "unix:$SOCK"
  expect_error 1
fi

start_serve
case_ "the socket is 0660"
check test "$(stat -c %a "$SOCK")" = 660

case_ "GET /auth with a valid access token: 204 and who it is"
req GET /auth "Authorization: Bearer $access"
expect_status 204
expect_header "x-tokenctl-user: alice"
expect_header "x-tokenctl-application: shop"
expect_header "x-tokenctl-token-id: $id"
expect_header "cache-control: no-store"
expect_no_header content-length
check test "$BODY" = ""
req GET /auth "authorization: bearer    $access"
expect_status 204
check test "$CLOSED" = 0

case_ "Connection: close is honoured (the request's headers are overwritten once answered)"
req GET /auth "Authorization: Bearer $access" "Connection: close"
expect_status 204
expect_header "connection: close"
check test "$CLOSED" = 1

invalid_token() {
  expect_status 401
  expect_header 'www-authenticate: Bearer error="invalid_token"'
  expect_header "content-type: application/json"
  expect_body '{"error":"invalid_token"}'
}
case_ "GET /auth: 401 for a missing, malformed, unknown or refresh token"
req GET /auth
invalid_token
req GET /auth "Authorization: Bearer tca_short"
invalid_token
req GET /auth "Authorization: Basic YWxpY2U6eA=="
invalid_token
req GET /auth "Authorization: Bearer ${access:0:20}x${access:21}"
invalid_token
req GET /auth "Authorization: Bearer $refresh"
invalid_token

case_ "POST /introspect: active, exactly"
exp=$("$TOKENCTL_BIN" --as alice list --format json |
  python3 -c 'import json,sys,datetime; t=json.load(sys.stdin)[0]; print(int(datetime.datetime.fromisoformat(t["access_expires_at"].replace("Z","+00:00")).timestamp()))')
client=$("$TOKENCTL_BIN" --as alice list --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["client_id"])')
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$access"
expect_status 200
expect_header "cache-control: no-store"
check test "$(printf '%s' "$BODY" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(list(o))')" = \
  "['active', 'token_type', 'client_id', 'username', 'sub', 'exp', 'iat', 'token_id']"
check test "$(printf '%s' "$BODY" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["active"], o["token_type"], o["client_id"], o["username"], o["sub"], o["exp"], o["token_id"], o["exp"] - o["iat"])')" = \
  "True bearer $client alice alice $exp $id 7200"

case_ "POST /introspect: exactly inactive for unknown, malformed and refresh tokens"
for t in tca_short "${access:0:20}x${access:21}" "$refresh" ""; do
  req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$t"
  expect_status 200
  expect_body '{"active":false}'
done
case_ "POST /introspect: malformed requests are 400, and closed"
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$access&token=$access"
expect_status 400
expect_body '{"error":"invalid_request"}'
check test "$CLOSED" = 1
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "tok%zzen=1"
expect_status 400
req POST /introspect "Content-Type: application/json" --body "{\"token\":\"$access\"}"
expect_status 400
req POST "/introspect?token=$access" "Content-Type: application/x-www-form-urlencoded" --body ""
expect_status 400

case_ "unknown paths 404, wrong methods 405, JSON bodies"
req GET /nowhere
expect_status 404
expect_body '{"error":"not_found"}'
req POST /auth
expect_status 405
expect_header "allow: GET"
expect_body '{"error":"method_not_allowed"}'
check test "$CLOSED" = 1
req GET /introspect
expect_status 405

case_ "a revoke through the CLI: the very next request is 401"
id2=$(new_token --for alice --name shop)
access2=$("$TOKENCTL_BIN" --as alice download "$id2" --format access-token)
req GET /auth "Authorization: Bearer $access2"
expect_status 204
"$TOKENCTL_BIN" revoke "$id2" --yes >/dev/null
req GET /auth "Authorization: Bearer $access2"
invalid_token
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$access2"
expect_body '{"active":false}'

case_ "a refresh through the CLI: the old access token 401, the new one 204"
"$TOKENCTL_BIN" --as alice refresh "$id" -o "$TMP/new.json" >/dev/null
new_access=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/new.json")
req GET /auth "Authorization: Bearer $access"
invalid_token
req GET /auth "Authorization: Bearer $new_access"
expect_status 204
expect_header "x-tokenctl-token-id: $id"

case_ "an expired token: 401, inactive"
id3=$(new_token --for alice --name shop)
access3=$("$TOKENCTL_BIN" --as alice download "$id3" --format access-token)
expire_token "$id3"
req GET /auth "Authorization: Bearer $access3"
invalid_token
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$access3"
expect_body '{"active":false}'

case_ "uses are recorded off the request path, as verify records them"
for _ in $(seq 50); do
  [ "$(sql "select coalesce(last_used_at, 0) from tokens where token_id = '$id'")" != 0 ] && break
  sleep 0.2
done
check test "$(sql "select coalesce(last_used_at, 0) from tokens where token_id = '$id'")" != 0

case_ "GET /healthz: 200"
req GET /healthz
expect_status 200

case_ "GET /metrics: counters move, tokens by status"
# Besides the active, the revoked and the expired token: one active whose refresh token
# expires within 7 days, and one revoked that would have.
new_token --for alice --name shop --refresh-ttl 3d >/dev/null
id5=$(new_token --for alice --name shop --refresh-ttl 3d)
"$TOKENCTL_BIN" revoke "$id5" --yes >/dev/null
req GET /metrics
before=$(printf '%s\n' "$BODY" | sed -n 's/^tokenctl_serve_requests_total{endpoint="auth",code="204"} //p')
req GET /auth "Authorization: Bearer $new_access"
req GET /metrics
expect_status 200
expect_header "content-type: text/plain; version=0.0.4; charset=utf-8"
after=$(printf '%s\n' "$BODY" | sed -n 's/^tokenctl_serve_requests_total{endpoint="auth",code="204"} //p')
check test "$after" = $((before + 1))
check grep -q '^tokenctl_serve_request_duration_seconds_bucket{le="0.005"} ' <<<"$BODY"
# Counted by the database, for the verifier too (on PostgreSQL it reads no token rows).
check test "$(grep '^tokenctl_tokens' <<<"$BODY")" = 'tokenctl_tokens{status="active"} 2
tokenctl_tokens{status="expired"} 1
tokenctl_tokens{status="revoked"} 2
tokenctl_tokens_expiring{within="7d"} 1'
check grep -q '^tokenctl_serve_request_duration_seconds_count ' <<<"$BODY"

case_ "GET /healthz: 503 once the key file no longer matches"
cp "$(key_file)" "$TMP/key.saved"
head -c 32 /dev/urandom >"$(key_file)"
req GET /healthz
expect_status 503
cp "$TMP/key.saved" "$(key_file)"
req GET /healthz
expect_status 200

case_ "the serving user demoted: the very next request is refused (503); a verifier again: served"
"$TOKENCTL_BIN" user set-role gw user >/dev/null
req GET /auth "Authorization: Bearer $new_access"
expect_status 503
"$TOKENCTL_BIN" user set-role gw verifier >/dev/null
req GET /auth "Authorization: Bearer $new_access"
expect_status 204

case_ "SIGTERM: exit 0, the socket removed, start and stop lines"
stop_serve
check test "$SERVE_RC" = 0
check test ! -e "$SOCK"
check grep -q '^tokenctl: serve: listening on unix:' "$SERVE_LOG"
check grep -q '^tokenctl: serve: stopped$' "$SERVE_LOG"
check grep -q '^tokenctl: serve: GET /auth 204 ' "$SERVE_LOG"

case_ "an administrator may serve too"
"$TOKENCTL_BIN" --as admin serve --listen "unix:$SOCK" 2>>"$SERVE_LOG" &
SERVE_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
req GET /auth "Authorization: Bearer $new_access"
expect_status 204
req GET /metrics
check grep -qx 'tokenctl_tokens{status="active"} 2' <<<"$BODY"
check grep -qx 'tokenctl_tokens_expiring{within="7d"} 1' <<<"$BODY"
stop_serve
check test "$SERVE_RC" = 0

case_ "the log holds no secret"
no_secret_in_log

finish
