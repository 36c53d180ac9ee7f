#!/usr/bin/env bash
# What comes after creating a token: the verifier role, the last use of each token,
# --expiring and --unused-for, and the upgrade of a schema-1 database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

access_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$1"; }
last_used() { sql "select coalesce(last_used_at, 'never') from tokens where token_id = '$1'"; }

fresh_db
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
a1=$(new_token --as alice)
"$TOKENCTL_BIN" --as alice download "$a1" -o "$TMP/a1.json"

case_ "a verifier verifies, asks whoami and check, and nothing else (exit 3, audited)"
run --stdin "$(access_of "$TMP/a1.json")" --as gw verify
expect_rc 0
run --as gw whoami --format csv --no-headers
expect_rc 0
expect_out_has "gw,verifier,"
run --as gw check
expect_rc 0
snapshot
for cmd in "list" "system-list" "add-app --redirect-uri https://gw.example.com/cb" "download $a1" \
  "revoke $a1 --yes" "user list" "audit"; do
  # shellcheck disable=SC2086
  run --as gw $cmd
  expect_error 3
  expect_err_has "gw is a verifier, which may only run verify, serve, whoami and check"
done
expect_unchanged
check test "$(sql "select count(*) from audit where actor = 'gw' and outcome = 'denied'")" = 7

case_ "a verifier holds no tokens: add-app --for a verifier is exit 3"
run add-app --for gw --redirect-uri https://gw.example.com/cb
expect_error 3
expect_err_has "gw is a verifier"

case_ "user add/set-role take the verifier role; the last administrator cannot become one"
run user set-role alice verifier
expect_rc 0
run --as alice list
expect_error 3
run user set-role alice user
expect_rc 0
run user set-role admin verifier
expect_error 5

case_ "download, refresh and a valid verify record the token's last use, at most once a minute"
b1=$(new_token --as alice)
check test "$(last_used "$b1")" = never
"$TOKENCTL_BIN" --as alice download "$b1" -o "$TMP/b1.json"
first=$(last_used "$b1")
check test "$first" != never
run --stdin "$(access_of "$TMP/b1.json")" --as gw verify
expect_rc 0
check test "$(last_used "$b1")" = "$first"
sql "update tokens set last_used_at = last_used_at - 61000 where token_id = '$b1'"
stale=$(last_used "$b1")
run --stdin "$(access_of "$TMP/b1.json")" --as gw verify
expect_rc 0
check test "$(last_used "$b1")" -gt "$stale"
run --as alice list --format json
check python3 - "$OUT" "$b1" <<'PY'
import json, re, sys
rows = {r["token_id"]: r for r in json.loads(sys.argv[1])}
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[sys.argv[2]]["last_used_at"]), rows
assert re.fullmatch(r"[0-9a-f]{32}", rows[sys.argv[2]]["client_id"]), rows
PY
sql "update tokens set last_used_at = last_used_at - 61000 where token_id = '$b1'"
stale=$(last_used "$b1")
"$TOKENCTL_BIN" --as alice refresh "$b1" -o "$TMP/b1.json" --force
check test "$(last_used "$b1")" -gt "$stale"

case_ "a verify that is refused records no use"
"$TOKENCTL_BIN" --as alice revoke --yes "$b1" >/dev/null
sql "update tokens set last_used_at = null where token_id = '$b1'"
run --stdin "$(access_of "$TMP/b1.json")" --as gw verify
expect_error 5
check test "$(last_used "$b1")" = never

case_ "--expiring DUR: active tokens expiring within DUR, soonest first"
e1=$(new_token --as alice --refresh-ttl 3d)
e2=$(new_token --as alice --refresh-ttl 1d)
e3=$(new_token --as alice --refresh-ttl 30d)
x1=$(new_token --as alice --refresh-ttl 2d)
"$TOKENCTL_BIN" --as alice revoke --yes "$x1" >/dev/null
run --as alice list --expiring 7d --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -d, -f1 | tr '\n' ' ')" = "$e2 $e1 "
run system-list --expiring 7d --user alice --format csv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -d, -f1 | tr '\n' ' ')" = "$e2 $e1 "
run --as alice list --expiring 7x
expect_error 2

case_ "--unused-for DUR: active tokens not used for DUR (never used: since generated)"
sql "update tokens set generated_at = generated_at - 100 * 86400000 where token_id in ('$e1', '$e3')"
sql "update tokens set last_used_at = (strftime('%s','now') - 10 * 86400) * 1000 where token_id = '$e3'"
run system-list --unused-for 90d --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -d, -f1 | tr '\n' ' ')" = "$e1 "
run --as alice list --unused-for 90d
expect_error 2

