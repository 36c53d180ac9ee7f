#!/usr/bin/env bash
# Crash safety: add-app, revoke, refresh and download processes, several at once, killed
# with SIGKILL at random moments (CRASH_KILLS of them, 240 by default). Afterwards the
# database passes `PRAGMA integrity_check`; everything a command reported before it
# died is there; every active token decrypts under the key and matches its digests;
# tokenctl still works; `download -o` leaves no temporary file and never a truncated
# target. CRASH_SEED repeats a run.
. "$(dirname "$0")/lib.sh"

KILLS_WANTED=${CRASH_KILLS:-240}
SEED=${CRASH_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
echo "seed $SEED (CRASH_SEED=$SEED repeats this run)"

fresh_db
W=$TMP/work
F=$TMP/files
mkdir -p "$W" "$F"
URI=https://app.example.com/cb

# Known tokens, "ID OWNER" a line; IDs added and revoked by commands that exited 0.
: >"$W/known"
: >"$W/added"
: >"$W/revoked"
declare -A last_refresh_ok=()

now_us() { echo $(( $(date +%s%N) / 1000 )); }

case_ "setup: an existing download target and the speed of one command"
first=$(new_token --as alice)
check test "${#first}" = 16
echo "$first alice" >>"$W/known"
echo "$first" >>"$W/added"
"$TOKENCTL_BIN" --as alice download "$first" -o "$F/target.json" >/dev/null
check grep -q '"token_type": "bearer"' "$F/target.json"
start=$(now_us)
for _ in 1 2 3 4 5; do
  id=$(new_token --as alice) && echo "$id alice" >>"$W/known" && echo "$id" >>"$W/added"
done
# Kills land anywhere from before exec to after the commit of a typical command.
SPAN_US=$(( ($(now_us) - start) / 5 * 3 / 2 ))
echo "one add-app takes about $((SPAN_US * 2 / 3 / 1000)) ms"

# A random token this run knows of: "ID OWNER".
pick_known() { sed -n "$((RANDOM % $(wc -l <"$W/known") + 1))p" "$W/known"; }

kills=0
completed=0
unexpected=0
round=0
while [ "$kills" -lt "$KILLS_WANTED" ] && [ "$round" -lt $((KILLS_WANTED * 2)) ]; do
  round=$((round + 1))
  pids=()
  kinds=()
  args=()
  rid=""

  # Two add-apps (alice for herself; the administrator under one of three names).
  out="$W/r$round.add1"
  if [ $((RANDOM % 2)) -eq 0 ]; then
    "$TOKENCTL_BIN" --as alice add-app -q --redirect-uri "$URI" -o "$F/new-$round.json" >"$out" 2>&1 &
  else
    "$TOKENCTL_BIN" --as alice add-app -q --redirect-uri "$URI" >"$out" 2>&1 &
  fi
  pids+=($!) kinds+=(add) args+=("alice $out")
  out="$W/r$round.add2"
  "$TOKENCTL_BIN" --as admin add-app -q --name "app$((RANDOM % 3))" --redirect-uri "$URI" >"$out" 2>&1 &
  pids+=($!) kinds+=(add) args+=("admin $out")

  # A revocation of a known token, every third round, by the administrator.
  if [ $((RANDOM % 3)) -eq 0 ]; then
    read -r rid _ < <(pick_known)
    out="$W/r$round.revoke"
    "$TOKENCTL_BIN" --as admin revoke "$rid" --yes >"$out" 2>"$out.err" &
    pids+=($!) kinds+=(revoke) args+=("$rid $out")
  fi

  # A refresh of another known token by its owner, to its own file (replaced).
  read -r fid fowner < <(pick_known)
  if [ "$fid" != "$rid" ]; then
    "$TOKENCTL_BIN" --as "$fowner" refresh "$fid" -o "$F/refresh-$fid.json" --force \
      >/dev/null 2>"$W/r$round.refresh.err" &
    pids+=($!) kinds+=(refresh) args+=("$fid")
  fi

  # Downloads: over the existing target (replaced), and to a new file.
  read -r did downer < <(pick_known)
  "$TOKENCTL_BIN" --as "$downer" download "$did" -o "$F/target.json" --force \
    >/dev/null 2>"$W/r$round.dl1.err" &
  pids+=($!) kinds+=(download) args+=("$did")
  "$TOKENCTL_BIN" --as "$downer" download "$did" -o "$F/dl-$round.json" \
    >/dev/null 2>"$W/r$round.dl2.err" &
  pids+=($!) kinds+=(download) args+=("$did")

  delay=$(( (RANDOM * 32768 + RANDOM) % SPAN_US ))
  sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
  kill -KILL "${pids[@]}" 2>/dev/null

  killed_now=0
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" 2>/dev/null
    rc=$?
    kind=${kinds[$i]}
    set -- ${args[$i]}
    if [ "$rc" -eq 137 ]; then
      kills=$((kills + 1))
      killed_now=$((killed_now + 1))
      [ "$kind" = refresh ] && last_refresh_ok[$1]=0
      continue
    fi
    completed=$((completed + 1))
    case "$kind:$rc" in
      add:0)
        id=$(cat "$2")
        echo "$id $1" >>"$W/known"
        echo "$id" >>"$W/added"
        ;;
      revoke:0) sed -n 's/^revoked //p' "$2" >>"$W/revoked" ;;
      refresh:0) last_refresh_ok[$1]=1 ;;
      refresh:5) last_refresh_ok[$1]=0 ;; # revoked meanwhile
      download:0 | download:5) ;;
      *)
        unexpected=$((unexpected + 1))
        echo "round $round: $kind exited $rc"
        ;;
    esac
  done

  # The span follows the machine's speed: about half of the processes die each round,
  # the others finish and leave their results to check.
  if [ $((killed_now * 2)) -lt "${#pids[@]}" ]; then
    SPAN_US=$((SPAN_US * 4 / 5 + 1000))
  else
    SPAN_US=$((SPAN_US * 5 / 4))
  fi

  # An existing target is replaced whole or not at all, whenever one looks.
  if ! { grep -q '"token_type": "bearer"' "$F/target.json" && [ "$(tail -n 1 "$F/target.json")" = "}" ]; }; then
    CASE="round $round"
    fail "download target.json is not a complete token file"
  fi
