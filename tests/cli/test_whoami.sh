#!/usr/bin/env bash
# whoami: the acting user as one row of `user list`, for any user of the database, in every
# format (on PostgreSQL with the registry's ID as a last column); it writes nothing, not
# even an audit record, and refuses an unknown or removed acting user as every command
# does (exit 3, audited).
. "$(dirname "$0")/lib.sh"
require_tools jq
. "$(dirname "$0")/core_helpers.sh"

fresh_db
# alice: two active tokens, one revoked, one expired; admin: one active token.
TOKENCTL_USER=alice new_token >/dev/null
TOKENCTL_USER=alice new_token >/dev/null
r=$(TOKENCTL_USER=alice new_token)
"$TOKENCTL_BIN" revoke --yes "$r" >/dev/null
e=$(TOKENCTL_USER=alice new_token)
expire_token "$e"
new_token >/dev/null

# The audit table's row count, to show what a command added to it.
audit_count() { sql "select count(*) from audit"; }

# On PostgreSQL whoami ends with a REGISTRY column, the registry's ID, which names the key
# file on every host; R is that ID there, empty on SQLite, where the column is absent.
R=$(registry_id)
# The table's row after an ACTIVE TOKENS of one digit, padded to the header's width.
R_ROW=${R:+               $R}
# Without the REGISTRY column: what `user list` shows of the same user.
user_list_part() {
  if [ -z "$R" ]; then
    cat
  elif [ "$1" = json ]; then
    jq -c 'del(.registry)'
  else
    sed -E 's/[,\t][0-9a-f]{16}(\r?)$/\1/'
  fi
}

case_ "an administrator in the table format"
run whoami
expect_rc 0
expect_err_empty
check test "$(times_masked)" = "NAME    ROLE    CREATED AT             ACTIVE TOKENS${R:+   REGISTRY}
admin   admin   TIME                   1$R_ROW"
check test "$(printf '%s\n' "$OUT" | grep -cE '   [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z   ')" = 1

case_ "a user in the table format: revoked and expired tokens are not counted"
run --as alice whoami
expect_rc 0
expect_err_empty
check test "$(times_masked)" = "NAME    ROLE   CREATED AT             ACTIVE TOKENS${R:+   REGISTRY}
alice   user   TIME                   2$R_ROW"

case_ "--no-headers drops the header line"
run --as alice whoami --no-headers
expect_rc 0
check test "$(times_masked)" = "alice   user   TIME                   2${R:+   $R}"

case_ "json: one object (not an array) with the keys of user list"
run whoami --format json
expect_rc 0
check test "$(printf '%s\n' "$OUT" | sed -E 's/"[0-9T:-]{19}Z"/"T"/g')" = '{
  "name": "admin",
  "role": "admin",
  "created_at": "T",
  "active_tokens": 1'"${R:+,
  \"registry\": \"$R\"}"'
}'
check test "$(printf '%s\n' "$OUT" | jq -r .role)" = admin
run --as alice whoami --format json
expect_rc 0
check test "$(printf '%s\n' "$OUT" | jq -r .role)" = user
check python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert list(d) == ["name", "role", "created_at", "active_tokens"] + (["registry"] if sys.argv[2] else []); assert isinstance(d["active_tokens"], int)' "$OUT" "$R"

case_ "csv (RFC 4180, CRLF) and tsv"
run --as alice whoami --format csv
expect_rc 0
check test "$(sed -E 's/[0-9T:-]{19}Z/T/g' "$TMP/out")" = "name,role,created_at,active_tokens${R:+,registry}"$'\r'"
alice,user,T,2${R:+,$R}"$'\r'
run --as alice whoami --format csv --no-headers
check test "$(sed -E 's/[0-9T:-]{19}Z/T/g' "$TMP/out")" = "alice,user,T,2${R:+,$R}"$'\r'
run whoami --format tsv
expect_rc 0
check test "$(printf '%s\n' "$OUT" | sed -E 's/[0-9T:-]{19}Z/T/g')" = "name	role	created_at	active_tokens${R:+	registry}
admin	admin	T	1${R:+	$R}"
run --as alice whoami --format tsv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | sed -E 's/[0-9T:-]{19}Z/T/g')" = "alice	user	T	2${R:+	$R}"

case_ "the row is the acting user's row of user list, in every format"
for format in json csv tsv; do
  "$TOKENCTL_BIN" user list --format "$format" --no-headers >"$TMP/users"
  for name in admin alice; do
    run --as "$name" whoami --format "$format" --no-headers
    expect_rc 0
    if [ "$format" = json ]; then
      row=$(printf '%s\n' "$OUT" | jq -c . | user_list_part json)
      check grep -qxF -- "$row" <(jq -c '.[]' "$TMP/users")
    else
      check grep -qxF -- "$(user_list_part "$format" <"$TMP/out")" "$TMP/users"
    fi
  done
done

case_ "the acting user comes from --as, else TOKENCTL_USER, as for every command"
TOKENCTL_USER=alice run whoami --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1,2)" = "alice	user"
TOKENCTL_USER=alice run --as admin whoami --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1,2)" = "admin	admin"
run whoami --as alice --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1,2)" = "alice	user"
# Names match case-insensitively; the row shows the name as stored.
run --as ALICE whoami --format tsv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f1)" = alice

