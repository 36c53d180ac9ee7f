#!/usr/bin/env bash
# add-app: application names and owners under the role rules, redirect URIs, lifetimes,
# the three outputs, -o, and that every failure leaves the database as it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
"$TOKENCTL_BIN" user add carol --role admin >/dev/null
URI=https://app.example.com/cb
is_id() { [[ "$1" =~ ^[0-9a-f]{16}$ ]]; }

case_ "a non-admin's default application is their own name; text output"
run --as alice add-app --redirect-uri "$URI"
expect_rc 0
expect_err_empty
id=$(printf '%s\n' "$OUT" | sed -nE 's/^created token ([0-9a-f]{16}) .*/\1/p')
check is_id "$id"
expect_out "created token $id for application alice (user alice)
download it with: tokenctl --as alice download $id -o token.json"
check test "$(sql "select a.name || ' ' || a.redirect_uri || ' ' || u.name from tokens t join apps a on a.id = t.app_id join users u on u.id = t.user_id where t.token_id = '$id'")" = "alice $URI alice"
check grep -qxE '[0-9a-f]{32}' <<<"$(sql "select client_id from apps where name = 'alice'")"

case_ "an administrator's default application is their own name too"
run add-app --redirect-uri "$URI"
expect_rc 0
check test "$(sql "select count(*) from apps where name = 'admin'")" = 1

case_ "a second token for an existing application reuses it"
run --as alice add-app -q --redirect-uri "$URI"
expect_rc 0
check is_id "$OUT"
check test "$(sql "select count(*) from apps where name = 'alice'")" = 1
check test "$(sql "select count(*) from tokens t join apps a on a.id = t.app_id where a.name = 'alice'")" = 2

case_ "a non-admin may name their own application in another case; the stored name wins"
run --as alice add-app -q --name ALICE --redirect-uri "$URI"
expect_rc 0
check test "$(sql "select a.name from tokens t join apps a on a.id = t.app_id where t.token_id = '$OUT'")" = alice

case_ "a non-admin choosing another name is exit 3 with the reason"
snapshot
run --as alice add-app --name other-app --redirect-uri "$URI"
expect_error 3
expect_err_has "named after the user"
expect_unchanged
run --as alice add-app --name admin --redirect-uri https://admin.example/cb
expect_error 3
expect_unchanged

case_ "--for is exit 3 for a non-admin"
run --as alice add-app --for alice --redirect-uri "$URI"
expect_error 3
expect_unchanged
run --as alice add-app --for nosuch --redirect-uri "$URI"
expect_error 3
expect_unchanged

case_ "--for an administrator is exit 3"
run add-app --for carol --redirect-uri "$URI"
expect_error 3
expect_err_has "administrator"
expect_unchanged
run add-app --for admin --redirect-uri "$URI"
expect_error 3
expect_unchanged

case_ "--for an unknown user is exit 4"
run add-app --for nosuch --redirect-uri "$URI"
expect_error 4
expect_unchanged

case_ "--for a non-admin: the token is theirs, the application named after them"
run add-app --for alice --redirect-uri "$URI"
expect_rc 0
fid=$(printf '%s\n' "$OUT" | sed -nE 's/^created token ([0-9a-f]{16}) .*/\1/p')
expect_out "created token $fid for application alice (user alice)
alice downloads it with: tokenctl download $fid -o token.json"
check test "$(sql "select u.name || ' ' || a.name || ' ' || c.name from tokens t join users u on u.id = t.user_id join apps a on a.id = t.app_id join users c on c.id = t.created_by where t.token_id = '$fid'")" = "alice alice admin"
run download "$fid"
expect_error 3
run --as alice download "$fid" --format access-token -o "$TMP/alice.at"
expect_rc 0

case_ "an administrator may choose any application name, for someone else too"
run add-app -q --name "Shared App" --for ALICE --redirect-uri https://shared.example/cb
expect_rc 0
check test "$(sql "select u.name || '/' || a.name from tokens t join users u on u.id = t.user_id join apps a on a.id = t.app_id where t.token_id = '$OUT'")" = "alice/Shared App"
run --as carol add-app -q --name "Shared App" --redirect-uri https://shared.example/cb
expect_rc 0
check test "$(sql "select count(*) from apps where name = 'Shared App'")" = 1

case_ "an existing application with another redirect URI is exit 5; nothing created"
snapshot
run --as alice add-app --redirect-uri https://other.example/cb
expect_error 5
expect_err_has "another redirect URI"
expect_unchanged
run add-app --name "Shared App" --redirect-uri https://shared.example/cb/
expect_error 5
expect_unchanged
run add-app --name "Shared App" --for alice --redirect-uri https://shared.example/other
expect_error 5
expect_unchanged

