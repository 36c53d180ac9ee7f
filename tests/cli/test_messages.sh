#!/usr/bin/env bash
# Messages a new user reads: a download command that works pasted into a fresh shell, the
# stored spelling of names, plurals, a prompt over many tokens, verify's hints, audit's list
# of actions, and tables aligned by display width as `column -t` aligns them.
. "$(dirname "$0")/lib.sh"
require_tools jq column
. "$(dirname "$0")/core_helpers.sh"

fresh_db
URI=https://app.example.com/cb

case_ "add-app prints a download command that works in a fresh shell, --db and --as kept"
ODD="$TMP/it's a \"db\" \$HOME"
"$TOKENCTL_BIN" --db "$ODD/tokens.db" init --admin root@example.com >/dev/null
"$TOKENCTL_BIN" --db "$ODD/tokens.db" --as root@example.com user add dev@example.com >/dev/null
run --db "$ODD/tokens.db" --as root@example.com add-app --name ops --redirect-uri "$URI"
expect_rc 0
id=$(printf '%s\n' "$OUT" | sed -nE 's/^created token ([0-9a-f]{16}) .*/\1/p')
command_line=$(printf '%s\n' "$OUT" | sed -n 's/^download it with: //p')
check test "$command_line" = "tokenctl --db '$TMP/it'\\''s a \"db\" \$HOME/tokens.db' --as root@example.com download $id -o token.json"
# Pasted into a shell elsewhere, with none of tokenctl's variables set.
mkdir -p "$TMP/elsewhere" "$TMP/bin"
ln -sf "$TOKENCTL_BIN" "$TMP/bin/tokenctl"
(cd "$TMP/elsewhere" && env -u TOKENCTL_DB -u TOKENCTL_USER PATH="$TMP/bin:$PATH" bash -c "$command_line")
check test "$(jq -r .id "$TMP/elsewhere/token.json")" = "$id"
rm -f "$TMP/elsewhere/token.json"
# A token for someone else: their command names them.
run --db "$ODD/tokens.db" --as root@example.com add-app --for DEV@example.com --redirect-uri "$URI"
fid=$(printf '%s\n' "$OUT" | sed -nE 's/^created token ([0-9a-f]{16}) .*/\1/p')
command_line=$(printf '%s\n' "$OUT" | sed -n 's/^dev@example.com downloads it with: //p')
check test "$command_line" = "tokenctl --db '$TMP/it'\\''s a \"db\" \$HOME/tokens.db' --as dev@example.com download $fid -o token.json"
(cd "$TMP/elsewhere" && env -u TOKENCTL_DB -u TOKENCTL_USER PATH="$TMP/bin:$PATH" bash -c "$command_line")
check test "$(jq -r .id "$TMP/elsewhere/token.json")" = "$fid"
# A relative --db is made absolute.
if sqlite_only; then
  (cd "$TMP" && "$TOKENCTL_BIN" --db "db/tokens.db" add-app --redirect-uri "$URI" >"$TMP/out")
  check grep -q "^download it with: tokenctl --db $TMP/db/tokens.db download [0-9a-f]\{16\} -o token.json$" "$TMP/out"
fi
# Without --db and --as, the command has neither.
run add-app --redirect-uri "$URI"
check grep -q '^download it with: tokenctl download [0-9a-f]\{16\} -o token.json$' "$TMP/out"

case_ "messages echo the stored spelling of a user name"
run user add Carol@Example.com
expect_out "added user Carol@Example.com (user)"
run user remove carol@example.com --yes
expect_out "removed user Carol@Example.com; revoked 0 tokens"
run user add CAROL@EXAMPLE.COM --role admin
expect_rc 0
expect_out "added user Carol@Example.com (admin)"
run user set-role carol@example.com user
expect_out "Carol@Example.com is user"
check test "$(sql "select name from users where lower(name) = 'carol@example.com'")" = "Carol@Example.com"

case_ "plurals: one token, no token"
one=$(TOKENCTL_USER=Carol@Example.com new_token)
run_pty n user remove carol@example.com
expect_rc 1
expect_err_has "Remove user Carol@Example.com and revoke their 1 active token? [y/N] "
run user remove carol@example.com --yes
expect_out "removed user Carol@Example.com; revoked 1 token"
check test "$(sql "select count(*) from tokens where token_id = '$one' and revoked_at is not null")" = 1
"$TOKENCTL_BIN" user add dave >/dev/null
run_pty n user remove dave
expect_err_has "Remove user dave? They have no active token. [y/N] "
run_pty y --as alice revoke "$(TOKENCTL_USER=alice new_token)"
expect_rc 0
expect_err_has "Revoke 1 token? [y/N] "

