#!/usr/bin/env bash
# user add / list / set-role / remove: administrators only, names unique case-insensitively,
# never without an administrator, and removal revokes the user's tokens.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db

case_ "user add defaults to role user"
snapshot
run user add bob
expect_rc 0
expect_err_empty
expect_out "added user bob (user)"
check test "$(sql "select role from users where name = 'bob'")" = user

case_ "user add --role admin"
run user add carol --role admin
expect_rc 0
expect_out "added user carol (admin)"
check test "$(sql "select role from users where name = 'carol'")" = admin

case_ "user add --role user explicitly"
run user add dan@example.com --role user
expect_rc 0
check test "$(sql "select role from users where name = 'dan@example.com'")" = user

case_ "an existing name is exit 5, case-insensitively, and nothing changes"
for name in alice ALICE Alice bOb; do
  snapshot
  run user add "$name"
  expect_error 5
  expect_err_has "already exists"
  expect_unchanged
done
snapshot
run user add alice --role admin
expect_error 5
expect_unchanged
check test "$(sql "select role from users where name = 'alice'")" = user

case_ "invalid names and roles are exit 2"
for name in "with space" "semi;colon" "" "$(printf 'a%.0s' {1..129})" "ünï"; do
  snapshot
  run user add "$name"
  expect_error 2
  expect_unchanged
done
snapshot
run user add frank --role superuser
expect_error 2
expect_unchanged
run user set-role bob root
expect_error 2
expect_unchanged

case_ "a name of 128 characters is accepted"
# A PostgreSQL role name holds at most 63 bytes, so no such login can exist there.
if sqlite_only; then
  long=$(printf 'b%.0s' {1..128})
  run user add "$long"
  expect_rc 0
  run user remove "$long" --yes
  expect_rc 0
fi

case_ "a non-admin may not manage users (exit 3)"
snapshot
run --as alice user add mallory
expect_error 3
expect_err_has "administrator"
expect_unchanged
run --as alice user list
expect_error 3
run --as alice user set-role alice admin
expect_error 3
expect_unchanged
run --as alice user remove bob --yes
expect_error 3
expect_unchanged
run --as alice user remove alice --yes
expect_error 3
expect_unchanged

case_ "--as after the subcommand"
run user list --as alice
expect_error 3
run user add --as alice mallory
expect_error 3
expect_unchanged

case_ "an unknown acting user is exit 3"
for args in "user list" "user add zed" "user set-role bob admin" "user remove bob --yes"; do
  # shellcheck disable=SC2086
  run --as nobody $args
  expect_error 3
  expect_err_has "nobody is not a user of this database"
  expect_unchanged
done
TOKENCTL_USER=nobody run user list
expect_error 3

case_ "set-role promotes and demotes"
run user set-role bob admin
expect_rc 0
expect_out "bob is admin"
check test "$(sql "select role from users where name = 'bob'")" = admin
run --as bob user list
expect_rc 0
run user set-role BOB user
expect_rc 0
check test "$(sql "select role from users where name = 'bob'")" = user
run --as bob user list
expect_error 3

case_ "set-role to the current role changes nothing"
snapshot
run user set-role bob user
expect_rc 0
expect_unchanged

case_ "set-role / remove of an unknown user is exit 4"
snapshot
run user set-role nosuch admin
expect_error 4
run user remove nosuch --yes
expect_error 4
expect_unchanged

case_ "the last administrator cannot be demoted or removed (exit 5)"
run user remove carol --yes
expect_rc 0
snapshot
run user set-role admin user
expect_error 5
expect_err_has "without an administrator"
expect_unchanged
run user remove admin --yes
expect_error 5
expect_err_has "without an administrator"
expect_unchanged
check test "$(sql "select role from users where name = 'admin'")" = admin

