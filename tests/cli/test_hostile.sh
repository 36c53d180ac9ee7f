#!/usr/bin/env bash
# Hostile input: a table of bad inputs, each with its exit status. For every row: one
# `tokenctl: error:` line (and an optional hint), nothing on stdout, no crash text, no raw
# control byte on stderr, and the database unchanged — byte for byte where nothing may
# be written at all, logically (audit excluded) where a refusal writes its audit record.
. "$(dirname "$0")/lib.sh"

CRASH='terminate called|Segmentation fault|Aborted|core dumped|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|what\(\)|Assertion|std::'
ROWS=0

# The checks every row shares, on the last command's stderr ($TMP/err) and stdout.
expect_clean_failure() {
  expect_rc "$1"
  expect_error_line
  if [ -z "$OUT" ]; then pass; else fail "stdout not empty on error"; fi
  if grep -qE "$CRASH" "$TMP/err"; then fail "crash text on stderr"; else pass; fi
  if LC_ALL=C grep -qP '[\x00-\x09\x0b-\x1f\x7f]' "$TMP/err"; then
    fail "a raw control byte on stderr"
  else
    pass
  fi
}

# bad DESCRIPTION STATUS bytes|logical ARGS...: one row of the table. Runs tokenctl with
# ARGS (stdin from $STDIN_FILE, else empty), then checks the error and the database: all
# it stores (stored_state: on SQLite its bytes, which imply its content), or, where a
# refusal writes its audit record, its content without the audit table.
bad() {
  local desc=$1 want=$2 kind=$3
  shift 3
  case_ "$desc"
  ROWS=$((ROWS + 1))
  local before
  if [ "$kind" = bytes ]; then before=$(stored_state); else snapshot; fi
  "$TOKENCTL_BIN" "$@" <"${STDIN_FILE:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(<"$TMP/out")
  ERR=$(<"$TMP/err")
  expect_clean_failure "$want"
  if [ "$kind" = bytes ]; then
    if [ "$(stored_state)" = "$before" ]; then pass; else fail "the database changed"; fi
  else
    expect_unchanged
  fi
}

# bad_file DESCRIPTION STATUS FILE ARGS...: a row whose database is FILE (not ours):
# FILE and its folder are left exactly as they were.
bad_file() {
  local desc=$1 want=$2 file=$3
  shift 3
  case_ "$desc"
  ROWS=$((ROWS + 1))
  local dir before_sum before_ls
  dir=$(dirname "$file")
  while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
  before_sum=$( [ -f "$file" ] && sha256sum <"$file")
  before_ls=$(ls -la --time-style=+ "$dir")
  ${AS_OTHER:-} "$TOKENCTL_BIN" --db "$file" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  expect_clean_failure "$want"
  if [ "$( [ -f "$file" ] && sha256sum <"$file")" = "$before_sum" ]; then pass; else fail "$file changed"; fi
  if [ "${KEEP_FOLDER_CHECK:-1}" = 1 ]; then
    if [ "$(ls -la --time-style=+ "$dir")" = "$before_ls" ]; then pass; else fail "files appeared in $dir"; fi
  fi
}

fresh_db
"$TOKENCTL_BIN" --as admin user add bob >/dev/null
id=$(new_token --for alice --name shop)
aid=$(TOKENCTL_USER=alice new_token)
admin_id=$(new_token)
URI=https://app.example.com/cb

long_129=$(head -c 129 /dev/zero | tr '\0' 'a')
# The kernel caps one argument at 128 KiB; a 1 MB name cannot reach argv. The largest
# argument that can is used, and 1 MB of input goes to verify's stdin and revoke's IDs.
huge=$(head -c 131000 /dev/zero | tr '\0' 'n')
esc=$'\e[31mred\e[0m'
title=$'\e]0;pwned\a'
ctrl=$'a\x01b'
bell=$'tab\there'
nul_like=$'a\x7fb'
bad_utf8=$'caf\xc3'
bad_utf8_2=$'\xff\xfe'
overlong=$'\xc0\xaf'
crlf=$'a\r\nb'
uri_long="https://app.example.com/$(head -c 2100 /dev/zero | tr '\0' 'p')"

