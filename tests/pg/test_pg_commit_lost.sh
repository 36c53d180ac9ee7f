#!/usr/bin/env bash
# pg_commit_lost: no key that may still open the registry's secrets is ever deleted,
# whatever the outcome of the commit (SPEC.md, `tokenctl rekey`), and a command whose
# COMMIT answer was lost says so.
#
# tests/pg/commit_proxy.py sits between tokenctl and the server (tokenctl connects to
# 127.0.0.1 with sslmode=disable, the proxy to the server's Unix socket) and closes the
# connection just before the server receives COMMIT (`before`) or just after it did,
# without relaying its answer (`after`). Cases, each on a fresh registry whose tokens
# (two users', two each) were downloaded first:
#   1. rekey, answer lost after the COMMIT: exit 1, "unknown", KEY.new kept; the next
#      command puts the new key in place; every token downloads and verifies
#      (the next command an administrator's check, or a user's download)
#   2. rekey, cut before the COMMIT: exit 1; the next command keeps the old key and
#      removes KEY.new; every token downloads and verifies
#   3. init, after and before: exit 1, "unknown"; after `after` the key file is kept and
#      the registry works with it; after `before` a new init works
#   4. add-app, after: exit 1 naming the token ID and `tokenctl list --all`, and the token
#      exists and downloads; before: the named token does not exist
#   5. refresh, after: exit 1 saying `tokenctl download ID`, and the token was refreshed;
#      before: the old file still verifies
#   6. rekey whose final rename fails (the key file a read-only bind mount): exit 1,
#      KEY.new kept; download says a key rotation is under way; once the mount is gone,
#      the next command puts the key in place and every token downloads and verifies
SUITE_TAG=pgk
LOGIN_NAMES="own alice bob gw"
. "$(dirname "$0")/lib-registry.sh"

URI=https://app.example.com/cb
export XDG_CONFIG_HOME="$TMP/config"
mkdir -p "$XDG_CONFIG_HOME"
MOUNTED=
EXTRA_CLEANUP='[ -z "$MOUNTED" ] || umount "$MOUNTED"; stop_proxy'

# through LOGIN ARGS...: tokenctl as LOGIN through the proxy (run's RC, OUT, ERR), with a
# time limit; then the proxy is stopped.
through() {
  local login=$1
  shift
  TOKENCTL_DB=$PROXY_DB run_as "$login" "$@"
  stop_proxy
  if ! grep -q '^CUT ' "$TMP/proxy.log" 2>/dev/null; then
    fail "the proxy saw no COMMIT to cut (its log: $(tr '\n' '|' <"$TMP/proxy.log" 2>/dev/null | head -c 600))"
  fi
}

