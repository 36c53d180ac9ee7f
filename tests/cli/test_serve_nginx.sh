#!/usr/bin/env bash
# serve behind a real nginx, configured by packaging/nginx-tokenctl.conf itself (only its
# three addresses replaced): nginx (run as this user, on a free loopback port, never the
# system service) protects a small upstream that echoes the X-Tokenctl-* headers it
# receives. A valid token passes with who it is; an unknown, missing or just revoked
# token gets serve's 401 (its body and WWW-Authenticate) from nginx; /oauth2/token reaches
# serve, and pycentral's refresh-and-retry passes through nginx; the check itself is not
# reachable from outside.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
require_tools nginx curl

CONF_SOURCE="$TOKENCTL_SOURCE_DIR/packaging/nginx-tokenctl.conf"
NGX="$TMP/nginx"
mkdir -p "$NGX"
UPSTREAM_LOG="$TMP/upstream.log"

stop_all_at_exit() {
  if [ -s "$NGX/nginx.pid" ]; then kill -TERM "$(cat "$NGX/nginx.pid")" 2>/dev/null; fi
  if [ -n "${NGINX_PID-}" ]; then kill -TERM "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null; fi
  if [ -n "${UPSTREAM_PID-}" ]; then kill -TERM "$UPSTREAM_PID" 2>/dev/null; wait "$UPSTREAM_PID" 2>/dev/null; fi
  stop_serve_at_exit
}
trap stop_all_at_exit EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The protected application: answers every GET and POST with 200 and a JSON object of the
# X-Tokenctl-* headers it received (null when absent), and logs one line per request.
start_upstream() {
  python3 - "$TMP/upstream.port" "$UPSTREAM_LOG" <<'PY' &
import http.server, json, sys

class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length else b""
        seen = {name: self.headers.get(name) for name in
                ("X-Tokenctl-User", "X-Tokenctl-Application", "X-Tokenctl-Token-Id")}
        seen["values"] = {name: len(self.headers.get_all(name) or []) for name in seen}
        seen["body"] = body_in.decode()
        body = json.dumps(seen, sort_keys=True).encode()
        with open(sys.argv[2], "a") as log:
            log.write(f"{self.command} {self.path}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
  UPSTREAM_PID=$!
  for _ in $(seq 100); do
    [ -s "$TMP/upstream.port" ] && { UPSTREAM_PORT=$(cat "$TMP/upstream.port"); return 0; }
    sleep 0.1
  done
  echo "the upstream did not start"
  exit 1
}

# nginx with the example configuration included, its three addresses replaced: serve's
# socket, the upstream's port and a free loopback port of its own. Everything nginx writes
# (pid, logs, temporary files) is under $NGX. As root, the workers stay root (they must
# reach serve's socket in this suite's private folder); otherwise nginx runs as this user.
start_nginx() {
  for _ in 1 2 3 4 5; do
    NGINX_PORT=$(free_port)
    sed -e "s|server unix:/run/tokenctl/serve.sock;|server unix:$SOCK;|" \
      -e "s|server 127.0.0.1:8081;|server 127.0.0.1:$UPSTREAM_PORT;|" \
      -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$NGINX_PORT;|" \
      "$CONF_SOURCE" >"$NGX/tokenctl.conf"
    local n
    n=$(grep -cE "server unix:$SOCK;|server 127.0.0.1:$UPSTREAM_PORT;|listen 127.0.0.1:$NGINX_PORT;" "$NGX/tokenctl.conf")
    if [ "$n" != 3 ]; then
      echo "packaging/nginx-tokenctl.conf: its three ADAPT addresses changed; update this suite"
      exit 1
    fi
    local user_line=""
    [ "$(id -u)" != 0 ] || user_line="user $(id -un) $(id -gn);"
    cat >"$NGX/nginx.conf" <<EOF
$user_line
worker_processes 1;
events { worker_connections 256; }
http {
    access_log $NGX/access.log;
    client_body_temp_path $NGX/client_body;
    proxy_temp_path $NGX/proxy;
    fastcgi_temp_path $NGX/fastcgi;
    uwsgi_temp_path $NGX/uwsgi;
    scgi_temp_path $NGX/scgi;
    include $NGX/tokenctl.conf;
}
EOF
    nginx -t -q -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" \
      -g "pid $NGX/nginx.pid;" >"$NGX/test.out" 2>&1 || {
      echo "nginx -t refused the configuration:"
      cat "$NGX/test.out" "$NGX/error.log"
      exit 1
    }
    rm -f "$NGX/nginx.pid"
    nginx -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" \
      -g "daemon off; pid $NGX/nginx.pid;" 2>>"$NGX/stderr" &
    NGINX_PID=$!
    for _ in $(seq 100); do
      if curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/_tokenctl/auth"; then return 0; fi
      kill -0 "$NGINX_PID" 2>/dev/null || break
      sleep 0.1
    done
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=""
    cat "$NGX/error.log" "$NGX/stderr" 2>/dev/null | grep -q 'Address already in use' || break
  done
  echo "nginx did not start:"
  cat "$NGX/error.log" "$NGX/stderr" 2>/dev/null
  exit 1
}

