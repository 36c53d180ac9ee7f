#!/usr/bin/env bash
# Names and secrets: user and application names and redirect URIs refuse C0/C1 controls
# and Unicode format characters (Cf), so a listing or a prompt shows what is stored; a
# name shaped like a secret is refused, and no secret given as the acting user reaches
# the audit log; error lines escape C1 controls and format characters as well as C0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
URI=https://app.example.com/cb
id=$(TOKENCTL_USER=alice new_token)

# Exit 2, one error line, nothing stored (the audit log included).
refused() {
  AUDIT=1 snapshot
  run "$@"
  expect_error 2
  expect_err_lacks_secret
  AUDIT=1 expect_unchanged
}
# The UTF-8 encoding of code point $1 (hexadecimal), whatever the locale.
u() { python3 -c 'import sys; sys.stdout.buffer.write(chr(int(sys.argv[1], 16)).encode())' "$1"; }
RLO=$(u 202E)

# No raw byte of $1 (a printf format) on stderr.
expect_err_lacks_bytes() {
  if printf '%s' "$ERR" | LC_ALL=C grep -qF "$(printf "$1")"; then
    fail "stderr holds the raw bytes $1"
  else
    pass
  fi
}

case_ "U+202E RIGHT-TO-LEFT OVERRIDE in --name is exit 2, nothing stored"
refused add-app --name "invoice${RLO}gpj.exe" --redirect-uri "$URI"
expect_err_has "contains the invisible format character U+202E"
expect_err_lacks_bytes '\342\200\256'
check test "$(sql "select count(*) from apps where name like 'invoice%'")" = 0

case_ "U+202E in --redirect-uri is exit 2, nothing stored"
refused add-app --name evil --redirect-uri "https://app.example.com/${RLO}moc.live"
expect_err_has "invalid redirect URI"
expect_err_has "U+202E"
expect_err_lacks_bytes '\342\200\256'
check test "$(sql "select count(*) from apps where name = 'evil'")" = 0

case_ "U+202E in user add is exit 2, nothing stored"
refused user add "bob${RLO}"
expect_err_has "invalid user name"
check test "$(sql "select count(*) from users where name like 'bob%'")" = 0

case_ "other format characters (isolates, zero-width, BOM, soft hyphen, tags) in names and URIs"
for cp in 2066 2069 200B 200D 200E FEFF 00AD 061C E0041; do
  char=$(u "$cp")
  refused add-app --name "app${char}name" --redirect-uri "$URI"
  expect_err_has "U+$cp"
  refused add-app --name plain --redirect-uri "https://app.example.com/${char}cb"
  expect_err_has "U+$cp"
  refused user add "user${char}"
done

case_ "C1 controls in names and URIs are exit 2"
for c1 in "$(u 85)" "$(u 9b)" "$(u 80)" "$(u 9f)"; do
  refused add-app --name "app${c1}31m" --redirect-uri "$URI"
  refused add-app --name plain --redirect-uri "https://app.example.com/${c1}cb"
  refused user add "user${c1}"
done
check test "$(sql "select count(*) from apps")" = 1

case_ "names that merely use other scripts are still accepted"
run add-app --name 'Café Zürich ✓ 東京' --redirect-uri "$URI" -q
expect_rc 0
check test "$(sql "select count(*) from apps where name = 'Café Zürich ✓ 東京'")" = 1

case_ "error lines escape C1 controls and format characters in what the parser quotes"
run list --format "x$(u 9b)31m${RLO}y"
expect_error 2
expect_err_lacks_bytes '\302\233'
expect_err_lacks_bytes '\342\200\256'
expect_err_has 'x\xc2\x9b31m\xe2\x80\xaey'

case_ "a user name may not begin with -"
refused user add -- -bob
expect_err_has "may not begin with -"

secret_shaped="tca_$(printf 'A%.0s' $(seq 49))"