done
echo "$round rounds: $kills processes killed, $completed completed"

case_ "at least $KILLS_WANTED processes were killed, and no command failed"
check test "$kills" -ge "$KILLS_WANTED"
check test "$unexpected" -eq 0

case_ "the database passes integrity_check and foreign_key_check"
check test "$(sql 'PRAGMA integrity_check')" = ok
check test -z "$(sql 'PRAGMA foreign_key_check')"

case_ "every add-app that printed its ID is there"
sql "SELECT token_id FROM tokens" | sort >"$W/stored"
sort -u "$W/added" >"$W/added.sorted"
check test -z "$(comm -23 "$W/added.sorted" "$W/stored")"
check test "$(wc -l <"$W/added.sorted")" -ge 10

case_ "every reported revocation is there"
sort -u "$W/revoked" >"$W/revoked.sorted"
sql "SELECT token_id FROM tokens WHERE revoked_at IS NOT NULL" | sort >"$W/stored.revoked"
check test -z "$(comm -23 "$W/revoked.sorted" "$W/stored.revoked")"

case_ "every active token decrypts and matches its digests"
sql "SELECT t.token_id, u.name, lower(hex(t.access_digest)), lower(hex(t.refresh_digest))
     FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.revoked_at IS NULL" >"$W/active"
mkdir -p "$W/dl"
bad_downloads=0
while IFS='|' read -r id owner _ _; do
  "$TOKENCTL_BIN" --as "$owner" download "$id" -o "$W/dl/$id.json" 2>>"$W/dl.err" || bad_downloads=$((bad_downloads + 1))
done <"$W/active"
check test "$bad_downloads" -eq 0
check test "$(wc -l <"$W/active")" -ge 5
# The secrets are compared inside python: none reaches the test's output.
check python3 - "$W/active" "$W/dl" <<'EOF'
import hashlib, json, sys
bad = 0
for line in open(sys.argv[1]):
    token_id, owner, access_digest, refresh_digest = line.rstrip("\n").split("|")
    f = json.load(open(f"{sys.argv[2]}/{token_id}.json"))
    ok = (f["id"] == token_id and f["authenticated_userid"] == owner
          and hashlib.sha256(f["access_token"].encode()).hexdigest() == access_digest
          and hashlib.sha256(f["refresh_token"].encode()).hexdigest() == refresh_digest)
    if not ok:
        print("token", token_id, "does not match its digests")
        bad += 1
sys.exit(1 if bad else 0)
EOF

case_ "tokenctl verify accepts the access tokens it downloads"
verified=0
while IFS='|' read -r id owner _ _; do
  OUT=$("$TOKENCTL_BIN" --as "$owner" download "$id" --format access-token 2>>"$W/verify.err" |
    "$TOKENCTL_BIN" verify 2>>"$W/verify.err")
  if printf '%s\n' "$OUT" | grep -qF "$id"; then verified=$((verified + 1)); fi
done < <(shuf -n 20 "$W/active")
check test "$verified" -eq "$(shuf -n 20 "$W/active" | wc -l)"
check test ! -s "$W/verify.err"

case_ "a refresh that reported success wrote the secrets the database holds"
stale=0
for id in "${!last_refresh_ok[@]}"; do
  [ "${last_refresh_ok[$id]}" = 1 ] || continue
  grep -q "^$id|" "$W/active" || continue # revoked later
  python3 - "$F/refresh-$id.json" "$(grep "^$id|" "$W/active" | cut -d'|' -f3)" <<'EOF' || stale=$((stale + 1))
import hashlib, json, sys
f = json.load(open(sys.argv[1]))
sys.exit(0 if hashlib.sha256(f["access_token"].encode()).hexdigest() == sys.argv[2] else 1)
EOF
done
check test "$stale" -eq 0

case_ "download -o and add-app -o leave no temporary file, and complete files only"
check test -z "$(find "$F" -name '.dl-*' -o -name '.new-*')"
check python3 - "$F" <<'EOF'
import glob, json, sys
bad = 0
for name in glob.glob(sys.argv[1] + "/*.json"):
    try:
        complete = len(json.load(open(name))) == 10
    except ValueError:
        complete = False
    if not complete:
        print(name, "is not a complete token file")
        bad += 1
sys.exit(1 if bad else 0)
EOF
# A writer killed between naming its temporary file and the rename leaves it; the next
# write of that target removes it.
"$TOKENCTL_BIN" --as alice download "$first" -o "$F/target.json" --force >/dev/null
check test -z "$(find "$F" -name '.target.json.*')"

case_ "tokenctl keeps working: no stale lock"
run --as alice add-app -q --redirect-uri "$URI"
expect_rc 0
id=$OUT
run --as admin revoke "$id" --yes
expect_rc 0
expect_out "revoked $id"
run --as admin system-list --all --format csv --no-headers
expect_rc 0
check test "$(printf '%s\n' "$OUT" | wc -l)" = "$(sql 'SELECT count(*) FROM tokens')"
check test "$(sql 'PRAGMA integrity_check')" = ok

finish
