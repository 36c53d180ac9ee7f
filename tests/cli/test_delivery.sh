#!/usr/bin/env bash
# Output that cannot be written after a commit: a reader that went away (`| true`, `| head
# -c0`) is a write error like a full disk. tokenctl never dies of SIGPIPE: it exits 1 with
# one error line that says what it committed and how to get it, and the commit stands.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
"$TOKENCTL_BIN" user add bob >/dev/null
URI=https://app.example.com/cb
EPIPE="cannot write to standard output: Broken pipe"
ENOSPC="cannot write to standard output: No space left on device"

# The one error line tokenctl printed, or a failure naming what it printed instead.
expect_error_is() {
  expect_rc 1
  expect_error_line
  if [ "$ERR" = "tokenctl: error: $1" ]; then pass; else fail "stderr differs; expected: tokenctl: error: $1"; fi
  expect_err_lacks_secret
}
issued_at() { sql "select issued_at from tokens where token_id = '$1'"; }

tid=$(new_token --as alice)

case_ "refresh into a closed pipe: exit 1, the token was refreshed, and download gets it"
before=$(issued_at "$tid")
sleep 0.01
run_closed_stdout --as alice refresh "$tid"
expect_error_is "$EPIPE; token $tid was refreshed; get its new file with \`tokenctl download $tid\`"
check test "$(issued_at "$tid")" != "$before"
check test "$(sql "select count(*) from audit where action = 'refresh' and subject = '$tid' and outcome = 'ok'")" = 1
run --as alice download "$tid" --format access-token
expect_rc 0
run --stdin "$OUT" --as alice verify
expect_rc 0

case_ "refresh to a full standard output: the same line with its reason"
before=$(issued_at "$tid")
sleep 0.01
run_full_stdout --as alice refresh "$tid"
expect_error_is "$ENOSPC; token $tid was refreshed; get its new file with \`tokenctl download $tid\`"
check test "$(issued_at "$tid")" != "$before"

case_ "download into a closed pipe: exit 1, the download is recorded, and can be run again"
n=$(sql "select count(*) from audit where action = 'download' and subject = '$tid'")
run_closed_stdout --as alice download "$tid"
expect_error_is "$EPIPE; the download of token $tid was recorded; get its file with \`tokenctl download $tid\`"
check test "$(sql "select count(*) from audit where action = 'download' and subject = '$tid'")" = $((n + 1))

case_ "add-app -o - into a closed pipe: exit 1, the token exists and its line names it"
count=$(sql "select count(*) from tokens")
run_closed_stdout --as alice add-app --redirect-uri "$URI" -o -
expect_rc 1
expect_error_line
new=$(sql "select token_id from tokens order by id desc limit 1")
check test "$(sql "select count(*) from tokens")" = $((count + 1))
expect_error_is "$EPIPE; token $new was created; get its file with \`tokenctl download $new\`"
run --as alice download "$new" -o "$TMP/new.json"
expect_rc 0

case_ "add-app -q into a closed pipe and to a full standard output"
for runner in run_closed_stdout run_full_stdout; do
  count=$(sql "select count(*) from tokens")
  $runner --as alice add-app -q --redirect-uri "$URI"
  new=$(sql "select token_id from tokens order by id desc limit 1")
  check test "$(sql "select count(*) from tokens")" = $((count + 1))
  reason=$EPIPE
  [ "$runner" = run_full_stdout ] && reason=$ENOSPC
  expect_error_is "$reason; token $new was created; its user gets its file with \`tokenctl --as alice download $new -o token.json\`"
done

case_ "revoke into a closed pipe: exit 1, the token is revoked"
victim=$(new_token --as alice)
run_closed_stdout --as alice revoke "$victim" --yes
expect_error_is "$EPIPE; 1 token was revoked; \`tokenctl list --all\` shows them"
check test "$(sql "select count(*) from tokens where token_id = '$victim' and revoked_at is not null")" = 1

case_ "app remove into a closed pipe: exit 1, the application is removed"
run_closed_stdout --as bob add-app -q --redirect-uri "$URI"
check test "$(sql "select count(*) from apps where name = 'bob' and removed_at is null")" = 1
run_closed_stdout --as bob app remove bob --yes
expect_error_is "$EPIPE; application 'bob' was removed"
check test "$(sql "select count(*) from apps where name = 'bob' and removed_at is null")" = 0

case_ "user add, set-role and remove into a closed pipe or a full output: each says what it did"
run_full_stdout user add carol
expect_error_is "$ENOSPC; user carol was added (user); \`tokenctl user list\` shows it"
check test "$(sql "select role from users where name = 'carol' and removed_at is null")" = user
run_closed_stdout user add dave --role verifier
expect_error_is "$EPIPE; user dave was added (verifier); \`tokenctl user list\` shows it"
check test "$(sql "select role from users where name = 'dave' and removed_at is null")" = verifier
run_closed_stdout user set-role carol admin
expect_error_is "$EPIPE; carol is now admin; \`tokenctl user list\` shows it"
check test "$(sql "select role from users where name = 'carol'")" = admin
run_closed_stdout user remove dave --yes
expect_error_is "$EPIPE; user dave was removed and 0 tokens revoked; \`tokenctl system-list --all --user dave\` shows them"
check test "$(sql "select count(*) from users where name = 'dave' and removed_at is not null")" = 1

case_ "a listing into a closed pipe is exit 1 with the reason, nothing more"
run_closed_stdout --as alice list
expect_error_is "$EPIPE"

case_ "--help and --version into a closed pipe: exit 1"
run_closed_stdout --help
expect_error_is "$EPIPE"
run_closed_stdout --version
expect_error_is "$EPIPE"

if sqlite_only; then
  case_ "init into a closed pipe: exit 1, and the database and key file exist"
  run_closed_stdout --db "$TMP/other/t.db" init --admin admin
  expect_error_is "$EPIPE; database $TMP/other/t.db was created with key file $TMP/other/t.db.key and administrator admin"
  check test -s "$TMP/other/t.db"
  check test -s "$TMP/other/t.db.key"
  run --db "$TMP/other/t.db" whoami --format csv --no-headers
  expect_rc 0
  expect_out_has "admin,admin,"

  case_ "backup into a closed pipe: exit 1, and both files are written"
  run_closed_stdout backup "$TMP/copy.db"
  expect_error_is "$EPIPE; the backup $TMP/copy.db and its key file $TMP/copy.db.key were written"
  run --db "$TMP/copy.db" --as alice list --format csv --no-headers
  expect_rc 0
  expect_out_has "$tid,alice,"

  case_ "rekey into a closed pipe: exit 1, the key is rotated and every token still opens"
  old_key=$(sha "$DB.key")
  run_closed_stdout rekey --yes
  expect_rc 1
  expect_error_line
  expect_err_has "$EPIPE; the key was rotated ("
  check test "$(sha "$DB.key")" != "$old_key"
  run check
  expect_rc 0
  run --as alice download "$tid" --format access-token
  expect_rc 0
fi

case_ "a real pipe whose reader has exited: the exit status is tokenctl's own"
# `cmd | true` races with true's exit; a reader that closes at once, then a pause before
# the command writes, gives the same closed pipe, as a shell user sees it.
mkfifo "$TMP/fifo"
(exec 3<"$TMP/fifo"; exec 3<&-) &
reader=$!
"$TOKENCTL_BIN" --as alice refresh "$tid" >"$TMP/fifo" 2>"$TMP/err"
RC=$?
wait "$reader"
OUT=""
ERR=$(cat "$TMP/err")
expect_error_is "$EPIPE; token $tid was refreshed; get its new file with \`tokenctl download $tid\`"

finish
