#!/usr/bin/env bash
# The shell completions, in the real shells: bash with bash-completion, fish, and interactive
# bash and zsh driven through a pseudo-terminal. Each completes a command prefix, an option
# value and names asked from the binary (tokenctl __complete), with the --db and --as of the
# command line, inserts names with spaces, quotes and backslashes exactly, and stays silent
# when the database is missing.
. "$(dirname "$0")/lib.sh"
require_tools zsh fish

: "${TOKENCTL_SOURCE_DIR:?TOKENCTL_SOURCE_DIR must name the source tree}"
COMPLETIONS="$TOKENCTL_SOURCE_DIR/completions"
BASH_COMPLETION=/usr/share/bash-completion/bash_completion

# The completions call `tokenctl` from PATH, as they do once installed.
mkdir -p "$TMP/bin"
ln -s "$TOKENCTL_BIN" "$TMP/bin/tokenctl"
export PATH="$TMP/bin:$PATH"

# Completes each LINE given in bash; prints `## LINE` and then its candidates, one a line.
bash_complete_lines() {
  bash --norc --noprofile -c '
    . "$1" || exit 1
    . "$2" || exit 1
    fn=$(complete -p tokenctl | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    shift 2
    for LINE in "$@"; do
      read -ra COMP_WORDS <<<"$LINE"
      [[ $LINE == *" " ]] && COMP_WORDS+=("")
      COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      COMP_LINE=$LINE
      COMP_POINT=${#LINE}
      COMPREPLY=()
      "$fn" tokenctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
      printf "## %s\n" "$LINE"
      printf "%s\n" "${COMPREPLY[@]}"
    done
  ' _ "$BASH_COMPLETION" "$COMPLETIONS/tokenctl.bash" "$@"
}
# Sets OUT to the candidates of LINE, sorted, one a line, and ERR to what bash printed on
# stderr.
bash_complete() {
  bash_complete_lines "$1" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(grep -v -e '^$' -e '^## ' "$TMP/out" | sort)
  ERR=$(cat "$TMP/err")
}

# The same with fish, which finds tokenctl.fish on its completion path by the command's name.
fish_complete_lines() {
  DIR="$TMP/fish" fish --no-config -c 'set -p fish_complete_path $DIR
    for line in $argv
      printf "## %s\n" $line
      complete -C "$line"
    end' "$@"
}
fish_complete() {
  fish_complete_lines "$1" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(grep -v '^## ' "$TMP/out" | cut -f 1 | sort)
  ERR=$(cat "$TMP/err")
}
mkdir -p "$TMP/fish"
cp "$COMPLETIONS/tokenctl.fish" "$TMP/fish/tokenctl.fish"

# The same with zsh: an interactive `zsh -f` on a pseudo-terminal (zpty), compinit with
# _tokenctl on fpath (its dump file, written once, makes the next shells start faster),
# LINE typed and TAB pressed. OUT is the screen's text afterwards, escape sequences removed;
# the wait ends when PATTERN shows up (or after a few seconds).
cat >"$TMP/zdrive.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
setopt extended_glob
line=$1 pattern=$2 fpath_dir=$3 dump=$4
zpty z 'zsh -f -i' || exit 1
zpty -w z "stty columns 400; PS1='%% '; unsetopt list_ambiguous; fpath=(${(q)fpath_dir} \$fpath); autoload -U compinit; compinit -u -d ${(q)dump}; print READY"
zpty -r z out '*READY*READY*'
zpty -n -w z "$line"$'\t'
screen= chunk=
for (( n = 0; n < 60; n++ )); do
  sleep 0.1
  while zpty -rt z chunk; do screen+=$chunk; done
  # The shell's echo of what was typed, then what completion did.
  [[ -n $pattern && ${screen//$'\e'\[[0-9;?]#[A-Za-z]/} == *${~pattern}* ]] && break
  [[ -z $pattern ]] && (( n >= 15 )) && break
done
sleep 0.2
while zpty -rt z chunk; do screen+=$chunk; done
zpty -d z
print -r -- ${screen//$'\e'\[[0-9;?]#[A-Za-z]/}
EOF
zsh_complete() {
  TERM=xterm zsh -f "$TMP/zdrive.zsh" "$1" "${2-}" "$TMP/zsh" "$TMP/zcompdump" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(tr -d '\r' <"$TMP/out")
  ERR=$(cat "$TMP/err")
}
mkdir -p "$TMP/zsh"
cp "$COMPLETIONS/_tokenctl" "$TMP/zsh/_tokenctl"

# An interactive shell on a pseudo-terminal (zpty): LINE typed, TAB pressed, then the line
# run as the arguments of printf, so that OUT holds the words the shell would run, one
# `<WORD>` a line: what completion inserted, quoting and all, as the shell reads it.
cat >"$TMP/drive.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
shell=$1 setup=$2 line=$3
zpty z "$shell" || exit 1
zpty -w z "$setup; echo READ""Y"
screen= chunk=
for (( n = 0; n < 100; n++ )); do
  while zpty -rt z chunk; do screen+=$chunk; done
  [[ $screen == *READY* ]] && break
  sleep 0.1
done
zpty -n -w z "$line"$'\t'
sleep 0.8
zpty -w z $'\x01printf "<%s>\\n" \x05; echo "<""END>"'
screen= chunk=
for (( n = 0; n < 50; n++ )); do
  while zpty -rt z chunk; do screen+=$chunk; done
  [[ $screen == *'<END>'* ]] && break
  sleep 0.1
done
zpty -d z
print -r -- $screen
EOF
# Sets OUT to the words run after completing LINE in SHELL (bash or zsh).
interactive_words() {
  local setup shell
  case $1 in
    bash)
      shell="bash --norc --noprofile -i"
      setup="PS1='$ '; . $BASH_COMPLETION; . $COMPLETIONS/tokenctl.bash"
      ;;
    zsh)
      shell="zsh -f -i"
      setup="PS1='%% '; fpath=($TMP/zsh \$fpath); autoload -U compinit; compinit -u -d $TMP/zcompdump"
      ;;
  esac
  TERM=dumb zsh -f "$TMP/drive.zsh" "$shell" "$setup" "$2" >"$TMP/out" 2>"$TMP/err"
  OUT=$(tr -d '\r' <"$TMP/out" | grep -a '^<' | grep -av '^<END>$')
}
expect_words() {
  local expected
  expected=$(printf '<%s>\n' "$@")
  if [ "$OUT" = "$expected" ]; then pass; else fail "words differ; expected: $expected"; fi
}

expect_candidates() {
  local expected
  expected=$(printf '%s\n' "$@" | grep -v '^$' | sort)
  if [ "$OUT" = "$expected" ]; then pass; else fail "candidates differ; expected: $*"; fi
}
expect_no_candidates() { if [ -z "$OUT" ]; then pass; else fail "expected no candidates"; fi; }
expect_screen_lacks() {
  if printf '%s' "$OUT" | grep -qF -- "$1"; then fail "the screen shows: $1"; else pass; fi
}

# Two users with tokens: admin's and alice's, alice's under two applications.
fresh_db
"$TOKENCTL_BIN" --as admin user add bob >/dev/null
admin_id=$(new_token --as admin)
alice_id=$(new_token --as alice)
alice_foo=$("$TOKENCTL_BIN" --as admin add-app -q --for alice --name foo \
  --redirect-uri https://foo.example.com/cb)
# A second database, named only on the command line, where bob is the administrator.
DB2="$TMP/other/tokens.db"
"$TOKENCTL_BIN" --db "$DB2" init --admin bob >/dev/null
bob_id=$("$TOKENCTL_BIN" --db "$DB2" --as bob add-app -q --redirect-uri https://b.example.com/cb)
export TOKENCTL_USER=alice
MISSING="$TMP/missing/tokens.db"

all_commands=(init user app add-app list system-list revoke download refresh verify serve audit whoami backup rekey check migrate help)

# ---------------------------------------------------------------------------------- bash
case_ "bash: a command prefix"
bash_complete "tokenctl sys"
expect_rc 0
expect_candidates system-list
bash_complete "tokenctl "
expect_candidates "${all_commands[@]}"
bash_complete "tokenctl user s"
expect_candidates set-role
bash_complete "tokenctl who"
expect_candidates whoami

case_ "bash: option names and values"
bash_complete "tokenctl list --format "
expect_candidates table json csv tsv
bash_complete "tokenctl download --format "
expect_candidates json access-token refresh-token
bash_complete "tokenctl add-app --format j"
expect_candidates json
bash_complete "tokenctl user add carol --role "
expect_candidates admin user verifier
bash_complete "tokenctl revoke --y"
expect_candidates --yes
bash_complete "tokenctl whoami --format "
expect_candidates table json csv tsv
bash_complete "tokenctl whoami --no"
expect_candidates --no-headers

case_ "bash: token IDs for download are the acting user's"
bash_complete "tokenctl download "
expect_rc 0
expect_candidates "$alice_id" "$alice_foo"
expect_err_empty
bash_complete "tokenctl --as admin download "
expect_candidates "$admin_id"
bash_complete "tokenctl refresh ${alice_id:0:4}"
expect_candidates "$alice_id"
bash_complete "tokenctl download $alice_id "
expect_no_candidates

case_ "bash: revoke offers every token to an administrator, their own to a user"
bash_complete "tokenctl --as admin revoke "
expect_candidates "$admin_id" "$alice_id" "$alice_foo"
bash_complete "tokenctl revoke "
expect_candidates "$alice_id" "$alice_foo"

case_ "bash: user names where the acting user may list them"
bash_complete "tokenctl --as admin system-list --user "
expect_candidates admin alice bob
bash_complete "tokenctl --as admin add-app --for "
expect_candidates alice bob
bash_complete "tokenctl system-list --user "
expect_no_candidates
expect_err_empty
bash_complete "tokenctl list --app "
expect_candidates alice foo
bash_complete "tokenctl --as admin list --app "
expect_candidates admin alice foo

case_ "bash: --db and --as on the command line are respected"
bash_complete "tokenctl --db $DB2 --as bob download "
expect_candidates "$bob_id"
bash_complete "tokenctl download --db $DB2 --as bob "
expect_candidates "$bob_id"

case_ "bash: a missing database gives nothing and prints nothing"
bash_complete "tokenctl --db $MISSING download "
expect_rc 0
expect_no_candidates
expect_err_empty
check test ! -e "$MISSING"
check test ! -e "$(dirname "$MISSING")"

# ---------------------------------------------------------------------------------- fish
case_ "fish: a command prefix"
fish_complete "tokenctl sys"
expect_rc 0
expect_candidates system-list
fish_complete "tokenctl "
expect_candidates "${all_commands[@]}"
fish_complete "tokenctl user set"
expect_candidates set-role
fish_complete "tokenctl who"
expect_candidates whoami

case_ "fish: option values"
fish_complete "tokenctl list --format "
expect_candidates table json csv tsv
fish_complete "tokenctl refresh --format "
expect_candidates json access-token refresh-token
fish_complete "tokenctl user add carol --role "
expect_candidates admin user verifier
fish_complete "tokenctl whoami --format "
expect_candidates table json csv tsv
fish_complete "tokenctl whoami --no"
expect_candidates --no-headers

case_ "fish: token IDs for download are the acting user's"
fish_complete "tokenctl download "
expect_rc 0
expect_candidates "$alice_id" "$alice_foo"
expect_err_empty
fish_complete "tokenctl --as admin download "
expect_candidates "$admin_id"
fish_complete "tokenctl --as admin revoke "
expect_candidates "$admin_id" "$alice_id" "$alice_foo"
fish_complete "tokenctl --as admin add-app --for "
expect_candidates alice bob

case_ "fish: --db and --as on the command line are respected"
fish_complete "tokenctl --db $DB2 --as bob download "
expect_candidates "$bob_id"

case_ "fish: a missing database gives nothing and prints nothing"
fish_complete "tokenctl --db $MISSING download "
expect_no_candidates
expect_err_empty
check test ! -e "$MISSING"

# ----------------------------------------------------------------------------------- zsh
case_ "zsh: a command prefix"
zsh_complete "tokenctl sys" "tokenctl system-list"
expect_rc 0
expect_out_has "tokenctl system-list"
zsh_complete "tokenctl who" "tokenctl whoami"
expect_out_has "tokenctl whoami"

case_ "zsh: an option value"
zsh_complete "tokenctl list --format " "csv*tsv"
expect_out_has table
expect_out_has json
expect_out_has csv
expect_out_has tsv
zsh_complete "tokenctl download --format " "refresh-token"
expect_out_has access-token
expect_out_has refresh-token
expect_screen_lacks table
zsh_complete "tokenctl whoami --format " "csv*tsv"
expect_out_has table
expect_out_has json
zsh_complete "tokenctl whoami --no" "tokenctl whoami --no-headers"
expect_out_has "tokenctl whoami --no-headers"

case_ "zsh: a token ID for download"
zsh_complete "tokenctl --as admin download " "$admin_id"
expect_out_has "tokenctl --as admin download $admin_id"
expect_screen_lacks "$alice_id"
zsh_complete "tokenctl download " "$alice_foo"
expect_out_has "$alice_id"
expect_out_has "$alice_foo"
expect_screen_lacks "$admin_id"

case_ "zsh: revoke offers every token to an administrator"
zsh_complete "tokenctl --as admin revoke " "$alice_foo"
expect_out_has "$admin_id"
expect_out_has "$alice_id"
expect_out_has "$alice_foo"

case_ "zsh: --db and --as on the command line are respected"
zsh_complete "tokenctl --db $DB2 --as bob download " "$bob_id"
expect_out_has "download $bob_id"

case_ "zsh: a missing database gives nothing and prints nothing"
zsh_complete "tokenctl --db $MISSING download "
expect_out_has "tokenctl --db $MISSING download"
expect_screen_lacks "error"
expect_screen_lacks "hint"
expect_screen_lacks "$alice_id"
check test ! -e "$MISSING"

# ------------------------------------------------- the completions know every option of --help
options_of() {
  # shellcheck disable=SC2086
  "$TOKENCTL_BIN" $1 --help | awk '/^(Global )?[Oo]ptions:/ { on = 1; next } on && /^$/ { on = 0 }
    on && /^  -/ { line = $0; sub(/^  /, "", line); sub(/  .*/, "", line)
      n = split(line, names, ", "); for (i = 1; i <= n; i++) { split(names[i], w, " "); if (w[1] ~ /^--/) print w[1] } }'
}
commands=(init "user add" "user list" "user set-role" "user remove" add-app list system-list revoke
  download refresh verify serve audit whoami)
lines=()
for c in "${commands[@]}"; do lines+=("tokenctl $c --"); done
bash_complete_lines "${lines[@]}" >"$TMP/bash-options"
fish_complete_lines "${lines[@]}" | cut -f 1 >"$TMP/fish-options"
for c in "${commands[@]}"; do
  printf '## tokenctl %s --\n' "$c"
  # shellcheck disable=SC2086
  "$TOKENCTL_BIN" __complete $c -- | tail -n +2 | cut -f 1
done >"$TMP/binary-options"
# The candidates that followed `## LINE` in a batch's output.
candidates_of() { awk -v head="## $2" '/^## / { on = ($0 == head); next } on' "$1"; }
for c in "${commands[@]}"; do
  case_ "every long option of tokenctl $c --help completes"
  got_bash=$(candidates_of "$TMP/bash-options" "tokenctl $c --")
  got_fish=$(candidates_of "$TMP/fish-options" "tokenctl $c --")
  got_binary=$(candidates_of "$TMP/binary-options" "tokenctl $c --")
  for opt in $(options_of "$c"); do
    grep -qx -- "$opt" <<<"$got_bash" || fail "bash does not complete $opt"
    grep -qx -- "$opt" <<<"$got_fish" || fail "fish does not complete $opt"
    grep -qx -- "$opt" <<<"$got_binary" || fail "tokenctl __complete (zsh) does not offer $opt"
    pass
  done
done

case_ "completion asked nothing that changed the database"
AUDIT=1 snapshot
bash_complete "tokenctl download "
fish_complete "tokenctl download "
AUDIT=1 expect_unchanged

# A non-admin's TAB must not run an admin-only command (system-list, user list): each
# refusal would be a `denied` record in the audit log. The completions ask `whoami` first.
case_ "completing as a non-admin leaves the audit log unchanged, in every shell"
AUDIT=1 snapshot
bash_complete "tokenctl --as alice revoke "
expect_candidates "$alice_id" "$alice_foo"
expect_err_empty
bash_complete "tokenctl --as alice list --app "
expect_candidates alice foo
bash_complete "tokenctl --as alice revoke --user "
expect_no_candidates
for line in "tokenctl revoke " "tokenctl --as alice system-list --user " "tokenctl --as alice add-app --for " \
  "tokenctl --as alice user set-role " "tokenctl --as alice user remove " "tokenctl --as alice audit --user " \
  "tokenctl --as alice --as "; do
  bash_complete "$line"
  expect_err_empty
done
fish_complete "tokenctl --as alice revoke "
expect_candidates "$alice_id" "$alice_foo"
expect_err_empty
fish_complete "tokenctl --as alice list --app "
expect_candidates alice foo
fish_complete "tokenctl --as alice revoke --user "
expect_no_candidates
for line in "tokenctl revoke " "tokenctl --as alice system-list --user " "tokenctl --as alice add-app --for " \
  "tokenctl --as alice user set-role " "tokenctl --as alice user remove " "tokenctl --as alice --as "; do
  fish_complete "$line"
  expect_err_empty
done
zsh_complete "tokenctl --as alice revoke " "$alice_foo"
expect_out_has "$alice_id"
expect_out_has "$alice_foo"
expect_screen_lacks "$admin_id"
zsh_complete "tokenctl --as alice list --app " "foo"
expect_out_has "alice"
expect_out_has "foo"
zsh_complete "tokenctl --as alice revoke --user "
expect_screen_lacks "bob"
expect_screen_lacks "error"
zsh_complete "tokenctl --as alice add-app --for "
expect_screen_lacks "bob"
AUDIT=1 expect_unchanged
check test "$(sql "select count(*) from audit where outcome = 'denied'")" = 0

case_ "an administrator still gets every user's token IDs for revoke, and user names"
AUDIT=1 snapshot
bash_complete "tokenctl --as admin revoke "
expect_candidates "$admin_id" "$alice_id" "$alice_foo"
bash_complete "tokenctl --as admin revoke --user "
expect_candidates admin alice bob
fish_complete "tokenctl --as admin revoke "
expect_candidates "$admin_id" "$alice_id" "$alice_foo"
fish_complete "tokenctl --as admin revoke --user "
expect_candidates admin alice bob
zsh_complete "tokenctl --as admin revoke " "$alice_foo"
expect_out_has "$admin_id"
expect_out_has "$alice_id"
expect_out_has "$alice_foo"
AUDIT=1 expect_unchanged

# ------------------------------------------------ names with spaces, quotes, backslashes
"$TOKENCTL_BIN" --as admin user add carol@example.com >/dev/null
names=("my app" "it's \"q\"" '\back\slash' "a:b c" "café ☕ 東京")
for name in "${names[@]}"; do
  "$TOKENCTL_BIN" --as admin add-app -q --name "$name" --redirect-uri https://n.example.com/cb >/dev/null
done
export LANG=C.UTF-8
# Each name, from a prefix typed bare, after a double quote and after a single quote.
typed_prefixes=("my" "it" '\\b' "a:" "caf")
dq_prefixes=('"my' '"it' '"\\b' '"a:' '"caf')
sq_prefixes=("'my" "'it" "'\b" "'a:" "'caf")
for shell in bash zsh; do
  for i in "${!names[@]}"; do
    for prefix in "${typed_prefixes[i]}" "${dq_prefixes[i]}" "${sq_prefixes[i]}"; do
      case_ "$shell inserts the exact application name ${names[i]} after $prefix"
      interactive_words $shell "tokenctl --as admin list --app $prefix"
      expect_words tokenctl --as admin list --app "${names[i]}"
    done
  done
done
case_ "fish offers the exact application names"
for i in "${!names[@]}"; do
  fish_complete "tokenctl --as admin list --app ${typed_prefixes[i]}"
  expect_candidates "${names[i]}"
  fish_complete "tokenctl --as admin list --app ${dq_prefixes[i]}"
  expect_candidates "${names[i]}"
done
fish_complete "tokenctl --as admin revoke --app my\\ a"
expect_candidates "my app"

case_ "bash inserts a whole option value and a path"
interactive_words bash "tokenctl --as admin list --format=c"
expect_words tokenctl --as admin list --format=csv
interactive_words bash "tokenctl --db $TMP/oth"
expect_words tokenctl --db "$TMP/other/"

# ----------------------------------------------------- zsh: user names for an administrator
case_ "zsh offers user names wherever an administrator types one"
for line in "tokenctl --as admin system-list --user car" "tokenctl --as admin revoke --user car" \
  "tokenctl --as admin user set-role car" "tokenctl --as admin user remove car" \
  "tokenctl --as admin audit --user car"; do
  interactive_words zsh "$line"
  # shellcheck disable=SC2086
  expect_words ${line% *} carol@example.com
done
interactive_words zsh "tokenctl --as admin add-app --for b"
expect_words tokenctl --as admin add-app --for bob
TOKENCTL_USER=admin interactive_words zsh "tokenctl --as car"
expect_words tokenctl --as carol@example.com
interactive_words zsh "tokenctl --as alice system-list --user car"
expect_words tokenctl --as alice system-list --user car

# ------------------------------------------------ many tokens: bounded, filtered by prefix
case_ "tokenctl __complete prints at most 1000 names, the first ones and the last"
SEED_BIN=${TOKENCTL_SEED_BIN:-$(dirname "$TOKENCTL_BIN")/tokenctl-seed}
BIG="$TMP/big/tokens.db"
"$SEED_BIN" --db "$BIG" --tokens 12000 >/dev/null || fail "seeding failed"
active="revoked_at is null and refresh_expires_at > cast(strftime('%s','now') as integer) * 1000"
big_sql() { sqlite3 -batch -noheader "$BIG" "$@"; }
run __complete --db "$BIG" --as admin revoke ""
expect_rc 0
names_out=$(tail -n +2 <<<"$OUT")
check test "$(head -n 1 <<<"$OUT")" = words
check test "$(wc -l <<<"$names_out")" -eq 1000
check test "$(head -n 1 <<<"$names_out")" = "$(big_sql "select min(token_id) from tokens where $active")"
check test "$(tail -n 1 <<<"$names_out")" = "$(big_sql "select max(token_id) from tokens where $active")"
check test "$names_out" = "$(LC_ALL=C sort <<<"$names_out")"
run __complete --db "$BIG" --as admin revoke 3f
check test "$(tail -n +2 <<<"$OUT")" = "$(big_sql "select token_id from tokens where token_id like '3f%' and $active order by token_id")"
run __complete --db "$BIG" --as admin system-list --user USER00
check test "$(tail -n +2 <<<"$OUT" | wc -l)" -eq 99
check test "$(tail -n +2 <<<"$OUT" | grep -vc "^user00")" -eq 0
run __complete --db "$BIG" --as user0001 download ""
check test "$(tail -n +2 <<<"$OUT")" = "$(big_sql "select token_id from tokens t join users u on u.id = t.user_id where u.name = 'user0001' and $active order by token_id")"

case_ "bash completes from a thousand names without extending the typed prefix"
bash_complete "tokenctl --db $BIG --as admin revoke "
check test "$(wc -l <<<"$OUT")" -eq 1000
interactive_words bash "tokenctl --db $BIG --as admin revoke 0"
expect_words tokenctl --db "$BIG" --as admin revoke 0

finish