case_ "with a second administrator, one admin may demote the other"
run user set-role alice admin
expect_rc 0
if [ "$BACKEND" = postgres ]; then
  # admin owns the schema: the registry's administrator of last resort.
  run --as alice user set-role admin user
  expect_error 5
  expect_err_has "owns the registry's schema"
  check test "$(sql "select role from tokenctl.users where name = 'admin'")" = admin
  check test "$(sql "select pg_has_role('admin', 'tokenctl_$(pg_registry_id)_admin', 'USAGE')")" = t
  run user set-role alice user
  expect_rc 0
  check test "$(sql "select pg_has_role('alice', 'tokenctl_$(pg_registry_id)_admin', 'USAGE')")" = f
  check test "$(sql "select pg_has_role('alice', 'tokenctl_$(pg_registry_id)_user', 'USAGE')")" = t
else
  run --as alice user set-role admin user
  expect_rc 0
  run --as alice user set-role alice user
  expect_error 5
  run --as alice user set-role admin admin
  expect_rc 0
  run user set-role alice user
  expect_rc 0
fi

case_ "remove without a terminal and without --yes is exit 2 and changes nothing"
t1=$(TOKENCTL_USER=alice new_token)
snapshot
run user remove alice
expect_error 2
expect_err_has "--yes"
expect_unchanged
check test "$(sql "select count(*) from tokens where revoked_at is null")" = 1

case_ "remove revokes the user's tokens; they stay listed as revoked"
t2=$(TOKENCTL_USER=alice new_token)
t3=$(TOKENCTL_USER=bob new_token)
run user remove alice --yes
expect_rc 0
expect_out "removed user alice; revoked 2 tokens"
run system-list --all --user alice --format tsv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f1,2,9)" = "$t1	alice	revoked
$t2	alice	revoked"
check test "$(printf '%s\n' "$OUT" | cut -f8 | grep -c 'Z$')" = 2
run system-list --user alice --no-headers
expect_rc 0
expect_out ""
run system-list --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1,9)" = "$t3	active"
check test "$(sql "select count(*) from tokens t join users u on u.id = t.revoked_by where t.revoked_at is not null and u.name = 'admin'")" = 2

case_ "the removed user can no longer act (exit 3) and is not in user list"
for args in "list" "add-app --redirect-uri https://x.example/cb" "download $t1"; do
  snapshot
  # shellcheck disable=SC2086
  run --as alice $args
  expect_error 3
  expect_unchanged
done
run user list --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" = "admin bob dan@example.com "
run user set-role alice admin
expect_error 4

case_ "a removed user's name can be added again"
run user add alice
expect_rc 0
run --as alice list
expect_rc 0

case_ "the confirmation prompt of user remove on a terminal"
for answer in n "" no EOF x; do
  snapshot
  run_pty "$answer" user remove bob
  expect_rc 1
  expect_err_has "Remove user bob and revoke their 1 active token? [y/N]"
  expect_err_has "not confirmed"
  expect_out ""
  expect_unchanged
done
run_pty y user remove bob
expect_rc 0
expect_err_has "[y/N]"
expect_out "removed user bob; revoked 1 token"
check test "$(sql "select count(*) from users where name = 'bob' and removed_at is not null")" = 1
check test "$(sql "select count(*) from tokens where token_id = '$t3' and revoked_at is not null")" = 1
run user add eve
run_pty yes user remove eve
expect_rc 0
expect_out "removed user eve; revoked 0 tokens"

case_ "user list in four formats"
fresh_db
run user add zoe@example.com --role admin
run user add bob
TOKENCTL_USER=bob new_token >/dev/null
TOKENCTL_USER=bob new_token >/dev/null
TOKENCTL_USER=alice new_token >/dev/null
r=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" revoke --yes "$r" >/dev/null
e=$(TOKENCTL_USER=bob new_token)
expire_token "$e"

