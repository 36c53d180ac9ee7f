#!/usr/bin/env bash
# tokenctl-seed: a new database whose tokens tokenctl itself can list, download and verify.
. "$(dirname "$0")/lib.sh"

SEED_BIN=${TOKENCTL_SEED_BIN:-$(dirname "$TOKENCTL_BIN")/tokenctl-seed}

seed() {
  "$SEED_BIN" "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

case_ "seeds users, applications and tokens, some revoked and some expired"
mkdir -p "$TMP/db"
seed --db "$DB" --tokens 200 --users 7
expect_rc 0
expect_out_has "seeded $DB: 200 tokens (20 revoked,"
check test "$(mode_of "$DB")" = 600
check test "$(mode_of "$DB.key")" = 600
check test "$(sql "select count(*) from tokens")" = 200
check test "$(sql "select group_concat(name || ':' || role, ' ') from (select * from users order by id limit 2)")" = "admin:admin user0001:user"
check test "$(sql "select count(*) from users where role = 'user'")" = 7
check test "$(sql "select count(*) from apps")" = 7
check test "$(sql "select count(*) from tokens where revoked_at is not null")" = 20
check test "$(sql "select count(*) from tokens where revoked_at is null and refresh_expires_at < strftime('%s','now') * 1000")" -gt 0
check test "$(sql "select count(*) from tokens where revoked_at is null and refresh_expires_at > strftime('%s','now') * 1000")" -gt 0
check test "$(sql "select count(distinct user_id) from tokens")" = 7
check test "$(sql "select count(distinct access_digest) + count(distinct refresh_digest) from tokens")" = 400
check test "$(sql "select count(*) from tokens a join tokens b on b.id = a.id + 1 where b.generated_at < a.generated_at")" = 0

case_ "a seeded token is what add-app stores: its user downloads and verifies it"
id=$(sql "select t.token_id from tokens t join users u on u.id = t.user_id where u.name = 'user0001' and t.revoked_at is null order by t.id desc limit 1")
run --as user0001 download "$id" --format access-token
expect_rc 0
access=$OUT
# Seeded access tokens were issued in the past and are past their 2 hours: verify finds
# the token by the digest of its access token, then says it expired.
run --stdin "$access" --as user0001 verify
expect_rc 5
expect_err_has "the access token of token $id expired"
run --as user0001 list --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk '{ print $2 }' | sort -u)" = "user0001"

case_ "system-list sees every token"
run system-list --all --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = 200

case_ "--apps shares administrator-named applications between users"
seed --db "$TMP/db/apps.db" --tokens 30 --users 3 --apps 2
expect_rc 0
check test "$(sqlite3 "$TMP/db/apps.db" "select group_concat(name, ' ') from apps")" = "app-0001 app-0002"

case_ "an existing database is refused and left untouched"
snapshot
seed --db "$DB" --tokens 5
expect_rc 5
expect_err_has "tokenctl-seed: error: a database already exists"
expect_unchanged

case_ "bad counts are usage errors"
seed --db "$TMP/db/bad.db" --tokens 5 --users 0
expect_rc 2
check test ! -e "$TMP/db/bad.db"
seed --db "$TMP/db/bad.db"
expect_rc 2


case_ "--help says that --db takes a SQLite file or a postgresql:// URI"
seed --help
expect_rc 0
expect_out_has "a SQLite database file, or a registry on PostgreSQL named by a postgresql:// URI"
expect_out_has "--db PATH|URI"
expect_out_has "a SQLite file (its key file goes beside it) or a postgresql:// URI"
expect_err_empty

finish