# --- names -------------------------------------------------------------------------------
bad "user name: empty" 2 bytes user add ""
bad "user name: 129 characters" 2 bytes user add "$long_129"
bad "user name: 128 KiB" 2 bytes user add "$huge"
bad "user name: control character" 2 bytes user add "$ctrl"
bad "user name: tab" 2 bytes user add "$bell"
bad "user name: DEL" 2 bytes user add "$nul_like"
bad "user name: invalid UTF-8" 2 bytes user add "$bad_utf8"
bad "user name: terminal colour escape" 2 bytes user add "$esc"
bad "user name: terminal title escape" 2 bytes user add "$title"
bad "user name: leading space" 2 bytes user add " carol"
bad "user name: trailing space" 2 bytes user add "carol "
bad "user name: CRLF" 2 bytes user add "$crlf"
bad "user name: slash" 2 bytes user add "a/b"
bad "app name: empty" 2 bytes add-app --name "" --redirect-uri "$URI"
bad "app name: 129 bytes" 2 bytes add-app --name "$long_129" --redirect-uri "$URI"
bad "app name: 128 KiB" 2 bytes add-app --name "$huge" --redirect-uri "$URI"
bad "app name: control character" 2 bytes add-app --name "$ctrl" --redirect-uri "$URI"
bad "app name: tab" 2 bytes add-app --name "$bell" --redirect-uri "$URI"
bad "app name: DEL" 2 bytes add-app --name "$nul_like" --redirect-uri "$URI"
bad "app name: invalid UTF-8 (cut sequence)" 2 bytes add-app --name "$bad_utf8" --redirect-uri "$URI"
bad "app name: invalid UTF-8 (ff fe)" 2 bytes add-app --name "$bad_utf8_2" --redirect-uri "$URI"
bad "app name: overlong UTF-8" 2 bytes add-app --name "$overlong" --redirect-uri "$URI"
bad "app name: terminal colour escape" 2 bytes add-app --name "$esc" --redirect-uri "$URI"
bad "app name: terminal title escape" 2 bytes add-app --name "$title" --redirect-uri "$URI"
bad "app name: leading space" 2 bytes add-app --name " shop2" --redirect-uri "$URI"
bad "app name: trailing space" 2 bytes add-app --name "shop2 " --redirect-uri "$URI"
bad "app name: CRLF" 2 bytes add-app --name "$crlf" --redirect-uri "$URI"
bad "list --app: control character" 2 bytes list --app "$esc"
bad "system-list --user: escape" 2 bytes system-list --user "$esc"
bad "acting user: escape" 2 bytes --as "$esc" list
bad "acting user: empty" 2 bytes --as "" list

# --- redirect URIs -----------------------------------------------------------------------
bad "redirect URI: relative path" 2 bytes add-app --name r1 --redirect-uri /cb
bad "redirect URI: relative reference" 2 bytes add-app --name r1 --redirect-uri app.example.com/cb
bad "redirect URI: empty" 2 bytes add-app --name r1 --redirect-uri ""
bad "redirect URI: fragment" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/cb#x"
bad "redirect URI: empty fragment" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/cb#"
bad "redirect URI: space" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/a b"
bad "redirect URI: trailing space" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/ "
bad "redirect URI: CRLF" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/$crlf"
bad "redirect URI: tab" 2 bytes add-app --name r1 --redirect-uri $'https://app.example.com/\tx'
bad "redirect URI: control character" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/$ctrl"
bad "redirect URI: escape sequence" 2 bytes add-app --name r1 --redirect-uri "https://app.example.com/$esc"
bad "redirect URI: over 2048 bytes" 2 bytes add-app --name r1 --redirect-uri "$uri_long"
bad "redirect URI: 128 KiB" 2 bytes add-app --name r1 --redirect-uri "https://$huge"
bad "redirect URI: scheme starts with a digit" 2 bytes add-app --name r1 --redirect-uri "1http://a.example/"
bad "redirect URI: scheme with underscore" 2 bytes add-app --name r1 --redirect-uri "ht_tp://a.example/"
bad "redirect URI: no scheme" 2 bytes add-app --name r1 --redirect-uri "://a.example/"
bad "redirect URI: scheme only" 2 bytes add-app --name r1 --redirect-uri "https:"
bad "redirect URI: invalid UTF-8" 2 bytes add-app --name r1 --redirect-uri "https://a.example/$bad_utf8"

