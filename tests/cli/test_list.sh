#!/usr/bin/env bash
# list and system-list: whose tokens, in which order, which statuses, the filters, and the
# exact table, JSON, CSV and TSV layouts. No listing ever shows a secret.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/core_helpers.sh"

fresh_db
"$TOKENCTL_BIN" user add bob >/dev/null
APP='Shared, "Quoted" App'

case_ "an empty list: header only, nothing with --no-headers, [] in JSON"
run --as alice list
expect_rc 0
expect_err_empty
expect_out "TOKEN ID   USER NAME   APPLICATION   GENERATED AT   STATUS"
run --as alice list --no-headers
expect_rc 0
expect_out ""
run --as alice list --format json
expect_rc 0
expect_out "[]"
run --as alice list --format csv
expect_rc 0
check test "$(cat "$TMP/out")" = "token_id,user,application,redirect_uri,generated_at,access_expires_at,refresh_expires_at,revoked_at,status,client_id,last_used_at"$'\r'
run --as alice list --format csv --no-headers
expect_out ""
run --as alice list --format tsv
expect_out "token_id	user	application	redirect_uri	generated_at	access_expires_at	refresh_expires_at	revoked_at	status	client_id	last_used_at"
run system-list --format json
expect_out "[]"

# Tokens of alice, bob and admin, interleaved, all created within a few milliseconds.
a1=$(TOKENCTL_USER=alice new_token)
b1=$(TOKENCTL_USER=bob new_token)
a2=$(TOKENCTL_USER=alice new_token)
m1=$(new_token)
a3=$(TOKENCTL_USER=alice new_token)
a4=$("$TOKENCTL_BIN" add-app -q --name "$APP" --for alice --redirect-uri https://shared.example/cb)
b2=$("$TOKENCTL_BIN" add-app -q --name "$APP" --for bob --redirect-uri https://shared.example/cb)
ids_of() { printf '%s\n' "$OUT" | awk '{ print $1 }' | tr '\n' ' '; }

case_ "list shows the acting user's tokens only, oldest first"
run --as alice list --no-headers
expect_rc 0
check test "$(ids_of)" = "$a1 $a2 $a3 $a4 "
run --as bob list --no-headers
check test "$(ids_of)" = "$b1 $b2 "
run list --no-headers
check test "$(ids_of)" = "$m1 "

case_ "system-list shows every user's tokens, oldest first"
run system-list --no-headers
expect_rc 0
check test "$(ids_of)" = "$a1 $b1 $a2 $m1 $a3 $a4 $b2 "

case_ "the order is the creation order also within one second"
sql "update tokens set generated_at = 1767225600000"
run system-list --no-headers
check test "$(ids_of)" = "$a1 $b1 $a2 $m1 $a3 $a4 $b2 "
run --as alice list --no-headers --format tsv
check test "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" = "$a1 $a2 $a3 $a4 "
check test "$(printf '%s\n' "$OUT" | cut -f5 | sort -u)" = "2026-01-01T00:00:00Z"

case_ "system-list is for administrators only (exit 3)"
snapshot
for args in "system-list" "system-list --user alice" "system-list --format json" "system-list --all"; do
  # shellcheck disable=SC2086
  run --as alice $args
  expect_error 3
  expect_err_has "administrator"
  expect_unchanged
done
run system-list --as bob
expect_error 3

case_ "an unknown acting user is exit 3"
run --as nobody list
expect_error 3
run list --as nobody
expect_error 3
run --as nobody system-list
expect_error 3
expect_unchanged

case_ "revoked tokens are listed only with --all"
"$TOKENCTL_BIN" revoke --yes "$a2" >/dev/null
run --as alice list --no-headers
check test "$(ids_of)" = "$a1 $a3 $a4 "
run --as alice list --all --no-headers
check test "$(ids_of)" = "$a1 $a2 $a3 $a4 "
check test "$(printf '%s\n' "$OUT" | awk -v id="$a2" '$1 == id { print $NF }')" = revoked
run system-list --no-headers
check test "$(ids_of)" = "$a1 $b1 $m1 $a3 $a4 $b2 "
run system-list --all --no-headers
check test "$(ids_of)" = "$a1 $b1 $a2 $m1 $a3 $a4 $b2 "

case_ "expired tokens stay listed, with status expired"
past=$(($(date +%s) * 1000 - 60000))
sql "update tokens set access_expires_at = $past - 1000, refresh_expires_at = $past where token_id = '$a3'"
# Only the access token expired: the token can still be refreshed, so it is active.
sql "update tokens set access_expires_at = $past where token_id = '$a1'"
run --as alice list --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1,9)" = "$a1	active
$a3	expired
$a4	active"
run system-list --no-headers
check test "$(printf '%s\n' "$OUT" | awk -v id="$a3" '$1 == id { print $NF }')" = expired

case_ "--app and --user filters"
run --as alice list --app "$APP" --no-headers
expect_rc 0
check test "$(ids_of)" = "$a4 "
run --as alice list --app alice --no-headers
check test "$(ids_of)" = "$a1 $a3 "
run --as alice list --app alice --all --no-headers
check test "$(ids_of)" = "$a1 $a2 $a3 "
run --as alice list --app bob --no-headers
expect_rc 0
expect_out ""
run system-list --app "$APP" --no-headers
check test "$(ids_of)" = "$a4 $b2 "
run system-list --user bob --no-headers
check test "$(ids_of)" = "$b1 $b2 "
run system-list --user BOB --app "$APP" --no-headers
check test "$(ids_of)" = "$b2 "
run system-list --user admin --app "$APP" --no-headers
expect_rc 0
expect_out ""
run system-list --app ALICE --no-headers
expect_error 4

case_ "unknown filter names are exit 4"
snapshot
run --as alice list --app nosuch
expect_error 4
run system-list --app nosuch
expect_error 4
run system-list --user nosuch
expect_error 4
run system-list --user nosuch --app "$APP"
expect_error 4
expect_unchanged
run system-list --user "bad name"
expect_error 2

case_ "table layout: aligned columns, one header line, nothing else"
ts=$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', generated_at / 1000, 'unixepoch') from tokens where token_id = '$a1'")
run --as alice list
expect_rc 0
expect_out "TOKEN ID           USER NAME   APPLICATION            GENERATED AT           STATUS
$a1   alice       alice                  $ts   active
$a3   alice       alice                  $ts   expired
$a4   alice       Shared, \"Quoted\" App   $ts   active"
run --as alice list --app alice --no-headers
expect_out "$a1   alice   alice   $ts   active
$a3   alice   alice   $ts   expired"
run --as alice list --app alice
expect_out "TOKEN ID           USER NAME   APPLICATION   GENERATED AT           STATUS
$a1   alice       alice         $ts   active
$a3   alice       alice         $ts   expired"
run system-list --all
expect_out "TOKEN ID           USER NAME   APPLICATION            GENERATED AT           STATUS
$a1   alice       alice                  $ts   active
$b1   bob         bob                    $ts   active
$a2   alice       alice                  $ts   revoked
$m1   admin       admin                  $ts   active
$a3   alice       alice                  $ts   expired
$a4   alice       Shared, \"Quoted\" App   $ts   active
$b2   bob         Shared, \"Quoted\" App   $ts   active"

case_ "columns are never cut, whatever the terminal width"
COLUMNS=20 run system-list --all
check test "$(printf '%s\n' "$OUT" | awk '{ print length($0) }' | sort -n | tail -1)" -gt 20
expected=$OUT
run_on_tty 20 system-list --all
expect_rc 0
check test "$OUT" = "$expected"

case_ "UTF-8 application names are aligned by characters"
u=$("$TOKENCTL_BIN" add-app -q --name "Zürich" --redirect-uri https://z.example/cb)
sql "update tokens set generated_at = 1767225600000 where token_id = '$u'"
run system-list --app "Zürich"
expect_out "TOKEN ID           USER NAME   APPLICATION   GENERATED AT           STATUS
$u   admin       Zürich        $ts   active"

case_ "JSON: one array, exact keys in order, revoked_at null unless revoked"
"$TOKENCTL_BIN" revoke --yes "$u" >/dev/null
sql "update tokens set revoked_at = 1767229200000 where token_id = '$u'"
run system-list --all --format json
expect_rc 0
check python3 - "$OUT" "$a1 $b1 $a2 $m1 $a3 $a4 $b2 $u" <<'PY'
import json, re, sys
rows = json.loads(sys.argv[1])
assert isinstance(rows, list)
assert [r["token_id"] for r in rows] == sys.argv[2].split(), rows
keys = ["token_id", "user", "application", "redirect_uri", "generated_at",
        "access_expires_at", "refresh_expires_at", "revoked_at", "status", "client_id", "last_used_at"]
time = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
for r in rows:
    assert list(r) == keys, list(r)
    for k in ("generated_at", "access_expires_at", "refresh_expires_at"):
        assert time.fullmatch(r[k]), r[k]
    if r["status"] == "revoked":
        assert time.fullmatch(r["revoked_at"]), r
    else:
        assert r["revoked_at"] is None, r
assert [r["status"] for r in rows] == ["active", "active", "revoked", "active", "expired",
                                       "active", "active", "revoked"]
assert rows[5]["application"] == 'Shared, "Quoted" App'
assert rows[5]["redirect_uri"] == "https://shared.example/cb"
assert rows[7]["application"] == "Zürich"
assert rows[7]["revoked_at"] == "2026-01-01T01:00:00Z"
assert rows[0]["generated_at"] == "2026-01-01T00:00:00Z"
PY
run --as alice list --app alice --format json
expect_out "[
  {\"token_id\":\"$a1\",\"user\":\"alice\",\"application\":\"alice\",\"redirect_uri\":\"https://app.example.com/cb\",\"generated_at\":\"$ts\",\"access_expires_at\":\"$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', access_expires_at / 1000, 'unixepoch') from tokens where token_id = '$a1'")\",\"refresh_expires_at\":\"$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', refresh_expires_at / 1000, 'unixepoch') from tokens where token_id = '$a1'")\",\"revoked_at\":null,\"status\":\"active\",\"client_id\":\"$(sql "select client_id from apps where name = 'alice'")\",\"last_used_at\":null},
  {\"token_id\":\"$a3\",\"user\":\"alice\",\"application\":\"alice\",\"redirect_uri\":\"https://app.example.com/cb\",\"generated_at\":\"$ts\",\"access_expires_at\":\"$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', access_expires_at / 1000, 'unixepoch') from tokens where token_id = '$a3'")\",\"refresh_expires_at\":\"$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', refresh_expires_at / 1000, 'unixepoch') from tokens where token_id = '$a3'")\",\"revoked_at\":null,\"status\":\"expired\",\"client_id\":\"$(sql "select client_id from apps where name = 'alice'")\",\"last_used_at\":null}
]"
run --as bob list --app alice --format json
expect_out "[]"
run --as alice list --format json --no-headers
check python3 -c 'import json, sys; assert len(json.loads(sys.argv[1])) == 3' "$OUT"

