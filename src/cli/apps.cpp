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
    std::optional<std::string> output;
    bool force = false;
};

// Declares NAME, a live application's name, on `command`.
void add_app_name(CLI::App& command, Globals& globals, AppOptions& opts) {
    globals.complete(command.add_option("NAME", opts.name, "Application name")->required(),
                     NameSet::apps);
}

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
    add_app_name(remove, globals, *opts);
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

void set_app_show_command(CLI::App& show, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AppOptions>();
    add_app_name(show, globals, *opts);
    add_format_option(&show, globals, opts->format, {"table", "json", "csv", "tsv"},
                      "Output format");
    show.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    show.callback([&globals, opts, command_id] {
        auto columns = app_columns(false);
        auto print = print_listing(opts->format, !opts->no_headers, columns);
        Session session = open_session(globals, command_id);
        AppRow row = show_app(session, opts->name);
        if (opts->format == "json") {
            write_json_object(std::cout, specs_of(columns), fields_of(columns, row));
        } else {
            print([&](const std::function<void(const AppRow&)>& fn) { fn(row); });
        }
    });
}

void set_app_secret_command(CLI::App& secret, Globals& globals, CommandId /*command_id*/) {
    auto opts = std::make_shared<AppOptions>();
    add_app_name(secret, globals, *opts);
    globals.complete_files(
        secret
            .add_option("-o,--output", opts->output,
                        "Write to FILE (atomically, mode 0600) instead of standard output (- is "
                        "standard output)")
            ->option_text("FILE"));
    secret.add_flag("--force", opts->force, "Replace an existing FILE");
    secret.callback([&globals, opts] {
        // A download of the application's secret, audited as one.
        Session session = open_session(globals, CommandId::download);
        Delivery delivery = delivery_to(SecretFormat::json, opts->output, opts->force);
        TokenFile file = app_secret(session, opts->name, delivery);
        deliver(file, delivery, std::cout);
    });
}

void set_app_rotate_secret_command(CLI::App& rotate, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AppOptions>();
    add_app_name(rotate, globals, *opts);
    rotate.add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    rotate.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        // Refused (not found, not allowed) before anyone is asked.
        App planned = plan_app_secret_rotation(session, opts->name);
        if (!opts->yes &&
            !confirm(fmt::format("Give application {} a new client secret? Clients that use the "
                                 "old one stop working at once.",
                                 printable(planned.name)))) {
            throw Error(Status::failure, "not confirmed; nothing was changed");
        }
        App app = rotate_app_secret(session, opts->name);
        std::cout << fmt::format("rotated the client secret of application {}; read it with: "
                                 "tokenctl app secret {}\n",
                                 printable(app.name), shell_quote(app.name));
    });
}

} // namespace tokenctl::cli
