#!/usr/bin/env bash
# -o FILE never destroys: `-o -` is standard output; --force replaces a regular file or a
# symbolic link (the link itself) and nothing else — not a folder, a FIFO, a device, a
# socket, /dev/stdout, nor the registry's own files (database, -wal, -shm, key file); the
# sweep of orphaned temporary files deletes only names tokenctl makes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
id=$(TOKENCTL_USER=alice new_token)
F="$TMP/files"
mkdir -p "$F"

# Every refusal below: exit 5, one error line, nothing on stdout, no secret on stderr,
# and the registry unchanged, the audit log included.
refused() {
  AUDIT=1 snapshot
  run --as alice "$@"
  expect_error 5
  expect_err_lacks_secret
  AUDIT=1 expect_unchanged
}
# The hint, when there is one, must not send the user to --force when --force cannot help.
expect_no_force_hint() {
  if printf '%s' "$ERR" | grep -q -- "--force"; then fail "hints at --force"; else pass; fi
}
is_token_file() { python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["id"] == sys.argv[2]' "$1" "$id"; }

case_ "-o - writes the token file to standard output, and no file named -"
cd "$F" || exit 1
run --as alice download "$id" -o -
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/dash.json"
check is_token_file "$TMP/dash.json"
check test ! -e "$F/-"
run --as alice download "$id" --format access-token -o -
expect_rc 0
check test "$(printf '%s' "$OUT" | grep -cE '^tca_[0-9A-Za-z]{49}$')" = 1
run --as alice refresh "$id" -o -
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/dash.json"
check is_token_file "$TMP/dash.json"
check test ! -e "$F/-"
check test "$(sql "select detail from audit where action = 'download' order by id desc limit 1")" = "to standard output"

case_ "add-app -o - prints the new token's file alone on standard output"
run --as alice add-app --redirect-uri https://app.example.com/cb -o -
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/new.json"
new_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/new.json")
check test "$(sql "select count(*) from tokens where token_id = '$new_id'")" = 1
check test ! -e "$F/-"
cd "$TMP" || exit 1

# Runs tokenctl ARGS as alice where /dev is private to it, when this machine lets the test
# make a mount namespace, so that a tokenctl that replaces /dev/stdout harms nothing else;
# sets RC, OUT, ERR and LINK (what /dev/stdout links to afterwards). Elsewhere it runs
# against the real /dev, and puts a destroyed /dev/stdout back at once.
run_with_private_dev() {
  : >"$TMP/stdin"
  rm -f "$TMP/private-dev"
  TMP=$TMP unshare --mount --propagation private bash -c '
    mount -t tmpfs -o mode=755 tokenctl-dev /dev || exit 99
    ln -s /proc/self/fd /dev/fd && ln -s /proc/self/fd/0 /dev/stdin &&
      ln -s /proc/self/fd/1 /dev/stdout && ln -s /proc/self/fd/2 /dev/stderr &&
      mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/urandom c 1 9 || exit 99
    : >"$TMP/private-dev"
    "$@" <"$TMP/stdin" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    readlink /dev/stdout >"$TMP/link" || : >"$TMP/link"
    exit $rc' _ "$TOKENCTL_BIN" --as alice "$@" 2>/dev/null
  RC=$?
  if [ ! -e "$TMP/private-dev" ]; then
    run --as alice "$@"
    readlink /dev/stdout >"$TMP/link"
    if [ ! -L /dev/stdout ] && [ "$(id -u)" = 0 ]; then
      rm -f /dev/stdout && ln -s /proc/self/fd/1 /dev/stdout
    fi
  fi
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  LINK=$(cat "$TMP/link")
  rm -f "$TMP/link"
}

case_ "-o /dev/stdout --force is exit 5 and /dev/stdout stays a link to the standard output"
for command in download refresh; do
  AUDIT=1 snapshot
  run_with_private_dev "$command" "$id" -o /dev/stdout --force
  expect_error 5
  expect_err_has "/dev/stdout is a link to /proc/self/fd/1, a process's open file"
  expect_err_has "hint: -o - writes to standard output"
  expect_err_lacks_secret
  AUDIT=1 expect_unchanged
  check test "$LINK" = /proc/self/fd/1
done
check test -L /dev/stdout

case_ "the key file is never replaced, even with --force: every secret stays readable"
key_sha=$(sha "$DB.key")
refused download "$id" -o "$DB.key" --force
expect_err_has "$DB.key is a file of the registry in use"
expect_no_force_hint
refused refresh "$id" -o "$DB.key" --force
check test "$(sha "$DB.key")" = "$key_sha"
check test "$(mode_of "$DB.key")" = 600
run --as alice download "$id" -o "$F/after-key.json"
expect_rc 0

case_ "the database and its -wal and -shm files are never replaced"
for file in "$DB" "$DB-wal" "$DB-shm"; do
  refused download "$id" -o "$file" --force
  expect_err_has "is a file of the registry in use"
  refused download "$id" -o "$file"
  expect_no_force_hint
done
check test "$(sql "select count(*) from users where name = 'alice'")" = 1
run --as alice list
expect_rc 0

case_ "a link to the key file is refused, the link left as it was"
ln -s "$DB.key" "$F/key-link"
refused download "$id" -o "$F/key-link" --force
expect_err_has "links to the registry's file $DB.key"
check test "$(readlink "$F/key-link")" = "$DB.key"
check test "$(sha "$DB.key")" = "$key_sha"

case_ "a FIFO is exit 5 even with --force, and stays a FIFO"
mkfifo "$F/fifo"
refused download "$id" -o "$F/fifo" --force
expect_err_has "$F/fifo is a FIFO; only a regular file or a symbolic link is replaced"
refused download "$id" -o "$F/fifo"
expect_no_force_hint
check test -p "$F/fifo"

case_ "a folder is exit 5 even with --force, its content intact"
mkdir "$F/folder"
printf 'kept\n' >"$F/folder/inside"
refused download "$id" -o "$F/folder" --force
expect_err_has "$F/folder is a folder"
expect_no_force_hint
check test -d "$F/folder"
check test "$(cat "$F/folder/inside")" = kept

case_ "a socket is exit 5 even with --force"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$F/sock"
refused download "$id" -o "$F/sock" --force
expect_err_has "is a socket"
check test -S "$F/sock"

if [ "$(id -u)" = 0 ]; then
  case_ "a device node is exit 5 even with --force (as root), and stays a device"
  mknod "$F/null" c 1 3
  refused download "$id" -o "$F/null" --force
  expect_err_has "$F/null is a device"
  check test -c "$F/null"
fi

case_ "backup follows the same rules: never over the registry's files, a FIFO or a folder"
db_sha=$(sha "$DB")
for dest in "$DB" "$F/fifo" "$F/folder"; do
  AUDIT=1 snapshot
  run --as admin backup "$dest" --force
  expect_error 5
  AUDIT=1 expect_unchanged
done
check test "$(sha "$DB.key")" = "$key_sha"
check test -p "$F/fifo"
ln -s "$DB" "$F/db-link"
run --as admin backup "$F/db-link" --force
expect_error 5
expect_err_has "links to the registry's file $DB"
check test "$(readlink "$F/db-link")" = "$DB"
run --as admin backup "$F/copy.db"
expect_rc 0
check test -f "$F/copy.db"
check test "$(sha "$F/copy.db.key")" = "$key_sha"

case_ "--force replaces a link to a regular file: the link itself, the target intact"
printf 'target\n' >"$F/target"
ln -s "$F/target" "$F/link.json"
run --as alice download "$id" -o "$F/link.json" --force
expect_rc 0
check test ! -L "$F/link.json"
check is_token_file "$F/link.json"
check test "$(cat "$F/target")" = target

case_ "an existing regular file still needs --force, and the hint says so"
printf 'precious\n' >"$F/existing.json"
run --as alice download "$id" -o "$F/existing.json"
expect_error 5
expect_err_has "hint: pass --force to replace it"
check test "$(cat "$F/existing.json")" = precious

case_ "the sweep of orphaned temporary files leaves the user's .NAME.backup alone"
printf 'my backup\n' >"$F/.tok.json.backup"
chmod 600 "$F/.tok.json.backup"
printf 'old\n' >"$F/tok.json"
run --as alice download "$id" -o "$F/tok.json" --force
expect_rc 0
check test "$(cat "$F/.tok.json.backup")" = "my backup"
check is_token_file "$F/tok.json"
rm -f "$F/tok.json"
run --as alice download "$id" -o "$F/tok.json"
expect_rc 0
check test "$(cat "$F/.tok.json.backup")" = "my backup"

case_ "an orphan that tokenctl named is swept; one that is not private or not ours is not"
printf 'orphan\n' >"$F/.tok.json.tokenctl-a1B2c3"
chmod 600 "$F/.tok.json.tokenctl-a1B2c3"
printf 'shared\n' >"$F/.tok.json.tokenctl-x9y8z7"
chmod 644 "$F/.tok.json.tokenctl-x9y8z7"
run --as alice download "$id" -o "$F/tok.json" --force
expect_rc 0
check test ! -e "$F/.tok.json.tokenctl-a1B2c3"
check test -e "$F/.tok.json.tokenctl-x9y8z7"
check test -z "$(find "$F" -name '.tok.json.tokenctl-*' -perm 600)"

finish
