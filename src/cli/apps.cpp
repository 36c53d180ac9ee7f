#include "cli/common.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <iostream>

namespace tokenctl::cli {

namespace {

struct AppOptions {
    std::string name;
    bool all = false;
    bool yes = false;
    std::string format;
    bool no_headers = false;
};

} // namespace

void set_app_command(CLI::App& app, Globals& /*globals*/, CommandId /*command_id*/) {
    app.require_subcommand(1);
}

void set_app_list_command(CLI::App& list, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AppOptions>();
    list.add_flag("--all", opts->all, "Include removed applications (adds removed_at)");
    add_format_option(&list, globals, opts->format, {"table", "json", "csv", "tsv"},
                      "Output format");
    list.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    list.callback([&globals, opts, command_id] {
        auto print = print_listing(opts->format, !opts->no_headers, app_columns(opts->all));
        Session session = open_session(globals, command_id);
        list_apps(session, opts->all, print);
    });
}

void set_app_remove_command(CLI::App& remove, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AppOptions>();
    globals.complete(remove.add_option("NAME", opts->name, "Application name")->required(),
                     NameSet::apps);
    remove.add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    remove.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        AppRemoval plan = plan_app_removal(session, opts->name);
        if (!opts->yes) {
            std::string details;
            if (!plan.tokens.empty()) {
                details = "These tokens will be revoked:\n";
                for (const auto& t : plan.tokens) {
                    details += fmt::format("  {}  {}\n", t.token_id, escape_controls(t.user));
                }
            }
            if (!confirm(fmt::format("Remove application {} and revoke its {}?",
                                     printable(plan.app.name),
                                     count_of(plan.tokens.size(), "active token")),
                         details)) {
                throw Error(Status::failure, "not confirmed; nothing was changed");
            }
        }
        auto revoked = remove_app(session, plan);
        committed(fmt::format("application {} was removed", printable(plan.app.name)));
        for (const auto& id : revoked) {
            std::cout << "revoked " << id << '\n';
        }
        std::cout << fmt::format("removed application {}\n", printable(plan.app.name));
    });
}

} // namespace tokenctl::cli