# The first token ID (16 hexadecimal digits, not the registry's ID) in text $1.
token_id_in() { printf '%s\n' "$1" | grep -oE '\b[0-9a-f]{16}\b' | grep -vxF "$(registry_id_now)" | head -n 1; }
key_path() { printf '%s/tokenctl/%s.key\n' "$XDG_CONFIG_HOME" "$(registry_id_now)"; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# A registry with users alice and bob (two tokens each, downloaded) and verifier gw.
TOKENS=()
populate() {
  new_registry
  tc "$L_own" user add "$L_alice" >/dev/null && tc "$L_own" user add "$L_bob" >/dev/null &&
    tc "$L_own" user add "$L_gw" --role verifier >/dev/null || { echo "setup: user add failed"; exit 1; }
  TOKENS=()
  rm -f "$TMP"/*.json
  local who id n=0
  for who in "$L_alice" "$L_alice" "$L_bob" "$L_bob"; do
    id=$(tc "$who" add-app -q --redirect-uri "$URI") || { echo "setup: add-app failed"; exit 1; }
    n=$((n + 1))
    token_file "$who" "$id" "$TMP/tok$n.json" || { echo "setup: download failed: $(cat "$TMP/dl.err")"; exit 1; }
    TOKENS+=("$who $id $TMP/tok$n.json")
  done
}

# Every token downloads (by its user, with the same secrets as before) and verifies (by
# the verifier, from its access token on stdin).
every_token_works() {
  local entry who id file
  for entry in "${TOKENS[@]}"; do
    read -r who id file <<<"$entry"
    rm -f "$TMP/again.json"
    run_as "$who" download "$id" -o "$TMP/again.json"
    if [ "$RC" -eq 0 ] && [ "$(access_of "$TMP/again.json")" = "$(access_of "$file")" ]; then pass; else
      fail "token $id of $who does not download (exit $RC) or its secrets changed"
    fi
    access_of "$file" >"$TMP/access"
    PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/access" >"$TMP/out" 2>"$TMP/err"
    RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
    if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -qF "$id"; then pass; else
      fail "token $id of $who does not verify (exit $RC)"
    fi
  done
}

# ---------------------------------------------------------------------------------------
case_ "rekey, the COMMIT's answer lost: the outcome is unknown, KEY.new is kept"
populate
KEY=$(key_path)
old=$(sha "$KEY")
start_proxy after
through "$L_own" rekey --yes
expect_rc 1
expect_error_line
expect_err_has "unknown"
check test -f "$KEY.new"
new=$(sha "$KEY.new" 2>/dev/null)
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'rekey' AND outcome = 'ok'")" = 1
case_ "rekey, the COMMIT's answer lost: the next command puts the new key in place"
run_as "$L_own" check
expect_rc 0
check test ! -e "$KEY.new"
check test "$(sha "$KEY")" = "$new"
check test "$(sha "$KEY")" != "$old"
check test "$(stat -c %a "$KEY")" = 600
every_token_works

case_ "rekey, the COMMIT's answer lost: a user's download, the next command, puts the new key in place"
populate
KEY=$(key_path)
start_proxy after
through "$L_own" rekey --yes
expect_rc 1
check test -f "$KEY.new"
new=$(sha "$KEY.new" 2>/dev/null)
read -r who id file <<<"${TOKENS[2]}"
rm -f "$TMP/next.json"
run_as "$who" download "$id" -o "$TMP/next.json"
expect_rc 0
if [ "$(access_of "$TMP/next.json" 2>/dev/null)" = "$(access_of "$file")" ]; then pass; else fail "the download's secrets differ"; fi
check test ! -e "$KEY.new"
check test "$(sha "$KEY")" = "$new"
every_token_works

# ---------------------------------------------------------------------------------------
case_ "rekey, cut before the COMMIT: exit 1"
populate
KEY=$(key_path)
old=$(sha "$KEY")
start_proxy before
through "$L_own" rekey --yes
expect_rc 1
expect_error_line
check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'rekey' AND outcome = 'ok'")" = 0
case_ "rekey, cut before the COMMIT: the next command keeps the old key, removes KEY.new"
run_as "$L_own" check
expect_rc 0
check test ! -e "$KEY.new"
check test "$(sha "$KEY")" = "$old"
every_token_works

# ---------------------------------------------------------------------------------------
case_ "init, the COMMIT's answer lost: outcome unknown, the key file kept"
new_database
rm -rf "$XDG_CONFIG_HOME/tokenctl"
start_proxy after
through "$L_own" init
expect_rc 1
expect_error_line
expect_err_has "unknown"
mapfile -t keys < <(find "$XDG_CONFIG_HOME" -name '*.key' -type f 2>/dev/null)
REG=$(registry_id_now)
check test -n "$REG"
check test -f "$XDG_CONFIG_HOME/tokenctl/$REG.key"
case_ "init, the COMMIT's answer lost: a second init finds the registry and keeps the key file"
keysum=$(sha "$XDG_CONFIG_HOME/tokenctl/$REG.key" 2>/dev/null)
run_as "$L_own" init
expect_rc 5
check test "$(sha "$XDG_CONFIG_HOME/tokenctl/$REG.key" 2>/dev/null)" = "$keysum"
case_ "init, the COMMIT's answer lost: the registry works with that key file"
run_as "$L_own" whoami
expect_rc 0
expect_out_has "$REG"
tc "$L_own" user add "$L_alice" >/dev/null 2>&1
id=$(tc "$L_alice" add-app -q --redirect-uri "$URI" 2>"$TMP/err")
RC=$? ERR=$(cat "$TMP/err") OUT=$id
expect_rc 0
rm -f "$TMP/init.json"
run_as "$L_alice" download "$id" -o "$TMP/init.json"
expect_rc 0
run_as "$L_own" check
expect_rc 0

case_ "init, cut before the COMMIT: exit 1, and init then works"
new_database
rm -rf "$XDG_CONFIG_HOME/tokenctl"
start_proxy before
through "$L_own" init
expect_rc 1
expect_error_line
expect_err_has "unknown"
check test -z "$(registry_id_now)"
run_as "$L_own" init
expect_rc 0
tc "$L_own" user add "$L_alice" >/dev/null 2>&1
id=$(tc "$L_alice" add-app -q --redirect-uri "$URI" 2>"$TMP/err")
RC=$? ERR=$(cat "$TMP/err") OUT=$id
expect_rc 0
rm -f "$TMP/init.json"
run_as "$L_alice" download "$id" -o "$TMP/init.json"
expect_rc 0

# ---------------------------------------------------------------------------------------
case_ "add-app, the COMMIT's answer lost: exit 1 names the token and how to find out"
populate
start_proxy after
through "$L_alice" add-app -q --redirect-uri "$URI"
expect_rc 1
expect_error_line
named=$(token_id_in "$ERR")
check test -n "$named"
expect_err_has "tokenctl list --all"
case_ "add-app, the COMMIT's answer lost: the named token exists and downloads"
run_as "$L_alice" list --all --no-headers
expect_rc 0
expect_out_has "$named"
run_as "$L_alice" download "$named" -o "$TMP/lost.json"
expect_rc 0
if [ "$RC" -eq 0 ]; then
  access_of "$TMP/lost.json" >"$TMP/access"
  PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/access" >"$TMP/out" 2>"$TMP/err"
  RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
  expect_rc 0
fi

case_ "add-app, cut before the COMMIT: exit 1, the named token does not exist"
before=$(sql "SELECT count(*) FROM tokenctl.tokens")
start_proxy before
through "$L_alice" add-app -q --redirect-uri "$URI"
expect_rc 1
expect_error_line
named=$(token_id_in "$ERR")
check test "$(sql "SELECT count(*) FROM tokenctl.tokens")" = "$before"
if [ -n "$named" ]; then
  run_as "$L_alice" list --all --no-headers
  expect_rc 0
  if printf '%s' "$OUT" | grep -qF "$named"; then fail "token $named, named by the failed add-app, exists"; else pass; fi
fi

# ---------------------------------------------------------------------------------------
case_ "refresh, the COMMIT's answer lost: exit 1 says how to get the current file"
populate
read -r who id file <<<"${TOKENS[0]}"
start_proxy after
rm -f "$TMP/refreshed.json"
through "$who" refresh "$id" -o "$TMP/refreshed.json"
expect_rc 1
expect_error_line
expect_err_has "tokenctl download $id"
check test ! -e "$TMP/refreshed.json"
case_ "refresh, the COMMIT's answer lost: the token was refreshed, and its current file downloads and verifies"
rm -f "$TMP/current.json"
run_as "$who" download "$id" -o "$TMP/current.json"
expect_rc 0
if [ "$RC" -eq 0 ] && [ "$(access_of "$TMP/current.json")" != "$(access_of "$file")" ]; then pass; else
  fail "the token's secrets did not change, though the refresh committed"
fi
access_of "$TMP/current.json" >"$TMP/access" 2>/dev/null
PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/access" >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect_rc 0
access_of "$file" >"$TMP/access"
PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/access" >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
if [ "$RC" -ne 0 ]; then pass; else fail "the old access token still verifies after a committed refresh"; fi

case_ "refresh, cut before the COMMIT: exit 1, the old file still verifies"
read -r who id file <<<"${TOKENS[1]}"
start_proxy before
rm -f "$TMP/refreshed.json"
through "$who" refresh "$id" -o "$TMP/refreshed.json"
expect_rc 1
expect_error_line
access_of "$file" >"$TMP/access"
PGUSER=$L_gw "$TOKENCTL_BIN" verify <"$TMP/access" >"$TMP/out" 2>"$TMP/err"
RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect_rc 0

# ---------------------------------------------------------------------------------------
case_ "rekey whose final rename fails (the key file a read-only bind mount)"
populate
KEY=$(key_path)
old=$(sha "$KEY")
if mount --bind "$KEY" "$KEY" 2>/dev/null && mount -o remount,ro,bind "$KEY" 2>/dev/null; then
  MOUNTED=$KEY
  run_as "$L_own" rekey --yes
  expect_rc 1
  expect_error_line
  check test -f "$KEY.new"
  check test "$(sha "$KEY")" = "$old"
  check test "$(sql "SELECT count(*) FROM tokenctl.audit WHERE action = 'rekey' AND outcome = 'ok'")" = 1
  new=$(sha "$KEY.new" 2>/dev/null)
  case_ "rename failed: download says that a key rotation is under way, with a hint"
  entry=${TOKENS[0]}
  read -r who id file <<<"$entry"
  run_as "$who" download "$id" -o "$TMP/during.json"
  if [ "$RC" -eq 0 ]; then
    # Served under the key that opens the registry: also acceptable, if the secrets are right.
    if [ "$(access_of "$TMP/during.json")" = "$(access_of "$file")" ]; then pass; else fail "the download's secrets differ"; fi
  else
    expect_rc 1
    expect_err_has "key rotation"
    if printf '%s' "$ERR" | grep -q "does not match"; then fail "download says the key does not match"; else pass; fi
    if printf '%s\n' "$ERR" | grep -q '^hint: '; then pass; else fail "no hint line"; fi
  fi
  check test -f "$KEY.new"
  umount "$KEY"
  MOUNTED=
  case_ "rename failed: once the key file can be replaced, the next command puts the new key in place"
  run_as "$L_own" check
  expect_rc 0
  check test ! -e "$KEY.new"
  check test "$(sha "$KEY")" = "$new"
  every_token_works
else
  SKIPPED=$((SKIPPED + 1))
  printf 'SKIP [%s] cannot bind-mount the key file read-only here (not root?)\n' "$CASE"
fi

finish