case_ "a name shaped like a secret is refused: user add, add-app --name"
refused user add "$secret_shaped"
expect_err_has "user name is shaped like a tokenctl secret"
refused add-app --name "tcr_$(printf 'b%.0s' $(seq 49))" --redirect-uri "$URI"
expect_err_has "application name is shaped like a tokenctl secret"
refused add-app --name "mine-tca_$(printf '7%.0s' $(seq 43))" --redirect-uri "$URI"
run add-app --name tca_demo --redirect-uri "$URI" -q
expect_rc 0

case_ "a live secret given as TOKENCTL_USER is refused (exit 2) and never reaches the audit log"
secret=$("$TOKENCTL_BIN" --as alice download "$id" --format access-token)
check test "${#secret}" = 53
audit_before=$(sql "select count(*) from audit")
TOKENCTL_USER=$secret run list
expect_error 2
expect_err_has "user name is shaped like a tokenctl secret"
expect_err_lacks_secret
TOKENCTL_USER=$secret run --as "$secret_shaped" whoami
expect_error 2
check test "$(sql "select count(*) from audit")" = "$audit_before"
dump=$(dump)
if printf '%s' "$dump" | grep -qF "$secret"; then fail "the secret is in the database"; else pass; fi
if sql "select * from audit" | grep -qE 'tc[ar]_[0-9A-Za-z]{43}'; then
  fail "the audit log holds a secret"
else
  pass
fi

case_ "names that read as spaces or nothing are refused at either end, blanks anywhere"
# White space a writer puts between words: allowed inside a name, never at either end.
for cp in 0020 00A0 202F 3000; do
  sp=$(u "$cp")
  refused add-app --name "${sp}ci" --redirect-uri "$URI"
  expect_err_has "has a leading or trailing space"
  refused add-app --name "ci${sp}" --redirect-uri "$URI"
  refused add-app --name "${sp}" --redirect-uri "$URI"
  refused add-app --name plain --redirect-uri "https://app.example.com/a${sp}b"
done
# Other spaces, and what is drawn blank or as nothing: refused anywhere.
for cp in 2800 034F 17B4 17B5 1680 2000 2003 200A 205F 115F 1160 3164 FFA0 180E; do
  ch=$(u "$cp")
  refused add-app --name "ci${ch}" --redirect-uri "$URI"
  expect_err_has "U+$cp"
  refused add-app --name "${ch}ci" --redirect-uri "$URI"
  refused add-app --name "c${ch}i" --redirect-uri "$URI"
  refused add-app --name "${ch}${ch}" --redirect-uri "$URI"
  refused add-app --name plain --redirect-uri "https://app.example.com/${ch}cb"
  refused user add "bob${ch}"
done
check test "$(sql "select count(*) from apps where name like '%ci%'")" = 0
run add-app --name "Shared$(u 00A0)App" --redirect-uri "$URI" -q
expect_rc 0
run add-app --name "東京$(u 3000)支店" --redirect-uri "$URI" -q
expect_rc 0

case_ "control and format characters stored behind tokenctl's back are escaped in every listing"
# Written straight in the database, as psql or sqlite3 could: an ESC sequence, a C1 CSI,
# a newline and a right-to-left override in names, a redirect URI and an audit detail.
if [ "$BACKEND" = postgres ]; then chr=chr; else chr=char; fi
sql "update apps set name = 'ev' || $chr(27) || '[2Jil' || $chr(155) || 'x' || $chr(8238) || 'y',
       redirect_uri = 'https://app.example.com/' || $chr(10) || 'forged' || $chr(9) || 'row'
     where name = 'alice'"
sql "insert into audit (at, actor, action, subject, outcome, detail)
     values (1000, 'admin', 'user add', 'x' || $chr(13) || 'y', 'ok',
             'line one' || $chr(10) || 'line two' || $chr(27) || ']0;title' || $chr(7))"