case_ "invalid redirect URIs are exit 2"
for uri in "" "app.example.com/cb" "/relative/cb" "https://app.example.com/cb#frag" \
  "1https://x.example/cb" "https:" "ht_tp://x.example" "https://x.example/a b" \
  "https://x.example/$(printf '\t')" "https://x.example/$(printf 'x%.0s' {1..2040})"; do
  run add-app --redirect-uri "$uri"
  expect_error 2
  expect_unchanged
done

case_ "redirect URIs that are valid"
for uri in "myapp:/callback" "com.example.app:cb" "http://localhost:8080/cb?x=1" "urn:ietf:wg:oauth:2.0:oob"; do
  run add-app -q --name "u-$uri" --redirect-uri "$uri"
  expect_rc 0
done
run add-app -q --name "max-uri" --redirect-uri "https://x.example/$(printf 'x%.0s' {1..2030})"
expect_rc 0
snapshot

case_ "invalid application names are exit 2"
for name in "" " leading" "trailing " "tab$(printf '\t')in" $'new\nline' $'del\x7f' $'c1\xc2\x85' \
  "$(printf 'n%.0s' {1..129})" "$(printf 'bad\xffutf8')"; do
  run add-app --name "$name" --redirect-uri "$URI"
  expect_error 2
  expect_unchanged
done

case_ "an application name of 128 bytes with UTF-8 is accepted"
name="Zürich $(printf 'n%.0s' {1..120})"
check test "$(printf '%s' "$name" | wc -c)" = 128
run add-app -q --name "$name" --redirect-uri "$URI"
expect_rc 0
snapshot

case_ "invalid durations are exit 2"
for dur in "" 0m 10 5x -1h 1.5h 2H "2 h" h 1w; do
  run add-app --access-ttl "$dur" --redirect-uri "$URI"
  expect_error 2
  expect_unchanged
  run add-app --refresh-ttl "$dur" --redirect-uri "$URI"
  expect_error 2
  expect_unchanged
done

case_ "lifetime bounds: access 1m..30d, refresh from the access lifetime to 365d"
for args in "--access-ttl 59s" "--access-ttl 31d" "--access-ttl 721h" \
  "--access-ttl 30d" "--access-ttl 2h --refresh-ttl 1h" "--access-ttl 3h --refresh-ttl 179m" \
  "--refresh-ttl 366d" "--access-ttl 1m --refresh-ttl 59s"; do
  # shellcheck disable=SC2086
  run add-app $args --redirect-uri "$URI"
  expect_error 2
  expect_unchanged
done
ttl_ok() {
  local access=$1 refresh=$2 want_access=$3 want_refresh=$4 id
  run add-app -q --access-ttl "$access" --refresh-ttl "$refresh" --redirect-uri "$URI"
  expect_rc 0
  id=$OUT
  check test "$(sql "select access_ttl || ' ' || refresh_ttl || ' ' || (access_expires_at - generated_at) || ' ' || (refresh_expires_at - generated_at) from tokens where token_id = '$id'")" = "$want_access $want_refresh $want_access $want_refresh"
}
ttl_ok 1m 1m 60000 60000
ttl_ok 60s 90m 60000 5400000
ttl_ok 30d 30d 2592000000 2592000000
ttl_ok 720h 365d 2592000000 31536000000
ttl_ok 2h 8760h 7200000 31536000000

case_ "default lifetimes: access 2h, refresh 15d"
run add-app -q --redirect-uri "$URI"
expect_rc 0
check test "$(sql "select access_ttl || ' ' || refresh_ttl from tokens where token_id = '$OUT'")" = "7200000 1296000000"
run add-app -q --access-ttl 20d --redirect-uri "$URI"
expect_error 2

case_ "--format json prints the token's record"
run --as alice add-app --format json --redirect-uri "$URI" --access-ttl 90m --refresh-ttl 2d
expect_rc 0
expect_err_empty
expect_no_secret
check python3 - "$OUT" <<'PY'
import json, re, sys
from datetime import datetime, timedelta, timezone
text = sys.argv[1]
o = json.loads(text)
assert list(o) == ["token_id", "user", "application", "redirect_uri", "generated_at",
                   "access_expires_at", "refresh_expires_at", "revoked_at", "status", "client_id", "last_used_at"], list(o)
