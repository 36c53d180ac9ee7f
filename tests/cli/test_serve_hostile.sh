#!/usr/bin/env bash
# serve against hostile clients (oversized headers and bodies, garbage, a client trickling
# bytes), its stop on SIGTERM with a request in flight, socket activation and READY=1,
# and a log that never holds a secret.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
require_tools systemd-socket-activate

fresh_db
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
id=$(new_token --for alice --name shop)
access=$("$TOKENCTL_BIN" --as alice download "$id" --format access-token)
refresh=$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

start_serve

case_ "a 64 KiB header: 431, closed"
req GET /auth "X-Big: $(head -c 65536 /dev/zero | tr '\0' a)"
expect_status 431
check test "$CLOSED" = 1
case_ "headers over 8 KiB in all: 431"
req GET /auth "X-A: $(head -c 5000 /dev/zero | tr '\0' a)" "X-B: $(head -c 5000 /dev/zero | tr '\0' b)"
expect_status 431
case_ "a 20 KiB body: 413, closed"
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$(head -c 20480 /dev/zero | tr '\0' a)"
expect_status 413
check test "$CLOSED" = 1
case_ "garbage: 400, closed"
python3 "$CLIENT" "$SOCK" raw "$(hex $'GARBAGE\r\n\r\n')" >"$TMP/answer"
check test "$(head -n 1 "$TMP/answer")" = 400
check test "$(tail -n 1 "$TMP/answer")" = closed
python3 "$CLIENT" "$SOCK" raw "$(head -c 512 /dev/urandom | od -An -v -tx1 | tr -d ' \n')" >"$TMP/answer"
check grep -qx closed "$TMP/answer"
python3 "$CLIENT" "$SOCK" raw "$(hex $'GET /auth HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" >"$TMP/answer"
check test "$(head -n 1 "$TMP/answer")" = 400
case_ "two Authorization headers: 400"
req GET /auth "Authorization: Bearer $access" "Authorization: Bearer $access"
expect_status 400

case_ "a client trickling bytes is closed at the deadline; others are served meanwhile"
python3 "$CLIENT" "$SOCK" slow 20 >"$TMP/slow" &
slow=$!
served=0
for _ in $(seq 8); do
  sleep 1
  req GET /auth "Authorization: Bearer $access"
  [ "$STATUS" = 204 ] && served=$((served + 1))
done
wait "$slow"
check test "$served" = 8
check grep -qE '^closed after (9|10|11|12)$' "$TMP/slow"

case_ "secrets sent in headers, bodies, queries and paths never reach the log"
req GET "/auth?token=$access" "Authorization: Bearer $refresh"
req GET "/$access" "X-Token: $access"
req POST "/introspect?token=$refresh" "Content-Type: application/x-www-form-urlencoded" --body "token=$access"
req POST /introspect "Content-Type: application/x-www-form-urlencoded" --body "token=$refresh"
req "$access" /auth
no_secret_in_log
case_ "the server still answers"
req GET /auth "Authorization: Bearer $access"
expect_status 204

case_ "SIGTERM with a request in flight: it is answered, then exit 0"
mkfifo "$TMP/go"
python3 "$CLIENT" "$SOCK" partial "$access" <"$TMP/go" >"$TMP/partial" &
client=$!
exec 7>"$TMP/go"
for _ in $(seq 50); do grep -q sent "$TMP/partial" && break; sleep 0.1; done
sleep 0.3
kill -TERM "$SERVE_PID"
sleep 0.5
check kill -0 "$SERVE_PID"
echo >&7
exec 7>&-
wait "$client"
check test "$(sed -n 2p "$TMP/partial")" = 200
check grep -qF '"active":true' "$TMP/partial"
check grep -qix 'connection: close' "$TMP/partial"
wait "$SERVE_PID"
check test "$?" = 0
check grep -q '^tokenctl: serve: stopped$' "$SERVE_LOG"

case_ "socket activation: the passed socket is used, READY=1 is notified"
python3 - "$TMP/notify" >"$TMP/notified" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        data = s.recv(4096).decode()
        print(data, flush=True)
        if "READY=1" in data:
            break
except socket.timeout:
    pass
PY
notify=$!
for _ in $(seq 50); do [ -S "$TMP/notify" ] && break; sleep 0.1; done
rm -f "$SOCK"
# systemd-socket-activate passes on only the environment named with -E; it starts the
# server at the first connection (exec: SERVE_PID is then the server's).
activate() { exec systemd-socket-activate -E HOME -E TOKENCTL_DB -E NOTIFY_SOCKET "$@"; }
NOTIFY_SOCKET="$TMP/notify" activate -l "$SOCK" \
  "$TOKENCTL_BIN" --as gw serve --listen "unix:$TMP/unused.sock" 2>>"$SERVE_LOG" &
SERVE_PID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
req GET /auth "Authorization: Bearer $access"
expect_status 204
wait "$notify"
check grep -q '^READY=1' "$TMP/notified"
check test ! -e "$TMP/unused.sock"
check grep -q 'listening on unix socket fd 3 (systemd)' "$SERVE_LOG"
stop_serve
check test "$SERVE_RC" = 0
check test -S "$SOCK"

case_ "socket activation on a loopback TCP port"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
activate -l "127.0.0.1:$port" "$TOKENCTL_BIN" --as gw serve 2>>"$SERVE_LOG" &
SERVE_PID=$!
sleep 0.5
code=$(python3 - "$port" "$access" <<'PY'
import http.client, sys
for _ in range(50):
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
        c.request("GET", "/auth", headers={"Authorization": "Bearer " + sys.argv[2]})
        print(c.getresponse().status)
        break
    except OSError:
        import time; time.sleep(0.1)
PY
)
check test "$code" = 204
stop_serve
check test "$SERVE_RC" = 0

case_ "a loopback TCP listener"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TOKENCTL_BIN" --as gw serve --listen "127.0.0.1:$port" --listen "unix:$SOCK" --workers 3 2>>"$SERVE_LOG" &
SERVE_PID=$!
# Until it answers (slow to start under the sanitizers): at most 30 s.
for _ in $(seq 300); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access" "http://127.0.0.1:$port/auth")
  [ "$code" = 204 ] && break
  sleep 0.1
done
check test "$code" = 204
stop_serve
check test "$SERVE_RC" = 0

case_ "the log holds no secret"
no_secret_in_log

finish
