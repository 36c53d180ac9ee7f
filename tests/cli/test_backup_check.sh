#!/usr/bin/env bash
# backup: a consistent copy of the live database and its key file; check: one line per
# health check, exit 1 on any problem, and never a crash on a damaged file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
a1=$(new_token --as alice)
"$TOKENCTL_BIN" --as alice download "$a1" --format access-token >"$TMP/a1.access"
mkdir -p "$TMP/bk"

case_ "backup writes the database and its key file, both 0600, and the copy opens"
run backup "$TMP/bk/t.db"
expect_rc 0
expect_out "wrote $TMP/bk/t.db and $TMP/bk/t.db.key"
check test "$(mode_of "$TMP/bk/t.db")" = 600
check test "$(mode_of "$TMP/bk/t.db.key")" = 600
check cmp -s "$DB.key" "$TMP/bk/t.db.key"
check test -z "$(ls -A "$TMP/bk" | grep -v '^t\.db\(\.key\)\?$')"
run --db "$TMP/bk/t.db" check
expect_rc 0
run --stdin "$(cat "$TMP/a1.access")" --db "$TMP/bk/t.db" verify
expect_rc 0
check test "$(sql "select count(*) from audit where action = 'backup' and subject = '$TMP/bk/t.db'")" = 1

case_ "restoring is copying both files back"
a2=$(new_token --as alice)
cp "$TMP/bk/t.db" "$TMP/restored.db"
cp -p "$TMP/bk/t.db.key" "$TMP/restored.db.key"
run --db "$TMP/restored.db" --as alice list --format csv --no-headers
expect_rc 0
expect_out_has "$a1,"
check test "$(printf '%s' "$OUT" | grep -c "$a2")" = 0

case_ "an existing DEST is exit 5 and untouched; --force replaces both files"
before=$(sha "$TMP/bk/t.db")
run backup "$TMP/bk/t.db"
expect_error 5
check test "$(sha "$TMP/bk/t.db")" = "$before"
run backup "$TMP/bk/t.db" --force
expect_rc 0
run --db "$TMP/bk/t.db" --as alice list --format csv --no-headers
expect_out_has "$a2,"

case_ "a non-admin cannot back up (exit 3); a missing folder is exit 1; nothing is left"
run --as alice backup "$TMP/bk/alice.db"
expect_error 3
check test ! -e "$TMP/bk/alice.db"
run backup "$TMP/nowhere/t.db"
expect_error 1
expect_err_has "the folder $TMP/nowhere does not exist"

