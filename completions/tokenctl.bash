# bash completion for tokenctl                                   -*- shell-script -*-
#
# Completes commands, subcommands, options and option values. Token IDs, user names and
# application names come from the tokenctl binary itself, with the --db and --as already on
# the command line; when it cannot answer (no database, not allowed), nothing is offered
# and nothing is printed.

# Runs tokenctl with the global options of the command line being completed; stderr is
# dropped and so is stdin, so that completion never prompts or prints an error.
_tokenctl_query() {
    local bin=${_tokenctl_bin:-tokenctl}
    "$bin" "${_tokenctl_globals[@]}" "$@" 2>/dev/null </dev/null
}

# One tab-separated column of a query's output.
_tokenctl_column() {
    local column=$1
    shift
    _tokenctl_query "$@" | cut -f "$column"
}

_tokenctl_token_ids() {
    _tokenctl_column 1 list --no-headers --format tsv
}

# True when the acting user is an administrator, as `whoami` says: any user may ask it and
# it records nothing, whereas an admin-only query refused to a user leaves a `denied`
# record in the audit log. So admin-only queries are asked of administrators only.
_tokenctl_is_admin() {
    [[ $(_tokenctl_column 2 whoami --no-headers --format tsv) == admin ]]
}

# Every token the acting user may revoke: all active tokens for an administrator, else their own.
_tokenctl_revocable_ids() {
    if _tokenctl_is_admin; then
        _tokenctl_column 1 system-list --no-headers --format tsv
    else
        _tokenctl_token_ids
    fi
}

# User names (administrators only; nothing for anyone else); with an argument, only the
# users of that role.
_tokenctl_user_names() {
    _tokenctl_is_admin || return 0
    _tokenctl_query user list --no-headers --format tsv |
        awk -F '\t' -v role="${1-}" 'role == "" || $2 == role { print $1 }'
}

_tokenctl_app_names() {
    _tokenctl_column 3 list --no-headers --format tsv --all | sort -u
}

_tokenctl() {
    # shellcheck disable=SC2034 # split is set by _init_completion -s
    local cur prev words cword split
    _init_completion -s || return

    local commands="init user add-app list system-list revoke download refresh verify audit whoami"
    local user_commands="add list set-role remove"
    local global_options="--db --as --help -h --version"
    # Options that take a value, on any command.
    local valued=" --db --as --admin --role --name --redirect-uri --for --access-ttl --refresh-ttl --format -o --output --user --app --since --action "

    # Read what is already typed: global options, the command, its subcommand, positionals.
    local -a _tokenctl_globals=()
    local _tokenctl_bin=${words[0]}
    [[ $_tokenctl_bin == \~* ]] && _tokenctl_bin=${_tokenctl_bin/#\~/$HOME}
    local command="" sub="" positionals=0 i word
    for ((i = 1; i < cword; i++)); do
        word=${words[i]}
        case $word in
            --db | --as)
                ((i + 1 < cword)) && _tokenctl_globals+=("$word" "${words[i + 1]/#\~/$HOME}")
                ((i++))
                ;;
            --db=* | --as=*)
                _tokenctl_globals+=("${word%%=*}" "${word#*=}")
                ;;
            -*)
                [[ $valued == *" $word "* ]] && ((i++))
                ;;
            *)
                if [[ -z $command ]]; then
                    command=$word
                elif [[ $command == user && -z $sub ]]; then
                    sub=$word
                else
                    ((positionals++))
                fi
                ;;
        esac
    done
    [[ $command == user && -n $sub ]] && command="user $sub"

    # The value of an option.
    case $prev in
        --db | -o | --output)
            _filedir
            return
            ;;
        --as | --user)
            mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_user_names)" -- "$cur")
            return
            ;;
        --for)
            # Tokens are made only for non-admin users.
            mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_user_names user)" -- "$cur")
            return
            ;;
        --app)
            mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_app_names)" -- "$cur")
            return
            ;;
        --role)
            mapfile -t COMPREPLY < <(compgen -W "admin user" -- "$cur")
            return
            ;;
        --format)
            local formats
            case $command in
                add-app | verify) formats="text json" ;;
                download | refresh) formats="json access-token refresh-token" ;;
                *) formats="table json csv tsv" ;;
            esac
            mapfile -t COMPREPLY < <(compgen -W "$formats" -- "$cur")
            return
            ;;
        --admin | --name | --redirect-uri | --access-ttl | --refresh-ttl | --since | --action)
            # Free text: a name, a URI, a duration or a time.
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        local options
        case $command in
            "") options="" ;;
            init) options="--admin" ;;
            user) options="" ;;
            "user add") options="--role" ;;
            "user list") options="--format --no-headers" ;;
            "user set-role") options="" ;;
            "user remove") options="-y --yes" ;;
            add-app) options="--name --redirect-uri --for --access-ttl --refresh-ttl --format -q --quiet -o --output --force" ;;
            list) options="--app --all --format --no-headers" ;;
            system-list) options="--user --app --all --format --no-headers" ;;
            revoke) options="--user --app -y --yes" ;;
            download | refresh) options="--format -o --output --force" ;;
            verify) options="--format" ;;
            audit) options="--user --since --action --format --no-headers" ;;
            whoami) options="--format --no-headers" ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$options $global_options" -- "$cur")
        return
    fi

    case $command in
        "")
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            ;;
        user)
            mapfile -t COMPREPLY < <(compgen -W "$user_commands" -- "$cur")
            ;;
        download | refresh)
            ((positionals == 0)) &&
                mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_token_ids)" -- "$cur")
            ;;
        revoke)
            mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_revocable_ids)" -- "$cur")
            ;;
        "user set-role")
            if ((positionals == 0)); then
                mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_user_names)" -- "$cur")
            elif ((positionals == 1)); then
                mapfile -t COMPREPLY < <(compgen -W "admin user" -- "$cur")
            fi
            ;;
        "user remove")
            ((positionals == 0)) &&
                mapfile -t COMPREPLY < <(compgen -W "$(_tokenctl_user_names)" -- "$cur")
            ;;
    esac
    return 0
} &&
    complete -F _tokenctl tokenctl

# ex: filetype=sh