# And a name that ends in a braille blank: it would read as plain `ci`.
sql "update apps set name = 'ci' || $chr(10240) where name = 'tca_demo'"
ESC_NAME='ev\x1b[2Jil\xc2\x9bx\xe2\x80\xaey'
ESC_URI='https://app.example.com/\x0aforged\x09row'
ESC_DETAIL='line one\x0aline two\x1b]0;title\x07'
# No raw C0 control (but the line ends), no C1 CSI, no RLO; one line per row.
expect_clean_lines() {
  # TSV's separators are tabs: as many on every line.
  local separators='\n\r'
  if [ "$format" = tsv ]; then
    separators='\n\r\t'
    check test "$(printf '%s\n' "$OUT" | awk -F '\t' '{ print NF }' | sort -u | wc -l)" = 1
  fi
  if printf '%s' "$OUT" | tr -d "$separators" | LC_ALL=C grep -q "$(printf '[\001-\037\177]')"; then
    fail "stdout holds a raw control character"
  else
    pass
  fi
  expect_err_lacks_bytes '\302\233'
  if printf '%s' "$OUT" | LC_ALL=C grep -qF "$(printf '\302\233')" ||
    printf '%s' "$OUT" | LC_ALL=C grep -qF "$(printf '\342\200\256')"; then
    fail "stdout holds a raw C1 control or format character"
  else
    pass
  fi
  check test "$(printf '%s\n' "$OUT" | wc -l)" = "$1"
}
for format in table csv tsv; do
  run app list --format "$format"
  expect_rc 0
  expect_clean_lines "$(($(sql "select count(*) from apps where removed_at is null") + 1))"
  expect_out_has "$ESC_NAME"
  expect_out_has "$ESC_URI"
  expect_out_has 'ci\xe2\xa0\x80'
  run --as alice list --format "$format"
  expect_rc 0
  expect_clean_lines 2
  expect_out_has "$ESC_NAME"
  run system-list --user alice --format "$format"
  expect_rc 0
  expect_clean_lines 2
  expect_out_has "$ESC_NAME"
  run audit --action "user add" --format "$format"
  expect_rc 0
  expect_clean_lines "$(($(sql "select count(*) from audit where action = 'user add'") + 1))"
  expect_out_has "$ESC_DETAIL"
  expect_out_has 'x\x0dy'
done
# JSON escapes them its own way, and keeps what is stored.
run --as alice list --format json
expect_rc 0
check python3 -c 'import json, sys
rows = json.loads(sys.argv[1])
assert rows[0]["application"] == "ev\x1b[2Jil\x9bx\u202ey", rows
assert rows[0]["redirect_uri"] == "https://app.example.com/\nforged\trow", rows' "$OUT"
run audit --action "user add" --format json
expect_rc 0
check python3 -c 'import json, sys
rows = json.loads(sys.argv[1])
assert any(r["detail"] == "line one\nline two\x1b]0;title\x07" for r in rows), rows' "$OUT"
# The prompt of revoke shows the application's name escaped too.
run_pty n --as alice revoke "$id"
expect_err_lacks_bytes '\033[2J'
expect_err_has 'ev\x1b[2Jil'

case_ "an application an older tokenctl let in under a blank-looking name can still be removed"
# `ci` and a braille blank, renamed so above: named to find it, it is no new name.
blank_ci="ci$(u 2800)"
check test "$(sql "select count(*) from apps where name = '$blank_ci' and removed_at is null")" = 1
run revoke --app "$blank_ci" --yes
expect_rc 0
run audit --subject "$blank_ci" --format csv
expect_rc 0
run app remove "$blank_ci" --yes
expect_rc 0
expect_out_has 'removed application'
check test "$(sql "select count(*) from apps where name = '$blank_ci' and removed_at is null")" = 0
# A new one under that name is still refused.
refused add-app --name "$blank_ci" --redirect-uri "$URI"

case_ "the table of format characters matches the Unicode data Debian ships"
if [ -r /usr/share/unicode/UnicodeData.txt ] && [ -n "${TOKENCTL_SOURCE_DIR-}" ]; then
  check python3 "$TOKENCTL_SOURCE_DIR/scripts/gen-format-chars" --check
else
  echo "note: unicode-data is not installed; the table's freshness is not checked"
fi

finish
