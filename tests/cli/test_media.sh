#!/usr/bin/env bash
# Files and media: a read-only database file, folder or mount still serves listings,
# whoami, verify and check, and refuses writes with a hint; a listing leaves no -wal/-shm
# behind that would break later writes; a shared folder or a planted -wal/-shm is refused
# before anything is written; a full disk is called a full disk; the key file is never
# followed, never waited on, and read before the write lock; a relative XDG_DATA_HOME is
# ignored.
# The mounts need root and a kernel that lets us mount a tmpfs: without them those cases
# are skipped, with a line that says so.
. "$(dirname "$0")/lib.sh"

URI=https://app.example.com/cb
MOUNTS=()
OTHER_DIR=""
cleanup() {
  local m
  for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
  [ -n "$OTHER_DIR" ] && rm -rf "$OTHER_DIR"
  rm -rf "$TMP"
}
trap cleanup EXIT

skip() { printf 'SKIP [%s] %s\n' "$CASE" "$*"; }

# mount_tmpfs SIZE: mounts a fresh tmpfs of SIZE, mode 0700, on a new folder, named in
# MNT. Fails quietly when this process may not mount.
mount_tmpfs() {
  MNT=$(mktemp -d "$TMP/mnt.XXXXXX")
  [ "$(id -u)" = 0 ] || return 1
  mount -t tmpfs -o "size=$1,mode=0700" tokenctl-test "$MNT" 2>/dev/null || return 1
  MOUNTS+=("$MNT")
}

# File modes mean nothing to root: the read-only file and folder cases run as nobody then,
# on a copy that nobody owns.
if [ "$(id -u)" = 0 ]; then
  AS_OTHER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
  AS_OTHER=()
fi
# run_as_other ARGS...: like run, as that user, with stdin from $STDIN_FILE (else empty);
# run_here the same as ourselves.
run_as() {
  "$@" <"${STDIN_FILE:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(<"$TMP/out")
  ERR=$(<"$TMP/err")
}
run_as_other() { run_as "${AS_OTHER[@]}" "$TOKENCTL_BIN" "$@"; }
run_here() { run_as "$TOKENCTL_BIN" "$@"; }
# A copy of the database and its key in FOLDER (created), owned by the user of
# run_as_other.
copy_for_other() {
  mkdir -p "$1"
  cp "$DB" "$DB.key" "$1/"
  [ "$(id -u)" = 0 ] && chown -R 65534:65534 "$OTHER_DIR"
  true
}
# What a folder holds: names, owners, modes and sizes.
listing() { ls -la --time-style=+ "$1" | tail -n +2; }

# The database's bytes, for "nothing was written".
db_sum() { sha256sum <"$1"; }

fresh_db
admin_id=$(new_token)
alice_id=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" download "$admin_id" --format access-token >"$TMP/access"

# expect_read_not_write RUNNER DBFILE MESSAGE: list works, add-app is exit 1 with MESSAGE.
expect_read_not_write() {
  $1 --db "$2" list --no-headers
  expect_rc 0
  expect_out_has "$admin_id"
  $1 --db "$2" add-app --redirect-uri "$URI"
  expect_error 1
  expect_err_has "$3"
}

# The reads that must work wherever the database cannot be written: RUNNER is run_here or
# run_as_other, DBFILE the database.
expect_reads_work() {
  local runner=$1 dbfile=$2
  local what=$CASE
  case_ "$what: list"
  $runner --db "$dbfile" list --no-headers
  expect_rc 0
  expect_out_has "$admin_id"
  case_ "$what: system-list"
  $runner --db "$dbfile" system-list --no-headers --format tsv
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | cut -f1 | sort | tr '\n' ' ')" = "$(printf '%s\n' "$admin_id" "$alice_id" | sort | tr '\n' ' ')"
  case_ "$what: user list"
  $runner --db "$dbfile" user list --no-headers --format tsv
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" = "admin alice "
  case_ "$what: audit"
  $runner --db "$dbfile" audit --format tsv --no-headers --action init
  expect_rc 0
  expect_out_has "admin"
  case_ "$what: whoami"
  $runner --db "$dbfile" whoami --format tsv --no-headers
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | cut -f1,2)" = "admin	admin"
  case_ "$what: verify"
  STDIN_FILE="$TMP/access" $runner --db "$dbfile" verify
  expect_rc 0
  expect_out_has "token_id: $admin_id"
  case_ "$what: check"
  $runner --db "$dbfile" check
  expect_rc 0
  expect_out_has "ok integrity"
  case_ "$what: a write is exit 1 with a hint"
  $runner --db "$dbfile" add-app --redirect-uri "$URI"
  expect_error 1
  expect_err_has "is read-only here"
  expect_err_has "hint: "
  case_ "$what: revoke is exit 1"
  $runner --db "$dbfile" revoke --yes "$alice_id"
  expect_error 1
  expect_err_has "is read-only here"
  case_ "$what: an unknown acting user is still exit 3"
  $runner --db "$dbfile" --as ghost list
  expect_error 3
  expect_err_has "ghost is not a user of this database"
  CASE=$what
}

