#!/usr/bin/env bash
# The path a newcomer takes: init, add an application, list, download.
. "$(dirname "$0")/lib.sh"

case_ "init creates a private database and key file"
run init --admin admin
expect_rc 0
check test "$(mode_of "$(key_file)")" = 600
if sqlite_only; then
  expect_out_has "created database $DB"
  check test "$(mode_of "$DB")" = 600
  check test "$(mode_of "$(dirname "$DB")")" = 700
fi

case_ "add-app prints the token ID with -q"
run add-app -q --redirect-uri https://app.example.com/cb
expect_rc 0
id=$OUT
check test "${#id}" = 16
check test "$(sql "select count(*) from tokens where token_id = '$id'")" = 1

case_ "list shows the token"
run list --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk '{ print $1, $2, $3, $5 }')" = "$id admin admin active"

case_ "download writes a 0600 token file"
run download "$id" -o "$TMP/token.json"
expect_rc 0
check test "$(mode_of "$TMP/token.json")" = 600
check grep -q '"token_type": "bearer"' "$TMP/token.json"

finish
