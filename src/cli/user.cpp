#include "cli/common.h"

#include <tokenctl/error.h>

#include <fmt/format.h>

#include <iostream>

namespace tokenctl::cli {

namespace {

struct UserOptions {
    std::string name;
    std::string role = "user";
    bool yes = false;
    std::string format;
    bool no_headers = false;
};

} // namespace

void set_user_command(CLI::App& user, Globals& /*globals*/, CommandId /*command_id*/) {
    user.require_subcommand(1);
}

void set_user_add_command(CLI::App& add, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<UserOptions>();
    add.add_option("NAME", opts->name,
                   "User name (A-Z a-z 0-9 . _ @ + -; on PostgreSQL, an existing login)")
        ->required();
    add_choice_option(&add, globals, "--role", opts->role, {"admin", "user", "verifier"},
                      "Role of the new user")
        ->option_text("ROLE")
        ->capture_default_str();
    add.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        User added = add_user(session, opts->name, parse_role(opts->role));
        committed(fmt::format("user {} was added ({}); `tokenctl user list` shows it", added.name,
                              role_name(added.role)));
        std::cout << fmt::format("added user {} ({})\n", added.name, role_name(added.role));
    });
}

void set_user_list_command(CLI::App& list, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<UserOptions>();
    add_format_option(&list, globals, opts->format, {"table", "json", "csv", "tsv"},
                      "Output format");
    list.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    list.callback([&globals, opts, command_id] {
        auto print = print_listing(opts->format, !opts->no_headers, user_columns());
        Session session = open_session(globals, command_id);
        list_users(session, print);
    });
}

void set_user_set_role_command(CLI::App& set_role, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<UserOptions>();
    globals.complete(set_role.add_option("NAME", opts->name, "User name")->required(),
                     NameSet::users);
    add_choice_option(&set_role, globals, "ROLE", opts->role, {"admin", "user", "verifier"},
                      "admin, user or verifier")
        ->required();
    set_role.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        User changed = set_user_role(session, opts->name, parse_role(opts->role));
        committed(fmt::format("{} is now {}; `tokenctl user list` shows it", changed.name,
                              role_name(changed.role)));
        std::cout << fmt::format("{} is {}\n", changed.name, role_name(changed.role));
    });
}

void set_user_remove_command(CLI::App& remove, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<UserOptions>();
    globals.complete(remove.add_option("NAME", opts->name, "User name")->required(),
                     NameSet::users);
    remove.add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    remove.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        UserRemoval plan = plan_user_removal(session, opts->name);
        std::string question =
            plan.active_tokens == 0
                ? fmt::format("Remove user {}? They have no active token.", plan.user.name)
                : fmt::format("Remove user {} and revoke their {}?", plan.user.name,
                              count_of(plan.active_tokens, "active token"));
        if (!opts->yes && !confirm(question)) {
            throw Error(Status::failure, "not confirmed; nothing was changed");
        }
        auto revoked = remove_user(session, plan);
        committed(fmt::format("user {} was removed and {} revoked; `tokenctl system-list --all "
                              "--user {}` shows them",
                              plan.user.name, count_of(revoked.size(), "token"), plan.user.name));
        std::cout << fmt::format("removed user {}; revoked {}\n", plan.user.name,
                                 count_of(revoked.size(), "token"));
    });
}

} // namespace tokenctl::cli
