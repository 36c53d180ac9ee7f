#!/usr/bin/env bash
# Decide under the lock, deliver after the commit. Each race is made deterministic: a
# second connection holds the write lock (hold_lock) while the command starts and
# reads the facts as they were; the holder then changes those facts and commits, and the
# command, which waited for the lock, must decide with the new ones.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

remove_user_sql() {
  echo "update users set removed_at = 1 where name = '$1'; update tokens set revoked_at = 1, revoked_by = 1 where user_id = (select id from users where name = '$1') and revoked_at is null"
}
tokens_of() { sql "select count(*) from tokens t join users u on u.id = t.user_id where u.name = '$1'"; }
active_tokens_of() {
  sql "select count(*) from tokens t join users u on u.id = t.user_id where u.name = '$1' and t.revoked_at is null"
}
denied() { sql "select count(*) from audit where outcome = 'denied' and actor = '$1' and action = '$2'"; }

fresh_db
"$TOKENCTL_BIN" --as admin user add bob >/dev/null
"$TOKENCTL_BIN" --as admin user add ops --role admin >/dev/null

case_ "a user removed while their add-app waits for the lock gets no token (exit 3, audited)"
before=$(tokens_of alice)
race "$(remove_user_sql alice)" --as alice add-app -q --redirect-uri https://app.example.com/cb
expect_error 3
expect_err_has "alice is not a user of this database"
check test "$(tokens_of alice)" = "$before"
check test "$(denied alice add-app)" = 1

case_ "add-app --for a user removed while it waits: exit 4, no token"
race "$(remove_user_sql bob)" --as admin add-app -q --for bob --redirect-uri https://app.example.com/cb
expect_error 4
check test "$(tokens_of bob)" = 0

case_ "an administrator demoted while user add --role admin waits creates no administrator"
race "update users set role = 'user' where name = 'ops'" --as ops user add eve --role admin
expect_error 3
check test "$(sql "select count(*) from users where name = 'eve'")" = 0
check test "$(denied ops 'user add')" = 1
sql "update users set role = 'admin' where name = 'ops'"

