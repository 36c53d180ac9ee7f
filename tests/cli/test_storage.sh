#!/usr/bin/env bash
# Storage: tokenctl refuses every file that is not its own database and leaves it byte
# for byte; the key file must be present, the right size, the right key and private;
# the database is in WAL mode, marked with application_id, with foreign keys.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
a1=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" user add bob >/dev/null
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

files_beside() { find "$(dirname "$1")" -maxdepth 1 -name "$(basename "$1")*" | sort | tr '\n' ' '; }

# refused FILE WHAT: every command refuses FILE with exit 1 and leaves it as it was.
refused() {
  local file=$1 what=$2 before beside
  case_ "$what is refused, untouched"
  before=$(sha "$file")
  beside=$(files_beside "$file")
  for args in "list" "system-list" "user list" "user add zed" \
    "add-app --redirect-uri https://x.example/cb" "revoke --yes $a1" "revoke --yes --user alice" \
    "download $a1" "init"; do
    # shellcheck disable=SC2086
    run --db "$file" $args
    if [ "$args" = init ]; then expect_error 5; else expect_error 1; fi
    check test "$(sha "$file")" = "$before"
    check test "$(files_beside "$file")" = "$beside"
  done
}

mkdir -p "$TMP/other"

sqlite3 "$TMP/other/foreign.db" "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('admin');"
refused "$TMP/other/foreign.db" "a foreign SQLite database"
run --db "$TMP/other/foreign.db" list
expect_err_has "is not a tokenctl database"

sqlite3 "$TMP/other/wal.db" "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);" >/dev/null
refused "$TMP/other/wal.db" "a foreign SQLite database in WAL mode"

printf 'name,role\nadmin,admin\n' >"$TMP/other/users.csv"
refused "$TMP/other/users.csv" "a text file"

: >"$TMP/other/empty.db"
refused "$TMP/other/empty.db" "an empty file"

head -c 60 "$DB" >"$TMP/other/short.db"
refused "$TMP/other/short.db" "a tokenctl database cut inside its header"

size=$(stat -c %s "$DB")
head -c $((size / 2)) "$DB" >"$TMP/other/truncated.db"
refused "$TMP/other/truncated.db" "a truncated tokenctl database"

cp "$DB" "$TMP/other/newer.db"
sqlite3 "$TMP/other/newer.db" "PRAGMA user_version = $(($(sqlite3 "$DB" "PRAGMA user_version") + 1))"
sqlite3 "$TMP/other/newer.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
rm -f "$TMP/other/newer.db-wal" "$TMP/other/newer.db-shm"
refused "$TMP/other/newer.db" "a database from a newer tokenctl"
run --db "$TMP/other/newer.db" list
expect_err_has "newer than this tokenctl knows"

case_ "a folder at the database path is refused"
mkdir "$TMP/other/folder.db"
run --db "$TMP/other/folder.db" list
expect_error 1

case_ "the database itself still works after all that"
run --as alice list --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk '{ print $1 }')" = "$a1"

case_ "the database: WAL mode, application_id, schema version, foreign keys"
check test "$(sql "PRAGMA journal_mode")" = wal
check test "$(sql "PRAGMA application_id")" = $((0x546B4374))
check test "$(sql "PRAGMA user_version")" = 3
check test "$(sql "PRAGMA foreign_key_check")" = ""
check test "$(sql "select group_concat(\"table\", ' ') from (select * from pragma_foreign_key_list('tokens') order by \"table\")")" = "apps users users users"
check test "$(sql "select count(*) from pragma_foreign_key_list('apps')")" = 1
check test "$(sql "PRAGMA integrity_check")" = ok
# Every application has its client secret, stored as token secrets are: a SHA-256 digest
# and a sealed form, never the secret itself.
check test "$(sql "select count(*) from apps where id not in (select app_id from client_secrets)")" = 0
check test "$(sql "select count(*) from client_secrets where length(digest) <> 32 or length(sealed) <= 32")" = 0
check test "$(sql "select count(*) from client_secrets where cast(sealed as text) like '%tcs%'")" = 0
check test "$(mode_of "$DB")" = 600

case_ "key file missing: download exit 1 with a clear message; listings still work"
mv "$DB.key" "$TMP/saved.key"
snapshot
run --as alice download "$a1"
expect_error 1
expect_err_has "key file $DB.key is missing"
expect_err_has "hint: put here a copy of the key file that \`tokenctl init\` wrote, mode 0600, or name it with TOKENCTL_KEY_FILE"
run --as alice add-app --redirect-uri https://app.example.com/cb
expect_error 1
expect_err_has "missing"
expect_unchanged
run --as alice list --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk '{ print $1 }')" = "$a1"
run system-list --format json
expect_rc 0
run user list
expect_rc 0
run --as alice revoke --yes --app nosuch
expect_error 4
mv "$TMP/saved.key" "$DB.key"