case_ "without --as or TOKENCTL_USER, the login name"
# An empty TOKENCTL_USER counts as unset.
login=$(id -un)
if [[ $login =~ ^[A-Za-z0-9._@+-]{1,128}$ ]]; then
  TOKENCTL_USER= run whoami
  expect_error 3
  check test "$(printf '%s\n' "$ERR" | head -n 1)" = "tokenctl: error: $login is not a user of this database"
  "$TOKENCTL_BIN" user add "$login" >/dev/null
  TOKENCTL_USER= run whoami --format tsv --no-headers
  expect_rc 0
  check test "$(printf '%s\n' "$OUT" | cut -f1,2,4)" = "$login	user	0"
  "$TOKENCTL_BIN" user remove "$login" --yes >/dev/null
else
  echo "SKIP: the login name $login is not a valid user name"
fi

case_ "a successful whoami changes nothing in the database, audit table included"
AUDIT=1 snapshot
before=$(audit_count)
for name in admin alice; do
  for format in table json csv tsv; do
    run --as "$name" whoami --format "$format"
    expect_rc 0
    run --as "$name" whoami --format "$format" --no-headers
    expect_rc 0
  done
done
AUDIT=1 expect_unchanged
check test "$(audit_count)" = "$before"

case_ "whoami needs no key file"
key=$(key_file)
mv "$key" "$TMP/key"
run --as alice whoami --format tsv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f1)" = alice
mv "$TMP/key" "$key"

case_ "an unknown acting user is exit 3, with one error line, and the refusal is audited"
AUDIT=0 snapshot
before=$(audit_count)
run --as nobody whoami
expect_error 3
check test "$(printf '%s\n' "$ERR" | head -n 1)" = "tokenctl: error: nobody is not a user of this database"
expect_err_has "hint: "
expect_unchanged
if unknown_actor_audited; then
  check test "$(audit_count)" = $((before + 1))
  check test "$(sql "select actor, action, subject, outcome, detail from audit order by id desc limit 1")" = "nobody|whoami||denied|unknown acting user"
else
  check test "$(audit_count)" = "$before"
fi
TOKENCTL_USER=nobody run whoami --format json
expect_error 3

case_ "a removed user is refused as an unknown one"
"$TOKENCTL_BIN" user add bob >/dev/null
run --as bob whoami --format tsv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f1,2,4)" = "bob	user	0"
"$TOKENCTL_BIN" user remove bob --yes >/dev/null
before=$(audit_count)
run --as bob whoami
expect_error 3
check test "$(printf '%s\n' "$ERR" | head -n 1)" = "tokenctl: error: bob is not a user of this database"
if unknown_actor_audited; then
  check test "$(audit_count)" = $((before + 1))
  check test "$(sql "select actor, action, outcome from audit order by id desc limit 1")" = "bob|whoami|denied"
else
  check test "$(audit_count)" = "$before"
fi

case_ "a stray argument, an unknown flag or format is exit 2 and changes nothing"
AUDIT=1 snapshot
for args in "whoami alice" "whoami --bogus" "whoami --format yaml" "whoami --format" \
  "--as alice whoami extra"; do
  # shellcheck disable=SC2086
  run $args
  expect_error 2
done
run whoami alice
expect_err_has "alice"
expect_err_has "tokenctl help whoami"
AUDIT=1 expect_unchanged

case_ "a verifier asks whoami (it holds no tokens), and nothing else"
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
run --as gw whoami --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | tr -d '\r' | cut -d, -f1,2,4)" = "gw,verifier,0"
run --as gw list
expect_error 3

case_ "a missing database is exit 1 and creates nothing"
run --db "$TMP/missing/tokens.db" whoami
expect_error 1
expect_err_has "tokenctl init"
check test ! -e "$TMP/missing"

case_ "whoami --help lists its options; tokenctl --help lists whoami"
run whoami --help
expect_rc 0
expect_out_has "--format"
expect_out_has "--no-headers"
run --help
expect_rc 0
expect_out_has "whoami"


case_ "check reports what the acting user may not run as skipped, never as ok"
"$TOKENCTL_BIN" user add dora --role admin >/dev/null
run check
expect_rc 0
check test -z "$(printf '%s\n' "$OUT" | grep -v '^ok ')"
run --as alice check
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -v '^ok ')" = "skipped integrity: administrators only
skipped administrators: administrators only
skipped audit-log: administrators only
skipped secrets: administrators only"
# An administrator who is not a PostgreSQL registry's owner: the server keeps every
# token's sealed secrets from them, so the integrity and secrets checks are the owner's.
run --as dora check
expect_rc 0
if [ "$BACKEND" = postgres ]; then
  check test "$(printf '%s\n' "$OUT" | grep -v '^ok ')" = "skipped integrity: only the registry's owner reads every token's sealed secrets
skipped secrets: only the registry's owner reads every token's sealed secrets"
else
  check test -z "$(printf '%s\n' "$OUT" | grep -v '^ok ')"
fi
expect_out_has "ok administrators"

finish