case_ "CSV per RFC 4180: CRLF line ends, quoting, parsed back by python's csv module"
run system-list --all --format csv
expect_rc 0
check python3 - "$TMP/out" "$a1 $b1 $a2 $m1 $a3 $a4 $b2 $u" <<'PY'
import csv, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\r\n")
assert raw.count(b"\n") == raw.count(b"\r\n") == 9
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8"), strict=True))
assert rows[0] == ["token_id", "user", "application", "redirect_uri", "generated_at",
                   "access_expires_at", "refresh_expires_at", "revoked_at", "status", "client_id", "last_used_at"], rows[0]
body = rows[1:]
assert [r[0] for r in body] == sys.argv[2].split()
assert all(len(r) == 11 for r in body)
assert body[5][2] == 'Shared, "Quoted" App' and body[6][1:3] == ["bob", 'Shared, "Quoted" App']
assert body[0][7] == "" and body[2][7] != "" and body[2][8] == "revoked"
assert body[7][2] == "Zürich"
PY
check grep -qF "$a4,alice,\"Shared, \"\"Quoted\"\" App\",https://shared.example/cb," "$TMP/out"
run system-list --all --format csv --no-headers
check test "$(grep -c . "$TMP/out")" = 8
check test "$(head -c 16 "$TMP/out")" = "$a1"

