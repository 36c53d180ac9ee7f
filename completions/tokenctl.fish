# fish completion for tokenctl
#
# Completes commands, subcommands, options and option values. Token IDs, user names and
# application names come from the tokenctl binary itself, with the --db and --as already on
# the command line; when it cannot answer (no database, not allowed), nothing is offered
# and nothing is printed.

# The words typed so far that are neither options nor option values, one a line.
function __tokenctl_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l valued --db --as --admin --role --name --redirect-uri --for --access-ttl --refresh-ttl --format -o --output --user --app --since --action
    set -l skip 0
    for token in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $token
            case '-*'
                contains -- $token $valued; and set skip 1
            case '*'
                echo $token
        end
    end
end

# The command path typed so far (`list`, `user add`, …).
function __tokenctl_command
    set -l words (__tokenctl_words)
    set -l path
    set -q words[1]; and set path $words[1]
    if test "$path" = user; and set -q words[2]
        set -a path $words[2]
    end
    echo $path
end

# The number of positional arguments after the command path.
function __tokenctl_positionals
    set -l words (count (__tokenctl_words))
    set -l path_length (count (string split ' ' -- (__tokenctl_command)))
    math $words - $path_length
end

# True when the command path typed so far is exactly $argv.
function __tokenctl_is
    test "$(__tokenctl_command)" = "$argv"
end

function __tokenctl_no_command
    test -z "$(__tokenctl_command)"
end

# Runs tokenctl with the --db and --as of the command line; errors and prompts are silenced.
function __tokenctl_query
    set -l tokens (commandline -opc)
    set -l globals
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --db --as
                if test $i -lt (count $tokens)
                    set -a globals $tokens[$i] (string replace -r '^~' -- $HOME $tokens[(math $i + 1)])
                end
                set i (math $i + 1)
            case '--db=*' '--as=*'
                set -a globals $tokens[$i]
        end
        set i (math $i + 1)
    end
    command tokenctl $globals $argv 2>/dev/null </dev/null
end

function __tokenctl_token_ids
    __tokenctl_query list --no-headers --format tsv | string split -f 1 \t
end

# True when the acting user is an administrator, as `whoami` says: any user may ask it and
# it records nothing, whereas an admin-only query refused to a user leaves a `denied`
# record in the audit log. So admin-only queries are asked of administrators only.
function __tokenctl_is_admin
    test "$(__tokenctl_query whoami --no-headers --format tsv | string split -f 2 \t)" = admin
end

# Every token the acting user may revoke: all active tokens for an administrator, else their own.
function __tokenctl_revocable_ids
    if __tokenctl_is_admin
        __tokenctl_query system-list --no-headers --format tsv | string split -f 1 \t
    else
        __tokenctl_token_ids
    end
end

# User names (administrators only; nothing for anyone else); with an argument, only the
# users of that role.
function __tokenctl_user_names
    __tokenctl_is_admin; or return 0
    for row in (__tokenctl_query user list --no-headers --format tsv)
        set -l fields (string split \t -- $row)
        if test (count $argv) -eq 0; or test "$fields[2]" = "$argv[1]"
            echo $fields[1]
        end
    end
end

function __tokenctl_app_names
    __tokenctl_query list --no-headers --format tsv --all | string split -f 3 \t | sort -u
end

complete -c tokenctl -f

# Global options.
complete -c tokenctl -l db -r -F -d 'Database file'
complete -c tokenctl -l as -x -a '(__tokenctl_user_names)' -d 'Acting user'
complete -c tokenctl -s h -l help -d 'Print help and exit'
complete -c tokenctl -l version -d 'Print the version and exit'

# Commands.
complete -c tokenctl -n __tokenctl_no_command -a init -d 'Create the database, its key file and the first administrator'
complete -c tokenctl -n __tokenctl_no_command -a user -d 'Manage users (administrators only)'
complete -c tokenctl -n __tokenctl_no_command -a add-app -d 'Create an application if needed and generate a token'
complete -c tokenctl -n __tokenctl_no_command -a list -d 'List your tokens'
complete -c tokenctl -n __tokenctl_no_command -a system-list -d "List every user's tokens (administrators only)"
complete -c tokenctl -n __tokenctl_no_command -a revoke -d 'Revoke tokens'
complete -c tokenctl -n __tokenctl_no_command -a download -d "Write your token's file or one of its secrets"
complete -c tokenctl -n __tokenctl_no_command -a refresh -d 'Rotate both secrets of your token'
complete -c tokenctl -n __tokenctl_no_command -a verify -d 'Check an access token read from standard input'
complete -c tokenctl -n __tokenctl_no_command -a audit -d 'Show the audit log (administrators only)'
complete -c tokenctl -n __tokenctl_no_command -a whoami -d 'Show the acting user and their role'

# init
complete -c tokenctl -n '__tokenctl_is init' -l admin -x -d 'Name of the first administrator'

