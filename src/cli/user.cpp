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

void set_user_command(CLI::App& user, Globals& globals) {
    user.require_subcommand(1);
    auto opts = std::make_shared<UserOptions>();

    auto* add = user.add_subcommand("add", "Add a user");
    add->add_option("NAME", opts->name, "User name (A-Z a-z 0-9 . _ @ + -)")->required();
    add->add_option("--role", opts->role, "Role of the new user")
        ->check(CLI::IsMember({"admin", "user", "verifier"}))
        ->option_text("admin|user|verifier")
        ->capture_default_str();
    add->callback([&globals, opts] {
        Session session = open_session(globals, "user add");
        add_user(session, opts->name, parse_role(opts->role));
        std::cout << fmt::format("added user {} ({})\n", opts->name, opts->role);
    });

    auto* list = user.add_subcommand("list", "List users with their roles and active tokens");
    add_format_option(list, opts->format, {"table", "json", "csv", "tsv"}, "Output format");
    list->add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    list->callback([&globals, opts] {
        auto print = print_listing(opts->format, !opts->no_headers, user_columns());
        Session session = open_session(globals, "user list");
        list_users(session, print);
    });

    auto* set_role = user.add_subcommand("set-role", "Change a user's role");
    set_role->add_option("NAME", opts->name, "User name")->required();
    set_role->add_option("ROLE", opts->role, "admin, user or verifier")
        ->required()
        ->check(CLI::IsMember({"admin", "user", "verifier"}));
    set_role->callback([&globals, opts] {
        Session session = open_session(globals, "user set-role");
        set_user_role(session, opts->name, parse_role(opts->role));
        std::cout << fmt::format("{} is {}\n", opts->name, opts->role);
    });

    auto* remove = user.add_subcommand("remove", "Remove a user and revoke their tokens");
    remove->add_option("NAME", opts->name, "User name")->required();
    remove->add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    remove->callback([&globals, opts] {
        Session session = open_session(globals, "user remove");
        UserRemoval plan = plan_user_removal(session, opts->name);
        if (!opts->yes && !confirm(fmt::format("Remove user {} and revoke their {} active tokens?",
                                               plan.user.name, plan.active_tokens))) {
            throw Error(Status::failure, "not confirmed; nothing was changed");
        }
        auto revoked = remove_user(session, plan);
        std::cout << fmt::format("removed user {}; revoked {} tokens\n", plan.user.name,
                                 revoked.size());
    });
}

} // namespace tokenctl::cli
