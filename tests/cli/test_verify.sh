#!/usr/bin/env bash
# verify: exit 0 valid, 4 unknown, 5 revoked or expired, 2 malformed (checked before the
# database is touched), the secret never taken as an argument.
. "$(dirname "$0")/lib.sh"

fresh_db

# The access token of a token, from its own user (never printed).
access_of() { "$TOKENCTL_BIN" --as "$1" download "$2" --format access-token; }
# Verifies TEXT as stdin with the remaining arguments.
verify_text() {
  local text=$1
  shift
  run --stdin "$text" verify "$@"
}
# A well-formed access token no token has: the body of `$1` changed, the checksum recomputed.
forge() {
  python3 - "$1" <<'EOF'
import sys, zlib
alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
token = sys.argv[1]
body = list(token[4:47])
body[10] = alphabet[(alphabet.index(body[10]) + 1) % 62]
body[30] = alphabet[(alphabet.index(body[30]) + 7) % 62]
prefix_body = token[:4] + "".join(body)
crc = zlib.crc32(prefix_body.encode()) & 0xFFFFFFFF
digits = ""
for _ in range(6):
    digits = alphabet[crc % 62] + digits
    crc //= 62
print(prefix_body + digits)
EOF
}
# The token with the last checksum character changed.
bad_checksum() {
  local t=$1 last=${1: -1} repl=0
  [ "$last" = 0 ] && repl=1
  printf '%s%s' "${t:0:52}" "$repl"
}

id=$(new_token --for alice --name shop --access-ttl 10m)
access=$(access_of alice "$id")
exp=$("$TOKENCTL_BIN" --as alice list --format json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["access_expires_at"])')

case_ "a valid access token: exit 0, text"
verify_text "$access" --as alice
expect_rc 0
expect_out "valid
token_id: $id
user: alice
application: shop
access_expires_at: $exp"
expect_err_empty

case_ "a valid access token: --format json"
verify_text "$access" --as alice --format json
expect_rc 0
check test "$(printf '%s' "$OUT" | python3 -c '
import json,sys
o=json.load(sys.stdin)
print(o["token_id"], o["user"], o["application"], o["access_expires_at"], o["status"])')" = \
  "$id alice shop $exp active"
if printf '%s' "$OUT" | grep -qE 'tc[ar]_'; then fail "a secret in verify output"; else pass; fi

case_ "any user of the database may verify"
verify_text "$access" --as admin
expect_rc 0
"$TOKENCTL_BIN" --as admin user add bob >/dev/null
verify_text "$access" --as bob
expect_rc 0
expect_out_has "token_id: $id"

case_ "an unknown acting user: exit 3"
verify_text "$access" --as mallory
expect_error 3

case_ "a trailing newline is fine, CRLF too"
verify_text "$access
" --as alice
expect_rc 0
verify_text "$access"$'\r\n' --as alice
expect_rc 0

case_ "a well-formed unknown token: exit 4"
forged=$(forge "$access")
check test "$forged" != "$access"
check test "${#forged}" = 53
snapshot
verify_text "$forged"
expect_error 4
expect_unchanged

case_ "exit 2 for malformed input, database untouched"
refresh=$("$TOKENCTL_BIN" --as alice download "$id" --format refresh-token)
big=$(head -c 2000 /dev/zero | tr '\0' 'a')
snapshot
verify_text "$(bad_checksum "$access")"
expect_error 2
verify_text "$refresh"
expect_error 2
verify_text "tcr_${access:4}"
expect_error 2
verify_text ""
expect_error 2
verify_text $'\n'
expect_error 2
verify_text "$access
$access"
expect_error 2
verify_text "$access
"$'\n'
expect_error 2
verify_text "$access"$'\r'
expect_error 2
verify_text "$access$big"
expect_error 2
verify_text "$big"
expect_error 2
verify_text "${access:0:52}"
expect_error 2
verify_text " $access"
expect_error 2
verify_text "${access:0:20}-${access:21}"
expect_error 2
expect_unchanged
for text in "$(bad_checksum "$access")" "$refresh" "$access$big"; do
  verify_text "$text"
  if printf '%s' "$ERR" | grep -qE 'tc[ar]_[A-Za-z0-9]{8}'; then fail "the input echoed"; else pass; fi
done

case_ "exit 2 happens without touching the database (a missing one stays exit 2)"
for text in "" "$(bad_checksum "$access")" "$refresh" "$access
$access" "$access$big"; do
  verify_text "$text" --db "$TMP/missing/tokens.db"
  expect_error 2
done
check test ! -e "$TMP/missing"
verify_text "$access" --db "$TMP/missing/tokens.db"
expect_error 1
check test ! -e "$TMP/missing"

case_ "a positional argument is refused with exit 2 and not echoed"
snapshot
run --as alice verify "$access"
expect_error 2
if printf '%s' "$ERR" | grep -qF "${access:4:20}"; then fail "the argument is echoed"; else pass; fi
run --stdin "$access" --as alice verify "$access"
expect_error 2
if printf '%s' "$ERR" | grep -qF "${access:4:20}"; then fail "the argument is echoed"; else pass; fi
run --stdin "$access" --as alice verify -- "$access"
expect_error 2
if printf '%s' "$ERR" | grep -qF "${access:4:20}"; then fail "the argument is echoed"; else pass; fi
run --db "$TMP/missing/tokens.db" verify "$access"
expect_error 2
expect_unchanged

case_ "an unknown --format: exit 2"
verify_text "$access" --format xml
expect_error 2

case_ "a revoked token: exit 5"
rid=$(new_token --for alice --name shop)
raccess=$(access_of alice "$rid")
verify_text "$raccess"
expect_rc 0
"$TOKENCTL_BIN" --as alice revoke "$rid" --yes >/dev/null
snapshot
verify_text "$raccess"
expect_error 5
expect_err_has "revoked"
expect_unchanged

case_ "a token whose refresh expiry passed: exit 5"
eid=$(new_token --for alice --name shop)
eaccess=$(access_of alice "$eid")
now_ms=$(($(date +%s%N) / 1000000))
sql "update tokens set refresh_expires_at = $((now_ms - 1000)) where token_id = '$eid'"
verify_text "$eaccess"
expect_error 5
expect_err_has "expired"

case_ "an access token past its expiry: exit 5 (refresh still valid)"
aid=$(new_token --for alice --name shop)
aaccess=$(access_of alice "$aid")
sql "update tokens set access_expires_at = $((now_ms - 1000)) where token_id = '$aid'"
verify_text "$aaccess"
expect_error 5
expect_err_has "expired"
check test "$("$TOKENCTL_BIN" --as alice list --format json | python3 -c '
import json,sys
print([t["status"] for t in json.load(sys.stdin) if t["token_id"]==sys.argv[1]][0])' "$aid")" = active

case_ "after refresh the old access token is unknown, the new one valid"
"$TOKENCTL_BIN" --as alice refresh "$id" --format access-token >"$TMP/new.access"
verify_text "$access"
expect_error 4
verify_text "$(cat "$TMP/new.access")"
expect_rc 0

case_ "no error message holds a secret"
for text in "$access" "$raccess" "$eaccess" "$aaccess" "$forged"; do
  verify_text "$text"
  if printf '%s' "$ERR" | grep -qE 'tc[ar]_'; then fail "a secret in stderr"; else pass; fi
done

case_ "verify --help says where the token comes from"
run verify --help
expect_rc 0
expect_out_has "standard input"

finish