# ngx METHOD PATH [curl arguments...]: one request through nginx; STATUS, HEADERS (one
# per line, as received, CR removed), BODY.
ngx() {
  local method=$1 path=$2
  shift 2
  STATUS=$(curl -s -X "$method" -D "$TMP/ngx.headers" -o "$TMP/ngx.body" -w '%{http_code}' \
    "$@" "http://127.0.0.1:$NGINX_PORT$path")
  HEADERS=$(sed -n '2,$p' "$TMP/ngx.headers" | tr -d '\r' | sed '/^$/d')
  BODY=$(cat "$TMP/ngx.body")
  OUT="$STATUS $BODY"
  ERR=""
}
bearer() { printf 'Authorization: Bearer %s' "$1"; }
seen() {
  printf '%s' "$BODY" | python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1"
}
upstream_requests() { if [ -f "$UPSTREAM_LOG" ]; then wc -l <"$UPSTREAM_LOG"; else echo 0; fi; }
invalid_token() {
  expect_status 401
  expect_header 'www-authenticate: Bearer error="invalid_token"'
  check test "$(printf '%s\n' "$HEADERS" | grep -ci '^www-authenticate:')" = 1
  expect_header "content-type: application/json"
  expect_body '{"error":"invalid_token"}'
}

fresh_db
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
id=$(new_token --for alice --name shop)
access=$("$TOKENCTL_BIN" --as alice download "$id" --format access-token)
refresh=$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)

start_serve
start_upstream
start_nginx

case_ "a valid token passes, and the upstream learns who it is"
ngx GET /orders -H "$(bearer "$access")"
expect_status 200
check test "$(seen X-Tokenctl-User)" = alice
check test "$(seen X-Tokenctl-Application)" = shop
check test "$(seen X-Tokenctl-Token-Id)" = "$id"
check test "$(tail -n 1 "$UPSTREAM_LOG")" = "GET /orders"

case_ "what a client sends as X-Tokenctl-* never reaches the upstream"
ngx GET /orders -H "$(bearer "$access")" -H "X-Tokenctl-User: mallory" \
  -H "X-Tokenctl-Application: admin-console" -H "X-Tokenctl-Token-Id: 0000000000000000"
expect_status 200
check test "$(seen X-Tokenctl-User)" = alice
check test "$(seen X-Tokenctl-Application)" = shop
check test "$(seen X-Tokenctl-Token-Id)" = "$id"
check test "$(seen values)" = '{"X-Tokenctl-Application": 1, "X-Tokenctl-Token-Id": 1, "X-Tokenctl-User": 1}'

case_ "a request with a body: the body reaches the upstream, serve is asked with GET"
ngx POST /orders -H "$(bearer "$access")" -H "Content-Type: application/json" \
  --data '{"item":42}'
expect_status 200
check test "$(seen body)" = '{"item":42}'
check test "$(seen X-Tokenctl-User)" = alice
if grep -q 'POST /auth' "$SERVE_LOG"; then fail "serve was asked POST /auth"; else pass; fi

before=$(upstream_requests)
case_ "no Authorization header: serve's 401, through nginx"
ngx GET /orders
invalid_token
ngx GET /orders -H "X-Tokenctl-User: alice"
invalid_token

case_ "an unknown, malformed, refresh or Basic credential: serve's 401"
ngx GET /orders -H "$(bearer "${access:0:20}x${access:21}")"
invalid_token
ngx GET /orders -H "$(bearer tca_short)"
invalid_token
ngx GET /orders -H "$(bearer "$refresh")"
invalid_token
ngx POST /orders -H "Authorization: Basic YWxpY2U6eA==" --data 'x=1'
invalid_token

