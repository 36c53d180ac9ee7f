#!/usr/bin/env bash
# init: where the database and key file go, their modes, who the first administrator is,
# and that init never overwrites anything.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

case_ "init under umask 000 still creates private files and folders"
db="$TMP/u/deep/er/tokens.db"
run_umask0 --db "$db" init --admin root
expect_rc 0
expect_err_empty
expect_out "created database $db
created key file $db.key (keep it private; back it up with the database)
administrator: root"
check test "$(mode_of "$db")" = 600
check test "$(mode_of "$db.key")" = 600
check test "$(mode_of "$TMP/u")" = 700
check test "$(mode_of "$TMP/u/deep")" = 700
check test "$(mode_of "$TMP/u/deep/er")" = 700
check test "$(stat -c %s "$db.key")" = 32
check test "$(sqlite3 "$db" "select name || ' ' || role from users")" = "root admin"

case_ "files created later (WAL) under umask 000 are private too"
run_umask0 --db "$db" --as root user add bob
expect_rc 0
for f in "$db" "$db-wal" "$db-shm"; do
  [ -e "$f" ] && check test "$(mode_of "$f")" = 600
done

case_ "an existing folder keeps its mode"
mkdir -p "$TMP/shared"
chmod 755 "$TMP/shared"
run --db "$TMP/shared/t.db" init --admin admin
expect_rc 0
check test "$(mode_of "$TMP/shared")" = 755
check test "$(mode_of "$TMP/shared/t.db")" = 600

case_ "the first administrator defaults to TOKENCTL_USER"
TOKENCTL_USER=carol run --db "$TMP/d1/tokens.db" init
expect_rc 0
expect_out_has "administrator: carol"
check test "$(sqlite3 "$TMP/d1/tokens.db" "select name || ' ' || role from users")" = "carol admin"

case_ "the first administrator defaults to --as over TOKENCTL_USER"
TOKENCTL_USER=carol run --as dave --db "$TMP/d2/tokens.db" init
expect_rc 0
expect_out_has "administrator: dave"
check test "$(sqlite3 "$TMP/d2/tokens.db" "select name from users")" = dave

case_ "--admin wins over the acting user"
run --as dave --db "$TMP/d3/tokens.db" init --admin erin@example.com
expect_rc 0
check test "$(sqlite3 "$TMP/d3/tokens.db" "select name from users")" = erin@example.com
run --as erin@example.com --db "$TMP/d3/tokens.db" user list --no-headers --format tsv
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f1,2)" = "erin@example.com	admin"

case_ "init with an invalid administrator name is exit 2 and creates nothing"
run --db "$TMP/d4/tokens.db" init --admin "bad name"
expect_error 2
check test ! -e "$TMP/d4/tokens.db"
check test ! -e "$TMP/d4/tokens.db.key"

case_ "init refuses an existing database and leaves it byte for byte"
run init --admin admin
expect_rc 0
before_db=$(sha "$DB")
before_key=$(sha "$DB.key")
run init --admin someone
expect_error 5
expect_err_has "already exists"
check test "$(sha "$DB")" = "$before_db"
check test "$(sha "$DB.key")" = "$before_key"

case_ "init refuses any existing file at the database path"
printf 'not a database\n' >"$TMP/plain.txt"
before=$(sha "$TMP/plain.txt")
run --db "$TMP/plain.txt" init
expect_error 5
check test "$(sha "$TMP/plain.txt")" = "$before"
check test ! -e "$TMP/plain.txt.key"

case_ "init refuses an existing key file and creates no database"
mkdir -p "$TMP/k"
head -c 32 /dev/urandom >"$TMP/k/tokens.db.key"
chmod 600 "$TMP/k/tokens.db.key"
before=$(sha "$TMP/k/tokens.db.key")
run --db "$TMP/k/tokens.db" init
expect_error 5
expect_err_has "key file"
check test "$(sha "$TMP/k/tokens.db.key")" = "$before"
check test ! -e "$TMP/k/tokens.db"

