#include "cli/common.h"

#include <iostream>

namespace tokenctl::cli {

namespace {

struct DownloadOptions {
    std::string token_id;
    std::string format;
    std::optional<std::string> output;
    bool force = false;
};

using Make = TokenFile (*)(Session&, const std::string&, const Delivery&);

void declare(CLI::App* cmd, Globals& globals, CommandId command_id, Make make) {
    auto opts = std::make_shared<DownloadOptions>();
    globals.complete(cmd->add_option("TOKEN_ID", opts->token_id, "The token's ID")->required(),
                     NameSet::own_tokens);
    add_format_option(cmd, globals, opts->format, {"json", "access-token", "refresh-token"},
                      "What to write: the token file, or one secret alone");
    globals.complete_files(cmd->add_option("-o,--output", opts->output,
                                           "Write to FILE (atomically, mode 0600) instead of "
                                           "standard output (- is standard output)")
                               ->option_text("FILE"));
    cmd->add_flag("--force", opts->force, "Replace an existing FILE");
    cmd->callback([&globals, opts, command_id, make] {
        Session session = open_session(globals, command_id);
        Delivery delivery =
            delivery_to(parse_secret_format(opts->format), opts->output, opts->force);
        TokenFile file = make(session, opts->token_id, delivery);
        deliver(file, delivery, std::cout);
    });
}

} // namespace

void set_download_command(CLI::App& command, Globals& globals, CommandId command_id) {
    declare(&command, globals, command_id, &download_token);
}

void set_refresh_command(CLI::App& command, Globals& globals, CommandId command_id) {
    declare(&command, globals, command_id, &refresh_token);
}

} // namespace tokenctl::cli
