#!/usr/bin/env bash
# serve over TLS (--tls-cert, --tls-key): a throwaway CA and server certificate made with
# the openssl command; GET /auth and POST /oauth2/token over HTTPS on a loopback address
# and on this host's first non-loopback address (if it has one); the refusals at start-up
# (a flag without its pair, only unix listeners, a missing file, a key that does not
# match, a key others may read); hostile clients on the TLS port (plain HTTP, a client
# that never says hello, TLS 1.1); libssl loaded only by serve with TLS; no secret and no
# key material in the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
require_tools openssl curl

fresh_db
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
id=$(new_token --for alice --name shop)
access=$("$TOKENCTL_BIN" --as alice download "$id" --format access-token)
refresh=$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)
client=$("$TOKENCTL_BIN" --as alice list --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["client_id"])')
secret=$("$TOKENCTL_BIN" --as alice app secret shop)
# Secrets reach curl in files, never on its command line.
printf 'Authorization: Bearer %s\n' "$access" >"$TMP/auth.header"
printf 'Authorization: Bearer tca_%s\n' "$(printf 'x%.0s' {1..40})" >"$TMP/unknown.header"
printf 'grant_type=refresh_token&client_id=%s&client_secret=%s&refresh_token=%s' \
  "$client" "$secret" "$refresh" >"$TMP/grant.form"

# This host's first non-loopback address, if any: served with TLS only.
EXTERNAL=""
for address in $(hostname -I 2>/dev/null); do
  case $address in 127.* | ::1 | *:*) ;; *)
    EXTERNAL=$address
    break
    ;;
  esac
done

