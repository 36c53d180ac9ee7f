#!/usr/bin/env bash
# rekey when the new key file cannot be put in place: no key that may still open the
# registry's secrets is ever deleted (SPEC.md, `tokenctl rekey`). The key file is made
# impossible to replace while its folder stays writable: a read-only bind mount of the
# file over itself (as container secrets are; rename onto a mount point fails with EBUSY),
# then `chattr +i` (rename over an immutable file fails with EPERM) where the file system
# has it. Each time: rekey is exit 1 and keeps KEY.new; a download before the key file is
# fixed says that a key rotation is under way, with a hint, not "does not match"; once the
# key file can be replaced, the next command puts KEY.new in place, and every token
# downloads and verifies. Both need root; without it the cases are skipped, saying so.
. "$(dirname "$0")/lib.sh"

sha() { sha256sum <"$1" | cut -d' ' -f1; }
access_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"], end="")' "$1"; }
MOUNTED=
IMMUTABLE=
stuck_cleanup() {
  [ -z "$MOUNTED" ] || umount "$MOUNTED" 2>/dev/null
  [ -z "$IMMUTABLE" ] || chattr -i "$IMMUTABLE" 2>/dev/null
  lib_cleanup
}
trap stuck_cleanup EXIT

TOKENS=()
populate() {
  fresh_db
  rm -f "$TMP"/tok*.json
  TOKENS=()
  local who id n=0
  for who in alice alice admin; do
    id=$(new_token --as "$who") || { echo "setup: add-app failed"; exit 1; }
    n=$((n + 1))
    "$TOKENCTL_BIN" --as "$who" download "$id" -o "$TMP/tok$n.json" >/dev/null || { echo "setup: download failed"; exit 1; }
    TOKENS+=("$who $id $TMP/tok$n.json")
  done
}
every_token_works() {
  local entry who id file
  for entry in "${TOKENS[@]}"; do
    read -r who id file <<<"$entry"
    rm -f "$TMP/again.json"
    run --as "$who" download "$id" -o "$TMP/again.json"
    if [ "$RC" -eq 0 ] && [ "$(access_of "$TMP/again.json")" = "$(access_of "$file")" ]; then pass; else
      fail "token $id of $who does not download (exit $RC) or its secrets changed"
    fi
    run --stdin "$(access_of "$file")" verify
    if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -qF "$id"; then pass; else
      fail "token $id of $who does not verify (exit $RC)"
    fi
  done
}

# stuck HOW: rekey while the key file cannot be replaced (HOW: mount or chattr).
stuck() {
  local how=$1 key old new entry who id file
  case_ "rekey, the key file cannot be replaced ($how): exit 1, KEY.new kept"
  populate
  key=$(key_file)
  old=$(sha "$key")
  case $how in
  mount)
    if ! { mount --bind "$key" "$key" 2>/dev/null && MOUNTED=$key && mount -o remount,ro,bind "$key" 2>/dev/null; }; then
      [ -z "$MOUNTED" ] || umount "$MOUNTED"
      MOUNTED=
      SKIPPED=$((SKIPPED + 1))
      printf 'SKIP [%s] cannot bind-mount the key file read-only here (needs root)\n' "$CASE"
      return
    fi
    ;;
  chattr)
    if ! chattr +i "$key" 2>/dev/null; then
      SKIPPED=$((SKIPPED + 1))
      printf 'SKIP [%s] chattr +i does not work here (needs root and a file system that has it)\n' "$CASE"
      return
    fi
    IMMUTABLE=$key
    ;;
  esac
  run rekey --yes
  expect_rc 1
  expect_error_line
  if printf '%s\n' "$ERR" | grep -q '^hint: '; then pass; else fail "rekey says not what to do (no hint line)"; fi
  check test -f "$key.new"
  check test "$(sha "$key")" = "$old"
  check test "$(sql "select count(*) from audit where action = 'rekey' and outcome = 'ok'")" = 1
  new=$(sha "$key.new" 2>/dev/null)

  case_ "rekey, the key file cannot be replaced ($how): download says a key rotation is under way"
  read -r who id file <<<"${TOKENS[0]}"
  rm -f "$TMP/during.json"
  run --as "$who" download "$id" -o "$TMP/during.json"
  if [ "$RC" -eq 0 ]; then
    if [ "$(access_of "$TMP/during.json")" = "$(access_of "$file")" ]; then pass; else fail "the download's secrets differ"; fi
  else
    expect_rc 1
    expect_error_line
    expect_err_has "key rotation"
    if printf '%s' "$ERR" | grep -q "does not match"; then fail "download says the key does not match"; else pass; fi
    if printf '%s\n' "$ERR" | grep -q '^hint: '; then pass; else fail "no hint line"; fi
  fi
  check test -f "$key.new"

  case_ "rekey, the key file cannot be replaced ($how): once it can, the next command puts KEY.new in place"
  case $how in
  mount) umount "$key" && MOUNTED= ;;
  chattr) chattr -i "$key" && IMMUTABLE= ;;
  esac
  run check
  expect_rc 0
  check test ! -e "$key.new"
  check test "$(sha "$key")" = "$new"
  check test "$(mode_of "$key")" = 600
  every_token_works
}

if sqlite_only; then
  stuck mount
  stuck chattr
fi
finish
