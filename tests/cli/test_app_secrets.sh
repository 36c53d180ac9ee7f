#!/usr/bin/env bash
# app show, app secret and app rotate-secret: an application's client ID and client secret,
# as Central shows them to its users; the old secret stops working at once on rotation
# (checked through serve's client refresh, tokenctl-client-refresh).
. "$(dirname "$0")/lib.sh"
require_tools python3

fresh_db
for u in bob carol; do "$TOKENCTL_BIN" user add "$u" >/dev/null; done
"$TOKENCTL_BIN" user add gw --role verifier >/dev/null
a1=$(new_token --as alice)
"$TOKENCTL_BIN" add-app -q --name "Shared App" --for bob --redirect-uri https://shared.example.com/cb >/dev/null
audit_of() { # ACTION: "actor|subject|outcome" of each record of ACTION, oldest first
  sql "select actor || '|' || subject || '|' || outcome from audit where action = '$1' order by id"
}
CLIENT=$(client_of alice)
REFRESH=$("$TOKENCTL_BIN" --as alice download "$a1" --format refresh-token)
secret_shape='^tcs_[0-9A-Za-z]{49}$'

case_ "app show: one application as app list shows it; JSON is one object"
run app list --format csv
listed=$(printf '%s\n' "$OUT" | grep '^alice,')
run app show alice --format csv
expect_rc 0
expect_out "name,client_id,redirect_uri,created_at,created_by,active_tokens"$'\r'"
$listed"
run app show alice --format json
expect_rc 0
check python3 - "$OUT" "$CLIENT" <<'PY'
import json, sys
row = json.loads(sys.argv[1])
assert list(row) == ["name", "client_id", "redirect_uri", "created_at", "created_by",
                     "active_tokens"], row
assert row["name"] == "alice" and row["client_id"] == sys.argv[2], row
assert row["active_tokens"] == 1, row
PY
run --as bob app show "Shared App" --format tsv --no-headers
expect_rc 0
check test "$(printf '%s' "$OUT" | cut -f1,5,6)" = "Shared App	admin	1"
run app show alice
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = 2
check test "$(printf '%s\n' "$OUT" | head -n 1 | tr -s ' ')" = "NAME CLIENT ID REDIRECT URI CREATED AT CREATED BY ACTIVE TOKENS"
check test "$(printf '%s\n' "$OUT" | tail -n 1 | tr -s ' ' | cut -d' ' -f1,2)" = "alice $CLIENT"

case_ "app show: refusals (3, audited), unknown (4), bad format (2)"
run --as carol app show alice
expect_error 3
check test "$(audit_of "app show" | tail -n 1)" = "carol|alice|denied"
run app show nothing
expect_error 4
run app show alice --format yaml
expect_error 2

case_ "app secret: the secret alone, to its creator, an administrator, a token holder"
run --as alice app secret alice
expect_rc 0
expect_err_empty
SECRET=$OUT
check grep -qE "$secret_shape" <<<"$SECRET"
check test "$(wc -l <"$TMP/out")" = 1
run app secret alice
expect_out "$SECRET"
run --as bob app secret "Shared App"
expect_rc 0
check grep -qE "$secret_shape" <<<"$OUT"
check test "$OUT" != "$SECRET"
# The client secret proves the client: serve's refresh works with it.
client_refresh "$CLIENT" "$SECRET" "$REFRESH"
expect_rc 0
REFRESH=$(json_field "$OUT" refresh_token)
check test "$(json_field "$OUT" credential_id)" = "$CLIENT"

case_ "app secret: audited as a download, never with the secret"
check test "$(audit_of download | grep -c '|alice|ok$')" = 2
check test "$(audit_of download | grep -c '^bob|Shared App|ok$')" = 1
check test "$(sql "select count(*) from audit where actor || action || subject || detail like '%tcs\\_%' escape '\\'")" = 0

case_ "app secret: refusals (3, audited as downloads), unknown (4)"
run --as carol app secret alice
expect_error 3
check test "$(audit_of download | tail -n 1)" = "carol|alice|denied"
run --as alice app secret "Shared App"
expect_error 3
run --as gw app secret alice
expect_error 3
run app secret nothing
expect_error 4
if printf '%s' "$ERR" | grep -q 'tcs_'; then fail "a secret on stderr"; else pass; fi

case_ "app secret -o FILE: written whole, mode 0600; an existing FILE needs --force"
run --as alice app secret alice -o "$TMP/secret.txt"
expect_rc 0
expect_out ""
check test "$(cat "$TMP/secret.txt")" = "$SECRET"
check test "$(mode_of "$TMP/secret.txt")" = 600
run --as alice app secret alice -o "$TMP/secret.txt"
expect_error 5
run --as alice app secret alice -o "$TMP/secret.txt" --force
expect_rc 0
check test "$(cat "$TMP/secret.txt")" = "$SECRET"
run --as alice app secret alice -o -
expect_out "$SECRET"

case_ "app rotate-secret: without --yes and a terminal, exit 2 and nothing changes"
run --as alice app rotate-secret alice
expect_error 2
run --as alice app secret alice
expect_out "$SECRET"

case_ "app rotate-secret: refusals (3, audited) and unknown (4) come before any prompt"
snapshot
run --as bob app rotate-secret "Shared App"
expect_error 3
run --as carol app rotate-secret alice --yes
expect_error 3
run --as gw app rotate-secret alice --yes
expect_error 3
run app rotate-secret nothing
expect_error 4
expect_unchanged
check test "$(audit_of "app rotate-secret")" = "bob|Shared App|denied
carol|alice|denied
gw||denied"

case_ "app rotate-secret: a new secret at once; the old one stops working"
run --as alice app rotate-secret alice --yes
expect_rc 0
expect_err_empty
expect_out "rotated the client secret of application 'alice'; read it with: tokenctl app secret alice"
NEW=$("$TOKENCTL_BIN" --as alice app secret alice)
check grep -qE "$secret_shape" <<<"$NEW"
check test "$NEW" != "$SECRET"
client_refresh "$CLIENT" "$SECRET" "$REFRESH"
check test "$RC" = 10
expect_out "invalid_client"
client_refresh "$CLIENT" "$NEW" "$REFRESH"
expect_rc 0
check test "$(audit_of "app rotate-secret" | tail -n 1)" = "alice|alice|ok"
# An administrator rotates any application's secret.
run app rotate-secret "Shared App" --yes
expect_rc 0
check test "$(audit_of "app rotate-secret" | tail -n 1)" = "admin|Shared App|ok"

case_ "no secret in any audit record"
check test "$(sql "select count(*) from audit where actor || action || subject || detail like '%tc_\\_%' escape '\\'")" = 0

finish
