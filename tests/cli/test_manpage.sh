#!/usr/bin/env bash
# The man page and the binary's --help cannot drift apart: every command, subcommand and
# option that `--help` prints is in the man page's synopsis and described in its body, and
# mandoc finds nothing to warn about.
. "$(dirname "$0")/lib.sh"
require_tools mandoc

: "${TOKENCTL_SOURCE_DIR:?TOKENCTL_SOURCE_DIR must name the source tree}"
PAGE="$TOKENCTL_SOURCE_DIR/man/tokenctl.1"

# The page's source with the roff escapes that matter here undone: \- is -, fonts vanish.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(aq/'"'"'/g' "$PAGE"; }

# The synopsis block(s) of `tokenctl WORDS`: the lines from `.SY "tokenctl WORDS"` to `.YS`.
synopsis_of() {
  local head
  if [ -z "$1" ]; then head='.SY tokenctl'; else head=".SY \"tokenctl $1\""; fi
  plain | awk -v head="$head" '$0 == head { on = 1 } on { print } on && /^\.YS/ { on = 0 }'
}

# The body of one section (.SH NAME) or subsection (.SS NAME), up to the next one.
section_of() {
  plain | awk -v kind="$1" -v name="$2" '
    /^\.S[HS] / { on = ($1 == kind && substr($0, 5) == name) ; next }
    on { print }'
}

# The tags of a section's .TP paragraphs: where an option is described, not just named.
tags_of() { awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 }'; }

# The subcommands and the options that `tokenctl WORDS --help` lists.
help_of() {
  # shellcheck disable=SC2086
  "$TOKENCTL_BIN" $1 --help
}
subcommands_of() {
  help_of "$1" | awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}
# The option names of a command's `Options:` (tokenctl's own: `Global options:`), from lines
# such as `  -o, --output FILE   Description`.
options_of() {
  local section="Options:"
  [ -z "$1" ] && section="Global options:"
  help_of "$1" | awk -v section="$section" '$0 == section { on = 1; next } on && /^$/ { on = 0 }
    on && /^  -/ { line = $0; sub(/^  /, "", line); sub(/  .*/, "", line)
      n = split(line, names, ", "); for (i = 1; i <= n; i++) { split(names[i], w, " "); print w[1] } }'
}

# A word is in TEXT: surrounded by something that is not part of an option or command name.
has_word() {
  printf '%s\n' "$2" | grep -qE -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$1" | sed 's/[.]/\\./g')([^A-Za-z0-9_-]|\$)"
}

case_ "mandoc lints the page clean"
lint=$(mandoc -Tlint -W warning "$PAGE" 2>&1)
RC=$?
OUT=$lint
ERR=""
check test -z "$lint"
expect_rc 0

case_ "the page has the sections the issue asks for"
for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "ROLE RULES" "EXIT STATUS" ENVIRONMENT FILES \
  SECURITY EXAMPLES; do
  check grep -qx ".SH \"\\{0,1\\}$s\"\\{0,1\\}" "$PAGE"
done

case_ "every global option is in the synopsis and described under OPTIONS"
top_synopsis=$(synopsis_of "")
global_options=$(section_of .SH OPTIONS | tags_of)
top_options=$(options_of "")
check test -n "$top_options"
for opt in $top_options; do
  has_word "$opt" "$top_synopsis" || fail "$opt is not in the synopsis of tokenctl"
  has_word "$opt" "$global_options" || fail "$opt is not described under OPTIONS"
  pass
done

# Every command path: the top-level commands, then the subcommands of those that have some.
commands=()
for cmd in $(subcommands_of ""); do
  subs=$(subcommands_of "$cmd")
  if [ -n "$subs" ]; then
    for sub in $subs; do commands+=("$cmd $sub"); done
  else
    commands+=("$cmd")
  fi
done

case_ "--help lists the commands the page describes"
check test "${#commands[@]}" -ge 13
for c in init "user add" "user list" "user set-role" "user remove" add-app list system-list revoke \
  download refresh verify audit; do
  printf '%s\n' "${commands[@]}" | grep -qx "$c" || fail "tokenctl --help no longer lists $c"
  pass
done

for c in "${commands[@]}"; do
  case_ "tokenctl $c: in the synopsis and in COMMANDS with every option"
  top=${c%% *}
  synopsis=$(synopsis_of "$c")
  if [ -n "$synopsis" ]; then pass; else fail "no synopsis line .SY \"tokenctl $c\""; fi
  body=$(section_of .SS "$top")
  if [ -n "$body" ]; then pass; else fail "no subsection .SS $top under COMMANDS"; fi
  if [ "$top" != "$c" ]; then
    # A subcommand is described as `user SUB` in its command's subsection.
    if printf '%s\n' "$body" | grep -qF -- "$c"; then pass; else fail "$c is not described under .SS $top"; fi
  fi
  for opt in $(options_of "$c"); do
    case $opt in -h | --help) continue ;; esac
    if has_word "$opt" "$synopsis"; then pass; else fail "$opt of $c is not in its synopsis"; fi
    # Options that system-list shares with list, and refresh with download, are described
    # once, in the first command's subsection.
    described=$(printf '%s\n' "$body" | tags_of)
    case $top in
      system-list) described+=$'\n'$(section_of .SS list | tags_of) ;;
      refresh) described+=$'\n'$(section_of .SS download | tags_of) ;;
    esac
    if has_word "$opt" "$described"; then pass; else fail "$opt of $c is not described under .SS $top"; fi
  done
done

case_ "the exit status table is complete"
exit_status=$(section_of .SH "EXIT STATUS")
for code in 0 1 2 3 4 5; do
  check grep -qx "\\.B $code" <<<"$exit_status"
done

case_ "every environment variable is documented"
environment=$(section_of .SH ENVIRONMENT)
for var in TOKENCTL_DB TOKENCTL_USER TOKENCTL_KEY_FILE XDG_DATA_HOME XDG_CONFIG_HOME PGPASSFILE \
  PGCONNECT_TIMEOUT; do
  check grep -qx "\\.B $var" <<<"$environment"
done
# libpq's variables that name the server and the login, described together.
check grep -q "^\\.BR PGUSER .*PGHOST" <<<"$environment"

finish