# A CA, and a certificate for 127.0.0.1 (and EXTERNAL) that it signs; another key.
PKI="$TMP/pki"
mkdir -p "$PKI"
san="IP:127.0.0.1,DNS:localhost"
[ -n "$EXTERNAL" ] && san="$san,IP:$EXTERNAL"
(
  cd "$PKI" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
      -out ca.pem -days 2 -subj "/CN=tokenctl test CA" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
      -out server.csr -subj "/CN=localhost" &&
    printf 'subjectAltName=%s\n' "$san" >server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out server.pem -days 2 -extfile server.ext &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
      -out other.csr -subj "/CN=other"
) >"$TMP/openssl.log" 2>&1 || {
  echo "cannot make the test certificates:"
  cat "$TMP/openssl.log"
  exit 1
}
chmod 600 "$PKI"/*.key
CERT="$PKI/server.pem"
KEY="$PKI/server.key"
# A line of the key's base64, which nothing may ever print.
KEY_LINE=$(sed -n 2p "$KEY")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# https URL [CURL ARGS...]: one request with the test CA; STATUS, HEADERS, BODY.
https() {
  local url=$1
  shift
  curl -sS --max-time 20 --cacert "$PKI/ca.pem" -D "$TMP/headers" -o "$TMP/body" \
    -w '%{http_code}' "$@" "$url" >"$TMP/code" 2>"$TMP/curl.err"
  STATUS=$(cat "$TMP/code")
  HEADERS=$(tr -d '\r' <"$TMP/headers" 2>/dev/null | sed 1d)
  BODY=$(cat "$TMP/body" 2>/dev/null)
}
no_key_material() {
  if grep -qF -- "$KEY_LINE" "$@" || grep -qa 'PRIVATE KEY' "$@"; then
    fail "key material in $*"
  else
    pass
  fi
}

case_ "without TLS, a non-loopback address is refused: exit 2, one line"
run --as gw serve --listen "${EXTERNAL:-192.0.2.1}:0"
expect_error 2
expect_err_has "not a loopback address"
expect_err_has "--tls-cert and --tls-key"

case_ "a TLS flag without its pair, or TLS on unix sockets only: exit 2"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT"
expect_error 2
expect_err_has "--tls-cert needs --tls-key"
run --as gw serve --listen 127.0.0.1:0 --tls-key "$KEY"
expect_error 2
expect_err_has "--tls-key needs --tls-cert"
run --as gw serve --listen "unix:$SOCK" --tls-cert "$CERT" --tls-key "$KEY"
expect_error 2
expect_err_has "unix sockets are served without TLS"
check test ! -e "$SOCK"

case_ "missing, mismatched or exposed files: exit 1, one line naming the file"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$PKI/missing.pem" --tls-key "$KEY"
expect_error 1
expect_err_has "--tls-cert $PKI/missing.pem: no such file"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$PKI/missing.key"
expect_error 1
expect_err_has "--tls-key $PKI/missing.key: no such file"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$PKI/other.key"
expect_error 1
expect_err_has "--tls-key $PKI/other.key: does not match the certificate of --tls-cert $CERT"
no_key_material "$TMP/err"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$KEY" --tls-key "$KEY"
expect_error 1
expect_err_has "not a PEM certificate chain"
no_key_material "$TMP/err"
cp "$CERT" "$PKI/cert-as-key.pem"
chmod 600 "$PKI/cert-as-key.pem"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$PKI/cert-as-key.pem"
expect_error 1
expect_err_has "not an unencrypted PEM private key"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$PKI"
expect_error 1
expect_err_has "not a regular file"
cp "$KEY" "$PKI/exposed.key"
chmod 644 "$PKI/exposed.key"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$PKI/exposed.key"
expect_error 1
expect_err_has "others may read"
no_key_material "$TMP/err"
chmod 640 "$PKI/exposed.key" # its group may read it (Debian's ssl-cert)
openssl pkey -in "$KEY" -aes128 -passout pass:secret-pass -out "$PKI/encrypted.key" 2>/dev/null
chmod 600 "$PKI/encrypted.key"
run --as gw serve --listen 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$PKI/encrypted.key"
expect_error 1
expect_err_has "not an unencrypted PEM private key"

PORT=$(free_port)
listens=(--listen "127.0.0.1:$PORT" --listen "unix:$SOCK")
if [ -n "$EXTERNAL" ]; then
  EXTERNAL_PORT=$(free_port)
  listens+=(--listen "$EXTERNAL:$EXTERNAL_PORT")
fi
"$TOKENCTL_BIN" --as gw serve "${listens[@]}" --tls-cert "$CERT" --tls-key "$PKI/exposed.key" \
  2>>"$SERVE_LOG" &
SERVE_PID=$!
# Until it answers (slow to start under the sanitizers): at most 30 s.
for _ in $(seq 300); do
  https "https://127.0.0.1:$PORT/healthz"
  [ "$STATUS" = 200 ] && break
  kill -0 "$SERVE_PID" 2>/dev/null || break
  sleep 0.1
done
case_ "serve starts with TLS on every TCP listener; the group may read the key"
check test "$STATUS" = 200
check grep -q "listening on 127.0.0.1:$PORT (TLS), unix:$SOCK" "$SERVE_LOG"

# A client that connects and never says hello, timed from now: closed at the read
# deadline (10 s).
python3 - "$PORT" >"$TMP/silent" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
start = time.monotonic()
s.settimeout(60)
try:
    data = s.recv(1)
except OSError:
    data = b""
print(f"{time.monotonic() - start:.1f} {len(data)}")
PY
SILENT_PID=$!

case_ "GET /auth over TLS: 204 with who it is"
https "https://127.0.0.1:$PORT/auth" -H @"$TMP/auth.header"
check test "$STATUS" = 204
expect_header "x-tokenctl-user: alice"
expect_header "x-tokenctl-application: shop"
expect_header "x-tokenctl-token-id: $id"

case_ "GET /auth over TLS with an unknown token: 401 and its body"
https "https://127.0.0.1:$PORT/auth" -H @"$TMP/unknown.header"
check test "$STATUS" = 401
expect_header 'www-authenticate: Bearer error="invalid_token"'
expect_body '{"error":"invalid_token"}'

case_ "the unix socket stays plain HTTP"
req GET /healthz
expect_status 200

case_ "a plain HTTP client on the TLS port is closed, and serve keeps serving"
code=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
check test "$code" = 000
printf 'GET /auth HTTP/1.1\r\nHost: x\r\n\r\n' >"$TMP/plain"
python3 - "$PORT" "$TMP/plain" <<'PY' >"$TMP/plain.out"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(open(sys.argv[2], "rb").read())
got = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
print("closed", len(got))
PY
check grep -q '^closed ' "$TMP/plain.out"
check grep -q 'TLS handshake failed: TLS error: http request' "$SERVE_LOG"
https "https://127.0.0.1:$PORT/auth" -H @"$TMP/auth.header"
check test "$STATUS" = 204

case_ "TLS 1.1 is refused; TLS 1.2 and 1.3 are served"
openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
  </dev/null >"$TMP/tls11.out" 2>&1
check test $? != 0
check grep -q 'alert protocol version' "$TMP/tls11.out"
check grep -q 'TLS handshake failed: TLS error: unsupported protocol' "$SERVE_LOG"
for version in 1.2 1.3; do
  https "https://127.0.0.1:$PORT/healthz" --tlsv$version --tls-max $version
  check test "$STATUS" = 200
done

case_ "POST /oauth2/token over TLS: 200, rotated"
https "https://127.0.0.1:$PORT/oauth2/token" -H "Content-Type: application/x-www-form-urlencoded" \
  --data-binary @"$TMP/grant.form"
check test "$STATUS" = 200
expect_header "cache-control: no-store"
check test "$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)" = "$(json_field "$BODY" refresh_token)"
check test "$(json_field "$BODY" refresh_token)" != "$refresh"
access=$(json_field "$BODY" access_token)
printf 'Authorization: Bearer %s\n' "$access" >"$TMP/auth.header"

if [ -n "$EXTERNAL" ]; then
  case_ "the non-loopback address $EXTERNAL is served over TLS"
  https "https://$EXTERNAL:$EXTERNAL_PORT/auth" -H @"$TMP/auth.header"
  check test "$STATUS" = 204
  expect_header "x-tokenctl-user: alice"
else
  echo "note: this host has no non-loopback IPv4 address; TLS on one was not tested"
fi

case_ "keep-alive over TLS: two requests on one connection"
curl -sS --max-time 20 --cacert "$PKI/ca.pem" -o /dev/null -o /dev/null -w '%{num_connects}\n' \
  "https://127.0.0.1:$PORT/healthz" "https://127.0.0.1:$PORT/healthz" >"$TMP/connects" 2>&1
check test "$(paste -sd, "$TMP/connects")" = "1,0"

case_ "a client that never sends a ClientHello is closed at the read deadline"
wait "$SILENT_PID"
read -r took got <"$TMP/silent"
check test "$got" = 0
if python3 -c 'import sys; t=float(sys.argv[1]); sys.exit(0 if 9 <= t <= 20 else 1)' "$took"; then
  pass
else
  fail "closed after $took s, expected about 10 s"
fi
check grep -q 'TLS handshake failed: no handshake within the read deadline' "$SERVE_LOG"
https "https://127.0.0.1:$PORT/healthz"
check test "$STATUS" = 200

stop_serve
case_ "serve stops cleanly"
check test "$SERVE_RC" = 0

if command -v systemd-socket-activate >/dev/null; then
  case_ "a TCP socket passed by systemd speaks TLS too, on any address"
  address=${EXTERNAL:-127.0.0.1}
  port=$(free_port)
  (exec systemd-socket-activate -E HOME -E TOKENCTL_DB -l "$address:$port" \
    "$TOKENCTL_BIN" --as gw serve --tls-cert "$CERT" --tls-key "$KEY") 2>>"$SERVE_LOG" &
  SERVE_PID=$!
  for _ in $(seq 300); do
    https "https://$address:$port/auth" -H @"$TMP/auth.header"
    [ "$STATUS" = 204 ] && break
    sleep 0.1
  done
  check test "$STATUS" = 204
  check grep -q "listening on $address:$port (TLS) (systemd)" "$SERVE_LOG"
  stop_serve
  check test "$SERVE_RC" = 0

  case_ "systemd passing unix sockets only: served plain, with a note that TLS is unused"
  rm -f "$SOCK"
  (exec systemd-socket-activate -E HOME -E TOKENCTL_DB -l "$SOCK" \
    "$TOKENCTL_BIN" --as gw serve --tls-cert "$CERT" --tls-key "$KEY") 2>>"$SERVE_LOG" &
  SERVE_PID=$!
  for _ in $(seq 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
  req GET /healthz
  expect_status 200
  check grep -q "systemd passed no TCP socket: --tls-cert and --tls-key are not used" "$SERVE_LOG"
  stop_serve
  check test "$SERVE_RC" = 0
else
  echo "note: no systemd-socket-activate here; TLS on a socket passed by systemd was not tested"
fi

case_ "the log holds no secret and no key material"
no_secret_in_log
no_key_material "$SERVE_LOG"

case_ "libssl is loaded by serve with TLS only"
# loads_libssl ARGS...: whether the dynamic loader opened libssl while running ARGS.
loads_libssl() {
  rm -f "$TMP"/ld.*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$TMP/ld" "$TOKENCTL_BIN" "$@" >/dev/null 2>&1
  cat "$TMP"/ld.* | grep -q 'file=libssl\.so'
}
# serve_loads_libssl ARGS...: the same for a serve that answers once, then stops.
serve_loads_libssl() {
  rm -f "$TMP"/ld.* "$SOCK"
  LD_DEBUG=files LD_DEBUG_OUTPUT="$TMP/ld" "$TOKENCTL_BIN" --as gw serve "$@" 2>>"$SERVE_LOG" &
  SERVE_PID=$!
  for _ in $(seq 300); do
    [ -S "$SOCK" ] && python3 "$CLIENT" "$SOCK" request GET /healthz >/dev/null 2>&1 && break
    sleep 0.1
  done
  stop_serve
  cat "$TMP"/ld.* | grep -q 'file=libssl\.so'
}
if [ "${TOKENCTL_DLOPEN_LIBCRYPTO:-1}" = 1 ]; then
  for args in "list" "user list" "--version"; do
    # shellcheck disable=SC2086
    if loads_libssl $args </dev/null; then fail "$args loaded libssl"; else pass; fi
  done
  printf '%s\n' "$access" >"$TMP/access"
  if loads_libssl --as alice verify <"$TMP/access"; then fail "verify loaded libssl"; else pass; fi
  # verify does load libcrypto: the check above sees what it loads.
  check grep -q 'file=libcrypto\.so' "$TMP"/ld.*
  if serve_loads_libssl --listen "unix:$SOCK"; then fail "serve without TLS loaded libssl"; else pass; fi
  if serve_loads_libssl --listen "unix:$SOCK" --listen "127.0.0.1:$(free_port)" \
    --tls-cert "$CERT" --tls-key "$KEY"; then
    pass
  else
    fail "serve with TLS did not load libssl"
  fi
else
  # Linked the ordinary way (TOKENCTL_DLOPEN_LIBCRYPTO=OFF), every command loads it.
  if loads_libssl list </dev/null; then pass; else fail "list did not load the linked libssl"; fi
fi

finish
