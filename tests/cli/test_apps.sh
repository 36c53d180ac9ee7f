#!/usr/bin/env bash
# app list and app remove: Central's applications table, and its delete with "Yes".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
"$TOKENCTL_BIN" user add bob >/dev/null
a1=$(new_token --as alice)
a2=$(new_token --as alice)
s1=$("$TOKENCTL_BIN" add-app -q --name "Shared App" --for bob --redirect-uri https://shared.example.com/cb)
s2=$("$TOKENCTL_BIN" add-app -q --name "Shared App" --for alice --redirect-uri https://shared.example.com/cb)
"$TOKENCTL_BIN" --as alice revoke --yes "$a2" >/dev/null
client() { sql "select client_id from apps where name = '$1' and removed_at is null"; }

case_ "an administrator lists every application, in name order, with its active tokens"
run app list --format csv
expect_rc 0
created=$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', created_at / 1000, 'unixepoch') from apps where name = 'alice'")
expect_out "name,client_id,redirect_uri,created_at,created_by,active_tokens"$'\r'"
Shared App,$(client "Shared App"),https://shared.example.com/cb,$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', created_at / 1000, 'unixepoch') from apps where name = 'Shared App'"),admin,2"$'\r'"
alice,$(client alice),https://app.example.com/cb,$created,alice,1"$'\r'
run app list
expect_out_has "NAME         CLIENT ID"
expect_out_has "ACTIVE TOKENS"

case_ "a non-admin sees the applications they hold tokens of, only their tokens counted"
run --as bob app list --format json
expect_rc 0
check python3 - "$OUT" <<'PY'
import json, sys
rows = json.loads(sys.argv[1])
assert [r["name"] for r in rows] == ["Shared App"], rows
assert list(rows[0]) == ["name", "client_id", "redirect_uri", "created_at", "created_by",
                         "active_tokens"], rows
assert rows[0]["active_tokens"] == 1, rows
PY

case_ "a non-admin cannot remove another application (exit 3), and nothing changes"
snapshot
run --as alice app remove "Shared App" --yes
expect_error 3
expect_unchanged
run --as alice app remove nosuch --yes
expect_error 4
run app remove alice
expect_error 2
expect_unchanged

case_ "app remove revokes the application's active tokens in one transaction and keeps them"
run app remove "Shared App" --yes
expect_rc 0
expect_out "revoked $s1
revoked $s2
removed application 'Shared App'"
check test "$(sql "select count(*) from tokens t join apps a on a.id = t.app_id where a.name = 'Shared App' and t.revoked_at is null")" = 0
check test "$(sql "select count(*) from tokens t join apps a on a.id = t.app_id where a.name = 'Shared App'")" = 2
run system-list --all --user bob --format csv --no-headers
expect_out_has "$s1,bob,Shared App,"
run app list --format csv --no-headers
check test "$(printf '%s\n' "$OUT" | grep -c '^Shared App,')" = 0
run app list --all --format json
check python3 - "$OUT" <<'PY'
import json, re, sys
rows = json.loads(sys.argv[1])
assert [r["name"] for r in rows] == ["Shared App", "alice"], rows
assert list(rows[0])[-1] == "removed_at", rows
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["removed_at"]), rows
assert rows[1]["removed_at"] is None, rows
PY
check test "$(sql "select count(*) from audit where action = 'app remove' and subject = 'Shared App' and detail = 'removed; 2 tokens revoked'")" = 1

case_ "the name can be used again: a new application with a new client ID"
old_client=$(sql "select client_id from apps where name = 'Shared App'")
run add-app -q --name "Shared App" --for bob --redirect-uri https://other.example.com/cb
expect_rc 0
check test "$(client "Shared App")" != "$old_client"
check test "$(sql "select count(*) from apps where name = 'Shared App'")" = 2

case_ "a non-admin removes their own application, with the prompt listing what it revokes"
run_pty y --as alice app remove alice
expect_rc 0
check grep -q "These tokens will be revoked:" <<<"$ERR"
check grep -q "$a1" <<<"$ERR"
check test "$(sql "select count(*) from tokens where token_id = '$a1' and revoked_at is not null")" = 1
run_pty n --as bob app remove bob
check test "$RC" -ne 0

case_ "a non-admin cannot remove their application while it holds another user's token (exit 3)"
"$TOKENCTL_BIN" user add carol >/dev/null
"$TOKENCTL_BIN" user add dave >/dev/null
c1=$("$TOKENCTL_BIN" add-app -q --name dave --for carol --redirect-uri https://dave.example.com/cb)
d1=$("$TOKENCTL_BIN" add-app -q --name dave --for dave --redirect-uri https://dave.example.com/cb)
# On PostgreSQL row-level security hides carol's token from dave: the server counts it.
snapshot
run --as dave app remove dave --yes
expect_error 3
expect_err_has "tokenctl: error: application 'dave' holds an active token of another user; only an administrator can remove it"
expect_unchanged
check test "$(sql "select count(*) from tokens where token_id in ('$c1', '$d1') and revoked_at is null")" = 2
check test "$(sql "select count(*) from apps where name = 'dave' and removed_at is null")" = 1
check test "$(sql "select count(*) from audit where action = 'app remove' and actor = 'dave' and subject = 'dave' and outcome = 'denied' and detail like '%holds an active token of another user%'")" = 1
run_pty y --as dave app remove dave
check test "$RC" = 3
expect_unchanged
if [ "$BACKEND" = postgres ]; then
  # The server's own wall: through psql, dave's remove_app() is refused too.
  app_row=$(sql "select id from tokenctl.apps where name = 'dave' and removed_at is null")
  pg_psql_as dave -c "SELECT tokenctl.remove_app($app_row, 0)" >/dev/null 2>&1
  check test "$?" -ne 0
  expect_unchanged
fi

case_ "once the other user's token is revoked, the non-admin removes their application"
"$TOKENCTL_BIN" revoke "$c1" --yes >/dev/null
run --as dave app remove dave --yes
expect_rc 0
expect_out "revoked $d1
removed application 'dave'"
check test "$(sql "select count(*) from apps where name = 'dave' and removed_at is null")" = 0

case_ "an administrator removes an application holding several users' tokens"
c2=$("$TOKENCTL_BIN" add-app -q --name dave --for carol --redirect-uri https://dave.example.com/cb)
d2=$("$TOKENCTL_BIN" add-app -q --name dave --for dave --redirect-uri https://dave.example.com/cb)
run app remove dave --yes
expect_rc 0
expect_out "revoked $c2
revoked $d2
removed application 'dave'"

finish