# --- a read-only database file and folder -------------------------------------------------
OTHER_DIR=$(mktemp -d /tmp/tokenctl-media-other.XXXXXX)
chmod 755 "$OTHER_DIR"
copy_for_other "$OTHER_DIR/file"
copy_for_other "$OTHER_DIR/dir"
copy_for_other "$OTHER_DIR/seq"
copy_for_other "$OTHER_DIR/stale"
copy_for_other "$OTHER_DIR/backup"
copy_for_other "$OTHER_DIR/odd%2f?x=1#y"
chmod 400 "$OTHER_DIR/file/tokens.db" "$OTHER_DIR/odd%2f?x=1#y/tokens.db"
chmod 500 "$OTHER_DIR/dir"

for where in file dir; do
  f="$OTHER_DIR/$where/tokens.db"
  before_sum=$(db_sum "$f")
  before_ls=$(listing "$OTHER_DIR/$where")
  case_ "a read-only database $where"
  expect_reads_work run_as_other "$f"
  case_ "a read-only database $where: nothing written, no -wal or -shm left"
  check test "$(db_sum "$f")" = "$before_sum"
  check test "$(listing "$OTHER_DIR/$where")" = "$before_ls"
done
chmod 700 "$OTHER_DIR/dir"

case_ "a read-only database whose path has URI characters (% ? #)"
run_as_other --db "$OTHER_DIR/odd%2f?x=1#y/tokens.db" list --no-headers
expect_rc 0
expect_out_has "$admin_id"

case_ "a listing of a 0400 database leaves nothing that breaks a later write"
f="$OTHER_DIR/seq/tokens.db"
chmod 400 "$f"
run_as_other --db "$f" list --no-headers
expect_rc 0
check test ! -e "$f-shm"
check test ! -e "$f-wal"
chmod 600 "$f"
run_as_other --db "$f" add-app -q --redirect-uri "$URI"
expect_rc 0
new_id=$OUT
run_as_other --db "$f" list --no-headers --format tsv
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" = "$admin_id $new_id "

case_ "a backup of a 0400 database leaves nothing that breaks a later write"
f="$OTHER_DIR/backup/tokens.db"
chmod 400 "$f"
run_as_other --db "$f" backup "$OTHER_DIR/backup/copy.db"
check test ! -e "$f-shm"
check test ! -e "$f-wal"
chmod 600 "$f"
run_as_other --db "$f" add-app -q --redirect-uri "$URI"
expect_rc 0

case_ "a database that group or others may write is only read: SQLite would share its -wal"
G="$TMP/groupwritable"
mkdir -m 700 "$G"
cp "$DB" "$DB.key" "$G/"
chmod 664 "$G/tokens.db"
before_ls=$(listing "$G")
expect_read_not_write run_here "$G/tokens.db" \
  "database $G/tokens.db is read-only here: $G/tokens.db is writable by group or others (mode 0664)"
expect_err_has "hint: run: chmod 600 $G/tokens.db"
check test "$(listing "$G")" = "$before_ls"
chmod 600 "$G/tokens.db"
run --db "$G/tokens.db" add-app -q --redirect-uri "$URI"
expect_rc 0
check test "$(mode_of "$G/tokens.db-wal" 2>/dev/null || echo none)" != 664