# --- durations ---------------------------------------------------------------------------
bad "duration: zero" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 0s
bad "duration: zero minutes" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 0m
bad "duration: negative" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl=-5m
bad "duration: overflow" 2 bytes add-app --name d1 --redirect-uri "$URI" --refresh-ttl 99999999999999999999d
bad "duration: overflow in milliseconds" 2 bytes add-app --name d1 --redirect-uri "$URI" --refresh-ttl 9223372036854775807d
bad "duration: unknown unit" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 2w
bad "duration: no unit" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 120
bad "duration: no number" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl h
bad "duration: inner space" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl "2 h"
bad "duration: leading space" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl " 2h"
bad "duration: trailing space" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl "2h "
bad "duration: empty" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl ""
bad "duration: fraction" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 1.5h
bad "duration: two units" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 1h30m
bad "duration: plus sign" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl +2h
bad "duration: access under 1m" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 59s
bad "duration: access over 30d" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 31d --refresh-ttl 60d
bad "duration: refresh under access" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl 2h --refresh-ttl 1h
bad "duration: refresh over 365d" 2 bytes add-app --name d1 --redirect-uri "$URI" --refresh-ttl 366d
bad "duration: escape sequence" 2 bytes add-app --name d1 --redirect-uri "$URI" --access-ttl "$esc"
bad "audit --since: nonsense" 2 bytes audit --since "$esc"

# --- token IDs ---------------------------------------------------------------------------
bad "token ID: too short" 2 bytes revoke 0123 --yes
bad "token ID: too long" 2 bytes revoke 0123456789abcdef0 --yes
bad "token ID: uppercase hex" 2 bytes revoke 0123456789ABCDEF --yes
bad "token ID: non-hex" 2 bytes revoke 0123456789abcdeg --yes
bad "token ID: path-like" 2 bytes revoke ../../etc/passwd --yes
bad "token ID: absolute path" 2 bytes download /etc/passwd
bad "token ID: empty" 2 bytes download ""
bad "token ID: escape sequence" 2 bytes refresh "$esc"
bad "token ID: SQL" 2 bytes download "' OR 1=1 --"
bad "token ID: one bad among good (all or nothing)" 2 bytes revoke "$admin_id" xyz --yes
big_ids=()
for _ in 1 2 3 4 5 6 7 8; do big_ids+=("$huge"); done
bad "token IDs: 1 MB of arguments" 2 bytes revoke "${big_ids[@]}" --yes
bad "token ID: unknown" 4 bytes download 0123456789abcdef
bad "token ID: unknown among known (all or nothing)" 4 bytes revoke "$admin_id" 0123456789abcdef --yes

