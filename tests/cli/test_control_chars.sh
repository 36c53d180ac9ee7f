#!/usr/bin/env bash
# Control characters that reached the database without tokenctl (sqlite3, or psql as the
# owner: a newline, ESC, CR, BEL, DEL in an audit detail, a redirect URI, an application's
# or a user's name) are printed escaped by every listing, in every format: no raw control
# character on stdout (JSON may hold DEL as it is), one line per row.
. "$(dirname "$0")/lib.sh"

fresh_db
tid=$(new_token --as alice) || { echo "setup: add-app failed"; exit 1; }
"$TOKENCTL_BIN" --as alice download "$tid" --format access-token >"$TMP/access" || { echo "setup: download failed"; exit 1; }

if [ "$BACKEND" = postgres ]; then
  ctl() { printf "chr(%s)" "$1"; }
  cat_op="||"
else
  ctl() { printf "char(%s)" "$1"; }
  cat_op="||"
fi
esc=$(ctl 27) nl=$(ctl 10) cr=$(ctl 13) bel=$(ctl 7) del=$(ctl 127)
now_ms=$(($(date +%s) * 1000))
sql "insert into audit (at, actor, action, subject, outcome, detail) values ($now_ms, 'admin', 'revoke', 'alice', 'ok',
  'line1' $cat_op $nl $cat_op 'line2 ' $cat_op $esc $cat_op '[31mred' $cat_op $cr $cat_op $del)" >/dev/null ||
  { echo "setup: audit row"; exit 1; }
sql "update apps set redirect_uri = 'https://evil.example.com/' $cat_op $esc $cat_op '[2J' $cat_op $nl $cat_op 'x' $cat_op $bel
  where name = 'alice'" >/dev/null || { echo "setup: redirect URI"; exit 1; }
sql "insert into users (name, role, created_at) values ('mal' $cat_op $esc $cat_op ']0;title' $cat_op $bel $cat_op $nl $cat_op 'x', 'user', $now_ms)" >/dev/null ||
  { echo "setup: user row"; exit 1; }

# listing WHAT ROWS ARGS...: ARGS in each format, with --no-headers.
listing() {
  local what=$1 rows=$2 fmt
  shift 2
  for fmt in table csv tsv json; do
    case_ "$what --format $fmt prints control characters escaped"
    run "$@" --format "$fmt" --no-headers
    expect_rc 0
    printf '%s\n' "$OUT" >"$TMP/out"
    if [ "$fmt" = json ]; then no_raw_control "$what --format json"; else no_raw_control "$what --format $fmt" "$rows"; fi
  done
}

listing "audit" "$(sql "select count(*) from audit")" audit
listing "app list" "$(sql "select count(*) from apps")" app list
listing "user list" "$(sql "select count(*) from users")" user list
listing "list --all" "$(sql "select count(*) from tokens")" list --all

case_ "verify prints a stored redirect URI escaped"
run --stdin "$(cat "$TMP/access")" verify --format json
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/out"
no_raw_control "verify --format json"
run --stdin "$(cat "$TMP/access")" verify
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/out"
no_raw_control "verify"

finish
