# bash completion for tokenctl                                   -*- shell-script -*-
#
# tokenctl itself says what completes the word being typed: `tokenctl __complete WORD...
# CURRENT` reads the words typed so far against its own commands and options, and answers
# with commands, options, option values, or names from the database (token IDs, user names,
# application names) that begin with CURRENT, filtered there and bounded in number. Its first
# line is `files` (complete a path here) or `words`; each candidate may carry a tab and a
# description. When it cannot answer (no database, not allowed), nothing is offered and
# nothing is printed.

# Sets REPLY to the word $1 as the shell will read it: backslashes and quotes removed.
_tokenctl_dequote() {
    local word=$1 quote="" c i
    REPLY=""
    for ((i = 0; i < ${#word}; i++)); do
        c=${word:i:1}
        if [[ $quote == "'" ]]; then
            if [[ $c == "'" ]]; then quote=""; else REPLY+=$c; fi
        elif [[ $c == '\' ]]; then
            ((i++))
            c=${word:i:1}
            # Inside double quotes a backslash escapes only $ ` " \.
            [[ $quote == '"' && $c != [\$\`\"\\] ]] && REPLY+='\'
            REPLY+=$c
        elif [[ $c == '"' ]]; then
            if [[ $quote == '"' ]]; then quote=""; else quote='"'; fi
        elif [[ $c == "'" && -z $quote ]]; then
            quote="'"
        else
            REPLY+=$c
        fi
    done
}

_tokenctl() {
    local cur prev words cword
    # Words split at = and : are joined again: tokenctl reads --format=json itself.
    _init_completion -n =: || return

    local bin=${words[0]/#\~/$HOME}
    local -a typed=()
    local i
    for ((i = 1; i < cword; i++)); do
        _tokenctl_dequote "${words[i]}"
        typed+=("$REPLY")
    done
    _tokenctl_dequote "$cur"
    local current=$REPLY

    local -a lines
    mapfile -t lines < <("$bin" __complete "${typed[@]}" "$current" 2>/dev/null </dev/null)
    ((${#lines[@]} > 0)) || return 0
    if [[ ${lines[0]} == files ]]; then
        [[ $cur == --*=* ]] && cur=${cur#*=}
        _filedir
        return 0
    fi
    lines=("${lines[@]:1}")
    ((${#lines[@]} > 0)) || return 0

    # Each candidate as it must stand on the command line: escaped with backslashes, or, after
    # an opening quote, in the quotes' own rules (readline adds the closing quote).
    local -a candidates=("${lines[@]%%$'\t'*}")
    case $cur in
        \'*)
            candidates=("${candidates[@]//\'/\'\\\'\'}")
            ;;
        \"*)
            mapfile -t candidates < <(printf '%s\n' "${candidates[@]}" | sed 's/[$`"\\]/\\&/g')
            ;;
        *)
            mapfile -t candidates < <(printf '%s\n' "${candidates[@]}" |
                sed 's/[][ '"'"'"\\$`!#&()*;<>?^{|}~]/\\&/g')
            # Readline replaces only what follows the last = or : of the word.
            if [[ $cur == *[=:]* ]]; then
                local head=${cur%"${cur##*[=:]}"}
                candidates=("${candidates[@]#"$head"}")
            fi
            ;;
    esac
    # Readline closes the quote of a single match, unless the match already ends with that
    # quote character (`it's "q"`): so it is closed here.
    [[ ${#candidates[@]} == 1 && $cur == [\"\']* ]] && candidates[0]+=${cur:0:1}
    COMPREPLY=("${candidates[@]}")
    return 0
} &&
    complete -F _tokenctl tokenctl

# ex: filetype=sh
