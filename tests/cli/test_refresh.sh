#!/usr/bin/env bash
# refresh: rotation of both secrets, fresh expiries, the same permission and exit rules as
# download, and an audit record without any secret.
. "$(dirname "$0")/lib.sh"

fresh_db

# The value of one JSON field of a token file (no secret is ever printed by the suite).
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
listing_field() {
  "$TOKENCTL_BIN" --as "$1" list --all --format json |
    python3 -c 'import json,sys; r=[t for t in json.load(sys.stdin) if t["token_id"]==sys.argv[1]]; print(r[0][sys.argv[2]])' "$2" "$3"
}
# Seconds since the epoch of an RFC 3339 time.
epoch_of() { date -u -d "$1" +%s; }
verify_rc() { printf '%s\n' "$1" | "$TOKENCTL_BIN" --as "${2:-alice}" verify >/dev/null 2>&1; echo $?; }

id=$(TOKENCTL_USER=alice new_token --access-ttl 10m --refresh-ttl 1d)
"$TOKENCTL_BIN" --as alice download "$id" -o "$TMP/old.json" >/dev/null
old_access=$(json_field "$TMP/old.json" access_token)
old_refresh=$(json_field "$TMP/old.json" refresh_token)
old_access_exp=$(listing_field alice "$id" access_expires_at)
old_refresh_exp=$(listing_field alice "$id" refresh_expires_at)
old_generated=$(listing_field alice "$id" generated_at)

case_ "the old access token verifies before the rotation"
check test "$(verify_rc "$old_access")" = 0

sleep 2 # expiries are shown in whole seconds: let them move visibly
case_ "refresh prints a new token file"
before_ms=$(($(date +%s%N) / 1000000))
run --stdin "" --as alice refresh "$id" -o "$TMP/new.json"
after_ms=$(($(date +%s%N) / 1000000))
expect_rc 0
expect_out ""
expect_err_empty
check test "$(mode_of "$TMP/new.json")" = 600
new_access=$(json_field "$TMP/new.json" access_token)
new_refresh=$(json_field "$TMP/new.json" refresh_token)
check test "$(json_field "$TMP/new.json" id)" = "$id"
check test "$(json_field "$TMP/new.json" authenticated_userid)" = alice
check test "$(json_field "$TMP/new.json" token_type)" = bearer
check test "$(json_field "$TMP/new.json" scope)" = all
exp_in=$(json_field "$TMP/new.json" expires_in)
check test "$exp_in" -ge 598 -a "$exp_in" -le 600

case_ "both secrets are new and well formed"
check test "$new_access" != "$old_access"
check test "$new_refresh" != "$old_refresh"
check test "${#new_access}" = 53
check test "${#new_refresh}" = 53
check test "${new_access:0:4}" = tca_
check test "${new_refresh:0:4}" = tcr_

case_ "created_at in the token file is the new issue time"
created=$(json_field "$TMP/new.json" created_at)
check test "$created" -ge "$before_ms" -a "$created" -le "$after_ms"
check test "$created" -gt "$(json_field "$TMP/old.json" created_at)"

case_ "the old access token stops verifying at once; the new one verifies"
check test "$(verify_rc "$old_access")" = 4
check test "$(verify_rc "$new_access")" = 0

case_ "the old refresh secret is gone from the database too"
old_refresh_digest=$(printf '%s' "$old_refresh" | sha256sum | cut -c1-64)
new_refresh_digest=$(printf '%s' "$new_refresh" | sha256sum | cut -c1-64)
check test "$(sql "select count(*) from tokens where lower(hex(refresh_digest)) = '$old_refresh_digest'")" = 0
check test "$(sql "select count(*) from tokens where lower(hex(refresh_digest)) = '$new_refresh_digest'")" = 1
new_access_digest=$(printf '%s' "$new_access" | sha256sum | cut -c1-64)
check test "$(sql "select token_id from tokens where lower(hex(access_digest)) = '$new_access_digest'")" = "$id"

case_ "download after refresh gives the new pair"
"$TOKENCTL_BIN" --as alice download "$id" -o "$TMP/again.json" >/dev/null
check test "$(json_field "$TMP/again.json" access_token)" = "$new_access"
check test "$(json_field "$TMP/again.json" refresh_token)" = "$new_refresh"

case_ "expiries restart from now with the token's own lifetimes"
new_access_exp=$(listing_field alice "$id" access_expires_at)
new_refresh_exp=$(listing_field alice "$id" refresh_expires_at)
check test "$new_access_exp" != "$old_access_exp"
check test "$new_refresh_exp" != "$old_refresh_exp"
issued=$((created / 1000))
check test "$(epoch_of "$new_access_exp")" = $((issued + 600))
check test "$(epoch_of "$new_refresh_exp")" = $((issued + 86400))
check test "$(listing_field alice "$id" generated_at)" = "$old_generated"
check test "$(listing_field alice "$id" status)" = active

case_ "refresh to standard output, each format"
run --as alice refresh "$id"
expect_rc 0
check test "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" = \
  "['access_token', 'appname', 'authenticated_userid', 'created_at', 'credential_id', 'expires_in', 'id', 'refresh_token', 'scope', 'token_type']"
