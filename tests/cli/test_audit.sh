#!/usr/bin/env bash
# audit: one record per change, download, refresh and exit-3 refusal; no secret in any
# format; filters; administrators only; append-only.
. "$(dirname "$0")/lib.sh"

# The audit rows as "actor|action|subject|outcome", oldest first.
audit_rows() { sql "select actor || '|' || action || '|' || subject || '|' || outcome from audit order by id"; }
audit_count() { sql "select count(*) from audit"; }
# Whether the last audit record is exactly ROW ("actor|action|subject|outcome").
expect_last_audit() {
  local last
  last=$(sql "select actor || '|' || action || '|' || subject || '|' || outcome from audit order by id desc limit 1")
  if [ "$last" = "$1" ]; then pass; else fail "last audit record is '$last', expected '$1'"; fi
}

case_ "init is recorded"
run init --admin admin
expect_rc 0
check test "$(audit_rows)" = "admin|init|admin|ok"

case_ "user add, set-role and remove are recorded"
run user add alice
expect_rc 0
expect_last_audit "admin|user add|alice|ok"
run user add bob
expect_rc 0
expect_last_audit "admin|user add|bob|ok"
run user add carol --role admin
expect_rc 0
expect_last_audit "admin|user add|carol|ok"
run user set-role bob admin
expect_rc 0
expect_last_audit "admin|user set-role|bob|ok"
run user set-role bob user
expect_rc 0
expect_last_audit "admin|user set-role|bob|ok"
run user remove carol --yes
expect_rc 0
expect_last_audit "admin|user remove|carol|ok"

case_ "add-app, download, refresh and revoke are recorded"
id=$(TOKENCTL_USER=alice new_token)
expect_last_audit "alice|add-app|$id|ok"
fid=$(new_token --for bob --name bobapp)
expect_last_audit "admin|add-app|$fid|ok"
"$TOKENCTL_BIN" --as alice download "$id" >"$TMP/alice.json"
expect_last_audit "alice|download|$id|ok"
"$TOKENCTL_BIN" --as alice download "$id" -o "$TMP/alice2.json"
expect_last_audit "alice|download|$id|ok"
"$TOKENCTL_BIN" --as alice refresh "$id" -o "$TMP/alice3.json"
expect_last_audit "alice|refresh|$id|ok"
"$TOKENCTL_BIN" --as alice refresh "$id" --format access-token >"$TMP/alice.access"
expect_last_audit "alice|refresh|$id|ok"
rid=$(TOKENCTL_USER=alice new_token)
run --as admin revoke "$rid" --yes
expect_rc 0
expect_last_audit "admin|revoke|$rid|ok"
rid2=$(TOKENCTL_USER=alice new_token)
run --as alice revoke "$rid2" --yes
expect_rc 0
expect_last_audit "alice|revoke|$rid2|ok"

case_ "every exit-3 refusal is recorded as denied"
denied() {
  local expected=$1
  shift
  local before
  before=$(audit_count)
  run "$@"
  expect_error 3
  check test "$(audit_count)" = $((before + 1))
  expect_last_audit "$expected"
}
denied "alice|system-list||denied" --as alice system-list
denied "admin|download|$id|denied" --as admin download "$id"
denied "admin|refresh|$id|denied" --as admin refresh "$id"
# An unknown (mallory) or removed (carol) acting user: recorded where it can be.
denied_unknown() {
  if unknown_actor_audited; then
    denied "$@"
  else
    shift
    run "$@"
    expect_error 3
  fi
}
denied_unknown "mallory|list||denied" --as mallory list
denied_unknown "mallory|verify||denied" --stdin "$(cat "$TMP/alice.access")" --as mallory verify
denied_unknown "carol|list||denied" --as carol list
denied "alice|user add|zed|denied" --as alice user add zed
denied "alice|audit||denied" --as alice audit
denied "bob|download|$id|denied" --as bob download "$id"
denied "bob|revoke|$id|denied" --as bob revoke "$id" --yes
denied "alice|add-app|otherapp|denied" --as alice add-app --name otherapp --redirect-uri https://a.example/cb
check test "$(sql "select count(*) from audit where outcome = 'denied' and detail = ''")" = 0

case_ "outcome is ok or denied, and denied only for refusals"
check test "$(sql "select count(*) from audit where outcome not in ('ok', 'denied')")" = 0
denials=11
unknown_actor_audited || denials=8
check test "$(sql "select count(*) from audit where outcome = 'denied'")" = "$denials"
check test "$(sql "select count(*) from audit where outcome = 'ok'")" = 17

