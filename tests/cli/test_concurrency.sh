#!/usr/bin/env bash
# Concurrency: 8 writer processes (CONC_OPS add-app/revoke commands each, 100 by
# default) and 2 readers running system-list in loops, all at once on one database.
# No command may fail (no "database is locked"), every write must be there exactly once,
# and the counts must add up exactly.
. "$(dirname "$0")/lib.sh"

OPS=${CONC_OPS:-100}
URI=https://app.example.com/cb
W=$TMP/work
mkdir -p "$W"

fresh_db
# Four users with their own applications, four administrators sharing one application
# (whose creation they race for).
WRITERS=(u1 u2 u3 u4 a1 a2 a3 a4)
for w in u1 u2 u3 u4; do "$TOKENCTL_BIN" user add "$w" >/dev/null; done
for w in a1 a2 a3 a4; do "$TOKENCTL_BIN" user add "$w" --role admin >/dev/null; done

# One writer: every fourth command revokes its oldest unrevoked token, the others add
# one. Successes go to NAME.added / NAME.revoked, anything else to NAME.fail.
writer() {
  local user=$1 i id out rc
  local -a mine=()
  local -a name_args=()
  [[ $user == a* ]] && name_args=(--name shared-app)
  : >"$W/$user.added"
  : >"$W/$user.revoked"
  : >"$W/$user.fail"
  for ((i = 1; i <= OPS; i++)); do
    if ((i % 4 == 0)); then
      id=${mine[0]}
      mine=("${mine[@]:1}")
      out=$("$TOKENCTL_BIN" --as "$user" revoke "$id" --yes 2>>"$W/$user.err")
      rc=$?
      if [ $rc -eq 0 ] && [ "$out" = "revoked $id" ]; then
        echo "$id" >>"$W/$user.revoked"
      else
        echo "revoke $id: exit $rc, stdout '$out'" >>"$W/$user.fail"
      fi
    else
      out=$("$TOKENCTL_BIN" --as "$user" add-app -q "${name_args[@]}" --redirect-uri "$URI" 2>>"$W/$user.err")
      rc=$?
      if [ $rc -eq 0 ] && [[ $out =~ ^[0-9a-f]{16}$ ]]; then
        echo "$out" >>"$W/$user.added"
        mine+=("$out")
      else
        echo "add-app: exit $rc, stdout '$out'" >>"$W/$user.fail"
      fi
    fi
  done
}

# One reader: system-list until the writers are done. The number of tokens it sees (all
# of them, revoked included) never goes down, and every row is whole.
reader() {
  local n=$1 rc out rows last=0 runs=0
  : >"$W/reader$n.fail"
  while [ ! -e "$W/done" ]; do
    out=$("$TOKENCTL_BIN" --as admin system-list --all --format csv --no-headers 2>>"$W/reader$n.err")
    rc=$?
    runs=$((runs + 1))
    if [ $rc -ne 0 ]; then
      echo "system-list: exit $rc" >>"$W/reader$n.fail"
      continue
    fi
    rows=$(printf '%s' "$out" | grep -c .)
    if [ "$rows" -lt "$last" ]; then
      echo "system-list saw $rows tokens after $last" >>"$W/reader$n.fail"
    fi
    if printf '%s\n' "$out" | grep -v '^$' | awk -F, 'NF != 11 { bad = 1 } END { exit !bad }'; then
      echo "system-list printed a row without 11 fields" >>"$W/reader$n.fail"
    fi
    last=$rows
  done
  echo "$runs" >"$W/reader$n.runs"
}

case_ "8 writers and 2 readers at once"
start=$(date +%s)
reader 1 &
r1=$!
reader 2 &
r2=$!
wpids=()
for w in "${WRITERS[@]}"; do
  writer "$w" &
  wpids+=($!)
done
for pid in "${wpids[@]}"; do wait "$pid"; done
touch "$W/done"
wait "$r1" "$r2"
echo "$((${#WRITERS[@]} * OPS)) writes in $(($(date +%s) - start)) s;" \
  "system-list ran $(cat "$W/reader1.runs") + $(cat "$W/reader2.runs") times"

case_ "no command failed"
check test -z "$(cat "$W"/*.fail)"
check test -z "$(cat "$W"/*.err)"
if grep -q "database is locked" "$W"/*.err; then fail "database is locked"; else pass; fi
if [ -n "$(cat "$W"/*.fail)" ]; then head -n 5 "$W"/*.fail; fi
check test "$(cat "$W"/reader*.runs | awk '{ s += $1 } END { print s }')" -ge 2

case_ "every write is there exactly once"
cat "$W"/*.added | sort >"$W/added"
cat "$W"/*.revoked | sort >"$W/revoked"
added=$(wc -l <"$W/added")
revoked=$(wc -l <"$W/revoked")
check test "$added" -eq $((${#WRITERS[@]} * (OPS - OPS / 4)))
check test "$revoked" -eq $((${#WRITERS[@]} * (OPS / 4)))
check test -z "$(uniq -d "$W/added")"
check test -z "$(uniq -d "$W/revoked")"
sql "SELECT token_id FROM tokens" | sort >"$W/stored"
check test "$(comm -3 "$W/added" "$W/stored")" = ""
sql "SELECT token_id FROM tokens WHERE revoked_at IS NOT NULL" | sort >"$W/stored.revoked"
check test "$(comm -3 "$W/revoked" "$W/stored.revoked")" = ""

case_ "the counts add up: per user, per application, in the audit log"
for w in "${WRITERS[@]}"; do
  want=$(($(wc -l <"$W/$w.added") - $(wc -l <"$W/$w.revoked")))
  got=$(sql "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE u.name = '$w' AND t.revoked_at IS NULL")
  if [ "$got" = "$want" ]; then pass; else fail "$w has $got active tokens, expected $want"; fi
done
run user list --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | awk -F, '$1 ~ /^[ua][1-4]$/ { s += $4 } END { print s }')" \
  = $((added - revoked))
check test "$(sql "SELECT count(*) FROM apps WHERE name = 'shared-app'")" = 1
check test "$(sql "SELECT count(*) FROM apps")" = 5
check test "$(sql "SELECT count(*) FROM tokens t JOIN apps a ON a.id = t.app_id
                   WHERE a.name = 'shared-app'")" = $((4 * (OPS - OPS / 4)))
check test "$(sql "SELECT count(*) FROM audit WHERE action = 'add-app' AND outcome = 'ok'")" = "$added"
check test "$(sql "SELECT count(*) FROM audit WHERE action = 'revoke' AND outcome = 'ok'")" = "$revoked"
run system-list --all --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | grep -c .)" = "$added"
check test "$(printf '%s\n' "$OUT" | tr -d '\r' | awk -F, '$9 == "revoked"' | grep -c .)" = "$revoked"

case_ "the database is sound afterwards"
if sqlite_only; then
  check test "$(sql 'PRAGMA integrity_check')" = ok
  check test -z "$(sql 'PRAGMA foreign_key_check')"
fi

finish
