#!/usr/bin/env bash
# revoke: by ID or filter, all or nothing, under the role rules, with a confirmation that
# only a terminal can give (driven here through a pseudo-terminal).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
"$TOKENCTL_BIN" user add bob >/dev/null
SHARED="Shared App"
a1=$(TOKENCTL_USER=alice new_token)
a2=$(TOKENCTL_USER=alice new_token)
a3=$(TOKENCTL_USER=alice new_token)
a4=$(TOKENCTL_USER=alice new_token)
b1=$(TOKENCTL_USER=bob new_token)
b2=$(TOKENCTL_USER=bob new_token)
m1=$(new_token)
s_a=$("$TOKENCTL_BIN" add-app -q --name "$SHARED" --for alice --redirect-uri https://s.example/cb)
s_b=$("$TOKENCTL_BIN" add-app -q --name "$SHARED" --for bob --redirect-uri https://s.example/cb)
s_m=$("$TOKENCTL_BIN" add-app -q --name "$SHARED" --redirect-uri https://s.example/cb)
revoked() { sql "select token_id from tokens where revoked_at is not null order by id" | tr '\n' ' '; }
revoked_by() { sql "select u.name from tokens t join users u on u.id = t.revoked_by where t.token_id = '$1'"; }

case_ "a user revokes their own token by ID"
run --as alice revoke --yes "$a1"
expect_rc 0
expect_out "revoked $a1"
expect_err_empty
check test "$(revoked)" = "$a1 "
check test "$(revoked_by "$a1")" = alice
run --as alice list --format tsv --no-headers --all
check test "$(printf '%s\n' "$OUT" | grep "^$a1" | cut -f9)" = revoked

case_ "several IDs at once (a repeated ID counts once)"
run --as alice revoke -y "$a2" "$a3" "$a2"
expect_rc 0
expect_out "revoked $a2
revoked $a3"
check test "$(revoked)" = "$a1 $a2 $a3 "

case_ "all or nothing: an unknown ID among valid ones is exit 4, nothing revoked"
snapshot
run --as alice revoke --yes "$a4" 0123456789abcdef
expect_error 4
expect_err_has "0123456789abcdef"
expect_unchanged
run revoke --yes "$b1" "$m1" fedcba9876543210
expect_error 4
expect_unchanged

case_ "all or nothing: another user's token among one's own is exit 3, nothing revoked"
run --as alice revoke --yes "$a4" "$b1"
expect_error 3
expect_err_has "belongs to another user"
expect_unchanged
run --as alice revoke --yes "$b1" "$a4"
expect_error 3
expect_unchanged

case_ "a non-admin cannot revoke another user's tokens (exit 3)"
run --as alice revoke --yes "$b1"
expect_error 3
run --as alice revoke --yes "$m1"
expect_error 3
run --as alice revoke --yes --user bob
expect_error 3
run --as alice revoke --yes --user admin --app "$SHARED"
expect_error 3
run --as bob revoke --yes "$s_a"
expect_error 3
expect_unchanged

case_ "malformed IDs and missing arguments are exit 2"
for id in ABCDEF0123456789 0123456789abcde 0123456789abcdef0 "$a4 " zzzzzzzzzzzzzzzz ""; do
  run revoke --yes "$id"
  expect_error 2
done
run revoke --yes "$a4" not-an-id
expect_error 2
run revoke --yes
expect_error 2
expect_err_has "name the tokens"
run revoke
expect_error 2
run revoke --yes --bogus "$a4"
expect_error 2
expect_unchanged

case_ "unknown filter names are exit 4"
run revoke --yes --user nosuch
expect_error 4
run revoke --yes --app nosuch
expect_error 4
run revoke --yes --user alice --app nosuch
expect_error 4
expect_unchanged

case_ "an unknown acting user is exit 3"
run --as nobody revoke --yes "$a4"
expect_error 3
run revoke --as nobody --yes "$a4"
expect_error 3
expect_unchanged

case_ "without a terminal and without --yes: exit 2, nothing revoked"
run --as alice revoke "$a4"
expect_error 2
expect_err_has "--yes"
run revoke --user bob
expect_error 2
expect_unchanged

case_ "an administrator revokes any user's token"
run revoke --yes "$b1"
expect_rc 0
expect_out "revoked $b1"
check test "$(revoked_by "$b1")" = admin

case_ "an already revoked token is skipped with a note on stderr"
run --as alice revoke --yes "$a1" "$a4"
expect_rc 0
expect_out "revoked $a4"
expect_err_has "token $a1 is already revoked"
check test "$(revoked_by "$a1")" = alice
run --as alice revoke --yes "$a1"
expect_rc 0
expect_out ""
expect_err_has "token $a1 is already revoked"

case_ "a filter that matches nothing is not an error"
snapshot
run --as alice revoke --yes --app alice
expect_rc 0
expect_out ""
expect_err_has "nothing to revoke"
run revoke --yes --user bob --app alice
expect_rc 0
expect_out ""
expect_unchanged

case_ "expired tokens are not revoked by a filter"
e=$(TOKENCTL_USER=bob new_token)
expire_token "$e"
run revoke --yes --user bob
expect_rc 0
expect_out "revoked $b2
revoked $s_b"
check test "$(sql "select count(*) from tokens where token_id = '$e' and revoked_at is null")" = 1

case_ "a non-admin's --app filter takes only their own tokens"
s_a2=$("$TOKENCTL_BIN" add-app -q --name "$SHARED" --for bob --redirect-uri https://s.example/cb)
run --as alice revoke --yes --app "$SHARED"
expect_rc 0
expect_out "revoked $s_a"
check test "$(sql "select count(*) from tokens where token_id = '$s_a2' and revoked_at is null")" = 1
check test "$(sql "select count(*) from tokens where token_id = '$s_m' and revoked_at is null")" = 1

case_ "a non-admin may name themselves with --user"
a5=$(TOKENCTL_USER=alice new_token)
run --as alice revoke --yes --user ALICE
expect_rc 0
expect_out "revoked $a5"

case_ "an administrator's --app takes every user's tokens; IDs and filters combine"
m2=$(new_token)
run revoke --yes "$m2" --app "$SHARED"
expect_rc 0
expect_out "revoked $m2
revoked $s_m
revoked $s_a2"

case_ "the confirmation prompt on a terminal: anything but yes revokes nothing"
c1=$(TOKENCTL_USER=alice new_token)
c2=$(TOKENCTL_USER=alice new_token)
snapshot
for answer in n N no "" EOF maybe " y"; do
  run_pty "$answer" --as alice revoke "$c1" "$c2"
  expect_rc 1
  expect_out ""
  expect_err_has "These tokens will be revoked:"
  expect_err_has "  $c1  alice  alice"
  expect_err_has "  $c2  alice  alice"
  expect_err_has "Revoke 2 tokens? [y/N] "
  expect_err_has "tokenctl: error: not confirmed; nothing was revoked"
  expect_unchanged
done

case_ "the confirmation prompt on a terminal: y revokes"
run_pty y --as alice revoke "$c1"
expect_rc 0
expect_out "revoked $c1"
expect_err_has "Revoke 1 token? [y/N] "
check test "$(sql "select count(*) from tokens where token_id = '$c1' and revoked_at is not null")" = 1
run_pty Yes --as alice revoke --user alice
expect_rc 0
expect_out "revoked $c2"

case_ "on a terminal, --yes asks nothing; nothing to revoke asks nothing"
c3=$(TOKENCTL_USER=alice new_token)
run_pty n --as alice revoke --yes "$c3"
expect_rc 0
expect_out "revoked $c3"
if printf '%s' "$ERR" | grep -qF "[y/N]"; then fail "asked despite --yes"; else pass; fi
run_pty n --as alice revoke "$c3"
expect_rc 0
expect_out ""
if printf '%s' "$ERR" | grep -qF "[y/N]"; then fail "asked with nothing to revoke"; else pass; fi

case_ "revoke --help lists its options"
run revoke --help
expect_rc 0
for opt in TOKEN_ID --user --app --yes; do expect_out_has "$opt"; done

finish