assert re.fullmatch(r"[0-9a-f]{16}", o["token_id"])
assert o["user"] == "alice" and o["application"] == "alice"
assert o["redirect_uri"] == "https://app.example.com/cb"
assert o["revoked_at"] is None and o["status"] == "active"
t = {k: datetime.strptime(o[k], "%Y-%m-%dT%H:%M:%SZ")
     for k in ("generated_at", "access_expires_at", "refresh_expires_at")}
assert t["access_expires_at"] - t["generated_at"] == timedelta(minutes=90)
assert t["refresh_expires_at"] - t["generated_at"] == timedelta(days=2)
assert abs(datetime.now(timezone.utc).replace(tzinfo=None) - t["generated_at"]) < timedelta(minutes=5)
PY
jid=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["token_id"])' "$OUT")
check test "$(sql "select count(*) from tokens where token_id = '$jid'")" = 1

case_ "--format text is the default; an unknown format is exit 2"
run add-app --format text -q --redirect-uri "$URI"
expect_rc 0
check is_id "$OUT"
snapshot
run add-app --format yaml --redirect-uri "$URI"
expect_error 2
expect_unchanged

case_ "-q prints the token ID alone"
run --as alice add-app -q --redirect-uri "$URI"
expect_rc 0
expect_err_empty
check is_id "$OUT"
check test "$(printf '%s\n' "$OUT" | wc -l)" = 1
run --as alice add-app --quiet --redirect-uri "$URI"
check is_id "$OUT"

case_ "-o writes a 0600 token file, even under umask 000"
run_umask0 --as alice add-app --redirect-uri "$URI" -o "$TMP/alice.json"
expect_rc 0
expect_no_secret
oid=$(printf '%s\n' "$OUT" | sed -nE 's/^created token ([0-9a-f]{16}) .*/\1/p')
expect_out "created token $oid for application alice (user alice)
wrote token file $TMP/alice.json"
check test "$(mode_of "$TMP/alice.json")" = 600
check python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); assert o["id"] == sys.argv[2] and o["authenticated_userid"] == "alice" and o["appname"] == "alice" and o["access_token"].startswith("tca_")' "$TMP/alice.json" "$oid"
check test -z "$(find "$TMP" -maxdepth 1 -name '.alice.json*')"

case_ "-o with -q prints only the ID"
run --as alice add-app -q --redirect-uri "$URI" -o "$TMP/alice2.json"
expect_rc 0
check is_id "$OUT"
check test "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/alice2.json")" = "$OUT"

case_ "-o onto an existing file is exit 5; then no token is created"
printf 'keep me\n' >"$TMP/existing.json"
before=$(sha "$TMP/existing.json")
snapshot
run --as alice add-app --redirect-uri "$URI" -o "$TMP/existing.json"
expect_error 5
expect_err_has "already exists"
expect_unchanged
check test "$(sha "$TMP/existing.json")" = "$before"

case_ "-o with --force replaces the file"
run --as alice add-app -q --redirect-uri "$URI" -o "$TMP/existing.json" --force
expect_rc 0
check test "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/existing.json")" = "$OUT"
check test "$(mode_of "$TMP/existing.json")" = 600

case_ "--for with -o is exit 3: the administrator cannot have the file"
snapshot
run add-app --for alice --redirect-uri "$URI" -o "$TMP/for.json"
expect_error 3
expect_err_has "administrators cannot download another user's token"
expect_unchanged
check test ! -e "$TMP/for.json"

case_ "no secret in any add-app output"
run add-app --redirect-uri "$URI"
expect_no_secret
run add-app --format json --redirect-uri "$URI"
expect_no_secret
run add-app -q --redirect-uri "$URI"
expect_no_secret
snapshot

case_ "unknown acting user, missing or unknown options"
run --as nobody add-app --redirect-uri "$URI"
expect_error 3
expect_unchanged
run add-app --as nobody --redirect-uri "$URI"
expect_error 3
expect_unchanged
run add-app
expect_error 2
run add-app --redirect-uri "$URI" --bogus
expect_error 2
run add-app --redirect-uri "$URI" extra
expect_error 2
expect_unchanged

case_ "add-app --help lists its options"
run add-app --help
expect_rc 0
for opt in --name --redirect-uri --for --access-ttl --refresh-ttl --format --quiet --output --force; do
  expect_out_has "$opt"
done

case_ "--db after the subcommand"
run add-app --db "$DB" -q --redirect-uri "$URI"
expect_rc 0
check is_id "$OUT"

finish
