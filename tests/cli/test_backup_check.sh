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
ok schema
ok key-file
ok files"

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

finish
