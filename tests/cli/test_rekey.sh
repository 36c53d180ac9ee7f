#!/usr/bin/env bash
# rekey: every secret re-sealed under a new key in one transaction, the key file swapped,
# crash-safe when killed at any moment; backup and check beside it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

SEED_BIN=${TOKENCTL_SEED_BIN:-$(dirname "$TOKENCTL_BIN")/tokenctl-seed}
# The two secrets of a token file (its expires_in moves with the clock).
secrets_of() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["access_token"], d["refresh_token"])' | sha256sum; }

fresh_db
a1=$(new_token --as alice)
a2=$(new_token --as alice)
"$TOKENCTL_BIN" --as alice download "$a1" -o "$TMP/a1.json"

case_ "rekey re-seals every secret: the same token files download under the new key"
old_key=$(sha "$DB.key")
run rekey --yes
expect_rc 0
expect_out "re-sealed 2 tokens under a new key; key file $DB.key"
check test "$(sha "$DB.key")" != "$old_key"
check test "$(mode_of "$DB.key")" = 600
check test ! -e "$DB.key.new"
run --as alice download "$a1"
expect_rc 0
check test "$(printf '%s\n' "$OUT" | secrets_of)" = "$(secrets_of <"$TMP/a1.json")"
run check
expect_rc 0

case_ "the old key file no longer opens the registry"
cp "$DB.key" "$TMP/new.key"
"$TOKENCTL_BIN" rekey --yes >/dev/null
run check
expect_rc 0
TOKENCTL_KEY_FILE="$TMP/new.key" run --as alice download "$a1"
expect_error 1
expect_err_has "does not match database"

case_ "rekey is audited with the count and never a key"
run audit --action rekey --format csv --no-headers
expect_out_has ",admin,rekey,,ok,2 tokens re-sealed under a new key"
check test "$(sql "select count(*) from audit where detail like '%key%' and action = 'rekey'")" = 2

case_ "a non-admin cannot rekey (exit 3); without a terminal or --yes, exit 2"
snapshot
run --as alice rekey --yes
expect_error 3
run rekey
expect_error 2
expect_unchanged
check test ! -e "$DB.key.new"

case_ "a command that read the key before a rekey committed is refused, not sealed under the old key"
before=$(sql "select count(*) from tokens")
check_value=$(sql "select hex(value) from meta where name = 'key_check'")
race "UPDATE meta SET value = randomblob(60) WHERE name = 'key_check'" \
  --as alice add-app -q --redirect-uri https://app.example.com/cb
expect_error 1
expect_err_has "the registry's key was rotated while this command waited"
check test "$(sql "select count(*) from tokens")" = "$before"
sql "update meta set value = x'$check_value' where name = 'key_check'"

case_ "killed after its commit, before the key file was swapped: the next command finishes the swap"
cp "$DB.key" "$TMP/before.key"
"$TOKENCTL_BIN" rekey --yes >/dev/null
mv "$DB.key" "$DB.key.new"
cp -p "$TMP/before.key" "$DB.key"
run --as alice download "$a1"
expect_rc 0
check test ! -e "$DB.key.new"
check test "$(sha "$DB.key")" != "$(sha "$TMP/before.key")"
run check
expect_rc 0

case_ "killed before its commit: the next command removes the unused new key"
head -c 32 /dev/urandom >"$DB.key.new"
chmod 600 "$DB.key.new"
key_before=$(sha "$DB.key")
run --as alice download "$a1"
expect_rc 0
check test ! -e "$DB.key.new"
check test "$(sha "$DB.key")" = "$key_before"

case_ "a KEY.new that opens nothing is left for the administrator, and the key file still works"
head -c 32 /dev/urandom >"$DB.key.new"
chmod 600 "$DB.key.new"
cp -p "$DB.key" "$TMP/good.key"
head -c 32 /dev/urandom >"$DB.key"
run --as alice download "$a1"
expect_error 1
check test -e "$DB.key.new"
cp -p "$TMP/good.key" "$DB.key"
run --as alice download "$a1"
expect_rc 0
check test ! -e "$DB.key.new"

# --- killed at random moments ---------------------------------------------------------
# REKEY_TOKENS tokens, REKEY_KILLS SIGKILLs: after each, every secret must open with the
# key file on disk (check's `secrets` line) and a sample token must download and verify.
tokens=${REKEY_TOKENS:-100000}
kills=${REKEY_KILLS:-50}
rm -rf "$TMP/db"
mkdir -p "$TMP/db"
"$SEED_BIN" --db "$DB" --tokens "$tokens" >/dev/null || { echo "seed failed"; exit 1; }
owner=$(sql "select name from users where role = 'user' order by id limit 1")
sample=$("$TOKENCTL_BIN" --as "$owner" add-app -q --redirect-uri "https://$owner.example.com/callback")
"$TOKENCTL_BIN" --as "$owner" download "$sample" -o "$TMP/sample.json"
start=$(date +%s%N)
"$TOKENCTL_BIN" rekey --yes >/dev/null
span_ms=$(( ($(date +%s%N) - start) / 1000000 + 50 ))
RANDOM=${REKEY_SEED:-$$}
echo "rekey of $tokens tokens took ${span_ms} ms; killing $kills times within it (seed $RANDOM)"
case_ "rekey killed with SIGKILL at random moments leaves every secret readable with the key file on disk"
bad=0
for i in $(seq "$kills"); do
  "$TOKENCTL_BIN" rekey --yes >/dev/null 2>&1 &
  pid=$!
  delay=$((RANDOM % span_ms))
  sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if ! "$TOKENCTL_BIN" check >"$TMP/check" 2>&1; then
    bad=$((bad + 1))
    echo "after kill $i (delay ${delay} ms):"
    cat "$TMP/check"
  fi
  check test ! -e "$DB.key.new"
done
check test "$bad" = 0
run --as "$owner" download "$sample"
expect_rc 0
check test "$(printf '%s\n' "$OUT" | secrets_of)" = "$(secrets_of <"$TMP/sample.json")"
run --stdin "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/sample.json")" verify
expect_rc 0

case_ "a later rekey completes"
run rekey --yes
expect_rc 0
expect_out_has "re-sealed $((tokens + 1)) tokens"
run check
expect_rc 0

finish