case_ "a failed command (not a refusal) leaves no record"
before=$(audit_count)
AUDIT=1 snapshot
run add-app --redirect-uri relative/path
expect_error 2
run --as alice add-app --redirect-uri https://other.example/cb
expect_error 5
run user add alice
expect_error 5
run user remove admin --yes
expect_error 5
run user set-role admin user
expect_error 5
run --as alice download 0123456789abcdef
expect_error 4
run --as alice refresh "$rid"
expect_error 5
printf 'x\n' >"$TMP/exists"
run --as alice refresh "$id" -o "$TMP/exists"
expect_error 5
run --as alice download "$id" -o "$TMP/exists"
expect_error 5
run --as alice revoke 0123456789abcdef --yes
expect_error 4
run --as alice revoke "$id"
expect_error 2
run --as alice add-app --access-ttl 0s --redirect-uri https://app.example.com/cb
expect_error 2
run user set-role nobody admin
expect_error 4
AUDIT=1 expect_unchanged
check test "$(audit_count)" = "$before"
check test "$(sql "select count(*) from audit where outcome = 'ok'")" = 17

case_ "no secret in any audit output format, nor in the audit table"
for f in table json csv tsv; do
  run audit --format "$f"
  expect_rc 0
  if printf '%s' "$OUT" | grep -qE 'tc[ar]_'; then fail "a secret in audit --format $f"; else pass; fi
  run audit --format "$f" --no-headers
  expect_rc 0
  if printf '%s' "$OUT" | grep -qE 'tc[ar]_'; then fail "a secret in audit --format $f"; else pass; fi
done
check test "$(sql "select count(*) from audit where actor || action || subject || detail like '%tca\_%' escape '\' or actor || action || subject || detail like '%tcr\_%' escape '\'")" = 0
if sql "select * from audit" | grep -qE 'tc[ar]_'; then fail "a secret in the audit table"; else pass; fi
if dump | grep -qE 'tc[ar]_'; then fail "a secret in the audit dump"; else pass; fi

case_ "the json format: one object per record with the columns"
records=$(audit_count)
run audit --format json
expect_rc 0
check test "$(printf '%s' "$OUT" | python3 -c '
import json,sys
rows=json.load(sys.stdin)
print(len(rows), list(rows[0].keys()))')" = "$records ['time', 'user', 'action', 'subject', 'outcome', 'detail']"

case_ "the table format: a header line and one line per record"
run audit
expect_rc 0
check test "$(printf '%s\n' "$OUT" | head -1 | tr -s ' ')" = "TIME USER ACTION SUBJECT OUTCOME DETAIL"
check test "$(printf '%s\n' "$OUT" | wc -l)" = $((records + 1))
run audit --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$records"
run audit --format csv
check test "$(printf '%s\n' "$OUT" | head -1 | tr -d '\r')" = "time,user,action,subject,outcome,detail"
run audit --format tsv
check test "$(printf '%s\n' "$OUT" | head -1)" = "$(printf 'time\tuser\taction\tsubject\toutcome\tdetail')"

case_ "--user filters by acting user (case-insensitively)"
run audit --user alice --format json
expect_rc 0
check test "$(printf '%s' "$OUT" | python3 -c '
import json,sys
rows=json.load(sys.stdin)
print(len(rows), sorted({r["user"] for r in rows}))')" = "$(sql "select count(*) from audit where actor = 'alice'") ['alice']"
run audit --user ALICE --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$(sql "select count(*) from audit where actor = 'alice'")"
run audit --user nobody --no-headers
expect_rc 0
expect_out ""

case_ "--action filters by action"
run audit --action refresh --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk '{ print $3 }' | sort -u)" = refresh
check test "$(printf '%s\n' "$OUT" | wc -l)" = 3
run audit --action "user add" --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -d, -f3 | sort -u)" = "user add"
check test "$(printf '%s\n' "$OUT" | wc -l)" = 4
run audit --action revoke --user alice --format csv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -d, -f2-5 | tr -d '\r')" = "alice,revoke,$rid2,ok"