# --- unknown users, roles, formats, flags, commands ---------------------------------------
bad "unknown user: set-role" 4 bytes user set-role nobody admin
bad "unknown user: remove" 4 bytes user remove nobody --yes
bad "unknown user: add-app --for" 4 bytes add-app --for nobody --redirect-uri "$URI"
bad "unknown user: system-list --user" 4 bytes system-list --user nobody
bad "unknown application: list --app" 4 bytes list --app nosuchapp
bad "unknown role: user add" 2 bytes user add carol --role root
bad "unknown role: set-role" 2 bytes user set-role alice superuser
bad "unknown role: escape" 2 bytes user add carol --role "$esc"
bad "unknown format: list" 2 bytes list --format xml
bad "unknown format: system-list" 2 bytes system-list --format yaml
bad "unknown format: user list" 2 bytes user list --format html
bad "unknown format: audit" 2 bytes audit --format xml
bad "unknown format: download" 2 bytes --as alice download "$aid" --format text
bad "unknown format: verify" 2 bytes verify --format table
bad "unknown format: escape" 2 bytes list --format "$esc"
bad "unknown flag" 2 bytes list --bogus
bad "unknown flag: escape" 2 bytes list "--$esc"
bad "unknown short flag" 2 bytes add-app -z --redirect-uri "$URI"
bad "unknown command" 2 bytes frobnicate
bad "unknown command: escape" 2 bytes "$esc"
bad "missing option value" 2 bytes add-app --redirect-uri
bad "missing required option" 2 bytes add-app --name x
bad "revoke without --yes off a terminal" 2 bytes revoke "$admin_id"
bad "revoke with nothing named" 2 bytes revoke --yes

# --- refusals (exit 3: an audit record, nothing else) --------------------------------------
bad "unknown acting user" 3 logical --as nobody list
bad "unknown acting user with an e-mail name" 3 logical --as mallory@example.com system-list
bad "non-admin: system-list" 3 logical --as alice system-list
bad "non-admin: add-app --for" 3 logical --as alice add-app --for bob --redirect-uri "$URI"
bad "non-admin: another app name" 3 logical --as alice add-app --name other --redirect-uri "$URI"
bad "non-admin: revoke another's token" 3 logical --as bob revoke "$aid" --yes
bad "admin: download another's token" 3 logical download "$aid"
bad "admin: --for an administrator" 3 logical add-app --for admin --redirect-uri "$URI"

# --- oversized or binary stdin to verify ------------------------------------------------------
head -c 1025 /dev/zero | tr '\0' 'a' >"$TMP/in.1k"
STDIN_FILE="$TMP/in.1k" bad "verify: 1 KiB + 1 byte" 2 bytes verify
head -c 1048576 /dev/urandom >"$TMP/in.1m"
STDIN_FILE="$TMP/in.1m" bad "verify: 1 MB of random bytes" 2 bytes verify
head -c 10485760 /dev/zero >"$TMP/in.10m"
STDIN_FILE="$TMP/in.10m" bad "verify: 10 MB of zero bytes" 2 bytes verify
printf 'tca_%s\0' "$(head -c 49 /dev/zero | tr '\0' 'A')" >"$TMP/in.nul"
STDIN_FILE="$TMP/in.nul" bad "verify: a NUL byte" 2 bytes verify
printf '%s' "$esc" >"$TMP/in.esc"
STDIN_FILE="$TMP/in.esc" bad "verify: an escape sequence" 2 bytes verify