run user list
expect_rc 0
check test "$(times_masked)" = "NAME              ROLE    CREATED AT             ACTIVE TOKENS
admin             admin   TIME                   0
alice             user    TIME                   1
bob               user    TIME                   2
zoe@example.com   admin   TIME                   0"
check test "$(printf '%s\n' "$OUT" | grep -cE '   [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z   ')" = 4

run user list --no-headers
expect_rc 0
check test "$(times_masked)" = "admin             admin   TIME                   0
alice             user    TIME                   1
bob               user    TIME                   2
zoe@example.com   admin   TIME                   0"

run user list --format json
expect_rc 0
check test "$(printf '%s\n' "$OUT" | sed -E 's/"[0-9T:-]{19}Z"/"T"/g')" = '[
  {"name":"admin","role":"admin","created_at":"T","active_tokens":0},
  {"name":"alice","role":"user","created_at":"T","active_tokens":1},
  {"name":"bob","role":"user","created_at":"T","active_tokens":2},
  {"name":"zoe@example.com","role":"admin","created_at":"T","active_tokens":0}
]'
check python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert [list(o) for o in d] == [["name", "role", "created_at", "active_tokens"]] * 4; assert all(isinstance(o["active_tokens"], int) for o in d)' "$OUT"

run user list --format csv
expect_rc 0
check test "$(sed -E 's/[0-9T:-]{19}Z/T/g' "$TMP/out")" = "name,role,created_at,active_tokens"$'\r'"
admin,admin,T,0"$'\r'"
alice,user,T,1"$'\r'"
bob,user,T,2"$'\r'"
zoe@example.com,admin,T,0"$'\r'

run user list --format csv --no-headers
check test "$(printf '%s\n' "$OUT" | wc -l)" = 4

run user list --format tsv
expect_rc 0
check test "$(printf '%s\n' "$OUT" | sed -E 's/[0-9T:-]{19}Z/T/g')" = "name	role	created_at	active_tokens
admin	admin	T	0
alice	user	T	1
bob	user	T	2
zoe@example.com	admin	T	0"

run user list --format yaml
expect_error 2

case_ "every user command has --help listing its options"
run user --help
expect_rc 0
for sub in add list set-role remove; do
  expect_out_has "$sub"
done
run user add --help
expect_rc 0
expect_out_has "--role"
run user list --help
expect_rc 0
expect_out_has "--format"
expect_out_has "--no-headers"
run user set-role --help
expect_rc 0
expect_out_has "ROLE"
run user remove --help
expect_rc 0
expect_out_has "--yes"

case_ "unknown flags are exit 2"
snapshot
run user add zed --bogus
expect_error 2
run user remove bob --force
expect_error 2
run user
expect_error 2
expect_unchanged


case_ "an administrator demotes, then removes, themselves while another remains: exit 0"
"$TOKENCTL_BIN" user add dora --role admin >/dev/null
"$TOKENCTL_BIN" user add erin --role admin >/dev/null
run --as dora user set-role dora user
expect_rc 0
expect_out "dora is user"
check test "$(sql "select role from users where name = 'dora' and removed_at is null")" = user
run --as erin user remove erin --yes
expect_rc 0
expect_out "removed user erin; revoked 0 tokens"
check test "$(sql "select count(*) from users where name = 'erin' and removed_at is not null")" = 1
run --as erin whoami
expect_error 3
if [ "$BACKEND" = postgres ]; then
  # The server's grants follow the users table.
  check test "$(sql "select pg_has_role('dora', 'tokenctl_$(pg_registry_id)_admin', 'USAGE')")" = f
  check test "$(sql "select pg_has_role('dora', 'tokenctl_$(pg_registry_id)_user', 'USAGE')")" = t
  check test "$(sql "select pg_has_role('erin', 'tokenctl_$(pg_registry_id)_admin', 'USAGE')")" = f
  check test "$(sql "select pg_has_role('erin', 'tokenctl_$(pg_registry_id)_user', 'USAGE')")" = f
fi

finish