"$TOKENCTL_BIN" --as admin user add carol >/dev/null
tid=$("$TOKENCTL_BIN" --as carol add-app -q --redirect-uri https://app.example.com/cb)

case_ "refresh of a token revoked while it waits: exit 5, the secrets stay as they were"
digest=$(sql "select hex(access_digest) from tokens where token_id = '$tid'")
race "update tokens set revoked_at = 1, revoked_by = 1 where token_id = '$tid'" \
  --as carol refresh "$tid" -o "$TMP/refreshed.json"
expect_error 5
check test "$(sql "select hex(access_digest) from tokens where token_id = '$tid'")" = "$digest"
check test ! -e "$TMP/refreshed.json"

tid=$("$TOKENCTL_BIN" --as carol add-app -q --redirect-uri https://app.example.com/cb)
case_ "download by a user removed while it waits: exit 3, no secret delivered"
race "$(remove_user_sql carol)" --as carol download "$tid"
expect_error 3
expect_err_lacks_secret

"$TOKENCTL_BIN" --as admin user add dave >/dev/null
tid=$("$TOKENCTL_BIN" --as dave add-app -q --redirect-uri https://app.example.com/cb)
case_ "refresh by a user removed while it waits: exit 3, nothing rotates, no file"
digest=$(sql "select hex(access_digest) from tokens where token_id = '$tid'")
race "$(remove_user_sql dave)" --as dave refresh "$tid" -o "$TMP/dave.json"
expect_error 3
check test "$(sql "select hex(access_digest) from tokens where token_id = '$tid'")" = "$digest"
check test ! -e "$TMP/dave.json"

# --- Delivery after the commit ------------------------------------------------------
# A file-size limit of 1 KiB lets a token file (about 400 bytes) be written but not the
# log frame that COMMIT appends: the commit fails after the secrets were made. A second
# connection keeps the database open meanwhile, so that its -wal and -shm files exist and
# opening it needs no write past the limit.
commit_fails() {
  python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1]); c.execute("select count(*) from users").fetchall()
open(sys.argv[2], "w").close(); time.sleep(30)' "$DB" "$TMP/kept" &
  local keeper=$!
  for _ in $(seq 200); do [ -e "$TMP/kept" ] && break; sleep 0.02; done
  (trap '' XFSZ; ulimit -f 1; exec "$TOKENCTL_BIN" "$@") </dev/null >"$TMP/out" 2>"$TMP/err"
  RC=$?
  kill "$keeper"; wait "$keeper" 2>/dev/null; rm -f "$TMP/kept"
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

"$TOKENCTL_BIN" --as admin user add erin >/dev/null
tid=$("$TOKENCTL_BIN" --as erin add-app -q --redirect-uri https://app.example.com/cb -o "$TMP/erin.json")
# A commit that fails on the client's side is SQLite's alone: PostgreSQL commits on the
# server.
case_ "app remove by a non-admin whose application gained another user's token while it waited: exit 3"
"$TOKENCTL_BIN" --as admin user add zed >/dev/null
"$TOKENCTL_BIN" --as admin user add eve >/dev/null
own=$("$TOKENCTL_BIN" --as zed add-app -q --redirect-uri https://zed.example.com/cb)
# The holder gives eve a token of zed's application, a copy of zed's own.
if [ "$BACKEND" = postgres ]; then
  gain="WITH added AS (INSERT INTO tokens (token_id, user_id, app_id, created_by, generated_at,
      issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at,
      access_digest, refresh_digest)
    SELECT 'e0e0000000000001', (SELECT id FROM users WHERE name = 'eve'), app_id, created_by,
      generated_at, issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at,
      sha256('eve access'::bytea), sha256('eve refresh'::bytea)
    FROM tokens WHERE token_id = '$own' RETURNING id)
  INSERT INTO secrets (token, access_sealed, refresh_sealed)
  SELECT added.id, s.access_sealed, s.refresh_sealed FROM added, tokens t
    JOIN secrets s ON s.token = t.id WHERE t.token_id = '$own'"
else
  gain="insert into tokens (token_id, user_id, app_id, created_by, generated_at, issued_at,
      access_ttl, refresh_ttl, access_expires_at, refresh_expires_at, access_digest,
      refresh_digest, access_sealed, refresh_sealed)
    select 'e0e0000000000001', (select id from users where name = 'eve'), app_id, created_by,
      generated_at, issued_at, access_ttl, refresh_ttl, access_expires_at, refresh_expires_at,
      randomblob(32), randomblob(32), access_sealed, refresh_sealed
    from tokens where token_id = '$own'"
fi
race "$gain" --as zed app remove zed --yes
expect_error 3
expect_err_has "holds an active token of another user"
check test "$(sql "select count(*) from tokens where token_id in ('$own', 'e0e0000000000001') and revoked_at is null")" = 2
check test "$(sql "select count(*) from apps where name = 'zed' and removed_at is null")" = 1
check test "$(denied zed 'app remove')" = 1

case_ "commits that fail"
if sqlite_only; then
  case_ "refresh -o --force whose commit fails leaves the working token file as it was"
  before=$(sha "$TMP/erin.json")
  snapshot
  commit_fails --as erin refresh "$tid" -o "$TMP/erin.json" --force
  expect_error 1
  expect_err_lacks_secret
  check test "$(sha "$TMP/erin.json")" = "$before"
  expect_unchanged
  run --stdin "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/erin.json")" --as erin verify
  expect_rc 0

  case_ "add-app -o whose commit fails leaves no file and no token"
  before=$(tokens_of erin)
  commit_fails --as erin add-app --redirect-uri https://app.example.com/cb -o "$TMP/new.json"
  expect_error 1
  check test ! -e "$TMP/new.json"
  check test "$(tokens_of erin)" = "$before"

  case_ "download -o whose audit record cannot be committed delivers nothing"
  AUDIT=1 snapshot
  commit_fails --as erin download "$tid" -o "$TMP/dl.json"
  expect_error 1
  check test ! -e "$TMP/dl.json"
  AUDIT=1 expect_unchanged
fi

case_ "a refresh whose file cannot be written after the commit says what was committed"
mkdir "$TMP/ro" && chmod 500 "$TMP/ro"
if [ "$(id -u)" -ne 0 ]; then
  run --as erin refresh "$tid" -o "$TMP/ro/t.json"
  expect_error 1
  expect_err_has "token $tid was refreshed; get its new file with \`tokenctl download $tid\`"
fi
# As root the folder's mode does not stop a write; a full standard output does.
if [ -w /dev/full ]; then
  "$TOKENCTL_BIN" --as erin refresh "$tid" >/dev/full 2>"$TMP/err"
  RC=$?
  ERR=$(cat "$TMP/err")
  OUT=""
  expect_error 1
  expect_err_has "cannot write to standard output: No space left on device; token $tid was refreshed; get its new file with \`tokenctl download $tid\`"
  expect_err_lacks_secret
  run --as erin download "$tid" -o "$TMP/after.json"
  expect_rc 0
fi

case_ "add-app to a full standard output names the token it created"
if [ -w /dev/full ]; then
  "$TOKENCTL_BIN" --as erin add-app -q --redirect-uri https://app.example.com/cb >/dev/full 2>"$TMP/err"
  RC=$?
  ERR=$(cat "$TMP/err")
  OUT=""
  expect_error 1
  expect_err_has "was created; its user gets its file with \`tokenctl --as erin download"
fi

finish