case_ "a read-only -shm left by an older tokenctl: the error names it"
f="$OTHER_DIR/stale/tokens.db"
: >"$f-wal"
head -c 32768 /dev/zero >"$f-shm"
[ "$(id -u)" = 0 ] && chown 65534:65534 "$f-wal" "$f-shm"
chmod 400 "$f-wal" "$f-shm"
expect_read_not_write run_as_other "$f" "is read-only here: $f-wal is not writable"

# --- a read-only mount -----------------------------------------------------------------------
case_ "a read-only mount"
if mount_tmpfs 4m; then
  cp "$DB" "$DB.key" "$MNT/"
  mount -o remount,ro "$MNT"
  before_ls=$(listing "$MNT")
  expect_reads_work run_here "$MNT/tokens.db"
  case_ "a read-only mount: the error says why"
  run_here --db "$MNT/tokens.db" user add carol
  expect_error 1
  expect_err_has "database $MNT/tokens.db is read-only here: it is on a read-only file system"
  case_ "a read-only mount: nothing appeared"
  check test "$(listing "$MNT")" = "$before_ls"

  # A copy taken while a writer had changes in its -wal only: read-only, they are read.
  case_ "a read-only mount with changes still in the -wal"
  mount_tmpfs 4m
  MNT2=$MNT
  mkdir "$TMP/live"
  cp "$DB" "$DB.key" "$TMP/live/"
  {
    printf "PRAGMA wal_autocheckpoint = 0;\n"
    printf "INSERT INTO users (name, role, created_at) VALUES ('carol', 'user', 1);\n"
    sleep 2
  } | sqlite3 "$TMP/live/tokens.db" >/dev/null &
  writer=$!
  for _ in $(seq 50); do [ -s "$TMP/live/tokens.db-wal" ] && break; sleep 0.1; done
  sleep 0.3
  cp "$TMP/live/tokens.db" "$TMP/live/tokens.db-wal" "$TMP/live/tokens.db-shm" "$TMP/live/tokens.db.key" "$MNT2/"
  mount_tmpfs 4m
  MNT3=$MNT
  cp "$TMP/live/tokens.db" "$TMP/live/tokens.db-wal" "$TMP/live/tokens.db.key" "$MNT3/"
  wait "$writer"
  mount -o remount,ro "$MNT2"
  mount -o remount,ro "$MNT3"
  check test -s "$MNT2/tokens.db-wal"
  run --db "$MNT2/tokens.db" user list --no-headers --format tsv
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" = "admin alice carol "
  run --db "$MNT2/tokens.db" --as carol whoami --format tsv --no-headers
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | cut -f1,2)" = "carol	user"
  case_ "a read-only mount with changes in a -wal but no -shm: exit 1, and why"
  run --db "$MNT3/tokens.db" user list
  expect_error 1
  expect_err_has "hint: the changes waiting in its -wal file can be read only where the database can be written (it is on a read-only file system)"
else
  skip "cannot mount a tmpfs here (needs root); the read-only mount cases did not run"
fi

# --- shared folders and planted -wal/-shm files -----------------------------------------------
for mode in 1777 0770 0707; do
  case_ "a database in a folder of mode $mode is refused before anything is written"
  S="$TMP/shared-$mode"
  mkdir "$S"
  cp "$DB" "$DB.key" "$S/"
  chmod "$mode" "$S"
  before_sum=$(db_sum "$S/tokens.db")
  before_ls=$(listing "$S")
  run --db "$S/tokens.db" list
  expect_error 1
  expect_err_has "is in a folder that others may write to ($S, mode $mode"
  run --db "$S/tokens.db" add-app --redirect-uri "$URI"
  expect_error 1
  check test "$(db_sum "$S/tokens.db")" = "$before_sum"
  check test "$(listing "$S")" = "$before_ls"
done

case_ "init in a shared folder is refused and leaves nothing"
S="$TMP/shared-1777"
before_ls=$(listing "$S")
run --db "$S/new.db" init --admin admin
expect_error 1
expect_err_has "is in a folder that others may write to"
check test "$(listing "$S")" = "$before_ls"

