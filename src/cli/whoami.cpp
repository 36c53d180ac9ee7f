#include "cli/common.h"

#include <iostream>

namespace tokenctl::cli {

namespace {

struct WhoamiOptions {
    std::string format;
    bool no_headers = false;
};

} // namespace

void set_whoami_command(CLI::App& cmd, Globals& globals) {
    auto opts = std::make_shared<WhoamiOptions>();
    add_format_option(&cmd, opts->format, {"table", "json", "csv", "tsv"}, "Output format");
    cmd.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    cmd.callback([&globals, opts] {
        Session session = open_session(globals, "whoami");
        UserRow row = acting_user_row(session);
        print_listing(opts->format, !opts->no_headers,
                      user_columns())([&](const auto& emit) { emit(row); });
    });
}

} // namespace tokenctl::cli
