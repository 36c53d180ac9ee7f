# fish completion for tokenctl
#
# tokenctl itself says what completes the word being typed: `tokenctl __complete WORD...
# CURRENT` reads the words typed so far against its own commands and options, and answers
# with commands, options, option values, or names from the database (token IDs, user names,
# application names) that begin with CURRENT, filtered there and bounded in number. Its first
# line is `files` (complete a path here) or `words`; each candidate may carry a tab and a
# description, as fish reads them. When it cannot answer (no database, not allowed), nothing
# is offered and nothing is printed.

function __tokenctl_complete
    # The words before the cursor and the one being typed, as fish will read them.
    set -l typed (commandline -opc)
    set -l bin (string replace -r '^~' -- $HOME $typed[1])
    set -e typed[1]
    set -l current (commandline -ct | string unescape 2>/dev/null)
    or set current (commandline -ct)
    set -l lines (command $bin __complete $typed "$current" 2>/dev/null </dev/null)
    switch "$lines[1]"
        case files
            __fish_complete_path "$current"
        case words
            string join \n -- $lines[2..-1]
    end
end

complete -c tokenctl -f -a '(__tokenctl_complete)'