case_ "TSV: a header line, tab-separated fields, empty revoked_at"
run system-list --all --format tsv
expect_rc 0
check test "$(printf '%s\n' "$OUT" | head -1)" = "token_id	user	application	redirect_uri	generated_at	access_expires_at	refresh_expires_at	revoked_at	status	client_id	last_used_at"
check test "$(printf '%s\n' "$OUT" | awk -F'\t' '{ print NF }' | sort -u)" = 11
check test "$(printf '%s\n' "$OUT" | grep -c $'\r')" = 0
row=$(printf '%s\n' "$OUT" | grep "^$a4")
check test "$(printf '%s\n' "$row" | cut -f2,3,4,8,9)" = "alice	Shared, \"Quoted\" App	https://shared.example/cb		active"
run system-list --all --format tsv --no-headers
check test "$(printf '%s\n' "$OUT" | cut -f1 | tr '\n' ' ')" = "$a1 $b1 $a2 $m1 $a3 $a4 $b2 $u "

case_ "no secret in any listing format"
TOKENCTL_USER=alice "$TOKENCTL_BIN" download "$a1" -o "$TMP/a1.json"
access=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/a1.json")
refresh=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$TMP/a1.json")
check test "${#access}" = 53
for fmt in table json csv tsv; do
  for cmd in "--as alice list --all" "system-list --all"; do
    # shellcheck disable=SC2086
    run $cmd --format "$fmt"
    expect_rc 0
    expect_no_secret
    if printf '%s' "$OUT" | grep -qF -e "$access" -e "$refresh"; then fail "secret listed"; else pass; fi
  done
done

case_ "listing options: --help, unknown flags and formats"
run list --help
expect_rc 0
for opt in --app --all --format --no-headers; do expect_out_has "$opt"; done
run system-list --help
expect_rc 0
for opt in --user --app --all --format --no-headers; do expect_out_has "$opt"; done
snapshot
run list --user alice
expect_error 2
run list --format xml
expect_error 2
run system-list --bogus
expect_error 2
run list extra-arg
expect_error 2
expect_unchanged

case_ "--db after the subcommand"
run list --db "$DB" --as alice --no-headers
expect_rc 0
check test "$(ids_of)" = "$a1 $a3 $a4 "

finish
