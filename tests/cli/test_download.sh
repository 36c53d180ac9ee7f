#!/usr/bin/env bash
# download: Central's token file layout, the single-secret formats, -o (atomic, private,
# never overwriting unless --force), and who may download which token.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
"$TOKENCTL_BIN" user add bob >/dev/null
"$TOKENCTL_BIN" user add carol --role admin >/dev/null
a1=$(TOKENCTL_USER=alice new_token --access-ttl 90m --refresh-ttl 3d)
sec_re_a='^tca_[0-9A-Za-z]{49}$'
sec_re_r='^tcr_[0-9A-Za-z]{49}$'

case_ "the JSON token file has exactly Central's ten fields"
t0=$(($(date +%s) * 1000))
run --as alice download "$a1"
expect_rc 0
expect_err_empty
printf '%s\n' "$OUT" >"$TMP/a1.json"
client_id=$(sql "select a.client_id from tokens t join apps a on a.id = t.app_id where t.token_id = '$a1'")
issued_at=$(sql "select issued_at from tokens where token_id = '$a1'")
check python3 - "$TMP/a1.json" "$a1" "$client_id" "$issued_at" "$t0" <<'PY'
import json, re, sys, time
path, token_id, client_id, issued_at, t0 = sys.argv[1:]
o = json.load(open(path))
assert list(o) == ["access_token", "appname", "authenticated_userid", "created_at",
                   "credential_id", "expires_in", "id", "refresh_token", "scope",
                   "token_type"], list(o)
assert isinstance(o["access_token"], str) and re.fullmatch(r"tca_[0-9A-Za-z]{49}", o["access_token"])
assert isinstance(o["refresh_token"], str) and re.fullmatch(r"tcr_[0-9A-Za-z]{49}", o["refresh_token"])
assert o["appname"] == "alice" and o["authenticated_userid"] == "alice"
assert type(o["created_at"]) is int and o["created_at"] == int(issued_at)
assert int(t0) - 600_000 < o["created_at"] <= time.time() * 1000
assert isinstance(o["credential_id"], str) and re.fullmatch(r"[0-9a-f]{32}", o["credential_id"])
assert o["credential_id"] == client_id
assert type(o["expires_in"]) is int and 0 < o["expires_in"] <= 90 * 60
assert o["expires_in"] >= 90 * 60 - 600
assert o["id"] == token_id
assert o["scope"] == "all" and o["token_type"] == "bearer"
PY
access=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/a1.json")
refresh=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$TMP/a1.json")
check test "$(printf '%s' "$access" | sha256sum | cut -d' ' -f1)" = "$(sql "select lower(hex(access_digest)) from tokens where token_id = '$a1'")"
check test "$(printf '%s' "$refresh" | sha256sum | cut -d' ' -f1)" = "$(sql "select lower(hex(refresh_digest)) from tokens where token_id = '$a1'")"
check test "$access" != "$refresh"

