#!/usr/bin/env bash
# Help and parse errors, as a new user meets them: every command's --help shows its options
# with their defaults, the global options and examples; `tokenctl help COMMAND` prints the
# same; parse errors name the word at fault in tokenctl's own words, with a "did you mean"
# for a mistyped option; a failed write of help or version is exit 1 with its reason.
. "$(dirname "$0")/lib.sh"

fresh_db

commands=(init user "user add" "user list" "user set-role" "user remove" app "app list" "app remove" add-app list system-list backup rekey check
  migrate revoke download refresh verify audit whoami help)

case_ "tokenctl --help: usage, commands, global options, examples"
run --help
expect_rc 0
expect_out_has "Usage: tokenctl [--db PATH] [--as NAME] COMMAND [OPTIONS]"
for c in init user app add-app list system-list revoke download refresh verify audit whoami backup rekey check migrate help; do
  printf '%s\n' "$OUT" | grep -qE "^  $c +[A-Z]" || fail "tokenctl --help does not list $c"
done
expect_out_has "Global options:"
expect_out_has "  --version "
expect_out_has "Examples:"
run help
expect_rc 0
check test "$OUT" = "$("$TOKENCTL_BIN" --help)"

for c in "${commands[@]}"; do
  case_ "tokenctl $c --help and tokenctl help $c"
  # shellcheck disable=SC2086
  run $c --help
  expect_rc 0
  expect_err_empty
  expect_out_has "Usage: tokenctl $c"
  expect_out_has "Global options:"
  expect_out_has "  --db PATH "
  expect_out_has "  --as NAME "
  expect_out_has "  -h, --help "
  expect_out_has "Examples:"
  expect_out_has "Exit status: 0 success"
  # No parser's raw text: type names, REQUIRED, choice sets in braces.
  for raw in TEXT REQUIRED "{" "Print this help message" "[Option Group"; do
    printf '%s\n' "$OUT" | grep -qF -- "$raw" && fail "the help shows $raw"
  done
  help_out=$OUT
  # shellcheck disable=SC2086
  run help $c
  expect_rc 0
  check test "$OUT" = "$help_out"
done

case_ "the defaults are in the help"
run add-app --help
expect_out_has "Usage: tokenctl add-app --redirect-uri URI [OPTIONS]"
expect_out_has "--access-ttl DUR    Access token lifetime, 1m to 30d (default: 2h)"
expect_out_has "(default: 15d)"
expect_out_has "Output format: text, json (default: text)"
expect_out_has "--redirect-uri URI  Absolute redirect URI, no fragment (required)"
run user add --help
expect_out_has "Usage: tokenctl user add NAME [OPTIONS]"
expect_out_has "Role of the new user (default: user)"
run list --help
expect_out_has "Output format: table, json, csv, tsv (default: table)"
run download --help
expect_out_has "Usage: tokenctl download TOKEN_ID [OPTIONS]"
expect_out_has "(default: json)"
run revoke --help
expect_out_has "Usage: tokenctl revoke [TOKEN_ID...] [OPTIONS]"
run user set-role --help
expect_out_has "Usage: tokenctl user set-role NAME ROLE"
run user --help
expect_out_has "Usage: tokenctl user COMMAND [OPTIONS]"
expect_out_has "  set-role "

case_ "help of an unknown command: a suggestion"
run help lsit
expect_error 2
expect_err_has "tokenctl: error: unknown command 'lsit'"
expect_err_has "hint: did you mean \`list\`?"
run help user ad
expect_error 2
expect_err_has "hint: did you mean \`add\`?"

case_ "a mistyped option: did you mean, and nothing changes"
AUDIT=1 snapshot
run list --frmat json
expect_error 2
expect_out ""
check test "$ERR" = "tokenctl: error: unknown option '--frmat'
hint: did you mean \`--format\`?"
run add-app --redirect-ur https://x.example.com/cb
expect_error 2
expect_err_has "hint: did you mean \`--redirect-uri\`?"
run revoke --yse
expect_error 2
expect_err_has "hint: did you mean \`--yes\`?"
run list --dv x
expect_error 2
expect_err_has "hint: did you mean \`--db\`?"
run list --completely-different
expect_error 2
expect_err_has "tokenctl: error: unknown option '--completely-different'"
expect_err_has "hint: run \`tokenctl help list\` for usage"
AUDIT=1 expect_unchanged

case_ "other parse errors in tokenctl's words"
run list extra
expect_error 2
check test "$ERR" = "tokenctl: error: unexpected argument 'extra'
hint: run \`tokenctl help list\` for usage"
run add-app --name
expect_error 2
expect_err_has "tokenctl: error: option --name needs a value"
run add-app
expect_error 2
expect_err_has "tokenctl: error: --redirect-uri is required"
run list --format xml
expect_error 2
expect_err_has "tokenctl: error: --format: 'xml' is not one of table, json, csv, tsv"
run user set-role alice owner
expect_error 2
expect_err_has "'owner' is not one of admin, user"
run user
expect_error 2
check test "$ERR" = "tokenctl: error: tokenctl user needs a command
hint: run \`tokenctl help user\` for the commands"
run lsit
expect_error 2
expect_err_has "hint: did you mean \`list\`?"
for raw in "The following arguments were not expected" "TEXT" "REQUIRED" "Subcommand"; do
  for args in "list a b" "user add" "add-app --name" "user" "download"; do
    # shellcheck disable=SC2086
    run $args
    printf '%s' "$ERR" | grep -qF -- "$raw" && fail "tokenctl $args says $raw"
  done
done
pass

case_ "a failed write of help, version or a listing is exit 1 with its reason"
for args in "--help" "--version" "list --help" "help revoke" "list" "whoami --format json"; do
  # shellcheck disable=SC2086
  "$TOKENCTL_BIN" $args >/dev/full 2>"$TMP/err"
  RC=$?
  ERR=$(cat "$TMP/err")
  OUT=""
  expect_error 1
  check test "$ERR" = "tokenctl: error: cannot write to standard output: No space left on device"
done

case_ "--version"
run --version
expect_rc 0
expect_out_has "tokenctl "

finish