case_ "a token revoked through the CLI is refused by the very next request"
id2=$(new_token --for alice --name shop)
access2=$("$TOKENCTL_BIN" --as alice download "$id2" --format access-token)
ngx GET /orders -H "$(bearer "$access2")"
expect_status 200
check test "$(seen X-Tokenctl-Token-Id)" = "$id2"
before=$(upstream_requests)
"$TOKENCTL_BIN" revoke "$id2" --yes >/dev/null
ngx GET /orders -H "$(bearer "$access2")"
invalid_token
case_ "refused requests never reached the upstream"
check test "$(upstream_requests)" = "$before"
ngx GET /orders -H "$(bearer "$access")"
expect_status 200

case_ "the check itself is internal"
ngx GET /_tokenctl/auth -H "$(bearer "$access")"
expect_status 404

case_ "/oauth2/token is routed to serve, not to the upstream"
before=$(upstream_requests)
ngx POST /oauth2/token -H "Content-Type: application/x-www-form-urlencoded" \
  --data "grant_type=refresh_token"
check grep -q 'POST /oauth2/token' "$SERVE_LOG"
check test "$(upstream_requests)" = "$before"
if printf '%s' "$BODY" | python3 -c 'import json, sys; sys.exit(0 if "error" in json.load(sys.stdin) else 1)' 2>/dev/null; then
  pass
else
  fail "not serve's JSON answer: $BODY"
fi

# pycentral's flow: a request with an expired access token gets the 401 above; the client
# posts its refresh token and client credentials to /oauth2/token through nginx, in the
# query string as pycentral does, stores the new pair and retries the request, which passes.
refresh_and_retry() {
  local client_id=$1 client_secret=$2 refresh_token=$3
  ngx GET /orders -H "$(bearer "$access")"
  invalid_token
  ngx POST "/oauth2/token?client_id=$client_id&client_secret=$client_secret&grant_type=refresh_token&refresh_token=$refresh_token"
  expect_status 200
  expect_header "cache-control: no-store"
  expect_header "pragma: no-cache"
  old_access=$access
  access=$(printf '%s' "$BODY" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  new_refresh=$(printf '%s' "$BODY" | python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh_token"])')
  check test "$access" != "$old_access"
  ngx GET /orders -H "$(bearer "$access")"
  expect_status 200
  check test "$(seen X-Tokenctl-Token-Id)" = "$id"
}

case_ "pycentral's refresh: 401 invalid_token, POST /oauth2/token through nginx, the retry passes"
id=$(new_token --for alice --name shop)
access=$("$TOKENCTL_BIN" --as alice download "$id" --format access-token)
refresh=$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)
shop_client=$(json_field "$("$TOKENCTL_BIN" --as alice app show shop --format json)" client_id)
shop_secret=$("$TOKENCTL_BIN" --as alice app secret shop)
# The access token expired, its refresh token not.
sql "update tokens set access_expires_at = 1000 where token_id = '$id'"
before=$(upstream_requests)
refresh_and_retry "$shop_client" "$shop_secret" "$refresh"
check test "$(upstream_requests)" = $((before + 1))
check test "$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)" = "$new_refresh"
# The old access token stays refused; a wrong client secret is serve's 401 invalid_client.
ngx GET /orders -H "$(bearer "$old_access")"
invalid_token
wrong_secret=${shop_secret:0:-1}x
[ "$wrong_secret" != "$shop_secret" ] || wrong_secret=${shop_secret:0:-1}y
ngx POST "/oauth2/token?client_id=$shop_client&client_secret=$wrong_secret&grant_type=refresh_token&refresh_token=$new_refresh"
expect_status 401
check test "$BODY" = '{"error":"invalid_client"}'

case_ "no secret in serve's, nginx's or the upstream's logs"
no_secret_in_log
for f in "$NGX/access.log" "$NGX/error.log" "$UPSTREAM_LOG"; do
  if grep -qaE 'tc[ar]_[0-9A-Za-z]{20}' "$f"; then fail "a secret in $(basename "$f")"; else pass; fi
done

case_ "nginx logged no error"
if grep -E '\[(emerg|alert|crit|error)\]' "$NGX/error.log"; then fail "nginx errors"; else pass; fi

stop_serve
check test "$SERVE_RC" = 0
finish
