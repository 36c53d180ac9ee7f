# What the serve suites share (sourced after lib.sh): a server started on a unix socket in
# the suite's folder, requests to it, and its log.
#
#   start_serve ARGS...   tokenctl --as $SERVE_AS (default gw) serve --listen unix:$SOCK
#                         ARGS... in the background, its log $SERVE_LOG, waited for until
#                         it answers; SERVE_PID (a suite may start several, each with a SOCK
#                         of its own: every one still running is killed at exit)
#   stop_serve            SIGTERM, then waits; SERVE_RC is its exit status
#   req METHOD TARGET [HEADER: VALUE]... [--body TEXT]
#                         one request (serve_client.py); STATUS, HEADERS, BODY, and
#                         CLOSED (1 when the server closed the connection after it)
#   expect_status N / expect_body TEXT / expect_header 'name: value'
#   no_secret_in_log      the server's log holds no tca_/tcr_ secret
require_tools python3
SOCK="$TMP/serve.sock"
SERVE_LOG="$TMP/serve.log"
CLIENT="$(dirname "${BASH_SOURCE[0]}")/serve_client.py"

start_serve() {
  rm -f "$SOCK"
  "$TOKENCTL_BIN" --as "${SERVE_AS:-gw}" serve --listen "unix:$SOCK" "$@" 2>>"$SERVE_LOG" &
  SERVE_PID=$!
  SERVE_PIDS+=("$SERVE_PID")
  local i
  for i in $(seq 300); do
    if [ -S "$SOCK" ] && python3 "$CLIENT" "$SOCK" request GET /healthz >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "serve did not start:"
  cat "$SERVE_LOG"
  exit 1
}
stop_serve() {
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID"
  SERVE_RC=$?
}
SERVE_PIDS=()
kill_serves() {
  local pid
  for pid in "${SERVE_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  done
}
stop_serve_at_exit() {
  kill_serves
  lib_cleanup
}
trap stop_serve_at_exit EXIT

req() {
  python3 "$CLIENT" "$SOCK" request "$@" >"$TMP/answer" 2>&1
  STATUS=$(head -n 1 "$TMP/answer")
  HEADERS=$(sed -n '2,/^$/p' "$TMP/answer" | sed '/^$/d')
  BODY=$(sed -n '/^$/,$p' "$TMP/answer" | sed '1d' | grep -v '^closed$')
  CLOSED=0
  if [ "$(tail -n 1 "$TMP/answer")" = closed ]; then CLOSED=1; fi
  OUT=$(cat "$TMP/answer")
  ERR=""
}
expect_status() { if [ "$STATUS" = "$1" ]; then pass; else fail "status $STATUS, expected $1"; fi; }
expect_body() { if [ "$BODY" = "$1" ]; then pass; else fail "body differs; expected: $1"; fi; }
expect_header() {
  if printf '%s\n' "$HEADERS" | grep -qixF -- "$1"; then pass; else fail "no header: $1"; fi
}
expect_no_header() {
  if printf '%s\n' "$HEADERS" | grep -qi -- "^$1:"; then fail "header $1 present"; else pass; fi
}
no_secret_in_log() {
  if grep -qaE 'tc[ar]_[0-9A-Za-z]{20}' "$SERVE_LOG"; then
    fail "a secret in serve's log: $(grep -aoE 'tc[ar]_[0-9A-Za-z]{20}' "$SERVE_LOG" | head -n 1 | cut -c1-8)…"
  else
    pass
  fi
}