expect_err_empty
run --as alice refresh "$id" --format access-token
expect_rc 0
access_only=$OUT
check test "${access_only:0:4}" = tca_
check test "${#access_only}" = 53
check test "$(verify_rc "$access_only")" = 0
run --as alice refresh "$id" --format refresh-token
expect_rc 0
refresh_only=$OUT
check test "${refresh_only:0:4}" = tcr_
check test "$(verify_rc "$access_only")" = 4
run --as alice refresh "$id" --format xml
expect_error 2

case_ "-o onto an existing file is exit 5 and nothing rotates"
printf 'keep me\n' >"$TMP/exists.json"
snapshot
run --as alice refresh "$id" -o "$TMP/exists.json"
expect_error 5
expect_unchanged
check test "$(cat "$TMP/exists.json")" = "keep me"

case_ "--force replaces the file with a new pair"
run --as alice refresh "$id" -o "$TMP/exists.json" --force
expect_rc 0
expect_out ""
check test "$(mode_of "$TMP/exists.json")" = 600
forced_access=$(json_field "$TMP/exists.json" access_token)
check test "$(verify_rc "$forced_access")" = 0
check test "$(ls -A "$TMP" | grep -c '^exists.json.')" = 0

case_ "-o into a missing folder is an error and nothing rotates"
snapshot
run --as alice refresh "$id" -o "$TMP/nowhere/t.json"
expect_rc 1
expect_error_line
expect_unchanged
check test "$(verify_rc "$forced_access")" = 0

case_ "an administrator refreshing another user's token: exit 3"
snapshot
run --as admin refresh "$id"
expect_error 3
expect_err_has "administrators cannot"
expect_unchanged
check test "$(verify_rc "$forced_access")" = 0

case_ "another non-admin: exit 3"
"$TOKENCTL_BIN" --as admin user add bob >/dev/null
snapshot
run --as bob refresh "$id"
expect_error 3
expect_unchanged

case_ "an unknown acting user: exit 3"
run --as mallory refresh "$id"
expect_error 3
expect_unchanged

case_ "an unknown token ID: exit 4"
run --as alice refresh 0123456789abcdef
expect_error 4
expect_unchanged

case_ "malformed token IDs: exit 2"
for bad in 123 0123456789ABCDEF 0123456789abcdeg ../../etc/passwd "" 0123456789abcdef0; do
  run --as alice refresh "$bad"
  expect_error 2
done
run --as alice refresh
expect_error 2
expect_unchanged

case_ "a revoked token: exit 5"
rid=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" --as alice download "$rid" --format access-token >"$TMP/rid.access"
"$TOKENCTL_BIN" --as alice revoke "$rid" --yes >/dev/null
snapshot
run --as alice refresh "$rid"
expect_error 5
expect_err_has "revoked"
expect_unchanged
check test "$(verify_rc "$(cat "$TMP/rid.access")")" = 5

case_ "an expired token (refresh expiry passed): exit 5"
eid=$(TOKENCTL_USER=alice new_token)
expire_token "$eid"
snapshot
run --as alice refresh "$eid"
expect_error 5
expect_err_has "expired"
expect_unchanged

case_ "a token whose access expired but refresh did not can be refreshed"
aid=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" --as alice download "$aid" --format access-token >"$TMP/aid.access"
sql "update tokens set access_expires_at = 1000 where token_id = '$aid'"
check test "$(verify_rc "$(cat "$TMP/aid.access")")" = 5
run --as alice refresh "$aid" --format access-token
expect_rc 0
check test "$(verify_rc "$OUT")" = 0

case_ "the audit log records refresh without any secret"
run --as admin audit --action refresh --format json
expect_rc 0
check test "$(printf '%s' "$OUT" | python3 -c '
import json,sys
rows=json.load(sys.stdin)
print(sum(1 for r in rows if r["subject"]==sys.argv[1] and r["outcome"]=="ok" and r["user"]=="alice"))' "$id")" = 5
check test "$(printf '%s' "$OUT" | python3 -c '
import json,sys
rows=json.load(sys.stdin)
print(sum(1 for r in rows if r["subject"]==sys.argv[1] and r["outcome"]=="denied"))' "$id")" = 2
mallory_denials=1
unknown_actor_audited || mallory_denials=0
check test "$(sql "select count(*) from audit where action = 'refresh' and actor = 'mallory' and outcome = 'denied'")" = "$mallory_denials"
check test "$(sql "select count(*) from audit where action = 'refresh' and subject = '$aid' and outcome = 'ok'")" = 1
if dump | grep -qE 'tc[ar]_'; then fail "a secret is in the database dump"; else pass; fi
for f in table json csv tsv; do
  run --as admin audit --format "$f"
  expect_rc 0
  if printf '%s' "$OUT" | grep -qE 'tc[ar]_'; then fail "a secret in audit --format $f"; else pass; fi
done

case_ "refresh --help lists its options"
run refresh --help
expect_rc 0
expect_out_has "--format"
expect_out_has "--force"
expect_out_has "-o"

finish
