#include "cli/common.h"

#include <iostream>

namespace tokenctl::cli {

namespace {

struct WhoamiOptions {
    std::string format;
    bool no_headers = false;
};

} // namespace

void set_whoami_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<WhoamiOptions>();
    add_format_option(&cmd, globals, opts->format, {"table", "json", "csv", "tsv"},
                      "Output format");
    cmd.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    cmd.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        UserRow row = acting_user_row(session);
        auto columns = user_columns(!row.registry.empty());
        if (opts->format == "json") {
            // One user: one object, not an array (`whoami --format json | jq -r .role`).
            write_json_object(std::cout, specs_of(columns), fields_of(columns, row));
            return;
        }
        print_listing(opts->format, !opts->no_headers,
                      columns)([&](const auto& emit) { emit(row); });
    });
}

} // namespace tokenctl::cli