# plant NAME SETUP...: a copy of the database in a private folder, with a -wal and a -shm
# planted by SETUP (run in that folder); every command is refused, nothing changes.
plant() {
  local name=$1
  shift
  local P="$TMP/planted-$name"
  mkdir -m 700 "$P"
  cp "$DB" "$DB.key" "$P/"
  head -c 4096 /dev/urandom >"$P/tokens.db-wal"
  head -c 32768 /dev/zero >"$P/tokens.db-shm"
  chmod 600 "$P/tokens.db-wal" "$P/tokens.db-shm"
  (cd "$P" && "$@")
  local before_sum before_files before_ls
  before_sum=$(db_sum "$P/tokens.db")
  before_files=$(cat "$P/tokens.db-wal" "$P/tokens.db-shm" 2>/dev/null | sha256sum)
  before_ls=$(listing "$P")
  for args in "list" "add-app --redirect-uri $URI" "user add carol" "whoami"; do
    # shellcheck disable=SC2086
    run --db "$P/tokens.db" $args
    expect_error 1
    expect_err_has "$EXPECT"
  done
  check test "$(db_sum "$P/tokens.db")" = "$before_sum"
  check test "$(cat "$P/tokens.db-wal" "$P/tokens.db-shm" 2>/dev/null | sha256sum)" = "$before_files"
  check test "$(listing "$P")" = "$before_ls"
}

case_ "a -wal and -shm writable by others are refused, untouched"
EXPECT="tokens.db-wal is writable by group or others (mode 0666)"
plant writable chmod 666 tokens.db-wal tokens.db-shm
case_ "a -shm writable by the group is refused, untouched"
EXPECT="tokens.db-shm is writable by group or others (mode 0620)"
plant group chmod 620 tokens.db-shm
case_ "a -wal that is a symbolic link is refused, untouched"
EXPECT="tokens.db-wal is not a regular file"
plant link sh -c 'rm tokens.db-wal && ln -s tokens.db-shm tokens.db-wal'
case_ "a -wal and -shm of another user are refused, untouched"
if [ "$(id -u)" = 0 ]; then
  EXPECT="tokens.db-wal belongs to uid 65534, the database to uid 0"
  plant other chown 65534:65534 tokens.db-wal tokens.db-shm
else
  skip "needs root to make a file of another user"
fi