# --- key files -----------------------------------------------------------------------------
KEY=$(key_file)
cp "$KEY" "$TMP/key.copy"
chmod 600 "$TMP/key.copy"
head -c 16 /dev/urandom >"$TMP/key.short"
head -c 64 /dev/urandom >"$TMP/key.long"
head -c 32 /dev/urandom >"$TMP/key.wrong"
: >"$TMP/key.empty"
chmod 600 "$TMP/key.short" "$TMP/key.long" "$TMP/key.wrong" "$TMP/key.empty"
cp "$KEY" "$TMP/key.world"
chmod 644 "$TMP/key.world"
cp "$KEY" "$TMP/key.group"
chmod 640 "$TMP/key.group"
mkdir -p "$TMP/key.dir"
TOKENCTL_KEY_FILE="$TMP/no-such.key" bad "key file: missing (download)" 1 bytes --as alice download "$aid"
TOKENCTL_KEY_FILE="$TMP/no-such.key" bad "key file: missing (add-app)" 1 bytes add-app --redirect-uri "$URI"
TOKENCTL_KEY_FILE="$TMP/key.short" bad "key file: 16 bytes" 1 bytes --as alice download "$aid"
TOKENCTL_KEY_FILE="$TMP/key.long" bad "key file: 64 bytes" 1 bytes --as alice refresh "$aid"
TOKENCTL_KEY_FILE="$TMP/key.empty" bad "key file: empty" 1 bytes --as alice download "$aid"
TOKENCTL_KEY_FILE="$TMP/key.wrong" bad "key file: wrong key (download)" 1 bytes --as alice download "$aid"
TOKENCTL_KEY_FILE="$TMP/key.wrong" bad "key file: wrong key (refresh)" 1 bytes --as alice refresh "$aid"
TOKENCTL_KEY_FILE="$TMP/key.wrong" bad "key file: wrong key (add-app)" 1 bytes add-app --redirect-uri "$URI"
TOKENCTL_KEY_FILE="$TMP/key.world" bad "key file: readable by others" 1 bytes --as alice download "$aid"
TOKENCTL_KEY_FILE="$TMP/key.group" bad "key file: readable by the group" 1 bytes --as alice download "$aid"
TOKENCTL_KEY_FILE="$TMP/key.dir" bad "key file: a folder" 1 bytes --as alice download "$aid"

case_ "listings work without the key file, and the right key still works"
TOKENCTL_KEY_FILE="$TMP/no-such.key" run system-list --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = 3
TOKENCTL_KEY_FILE="$TMP/key.copy" run --as alice download "$aid" --format access-token
expect_rc 0
check test "${OUT:0:4}" = tca_

# --- database files --------------------------------------------------------------------------
# They are SQLite files; on PostgreSQL the suite has none.
case_ "database files"
if sqlite_only; then
  stored_state >/dev/null # a checkpoint: the copies below need the whole database in its file
  F="$TMP/files"
  mkdir -p "$F"
  : >"$F/empty.db"
  head -c 65536 /dev/urandom >"$F/random.db"
  head -c 50 "$DB" >"$F/short.db"
  head -c 4096 "$DB" >"$F/onepage.db"
  printf 'just text\n' >"$F/text.db"
  sqlite3 "$F/other.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1);"
  cp "$DB" "$F/newer.db"
  sqlite3 "$F/newer.db" "PRAGMA user_version = 99"
  mkdir -p "$F/folder.db"
  for f in empty random short onepage text other newer; do cp "$DB.key" "$F/$f.db.key"; done
  bad_file "database: missing" 1 "$F/missing.db" list
  check test ! -e "$F/missing.db"
  bad_file "database: missing, in a missing folder" 1 "$F/nope/tokens.db" add-app --redirect-uri "$URI"
  check test ! -e "$F/nope"
  bad_file "database: empty file" 1 "$F/empty.db" list
  bad_file "database: random bytes" 1 "$F/random.db" list
  bad_file "database: truncated header" 1 "$F/short.db" list
  bad_file "database: text file" 1 "$F/text.db" add-app --redirect-uri "$URI"
  bad_file "database: another SQLite database" 1 "$F/other.db" list
  bad_file "database: another SQLite database (write)" 1 "$F/other.db" user add carol
  bad_file "database: a folder" 1 "$F/folder.db" list
  # SQLite opens these itself (the header is a tokenctl one) and may leave its -wal/-shm
  # companions; the file's bytes must not change.
  KEEP_FOLDER_CHECK=0 bad_file "database: truncated to one page" 1 "$F/onepage.db" list
  KEEP_FOLDER_CHECK=0 bad_file "database: newer schema version" 1 "$F/newer.db" list
  KEEP_FOLDER_CHECK=0 bad_file "database: newer schema version (write)" 1 "$F/newer.db" add-app --redirect-uri "$URI"
  check test "$(sqlite3 "$F/newer.db" "PRAGMA user_version")" = 99
  check test "$(sqlite3 "$F/other.db" "SELECT x FROM t")" = 1
  check test "$(sqlite3 "$F/other.db" "PRAGMA application_id")" = 0
  check test "$(sqlite3 "$F/other.db" "SELECT count(*) FROM sqlite_master")" = 1

  # Read-only file or folder: root ignores file modes, so these run as another user.
  RO=$(mktemp -d /tmp/tokenctl-hostile-ro.XXXXXX)
  trap 'lib_cleanup; rm -rf "$RO"' EXIT
  chmod 755 "$RO"
  mkdir -p "$RO/file" "$RO/dir"
  cp "$DB" "$DB.key" "$RO/file/"
  cp "$DB" "$DB.key" "$RO/dir/"
  if [ "$(id -u)" = 0 ]; then
    chown -R 65534:65534 "$RO"
    AS_OTHER="setpriv --reuid=65534 --regid=65534 --clear-groups"
  else
    AS_OTHER=""
  fi
  chmod 400 "$RO/file/tokens.db"
  chmod 500 "$RO/dir"
  KEEP_FOLDER_CHECK=0 bad_file "database: read-only file (add-app)" 1 "$RO/file/tokens.db" add-app --redirect-uri "$URI"
  KEEP_FOLDER_CHECK=0 bad_file "database: read-only file (revoke)" 1 "$RO/file/tokens.db" revoke "$admin_id" --yes
  KEEP_FOLDER_CHECK=0 bad_file "database: read-only file (user add)" 1 "$RO/file/tokens.db" user add carol
  bad_file "database: read-only folder (add-app)" 1 "$RO/dir/tokens.db" add-app --redirect-uri "$URI"
  bad_file "database: read-only folder (user add)" 1 "$RO/dir/tokens.db" user add carol
  case_ "a read-only database file can still be listed"
  $AS_OTHER "$TOKENCTL_BIN" --db "$RO/file/tokens.db" system-list --no-headers >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | wc -l)" = 3
  AS_OTHER=""