case_ "the secrets are in the database only as digests and ciphertext"
check test "$(dump | grep -cF -e "$access" -e "$refresh" -e "${access#tca_}")" = 0
if sqlite_only; then
  check test "$(grep -caF -e "$access" -e "$refresh" "$DB" "$DB-wal" 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }')" = 0
fi

case_ "download does not rotate: a second download gives the same secrets"
same_file() {
  python3 - "$1" "$TMP/a1.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert list(a) == list(b) and 0 <= b.pop("expires_in") - a.pop("expires_in") <= 600 and a == b
PY
}
run --as alice download "$a1" --format json
expect_rc 0
check test "$(printf '%s\n' "$OUT" | python3 -c 'import json, sys; o = json.load(sys.stdin); print(o["access_token"] + " " + o["refresh_token"])')" = "$access $refresh"

case_ "--format access-token / refresh-token: one line with the secret"
run --as alice download "$a1" --format access-token
expect_rc 0
expect_err_empty
check test "$(cat "$TMP/out")" = "$access"
check test "$(wc -l <"$TMP/out")" = 1
check test "$(wc -c <"$TMP/out")" = 54
check grep -qE "$sec_re_a" "$TMP/out"
run --as alice download "$a1" --format refresh-token
expect_rc 0
check test "$(cat "$TMP/out")" = "$refresh"
check test "$(wc -l <"$TMP/out")" = 1
check grep -qE "$sec_re_r" "$TMP/out"
run --as alice download "$a1" --format bogus
expect_error 2
expect_err_lacks_secret

case_ "-o writes the file with mode 0600 even under umask 000, nothing on stdout"
run_umask0 --as alice download "$a1" -o "$TMP/out1.json"
expect_rc 0
expect_out ""
expect_err_lacks_secret
check test "$(mode_of "$TMP/out1.json")" = 600
check same_file "$TMP/out1.json"
check test -z "$(find "$TMP" -maxdepth 1 -name '.out1.json*')"
run_umask0 --as alice download "$a1" --format access-token -o "$TMP/at"
expect_rc 0
check test "$(cat "$TMP/at")" = "$access"
check test "$(mode_of "$TMP/at")" = 600

case_ "-o onto an existing file is exit 5, the file unchanged"
printf 'precious\n' >"$TMP/existing"
chmod 644 "$TMP/existing"
before=$(sha "$TMP/existing")
run --as alice download "$a1" -o "$TMP/existing"
expect_error 5
expect_err_has "already exists"
expect_err_lacks_secret
check test "$(sha "$TMP/existing")" = "$before"
check test "$(mode_of "$TMP/existing")" = 644
check test -z "$(find "$TMP" -maxdepth 1 -name '.existing*')"

case_ "--force replaces the file, which becomes 0600"
run --as alice download "$a1" -o "$TMP/existing" --force
expect_rc 0
check same_file "$TMP/existing"
check test "$(mode_of "$TMP/existing")" = 600

case_ "--force replaces a symbolic link itself, never the file it points to"
printf 'target\n' >"$TMP/target"
ln -s "$TMP/target" "$TMP/link.json"
run --as alice download "$a1" -o "$TMP/link.json"
expect_error 5
run --as alice download "$a1" -o "$TMP/link.json" --force
expect_rc 0
check test "$(cat "$TMP/target")" = target
check test ! -L "$TMP/link.json"
check same_file "$TMP/link.json"

case_ "-o into a missing folder is exit 1, naming the folder"
run --as alice download "$a1" -o "$TMP/no/such/dir/t.json"
expect_error 1
expect_err_has "cannot write $TMP/no/such/dir/t.json: the folder $TMP/no/such/dir does not exist"
expect_err_lacks_secret
check test ! -e "$TMP/no"

case_ "an administrator cannot download another user's token (exit 3)"
f1=$("$TOKENCTL_BIN" add-app -q --for alice --redirect-uri https://app.example.com/cb)
for actor in admin carol; do
  for tid in "$a1" "$f1"; do
    run --as "$actor" download "$tid" -o "$TMP/admin.json"
    expect_error 3
    expect_err_has "administrators cannot download another user's token"
    expect_err_lacks_secret
    check test ! -e "$TMP/admin.json"
  done
done
run --as admin download "$a1" --format access-token
expect_error 3
run --as alice download "$f1" --format access-token
expect_rc 0
check grep -qE "$sec_re_a" "$TMP/out"

case_ "another user cannot download it either (exit 3)"
run --as bob download "$a1"
expect_error 3
expect_err_has "belongs to another user"
expect_err_lacks_secret
run download --as bob "$a1" --format refresh-token
expect_error 3
expect_err_lacks_secret

case_ "an unknown acting user is exit 3"
run --as nobody download "$a1"
expect_error 3
expect_err_lacks_secret

case_ "a revoked token is exit 5"
r1=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" revoke --yes "$r1" >/dev/null
run --as alice download "$r1"
expect_error 5
expect_err_has "revoked"
expect_err_lacks_secret
run --as alice download "$r1" -o "$TMP/r1.json"
expect_error 5
check test ! -e "$TMP/r1.json"

case_ "an expired token is exit 5"
x1=$(TOKENCTL_USER=alice new_token)
expire_token "$x1"
run --as alice download "$x1"
expect_error 5
expect_err_has "expired"
expect_err_lacks_secret
run --as alice download "$x1" --format access-token
expect_error 5

case_ "a token whose access token expired (refresh still valid) downloads with expires_in 0"
x2=$(TOKENCTL_USER=alice new_token)
past=$(($(date +%s) * 1000 - 60000))
sql "update tokens set access_expires_at = $past where token_id = '$x2'"
run --as alice download "$x2"
expect_rc 0
check test "$(printf '%s\n' "$OUT" | python3 -c 'import json, sys; print(json.load(sys.stdin)["expires_in"])')" = 0

case_ "an unknown ID is exit 4; a malformed ID is exit 2"
run --as alice download 0123456789abcdef
expect_error 4
for id in 0123456789ABCDEF 0123456789abcde xyz "$a1$a1" ""; do
  run --as alice download "$id"
  expect_error 2
done
run --as alice download
expect_error 2
run --as alice download "$a1" "$a1"
expect_error 2

case_ "download --help lists its options; unknown flags are exit 2"
run download --help
expect_rc 0
for opt in TOKEN_ID --format --output --force; do expect_out_has "$opt"; done
expect_out_has "access-token"
run --as alice download "$a1" --bogus
expect_error 2
expect_err_lacks_secret

case_ "no secret on stderr, whatever happened"
check test -z "$(grep -l -e "$access" -e "$refresh" "$TMP/err")"

finish