# --- a full disk -----------------------------------------------------------------------------
# fill DIR: leaves about KIB KiB free on DIR's file system.
fill() {
  dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null
  [ "$2" -gt 0 ] && truncate -s "-$2K" "$1/filler"
  sync
}
case_ "a full disk"
if mount_tmpfs 512k; then
  FULL=$MNT
  for free in 0 36 60; do
    case_ "a full disk ($free KiB free): a write says so, and changes nothing"
    rm -f "$FULL"/*
    cp "$DB" "$DB.key" "$FULL/"
    before=$(sqlite3 "$FULL/tokens.db" "select count(*) from tokens")
    fill "$FULL" "$free"
    run --db "$FULL/tokens.db" add-app --for alice --name shop --redirect-uri "$URI"
    expect_error 1
    expect_err_has "database $FULL/tokens.db: cannot "
    expect_err_has ": the disk is full"
    check test "$(printf '%s\n' "$ERR" | grep -c 'disk I/O error\|database or disk is full')" = 0
    rm "$FULL/filler"
    check test "$(sqlite3 "$FULL/tokens.db" "select count(*) from tokens")" = "$before"
    run --db "$FULL/tokens.db" add-app -q --for alice --name shop --redirect-uri "$URI"
    expect_rc 0
  done

  case_ "a full disk: init says so, and leaves nothing"
  rm -f "$FULL"/*
  fill "$FULL" 0
  run --db "$FULL/new.db" init --admin admin
  expect_error 1
  expect_err_has "$FULL/new.db.key: the disk is full"
  check test "$(ls "$FULL")" = filler
  TOKENCTL_KEY_FILE="$TMP/elsewhere.key" run --db "$FULL/new.db" init --admin admin
  expect_error 1
  expect_err_has "database $FULL/new.db: cannot "
  expect_err_has ": the disk is full"
  check test "$(ls "$FULL")" = filler
  check test ! -e "$TMP/elsewhere.key"

  case_ "a full disk: -o FILE says so, and leaves nothing"
  run download "$admin_id" -o "$FULL/token.json"
  expect_error 1
  expect_err_has "$FULL/token.json: the disk is full"
  check test "$(ls -a "$FULL" | tr '\n' ' ')" = ". .. filler "
else
  skip "cannot mount a small tmpfs here (needs root); the full-disk cases did not run"
fi

# --- the key file ----------------------------------------------------------------------------
mkfifo "$TMP/fifo.key"
# Runs ARGS with the FIFO as key file: exit 1 at once (the time is bounded by `timeout`).
for args in "add-app --redirect-uri $URI" "download $admin_id" "refresh $admin_id"; do
  case_ "a FIFO as key file: $args fails at once"
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  TOKENCTL_KEY_FILE="$TMP/fifo.key" timeout 5 "$TOKENCTL_BIN" $args </dev/null >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(<"$TMP/out")
  ERR=$(<"$TMP/err")
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  expect_error 1
  expect_err_has "key file $TMP/fifo.key is not a regular file"
  if [ "$elapsed_ms" -lt 1000 ]; then pass; else fail "took $elapsed_ms ms"; fi
done

case_ "a FIFO as key file holds up no other writer"
TOKENCTL_KEY_FILE="$TMP/fifo.key" timeout 20 "$TOKENCTL_BIN" download "$admin_id" </dev/null >/dev/null 2>&1 &
stuck=$!
sleep 0.3
start=$(date +%s%N)
run add-app -q --name other --redirect-uri "$URI"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0
if [ "$elapsed_ms" -lt 3000 ]; then pass; else fail "add-app waited $elapsed_ms ms"; fi
other_id=$OUT
check test "$(sql "select count(*) from tokens where token_id = '$other_id'")" = 1
kill "$stuck" 2>/dev/null
wait "$stuck" 2>/dev/null

case_ "a symbolic link as key file is refused, not followed"
ln -s "$DB.key" "$TMP/link.key"
snapshot
TOKENCTL_KEY_FILE="$TMP/link.key" run download "$admin_id"
expect_error 1
expect_err_has "key file $TMP/link.key is a symbolic link"
TOKENCTL_KEY_FILE="$TMP/link.key" run add-app --redirect-uri "$URI"
expect_error 1
expect_unchanged

case_ "a folder as key file is refused"
mkdir "$TMP/folder.key"
TOKENCTL_KEY_FILE="$TMP/folder.key" run download "$admin_id"
expect_error 1
expect_err_has "key file $TMP/folder.key is not a regular file"

case_ "a key file of another user is refused"
if [ "$(id -u)" = 0 ]; then
  cp "$DB.key" "$TMP/theirs.key"
  chown 65534:65534 "$TMP/theirs.key"
  TOKENCTL_KEY_FILE="$TMP/theirs.key" run download "$admin_id"
  expect_error 1
  expect_err_has "key file $TMP/theirs.key belongs to uid 65534, not to you (uid 0)"
else
  skip "needs root to make a file of another user"
fi

case_ "the key file itself still works"
run download "$admin_id" --format access-token
expect_rc 0
check test "$OUT" = "$(cat "$TMP/access")"

# --- where the database goes -------------------------------------------------------------------
case_ "a relative XDG_DATA_HOME is ignored"
mkdir -p "$TMP/cwd"
(
  cd "$TMP/cwd" || exit 1
  unset TOKENCTL_DB
  XDG_DATA_HOME=relative/data run init --admin admin
  expect_rc 0
  check test -f "$HOME/.local/share/tokenctl/tokens.db"
  check test ! -e "$TMP/cwd/relative"
  XDG_DATA_HOME=relative/data run whoami --format tsv --no-headers
  expect_rc 0
  printf '%s %s\n' "$PASSED" "$FAILED" >"$TMP/sub-counts"
)
read -r PASSED FAILED <"$TMP/sub-counts"

case_ "an absolute XDG_DATA_HOME is used"
(
  unset TOKENCTL_DB
  XDG_DATA_HOME="$TMP/xdg" run init --admin admin
  expect_rc 0
  check test -f "$TMP/xdg/tokenctl/tokens.db"
  printf '%s %s\n' "$PASSED" "$FAILED" >"$TMP/sub-counts"
)
read -r PASSED FAILED <"$TMP/sub-counts"

finish
