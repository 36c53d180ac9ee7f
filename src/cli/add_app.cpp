#include "cli/common.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>

namespace tokenctl::cli {

namespace {

struct AddAppOptions {
    AddAppRequest request;
    std::string format;
    bool quiet = false;
    std::optional<std::string> output;
    bool force = false;
};

// The command with which the token's user downloads it, working pasted into a fresh shell:
// the --db given (as the location's argument(): a path made absolute) and, when --as was
// given, their name; shell-quoted.
std::string download_command(const Session& session, const Globals& globals,
                             const TokenRow& token) {
    std::string command = "tokenctl";
    if (globals.db) {
        command += " --db " + shell_quote(session.paths().db.argument());
    }
    if (globals.as) {
        command += " --as " + shell_quote(token.user);
    }
    return command + fmt::format(" download {} -o token.json", token.token_id);
}

} // namespace

void set_add_app_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AddAppOptions>();
    auto& r = opts->request;
    globals.complete(cmd.add_option("--name", r.name,
                                    "Application name (default: the token's user; a "
                                    "non-admin can use only their own name)")
                         ->option_text("APP"),
                     NameSet::apps);
    cmd.add_option("--redirect-uri", r.redirect_uri, "Absolute redirect URI, no fragment")
        ->required()
        ->option_text("URI");
    globals.complete(cmd.add_option("--for", r.for_user,
                                    "Create the token for this non-admin user "
                                    "(administrators only)")
                         ->option_text("USER"),
                     NameSet::non_admin_users);
    cmd.add_option("--access-ttl", r.access_ttl, "Access token lifetime, 1m to 30d")
        ->option_text("DUR")
        ->capture_default_str();
    cmd.add_option("--refresh-ttl", r.refresh_ttl,
                   "Refresh token lifetime, access "
                   "lifetime to 365d")
        ->option_text("DUR")
        ->capture_default_str();
    add_format_option(&cmd, globals, opts->format, {"text", "json"}, "Output format");
    cmd.add_flag("-q,--quiet", opts->quiet, "Print the token ID alone");
    globals.complete_files(cmd.add_option("-o,--output", opts->output,
                                          "Also write the token file to FILE (mode 0600); - "
                                          "prints it instead of the summary")
                               ->option_text("FILE"));
    cmd.add_flag("--force", opts->force, "Replace an existing FILE");
    cmd.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        auto request = opts->request;
        if (opts->output) {
            request.delivery = delivery_to(SecretFormat::json, opts->output, opts->force);
        }
        AddAppResult result = add_app(session, request);
        const TokenRow& token = result.token;
        committed(fmt::format("token {} was created; its user gets its file with `{}`",
                              token.token_id, download_command(session, globals, token)));
        if (result.file) {
            deliver(*result.file, *request.delivery, std::cout);
            if (!request.delivery->output) {
                return; // -o -: standard output carries the token file alone
            }
        }
        if (opts->quiet) {
            std::cout << token.token_id << '\n';
        } else if (opts->format == "json") {
            write_json_object(std::cout, specs_of(token_columns()),
                              fields_of(token_columns(), token));
        } else {
            std::cout << fmt::format("created token {} for application {} (user {})\n",
                                     token.token_id, token.application, token.user);
            if (opts->output) {
                std::cout << fmt::format("wrote token file {}\n", *opts->output);
            } else if (token.user_id == session.actor().id) {
                std::cout << fmt::format("download it with: {}\n",
                                         download_command(session, globals, token));
            } else {
                std::cout << fmt::format("{} downloads it with: {}\n", token.user,
                                         download_command(session, globals, token));
            }
        }
    });
}

} // namespace tokenctl::cli
