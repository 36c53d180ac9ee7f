#include "cli/common.h"

#include <iostream>

namespace tokenctl::cli {

namespace {

struct ListOptions {
    ListRequest request;
    std::string format;
    bool no_headers = false;
};

void declare_list(CLI::App* cmd, Globals& globals, CommandId command_id, bool system) {
    auto opts = std::make_shared<ListOptions>();
    opts->request.system = system;
    if (system) {
        globals.complete(cmd->add_option("--user", opts->request.user, "Only this user's tokens")
                             ->option_text("NAME"),
                         NameSet::users);
    }
    globals.complete(cmd->add_option("--app", opts->request.app, "Only this application's tokens")
                         ->option_text("APP"),
                     NameSet::apps);
    cmd->add_flag("--all", opts->request.all, "Include revoked tokens");
    cmd->add_option("--expiring", opts->request.expiring,
                    "Only active tokens whose refresh token expires within DUR, soonest first")
        ->option_text("DUR");
    if (system) {
        cmd->add_option("--unused-for", opts->request.unused_for,
                        "Only active tokens not used for DUR (never used: since generated), "
                        "least recently used first")
            ->option_text("DUR");
    }
    add_format_option(cmd, globals, opts->format, {"table", "json", "csv", "tsv"}, "Output format");
    cmd->add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    cmd->callback([&globals, opts, command_id] {
        auto print = print_listing(opts->format, !opts->no_headers, token_columns());
        Session session = open_session(globals, command_id);
        list_tokens(session, opts->request, print);
    });
}

} // namespace

void set_list_command(CLI::App& command, Globals& globals, CommandId command_id) {
    declare_list(&command, globals, command_id, false);
}

void set_system_list_command(CLI::App& command, Globals& globals, CommandId command_id) {
    declare_list(&command, globals, command_id, true);
}

} // namespace tokenctl::cli