# user
complete -c tokenctl -n '__tokenctl_is user' -a add -d 'Add a user'
complete -c tokenctl -n '__tokenctl_is user' -a list -d 'List users'
complete -c tokenctl -n '__tokenctl_is user' -a set-role -d "Change a user's role"
complete -c tokenctl -n '__tokenctl_is user' -a remove -d 'Remove a user and revoke their tokens'
complete -c tokenctl -n '__tokenctl_is user add' -l role -x -a 'admin user' -d 'Role of the new user'
complete -c tokenctl -n '__tokenctl_is user list' -l format -x -a 'table json csv tsv' -d 'Output format'
complete -c tokenctl -n '__tokenctl_is user list' -l no-headers -d 'Leave out the header line'
complete -c tokenctl -n '__tokenctl_is user set-role; and test (__tokenctl_positionals) -eq 0' -a '(__tokenctl_user_names)'
complete -c tokenctl -n '__tokenctl_is user set-role; and test (__tokenctl_positionals) -eq 1' -a 'admin user'
complete -c tokenctl -n '__tokenctl_is user remove; and test (__tokenctl_positionals) -eq 0' -a '(__tokenctl_user_names)'
complete -c tokenctl -n '__tokenctl_is user remove' -s y -l yes -d 'Do not ask for confirmation'

# add-app
complete -c tokenctl -n '__tokenctl_is add-app' -l name -x -d 'Application name'
complete -c tokenctl -n '__tokenctl_is add-app' -l redirect-uri -x -d 'Absolute redirect URI, no fragment'
complete -c tokenctl -n '__tokenctl_is add-app' -l for -x -a '(__tokenctl_user_names user)' -d 'Create the token for this non-admin user'
complete -c tokenctl -n '__tokenctl_is add-app' -l access-ttl -x -d 'Access token lifetime, 1m to 30d'
complete -c tokenctl -n '__tokenctl_is add-app' -l refresh-ttl -x -d 'Refresh token lifetime, up to 365d'
complete -c tokenctl -n '__tokenctl_is add-app' -l format -x -a 'text json' -d 'Output format'
complete -c tokenctl -n '__tokenctl_is add-app' -s q -l quiet -d 'Print the token ID alone'
complete -c tokenctl -n '__tokenctl_is add-app' -s o -l output -r -F -d 'Also write the token file to FILE'
complete -c tokenctl -n '__tokenctl_is add-app' -l force -d 'Replace an existing FILE'

# list, system-list
for c in list system-list
    complete -c tokenctl -n "__tokenctl_is $c" -l app -x -a '(__tokenctl_app_names)' -d "Only this application's tokens"
    complete -c tokenctl -n "__tokenctl_is $c" -l all -d 'Include revoked tokens'
    complete -c tokenctl -n "__tokenctl_is $c" -l format -x -a 'table json csv tsv' -d 'Output format'
    complete -c tokenctl -n "__tokenctl_is $c" -l no-headers -d 'Leave out the header line'
end
complete -c tokenctl -n '__tokenctl_is system-list' -l user -x -a '(__tokenctl_user_names)' -d "Only this user's tokens"

# revoke
complete -c tokenctl -n '__tokenctl_is revoke' -a '(__tokenctl_revocable_ids)'
complete -c tokenctl -n '__tokenctl_is revoke' -l user -x -a '(__tokenctl_user_names)' -d 'Every active token of this user'
complete -c tokenctl -n '__tokenctl_is revoke' -l app -x -a '(__tokenctl_app_names)' -d 'Every active token of this application'
complete -c tokenctl -n '__tokenctl_is revoke' -s y -l yes -d 'Do not ask for confirmation'

# download, refresh
for c in download refresh
    complete -c tokenctl -n "__tokenctl_is $c; and test (__tokenctl_positionals) -eq 0" -a '(__tokenctl_token_ids)'
    complete -c tokenctl -n "__tokenctl_is $c" -l format -x -a 'json access-token refresh-token' -d 'What to write'
    complete -c tokenctl -n "__tokenctl_is $c" -s o -l output -r -F -d 'Write to FILE (mode 0600)'
    complete -c tokenctl -n "__tokenctl_is $c" -l force -d 'Replace an existing FILE'
end

# verify
complete -c tokenctl -n '__tokenctl_is verify' -l format -x -a 'text json' -d 'Output format'

# audit
complete -c tokenctl -n '__tokenctl_is audit' -l user -x -a '(__tokenctl_user_names)' -d 'Only records of this acting user'
complete -c tokenctl -n '__tokenctl_is audit' -l since -x -d 'RFC 3339 time, or a duration back from now'
complete -c tokenctl -n '__tokenctl_is audit' -l action -x -d 'Only records of this action'
complete -c tokenctl -n '__tokenctl_is audit' -l format -x -a 'table json csv tsv' -d 'Output format'
complete -c tokenctl -n '__tokenctl_is audit' -l no-headers -d 'Leave out the header line'

# whoami
complete -c tokenctl -n '__tokenctl_is whoami' -l format -x -a 'table json csv tsv' -d 'Output format'
complete -c tokenctl -n '__tokenctl_is whoami' -l no-headers -d 'Leave out the header line'