case_ "--since: a duration back from now, or an RFC 3339 time"
old_ms=$(( ($(date +%s) - 2 * 86400) * 1000 ))
sql "insert into audit (at, actor, action, subject, outcome, detail) values ($old_ms, 'admin', 'user add', 'ancient', 'ok', 'two days ago')"
total=$(audit_count)
run audit --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$total"
run audit --since 1h --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = $((total - 1))
if printf '%s' "$OUT" | grep -q ancient; then fail "--since 1h shows an old record"; else pass; fi
run audit --since 3d --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$total"
run audit --since 90m --action "user add" --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = 4
run audit --since "$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)" --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = $((total - 1))
run audit --since "$(date -u -d '-3 day' +%Y-%m-%dT%H:%M:%SZ)" --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$total"
run audit --since "$(date -u -d '-3 day' +%Y-%m-%dT%H:%M:%S.250+02:00)" --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$total"
run audit --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" --no-headers
expect_rc 0
expect_out ""

case_ "an invalid --since is exit 2"
for bad in yesterday 0h -1h 1w 1.5h "" "2026-13-01T00:00:00Z" "2026-01-01" "2026-01-01 00:00:00" "24 h" 99999999999999999999d; do
  run audit --since "$bad"
  expect_error 2
done

case_ "an invalid --format is exit 2"
run audit --format xml
expect_error 2

case_ "audit is for administrators only"
before=$(audit_count)
run --as alice audit
expect_error 3
run --as bob audit --user alice
expect_error 3
check test "$(audit_count)" = $((before + 2))

case_ "audit records cannot be updated or deleted"
before_dump=$(sql "select * from audit order by id" | sha256sum)
if owner_sql "update audit set outcome = 'ok' where outcome = 'denied'" 2>"$TMP/sqlerr"; then
  fail "UPDATE of audit succeeded"
else
  pass
fi
check grep -q "audit records cannot be changed" "$TMP/sqlerr"
if owner_sql "delete from audit" 2>"$TMP/sqlerr"; then fail "DELETE of audit succeeded"; else pass; fi
check grep -q "audit records cannot be deleted" "$TMP/sqlerr"
if owner_sql "update audit set detail = '' where id = 1" 2>/dev/null; then fail "UPDATE succeeded"; else pass; fi
if owner_sql "delete from audit where id = (select max(id) from audit)" 2>/dev/null; then
  fail "DELETE succeeded"
else
  pass
fi
check test "$(sql "select * from audit order by id" | sha256sum)" = "$before_dump"

case_ "audit --help lists its filters"
run audit --help
expect_rc 0
for opt in --user --subject --since --action --format --no-headers; do expect_out_has "$opt"; done

case_ "--subject: what was done to a user and their tokens, by anyone, after they were removed"
"$TOKENCTL_BIN" user add dora >/dev/null
d1=$("$TOKENCTL_BIN" add-app -q --for dora --redirect-uri https://dora.example.com/cb)
"$TOKENCTL_BIN" --as dora download "$d1" -o "$TMP/dora.json"
"$TOKENCTL_BIN" user remove dora --yes >/dev/null
run audit --subject DORA --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | tr -d '\r' | cut -d, -f2-5 | tr '\n' ' ')" = \
  "admin,user add,dora,ok admin,add-app,$d1,ok dora,download,$d1,ok admin,user remove,dora,ok "
run audit --subject dora.example --format csv --no-headers
expect_rc 0
expect_out ""
run audit --subject "$(printf 'bad\001name')"
expect_error 2


case_ "on PostgreSQL, a login that asks to act as another user is refused (exit 3) and audited as itself"
if [ "$BACKEND" = postgres ]; then
  before=$(sql "select count(*) from audit where action = 'list' and outcome = 'denied' and actor = 'bob'")
  PGUSER=bob "$TOKENCTL_REAL_BIN" --as alice list >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  expect_error 3
  expect_err_has "tokenctl: error: you are connected as bob, not alice: on a PostgreSQL registry you act as your login"
  check test "$(sql "select count(*) from audit where action = 'list' and outcome = 'denied' and actor = 'bob' and subject = 'alice' and detail = 'asked to act as alice'")" = $((before + 1))
  check test "$(sql "select login from audit order by id desc limit 1")" = bob
  run audit --user bob --action list --format csv --no-headers
  expect_rc 0
  expect_out_has ",bob,list,alice,denied,asked to act as alice"
  # A login that is no user of the registry cannot be audited (no grant): still exit 3.
  PGUSER=nobody "$TOKENCTL_REAL_BIN" --as alice list >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  expect_error 3
else
  SKIPPED=$((SKIPPED + 1))
  printf 'SKIP [%s] PostgreSQL only\n' "$CASE"
fi

finish
