# Shared helpers of the end-to-end suites: each suite sources this file, runs the real
# tokenctl binary in a private temporary HOME, and ends with `finish`.
#
#   run [--stdin TEXT] ARGS...   runs tokenctl; sets RC, OUT, ERR
#   expect_rc N                  the exit status
#   expect_out TEXT              stdout exactly (a trailing newline is implied)
#   expect_out_has TEXT / expect_err_has TEXT
#   expect_error_line            stderr is one `tokenctl: error:` line (plus optional hint:)
#   snapshot / expect_unchanged  the database's logical content (audit table excluded
#                                unless AUDIT=1) before and after a command
#   sql QUERY                    a query against the database with sqlite3
set -u

: "${TOKENCTL_BIN:?TOKENCTL_BIN must name the tokenctl binary}"
SUITE=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tokenctl-$SUITE.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export HOME="$TMP/home"
mkdir -p "$HOME"
unset TOKENCTL_DB TOKENCTL_USER TOKENCTL_KEY_FILE XDG_DATA_HOME
export TOKENCTL_DB="$TMP/db/tokens.db"
export TOKENCTL_USER=admin
DB="$TOKENCTL_DB"

PASSED=0
FAILED=0
CASE="(setup)"

case_() { CASE="$*"; }

fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL [%s] %s\n' "$CASE" "$*"
  printf '  stdout: %s\n' "$(printf '%s' "${OUT-}" | head -c 2000)"
  printf '  stderr: %s\n' "$(printf '%s' "${ERR-}" | head -c 2000)"
}
pass() { PASSED=$((PASSED + 1)); }
check() { if "$@"; then pass; else fail "check failed: $*"; fi; }

run() {
  local stdin=""
  local have_stdin=0
  if [ "${1-}" = "--stdin" ]; then
    stdin=$2
    have_stdin=1
    shift 2
  fi
  if [ $have_stdin -eq 1 ]; then
    printf '%s' "$stdin" >"$TMP/stdin"
  else
    : >"$TMP/stdin"
  fi
  "$TOKENCTL_BIN" "$@" <"$TMP/stdin" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

expect_rc() { if [ "$RC" -eq "$1" ]; then pass; else fail "exit status $RC, expected $1"; fi; }
expect_out() { if [ "$OUT" = "$1" ]; then pass; else fail "stdout differs; expected: $1"; fi; }
expect_out_has() {
  if printf '%s' "$OUT" | grep -qF -- "$1"; then pass; else fail "stdout lacks: $1"; fi
}
expect_err_has() {
  if printf '%s' "$ERR" | grep -qF -- "$1"; then pass; else fail "stderr lacks: $1"; fi
}
expect_err_empty() { if [ -z "$ERR" ]; then pass; else fail "stderr not empty"; fi; }
expect_error_line() {
  local first rest
  first=$(printf '%s\n' "$ERR" | head -n 1)
  rest=$(printf '%s\n' "$ERR" | tail -n +2)
  if [[ "$first" == "tokenctl: error: "* ]] &&
    { [ -z "$rest" ] || [[ "$rest" == "hint: "* && $(printf '%s\n' "$rest" | wc -l) -eq 1 ]]; }; then
    pass
  else
    fail "stderr is not one error line (and an optional hint)"
  fi
}
# An error: the exit status, one error line, nothing on stdout.
expect_error() {
  expect_rc "$1"
  expect_error_line
  if [ -z "$OUT" ]; then pass; else fail "stdout not empty on error"; fi
}

sql() { sqlite3 -batch -noheader "$DB" "$@"; }
# Makes token ID $1 long expired (access and refresh), straight in the database.
expire_token() {
  sql "update tokens set access_expires_at = 1000, refresh_expires_at = 2000 where token_id = '$1'"
}

snapshot() {
  local audit_filter="audit"
  [ "${AUDIT-0}" = 1 ] && audit_filter="__none__"
  SNAPSHOT=$(sqlite3 -batch "$DB" .dump 2>&1 | grep -v "^INSERT INTO $audit_filter " | sha256sum)
}
expect_unchanged() {
  local before=$SNAPSHOT
  snapshot
  if [ "$before" = "$SNAPSHOT" ]; then pass; else fail "the database changed"; fi
}

# A fresh database with administrator `admin` and user `alice`.
fresh_db() {
  rm -rf "$TMP/db"
  "$TOKENCTL_BIN" init --admin admin >/dev/null || { echo "init failed"; exit 1; }
  "$TOKENCTL_BIN" --as admin user add alice >/dev/null || { echo "user add failed"; exit 1; }
}

# Creates a token for the acting user; prints its ID.
new_token() { "$TOKENCTL_BIN" add-app -q --redirect-uri https://app.example.com/cb "$@"; }

mode_of() { stat -c %a "$1"; }

finish() {
  printf '%s: %d passed, %d failed\n' "$SUITE" "$PASSED" "$FAILED"
  [ "$FAILED" -eq 0 ]
}