case_ "a prompt over many tokens shows the first 20 and how many more"
for _ in $(seq 25); do TOKENCTL_USER=alice new_token >/dev/null; done
first20=$(sql "select token_id from tokens t join users u on u.id = t.user_id where u.name = 'alice' and revoked_at is null order by t.id limit 20")
snapshot
run_pty n revoke --user alice
expect_rc 1
expect_err_has "These tokens will be revoked:"
for t in $first20; do
  expect_err_has "  $t  alice  alice"
done
check test "$(printf '%s\n' "$ERR" | grep -cE '^  [0-9a-f]{16}  ')" -eq 20
expect_err_has "  … and 5 more"
expect_err_has "Revoke 25 tokens? [y/N] "
expect_unchanged

case_ "verify: its hint is readable, and a refresh token is named as such"
run --stdin "tca_not-a-token" verify
expect_error 2
check test "$ERR" = "tokenctl: error: standard input is not a well-formed tokenctl access token
hint: an access token starts with tca_ and is 53 characters long; its last 6 are a checksum"
vid=$(TOKENCTL_USER=alice new_token)
refresh=$("$TOKENCTL_BIN" --as alice download "$vid" --format refresh-token)
AUDIT=1 snapshot
run --stdin "$refresh" verify
expect_error 2
check test "$ERR" = "tokenctl: error: standard input is a refresh token; verify checks access tokens
hint: pipe in the access token: tokenctl download ID --format access-token | tokenctl verify"
expect_no_secret
AUDIT=1 expect_unchanged

case_ "audit --action: an unknown action is exit 2 and lists the actions"
run audit --action revok
expect_error 2
check test "$ERR" = "tokenctl: error: unknown action 'revok'
hint: the actions are: add-app, app list, app remove, app rotate-secret, app show, audit, backup, check, download, init, list, migrate, refresh, refresh-reuse, rekey, revoke, serve, system-list, user add, user list, user remove, user set-role, verify, whoami"
run audit --action "user add" --format tsv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | cut -f 3 | sort -u)" = "user add"

case_ "tables align by display width, as column -t does"
export LANG=C.UTF-8
for name in "東京" "e$(printf '\xcc\x81')te$(printf '\xcc\x81')" "한글" "☕" "plain"; do
  "$TOKENCTL_BIN" add-app -q --name "$name" --redirect-uri "$URI" >/dev/null || fail "add-app --name $name"
done
run list
expect_rc 0
expected=$("$TOKENCTL_BIN" list --format tsv | cut -f 1,2,3,5,9 | sed '1s/.*/TOKEN ID\tUSER NAME\tAPPLICATION\tGENERATED AT\tSTATUS/' |
  column -t -s "$(printf '\t')" -o '   ' | sed 's/ *$//')
check test "$OUT" = "$expected"
# Under a locale that is not UTF-8 the widths are the same.
check test "$(LC_ALL=C "$TOKENCTL_BIN" list)" = "$OUT"


case_ "a one-letter password in a PostgreSQL URI is hidden, and the rest of the message kept"
# Port 1 of this host refuses connections: libpq's reason is a sentence full of o's.
run --db 'postgresql://u:o@127.0.0.1:1/db?connect_timeout=5' whoami
expect_rc 1
expect_err_has "tokenctl: error: cannot connect to registry postgresql://u:***@127.0.0.1:1/db?connect_timeout=5: connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
check test "$(printf '%s\n' "$ERR" | grep -c '\*\*\*')" = 1
run --db 'postgresql:///db?host=127.0.0.1&port=1&user=u&password=n' whoami
expect_rc 1
expect_err_has "cannot connect to registry postgresql:///db?host=127.0.0.1&port=1&user=u&password=***: connection to server at \"127.0.0.1\", port 1 failed: Connection refused"

case_ "a raw @ in a PostgreSQL URI's password is refused (exit 2), its tail never shown"
run --db 'postgresql://u:p@ss@127.0.0.1:1/db' whoami
expect_error 2
check test "$ERR" = "tokenctl: error: the user name or password in postgresql://u:***@127.0.0.1:1/db holds a raw @, which would be read as the start of the host
hint: percent-encode it: @ is %40"
TOKENCTL_DB='postgresql://u:s3cr@t-tail@127.0.0.1:1/db' run list
expect_error 2
if [[ $ERR == *t-tail* || $ERR == *s3cr* ]]; then fail "the password shows"; else pass; fi

finish