case_ "a backup taken while writers work is a consistent registry"
( for _ in $(seq 30); do "$TOKENCTL_BIN" --as alice add-app -q --redirect-uri https://app.example.com/cb >/dev/null; done ) &
writer=$!
sleep 0.2
run backup "$TMP/bk/busy.db"
expect_rc 0
wait "$writer"
run --db "$TMP/bk/busy.db" check
expect_rc 0
check test "$(sqlite3 "$TMP/bk/busy.db" "select count(*) from audit where action = 'add-app'")" = \
  "$(sqlite3 "$TMP/bk/busy.db" "select count(*) from tokens")"

# --- check --------------------------------------------------------------------------
case_ "check on a sound registry: every line ok, exit 0"
run check
expect_rc 0
expect_out "ok database
ok integrity
ok schema
ok key-file
ok files
ok administrators
ok audit-log
ok secrets"
run --as alice check
expect_rc 0
expect_out "ok database
skipped integrity: administrators only
ok schema
ok key-file
ok files
skipped administrators: administrators only
skipped audit-log: administrators only
skipped secrets: administrators only"

case_ "a key file others can read is a problem with the chmod that fixes it"
chmod 644 "$DB.key"
run check
expect_rc 1
expect_out_has "problem key-file: key file $DB.key is accessible by group or others (mode 0644) (hint: run: chmod 600 $DB.key)"
expect_err_has "tokenctl: error: 1 of 7 checks found a problem"
chmod 600 "$DB.key"

case_ "a missing key file, a database others can write"
mv "$DB.key" "$TMP/away.key"
run check
expect_rc 1
expect_out_has "problem key-file: key file $DB.key is missing"
mv "$TMP/away.key" "$DB.key"
chmod 664 "$DB"
run check
expect_rc 1
expect_out_has "problem files: $DB is writable by group or others (mode 0664) (hint: run: chmod 600 $DB)"
chmod 600 "$DB"

case_ "an audit log whose protection was dropped"
cp "$DB" "$TMP/bk/trig.db"
cp -p "$DB.key" "$TMP/bk/trig.db.key"
sqlite3 "$TMP/bk/trig.db" "drop trigger audit_no_delete"
run --db "$TMP/bk/trig.db" check
expect_rc 1
expect_out_has "problem audit-log: the audit log is not protected against changes and deletions"

case_ "a damaged database is reported, never a crash"
cp "$DB" "$TMP/bk/bad.db"
cp -p "$DB.key" "$TMP/bk/bad.db.key"
size=$(stat -c %s "$TMP/bk/bad.db")
# Scribble over the last pages (the indexes), keeping the header.
dd if=/dev/urandom of="$TMP/bk/bad.db" bs=1024 seek=$((size / 1024 - 8)) count=8 conv=notrunc 2>/dev/null
run --db "$TMP/bk/bad.db" check
check test "$RC" = 1
check test -n "$(printf '%s' "$OUT" | grep '^problem ')"
printf 'not a database at all' >"$TMP/bk/text.db"
run --db "$TMP/bk/text.db" check
expect_rc 1
expect_out "problem database: $TMP/bk/text.db is not a tokenctl database (hint: check --db / TOKENCTL_DB; tokenctl leaves other files untouched)"
check test "$(cat "$TMP/bk/text.db")" = "not a database at all"

case_ "backup - is refused (exit 2): a backup is two files; nothing is written"
( cd "$TMP" && "$TOKENCTL_BIN" backup - >"$TMP/out" 2>"$TMP/err" )
RC=$?
OUT=$(cat "$TMP/out")
ERR=$(cat "$TMP/err")
expect_error 2
expect_err_has "a backup is two files, the database and its key file: standard output (-) cannot hold them"
check test ! -e "$TMP/-"
check test ! -e "$TMP/-.key"

case_ "backup into a missing folder names DEST, never a temporary file"
run backup "$TMP/missing/dir/x.db"
expect_error 1
check test "$(printf '%s' "$ERR" | grep -c '\.x\.db\.tokenctl-')" = 0
expect_err_has "tokenctl: error: cannot write $TMP/missing/dir/x.db: the folder $TMP/missing/dir does not exist"
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$TMP/ro" && chmod 500 "$TMP/ro"
  run backup "$TMP/ro/x.db"
  expect_error 1
  check test "$(printf '%s' "$ERR" | grep -c '\.x\.db\.tokenctl-')" = 0
  expect_err_has "$TMP/ro/x.db"
  check test -z "$(ls -A "$TMP/ro")"
fi

case_ "a backup killed before linking leaves temporary files that the next backup removes"
mkdir -p "$TMP/kill"
# What a backup killed between creating and linking its files leaves: private files of
# this user, named as tokenctl names them, with no live writer (no lock held).
for f in .k.db.tokenctl-Ab12Cd .k.db.tokenctl-Ab12Cd-journal .k.db.key.tokenctl-Zz9Yy8; do
  ( umask 077; printf 'left over' >"$TMP/kill/$f" )
done
# Not tokenctl's: other names, another pattern, a file others may read.
printf 'mine' >"$TMP/kill/.k.db.tokenctl-notmine"
printf 'mine' >"$TMP/kill/k.db.tokenctl-Ab12Cd"
( umask 022; printf 'shared' >"$TMP/kill/.k.db.tokenctl-Sh4red" )
# One held by a live writer (an exclusive lock) stays.
( umask 077; printf 'busy' >"$TMP/kill/.k.db.tokenctl-Bu5yyy" )
python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(30)' "$TMP/kill/.k.db.tokenctl-Bu5yyy" "$TMP/locked" &
holder=$!
while [ ! -e "$TMP/locked" ]; do sleep 0.05; done
run backup "$TMP/kill/k.db"
expect_rc 0
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
check test "$(cd "$TMP/kill" && ls -A | sort | tr '\n' ' ')" = ".k.db.tokenctl-Bu5yyy .k.db.tokenctl-Sh4red .k.db.tokenctl-notmine k.db k.db.key k.db.tokenctl-Ab12Cd "

# --- check ends on any file, however damaged ------------------------------------------
# A copy of the registry with tokens whose row ids are 0, negative and positive, in one
# leaf page of the tokens table.
SMALL="$TMP/small/t.db"
"$TOKENCTL_BIN" --db "$SMALL" init --admin admin >/dev/null
"$TOKENCTL_BIN" --db "$SMALL" user add alice >/dev/null
for i in 1 2 3 4; do new_token --db "$SMALL" --as alice >/dev/null; done
sqlite3 "$SMALL" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
damaged_copy() {
  cp "$SMALL" "$TMP/bk/$1.db"
  cp -p "$SMALL.key" "$TMP/bk/$1.db.key"
  sqlite3 "$TMP/bk/$1.db" "PRAGMA journal_mode = DELETE" >/dev/null
}
# Reverses the cell pointers of table $2's root page in database $1: its rows' keys out
# of order, as a damaged b-tree hands them back.
reverse_cells() {
  python3 - "$1" "$(sqlite3 "$1" "select rootpage from sqlite_schema where name = '$2'")" <<'PY'
import struct, sys
path, root = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
page_size = struct.unpack(">H", data[16:18])[0] or 65536
base = (root - 1) * page_size
header = base + (100 if root == 1 else 0)
assert data[header] == 0x0D, "the root page is not a table leaf"
cells = struct.unpack(">H", data[header + 3:header + 5])[0]
start = header + 8
pointers = [data[start + 2 * i:start + 2 * i + 2] for i in range(cells)]
for i, p in enumerate(reversed(pointers)):
    data[start + 2 * i:start + 2 * i + 2] = p
open(path, "wb").write(bytes(data))
PY
}
# check must end (timeout: 124), with exit 1 and at least one problem line.
check_ends_with_problems() {
  timeout 20 "$TOKENCTL_BIN" --db "$1" check >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  expect_rc 1
  check test -n "$(printf '%s\n' "$OUT" | grep '^problem ')"
  check test -z "$(printf '%s\n' "$OUT" | grep -v '^\(ok\|problem\|skipped\) ')"
}

case_ "tokens whose row ids are 0 or negative are checked like the others"
damaged_copy low
sqlite3 "$TMP/bk/low.db" "update tokens set id = 0 where id = (select min(id) from tokens);
  update tokens set id = -7 where id = (select max(id) from tokens);"
run --db "$TMP/bk/low.db" check
expect_rc 0
expect_out_has "ok secrets"
# A secret that does not open is found at row 0 too.
sqlite3 "$TMP/bk/low.db" "update tokens set access_sealed = zeroblob(60) where id = 0"
run --db "$TMP/bk/low.db" check
expect_rc 1
expect_out_has "problem secrets: 1 token (first $(sqlite3 "$TMP/bk/low.db" "select token_id from tokens where id = 0")) do not open with the key file"

case_ "check ends on a tokens table whose rows are out of order (row 0 after the others)"
damaged_copy order
sqlite3 "$TMP/bk/order.db" "update tokens set id = 0 where id = (select min(id) from tokens);
  update tokens set id = -3 where id = (select max(id) from tokens);"
reverse_cells "$TMP/bk/order.db" tokens || fail "cannot reverse the cells of the tokens table"
check_ends_with_problems "$TMP/bk/order.db"
expect_out_has "problem integrity:"

case_ "rekey re-seals tokens whose row ids are 0 or negative too"
damaged_copy lowrekey
sqlite3 "$TMP/bk/lowrekey.db" "update tokens set id = 0 where id = (select min(id) from tokens);
  update tokens set id = -7 where id = (select max(id) from tokens);"
run --db "$TMP/bk/lowrekey.db" rekey --yes
expect_rc 0
check test ! -e "$TMP/bk/lowrekey.db.key.new"
run --db "$TMP/bk/lowrekey.db" check
expect_rc 0
expect_out_has "ok secrets"

case_ "rekey ends on a tokens table whose rows are out of order, and changes nothing"
damaged_copy orderrekey
sqlite3 "$TMP/bk/orderrekey.db" "update tokens set id = 0 where id = (select min(id) from tokens);
  update tokens set id = -3 where id = (select max(id) from tokens);"
reverse_cells "$TMP/bk/orderrekey.db" tokens || fail "cannot reverse the cells of the tokens table"
key_before=$(sha256sum <"$TMP/bk/orderrekey.db.key")
db_before=$(sha256sum <"$TMP/bk/orderrekey.db")
timeout 20 "$TOKENCTL_BIN" --db "$TMP/bk/orderrekey.db" rekey --yes >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect_error 1
expect_err_has "the token table is damaged"
check test "$(sha256sum <"$TMP/bk/orderrekey.db.key")" = "$key_before"
check test "$(sha256sum <"$TMP/bk/orderrekey.db")" = "$db_before"
check test ! -e "$TMP/bk/orderrekey.db.key.new"

# Points table tokens of database $1 at root page $2 (newer sqlite3 shells are defensive
# by default: they refuse writable_schema unless told otherwise).
point_tokens_at() {
  sqlite3 -cmd ".dbconfig defensive off" "$1" "PRAGMA writable_schema = ON;
    update sqlite_schema set rootpage = $2 where name = 'tokens';" >/dev/null
  check test "$(sqlite3 "$1" "select rootpage from sqlite_schema where name = 'tokens'")" = "$2"
}

case_ "check ends on a schema pointing a table at another's pages, or at page 0"
damaged_copy swap
users_root=$(sqlite3 "$TMP/bk/swap.db" "select rootpage from sqlite_schema where name = 'users'")
point_tokens_at "$TMP/bk/swap.db" "$users_root"
check_ends_with_problems "$TMP/bk/swap.db"
damaged_copy zero
point_tokens_at "$TMP/bk/zero.db" 0
check_ends_with_problems "$TMP/bk/zero.db"

case_ "check ends on a zeroed page, and on a truncated file"
damaged_copy page
root=$(sqlite3 "$TMP/bk/page.db" "select rootpage from sqlite_schema where name = 'tokens'")
page_size=$(sqlite3 "$TMP/bk/page.db" "PRAGMA page_size")
dd if=/dev/zero of="$TMP/bk/page.db" bs="$page_size" seek=$((root - 1)) count=1 conv=notrunc 2>/dev/null
check_ends_with_problems "$TMP/bk/page.db"
damaged_copy short
size=$(stat -c %s "$TMP/bk/short.db")
truncate -s $((size / 2)) "$TMP/bk/short.db"
check_ends_with_problems "$TMP/bk/short.db"

finish
