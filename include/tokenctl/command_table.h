#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

// Every command of tokenctl, named once: what the core knows of each (its name, whether
// its runs are audited, who may run it). The front end keys its own table (summary,
// examples, options) by CommandId.
namespace tokenctl {

// A command or subcommand, in the order help lists them.
enum class CommandId {
    init,
    user,
    user_add,
    user_list,
    user_set_role,
    user_remove,
    add_app,
    app,
    app_list,
    app_remove,
    app_show,
    app_secret,
    app_rotate_secret,
    list,
    system_list,
    revoke,
    download,
    refresh,
    verify,
    audit,
    whoami,
    backup,
    rekey,
    check,
    migrate,
    help,
};

struct CommandIdentity {
    CommandId id;
    CommandId parent;      // the command it is a subcommand of; itself for a top-level one
    std::string_view name; // the word that names it on the command line
    bool audited;          // its runs are audit records whose action is its command_path
    bool for_verifiers;    // a verifier may run it (policy::may_run)
};

// The commands, indexed by CommandId; a subcommand follows the command it belongs to.
inline constexpr std::array k_command_table{
    CommandIdentity{CommandId::init, CommandId::init, "init", true, false},
    CommandIdentity{CommandId::user, CommandId::user, "user", false, false},
    CommandIdentity{CommandId::user_add, CommandId::user, "add", true, false},
    CommandIdentity{CommandId::user_list, CommandId::user, "list", true, false},
    CommandIdentity{CommandId::user_set_role, CommandId::user, "set-role", true, false},
    CommandIdentity{CommandId::user_remove, CommandId::user, "remove", true, false},
    CommandIdentity{CommandId::add_app, CommandId::add_app, "add-app", true, false},
    CommandIdentity{CommandId::app, CommandId::app, "app", false, false},
    CommandIdentity{CommandId::app_list, CommandId::app, "list", true, false},
    CommandIdentity{CommandId::app_remove, CommandId::app, "remove", true, false},
    CommandIdentity{CommandId::app_show, CommandId::app, "show", true, false},
    // A download: its records are download's (it opens its session as CommandId::download).
    CommandIdentity{CommandId::app_secret, CommandId::app, "secret", false, false},
    CommandIdentity{CommandId::app_rotate_secret, CommandId::app, "rotate-secret", true, false},
    CommandIdentity{CommandId::list, CommandId::list, "list", true, false},
    CommandIdentity{CommandId::system_list, CommandId::system_list, "system-list", true, false},
    CommandIdentity{CommandId::revoke, CommandId::revoke, "revoke", true, false},
    CommandIdentity{CommandId::download, CommandId::download, "download", true, false},
    CommandIdentity{CommandId::refresh, CommandId::refresh, "refresh", true, false},
    CommandIdentity{CommandId::verify, CommandId::verify, "verify", true, true},
    CommandIdentity{CommandId::audit, CommandId::audit, "audit", true, false},
    CommandIdentity{CommandId::whoami, CommandId::whoami, "whoami", true, true},
    CommandIdentity{CommandId::backup, CommandId::backup, "backup", true, false},
    CommandIdentity{CommandId::rekey, CommandId::rekey, "rekey", true, false},
    CommandIdentity{CommandId::check, CommandId::check, "check", true, true},
    CommandIdentity{CommandId::migrate, CommandId::migrate, "migrate", true, false},
    CommandIdentity{CommandId::help, CommandId::help, "help", false, false},
};

// Whether `table` (k_command_table, or a front end's table keyed by CommandId) holds one
// row per CommandId, in CommandId order.
template <class Table> constexpr bool indexed_by_command_id(const Table& table) {
    if (table.size() != k_command_table.size()) {
        return false;
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (static_cast<std::size_t>(table[i].id) != i) {
            return false;
        }
    }
    return true;
}

// `id`'s row of k_command_table.
constexpr const CommandIdentity& command_identity(CommandId id) {
    return k_command_table[static_cast<std::size_t>(id)];
}

// The words that name `id` after `tokenctl` ("user add"): also its audit action.
std::string command_path(CommandId id);

} // namespace tokenctl