fi

case_ "the byte check sees a write (a control for the rows above)"
before=$(stored_state)
"$TOKENCTL_BIN" user add carol >/dev/null
check test "$(stored_state)" != "$before"

case_ "the table has at least 60 rows"
check test "$ROWS" -ge 60

case_ "the database is intact after all of it"
if sqlite_only; then check test "$(sql "PRAGMA integrity_check")" = ok; fi
check test "$(sql "select count(*) from tokens")" = 3
check test "$(sql "select count(*) from tokens where revoked_at is not null")" = 0
check test "$(sql "select count(*) from users")" = 4
check test "$(sql "select group_concat(name, ',') from (select name from apps order by id) as a")" = "shop,alice,admin"

# --- a closed stdout ---------------------------------------------------------------------------
case_ "system-list | head -1 on many tokens ends quietly"
clone_tokens 20000
check test "$(sql "select count(*) from tokens")" = 20003
for format in table json csv tsv; do
  "$TOKENCTL_BIN" system-list --format "$format" 2>"$TMP/err" | head -1 >"$TMP/out"
  rc=${PIPESTATUS[0]}
  if grep -qE "$CRASH" "$TMP/err"; then fail "crash text after a closed stdout ($format)"; else pass; fi
  if [ -s "$TMP/err" ] && ! grep -q '^tokenctl: error: ' "$TMP/err"; then
    fail "unexpected stderr after a closed stdout ($format)"
  else
    pass
  fi
  case $rc in 0 | 1 | 141) pass ;; *) fail "exit status $rc after a closed stdout ($format)" ;; esac
  check test -s "$TMP/out"
done
"$TOKENCTL_BIN" system-list --format json 2>"$TMP/err" | head -c 1 >/dev/null
if grep -qE "$CRASH" "$TMP/err"; then fail "crash text after a closed stdout"; else pass; fi
if sqlite_only; then check test "$(sql "PRAGMA integrity_check")" = ok; fi

finish