case_ "key file of the wrong size: exit 1"
cp "$DB.key" "$TMP/saved.key"
for n in 0 31 33 64; do
  head -c "$n" /dev/urandom >"$DB.key"
  run --as alice download "$a1"
  expect_error 1
  expect_err_has "key file $DB.key is $n bytes long"
  expect_unchanged
  run --as alice list
  expect_rc 0
done
cp "$TMP/saved.key" "$DB.key"

case_ "another database's key file: exit 1"
other="$TMP/second/tokens.db"
"$TOKENCTL_BIN" --db "$other" init --admin admin >/dev/null
TOKENCTL_KEY_FILE="$other.key" run --as alice download "$a1"
expect_error 1
expect_err_has "does not match"
cp "$other.key" "$DB.key"
run --as alice download "$a1"
expect_error 1
expect_err_has "key file $DB.key does not match database $DB"
run --as alice add-app --redirect-uri https://app.example.com/cb
expect_error 1
expect_unchanged
run --as alice list
expect_rc 0
cp "$TMP/saved.key" "$DB.key"

case_ "a key file that group or others can read: exit 1"
for m in 644 640 604 660; do
  chmod "$m" "$DB.key"
  run --as alice download "$a1"
  expect_error 1
  expect_err_has "accessible by group or others"
  expect_err_has "chmod 600"
  run --as alice list
  expect_rc 0
done
chmod 600 "$DB.key"
check cmp -s "$DB.key" "$TMP/saved.key"

case_ "a key file that is a symbolic link or a folder is refused"
mv "$DB.key" "$TMP/real.key"
ln -s "$TMP/real.key" "$DB.key"
run --as alice download "$a1"
expect_error 1
rm "$DB.key"
mkdir "$DB.key"
run --as alice download "$a1"
expect_error 1
rmdir "$DB.key"
mv "$TMP/real.key" "$DB.key"

case_ "with the right key again, download works"
run --as alice download "$a1" --format access-token
expect_rc 0
check grep -qE '^tca_[0-9A-Za-z]{49}$' "$TMP/out"

case_ "the top level: --help, --version, unknown commands and flags"
run --help
expect_rc 0
for cmd in init user add-app list system-list revoke download refresh verify audit --db --as --version; do
  expect_out_has "$cmd"
done
run -h
expect_rc 0
run --version
expect_rc 0
expect_out_has "tokenctl "
run
expect_error 2
run lst
expect_error 2
run --bogus list
expect_error 2
run list --db
expect_error 2

case_ "only commands that use cryptography load libcrypto"
# loads_libcrypto ARGS...: whether the dynamic loader opened libcrypto while running ARGS.
loads_libcrypto() {
  rm -f "$TMP"/ld.*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$TMP/ld" "$TOKENCTL_BIN" "$@" </dev/null >/dev/null 2>&1
  cat "$TMP"/ld.* | grep -q 'file=libcrypto\.so'
}
# Linked the ordinary way (TOKENCTL_DLOPEN_LIBCRYPTO=OFF), every command loads it.
if [ "${TOKENCTL_DLOPEN_LIBCRYPTO:-1}" = 1 ]; then
  for args in "list" "system-list" "user list" "audit" "--version" "revoke --yes nosuch"; do
    # shellcheck disable=SC2086
    if loads_libcrypto $args; then fail "$args loaded libcrypto"; else pass; fi
  done
else
  if loads_libcrypto list; then pass; else fail "list did not load the linked libcrypto"; fi
fi
for args in "add-app -q --redirect-uri https://app.example.com/cb" "download $a1"; do
  # shellcheck disable=SC2086
  if loads_libcrypto --as alice $args; then pass; else fail "$args did not load libcrypto"; fi
done

if [ "${TOKENCTL_DLOPEN_LIBCRYPTO:-1}" = 1 ]; then
  case_ "a libcrypto.so.3 that does not load: one error naming the soname, nothing written"
  # The dynamic loader finds this file first, on LD_LIBRARY_PATH, and refuses it.
  mkdir -p "$TMP/badlib"
  printf 'not a shared library\n%.0s' {1..100} >"$TMP/badlib/libcrypto.so.3"
  AUDIT=1 snapshot
  for args in "add-app -q --redirect-uri https://app.example.com/cb" "download $a1"; do
    # shellcheck disable=SC2086
    LD_LIBRARY_PATH="$TMP/badlib" run --as alice $args
    expect_error 1
    expect_err_has "tokenctl: error: cannot load OpenSSL (libcrypto.so.3): "
    expect_err_has "hint: install the package that provides libcrypto.so.3"
  done
  AUDIT=1 expect_unchanged
fi

finish