case_ "init refuses an existing TOKENCTL_KEY_FILE"
TOKENCTL_KEY_FILE="$TMP/k/tokens.db.key" run --db "$TMP/k2/tokens.db" init
expect_error 5
check test "$(sha "$TMP/k/tokens.db.key")" = "$before"
check test ! -e "$TMP/k2/tokens.db"

case_ "--db, after the subcommand too"
run init --db "$TMP/after/tokens.db" --admin admin
expect_rc 0
check test -f "$TMP/after/tokens.db"
check test -f "$TMP/after/tokens.db.key"

case_ "TOKENCTL_DB names the database"
TOKENCTL_DB="$TMP/env/x.db" run init
expect_rc 0
check test -f "$TMP/env/x.db"
check test -f "$TMP/env/x.db.key"

case_ "--db wins over TOKENCTL_DB"
TOKENCTL_DB="$TMP/env/y.db" run --db "$TMP/env/z.db" init
expect_rc 0
check test -f "$TMP/env/z.db"
check test ! -e "$TMP/env/y.db"

case_ "default path: XDG_DATA_HOME/tokenctl/tokens.db"
TOKENCTL_DB='' XDG_DATA_HOME="$TMP/xdg" run_umask0 init
expect_rc 0
expect_out_has "created database $TMP/xdg/tokenctl/tokens.db"
check test "$(mode_of "$TMP/xdg/tokenctl/tokens.db")" = 600
check test "$(mode_of "$TMP/xdg/tokenctl/tokens.db.key")" = 600
check test "$(mode_of "$TMP/xdg")" = 700
check test "$(mode_of "$TMP/xdg/tokenctl")" = 700
TOKENCTL_DB='' XDG_DATA_HOME="$TMP/xdg" run list
expect_rc 0

case_ "default path without XDG_DATA_HOME: ~/.local/share/tokenctl/tokens.db"
TOKENCTL_DB='' run init
expect_rc 0
check test -f "$HOME/.local/share/tokenctl/tokens.db"
check test "$(mode_of "$HOME/.local/share/tokenctl")" = 700

case_ "TOKENCTL_KEY_FILE places the key file elsewhere"
TOKENCTL_KEY_FILE="$TMP/keys/sub/my.key" run_umask0 --db "$TMP/kf/tokens.db" init
expect_rc 0
expect_out_has "created key file $TMP/keys/sub/my.key"
check test -f "$TMP/keys/sub/my.key"
check test ! -e "$TMP/kf/tokens.db.key"
check test "$(mode_of "$TMP/keys/sub/my.key")" = 600
check test "$(mode_of "$TMP/keys/sub")" = 700

case_ "the key file named by TOKENCTL_KEY_FILE is the one download uses"
id=$(TOKENCTL_KEY_FILE="$TMP/keys/sub/my.key" "$TOKENCTL_BIN" --db "$TMP/kf/tokens.db" add-app -q --redirect-uri https://a.example/cb)
check test "${#id}" = 16
TOKENCTL_KEY_FILE="$TMP/keys/sub/my.key" run --db "$TMP/kf/tokens.db" download "$id" --format access-token -o "$TMP/kf/at"
expect_rc 0
run --db "$TMP/kf/tokens.db" download "$id"
expect_error 1
expect_err_has "key file $TMP/kf/tokens.db.key is missing"

case_ "a command on a missing database is exit 1 with a hint, and creates nothing"
for args in "list" "system-list" "user list" "add-app --redirect-uri https://a.example/cb" \
  "revoke --yes 0123456789abcdef" "download 0123456789abcdef" "user add zed"; do
  # shellcheck disable=SC2086
  run --db "$TMP/missing/dir/tokens.db" $args
  expect_error 1
  expect_err_has "hint: run \`tokenctl init\`"
  check test ! -e "$TMP/missing"
done
TOKENCTL_DB='' XDG_DATA_HOME="$TMP/nowhere" run list
expect_error 1
expect_err_has "tokenctl init"
check test ! -e "$TMP/nowhere"

case_ "init --help lists its options"
run init --help
expect_rc 0
expect_out_has "--admin"
expect_out_has "--help"

finish