# --- schema 1 -> 3 -----------------------------------------------------------------
case_ "a schema-1 database (made by the previous tokenctl) is upgraded in place, losing nothing"
mkdir -p "$TMP/v1"
cp "$TOKENCTL_SOURCE_DIR/tests/cli/data/v1.db" "$TMP/v1/v1.db"
cp "$TOKENCTL_SOURCE_DIR/tests/cli/data/v1.db.key" "$TMP/v1/v1.db.key"
chmod 600 "$TMP/v1/v1.db" "$TMP/v1/v1.db.key"
V1="$TMP/v1/v1.db"
# Its tokens were made on 2026-11-29 with lifetimes of 2 hours and 15 days: keep both of
# their secrets valid, whenever this runs.
sqlite3 "$V1" "update tokens set access_expires_at = 4102444800000,
  refresh_expires_at = 4102444800000 where revoked_at is null"
dump() {
  sqlite3 -batch "$V1" "select id, name, role, created_at, removed_at from users order by id;
    select id, name, redirect_uri, client_id, created_at, created_by from apps order by id;
    select id, token_id, user_id, app_id, created_by, generated_at, issued_at, access_ttl,
      refresh_ttl, access_expires_at, refresh_expires_at, hex(access_digest), hex(refresh_digest),
      hex(access_sealed), hex(refresh_sealed), revoked_at, revoked_by from tokens order by id;
    select * from audit order by id;"
}
check test "$(sqlite3 "$V1" "pragma user_version")" = 1
before=$(dump)
run --db "$V1" --as alice list --format csv --no-headers
expect_rc 0
check test "$(sqlite3 "$V1" "pragma user_version")" = 3
check test "$(dump)" = "$before"
# Opened without the key file, its applications have no client secret yet.
check test "$(sqlite3 "$V1" "select count(*) from client_secrets")" = 0
check test "$(sqlite3 "$V1" "pragma foreign_key_check; pragma integrity_check")" = ok
run --db "$V1" check
expect_rc 0
t1=$(sqlite3 "$V1" "select t.token_id from tokens t join users u on u.id = t.user_id where u.name = 'alice' and t.revoked_at is null")
run --db "$V1" --as alice download "$t1" --format access-token
expect_rc 0
# The first write that holds the key gives every application its client secret.
check test "$(sqlite3 "$V1" "select count(*) from apps where id not in (select app_id from client_secrets)")" = 0
check test "$(sqlite3 "$V1" "select count(*) from client_secrets")" = "$(sqlite3 "$V1" "select count(*) from apps")"
run --stdin "$OUT" --db "$V1" --as alice verify
expect_rc 0
run --db "$V1" user add gate --role verifier
expect_rc 0
# check opens the client secrets too, under the key they were sealed with.
run --db "$V1" check
expect_rc 0


case_ "migrate upgrades a schema-1 database, says so once, and leaves an audit record"
mkdir -p "$TMP/v1m"
cp "$TOKENCTL_SOURCE_DIR/tests/cli/data/v1.db" "$TOKENCTL_SOURCE_DIR/tests/cli/data/v1.db.key" "$TMP/v1m/"
chmod 600 "$TMP/v1m/v1.db" "$TMP/v1m/v1.db.key"
V1M="$TMP/v1m/v1.db"
check test "$(sqlite3 "$V1M" "pragma user_version")" = 1
run --db "$V1M" --as admin migrate
expect_rc 0
expect_out "upgraded the schema from version 1 to 3"
expect_err_empty
check test "$(sqlite3 "$V1M" "pragma user_version")" = 3
# migrate holds the key: every application has its client secret.
check test "$(sqlite3 "$V1M" "select count(*) from apps where id not in (select app_id from client_secrets)")" = 0
run --db "$V1M" --as admin migrate
expect_rc 0
expect_out "schema version 3: up to date"

case_ "migrate by a non-admin or an unknown user is exit 3, audited, and changes nothing"
snapshot_v1m() { sqlite3 -batch "$V1M" .dump | grep -v "^INSERT INTO audit "; }
before=$(snapshot_v1m)
run --db "$V1M" --as alice migrate
expect_error 3
expect_err_has "only administrators can migrate the registry"
run --db "$V1M" --as nobody migrate
expect_error 3
expect_err_has "nobody is not a user of this database"
check test "$(snapshot_v1m)" = "$before"
run --db "$V1M" --as admin audit --action migrate --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | tr -d '\r' | cut -d, -f2-)" = "admin,migrate,,ok,schema version 1 -> 3
alice,migrate,,denied,only administrators can migrate the registry
nobody,migrate,,denied,unknown acting user"

finish
