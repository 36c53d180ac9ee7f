#include "cli/common.h"

#include <iostream>

namespace tokenctl::cli {

namespace {

struct AuditOptions {
    AuditRequest request;
    std::string format;
    bool no_headers = false;
};

} // namespace

void set_audit_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AuditOptions>();
    globals.complete(
        cmd.add_option("--user", opts->request.user, "Only records of this acting user")
            ->option_text("NAME"),
        NameSet::users);
    globals.complete(cmd.add_option("--subject", opts->request.subject,
                                    "Only records about this user or application (what was "
                                    "done to it or to its tokens, by anyone)")
                         ->option_text("NAME"),
                     NameSet::users);
    cmd.add_option("--since", opts->request.since,
                   "Only records since TIME (RFC 3339, or a "
                   "duration back from now such as 24h)")
        ->option_text("TIME");
    globals.complete(
        cmd.add_option("--action", opts->request.action,
                       "Only records of this action (e.g. revoke, download, "
                       "user add)")
            ->option_text("ACTION"),
        ValueSpec{ValueSpec::Kind::choices, {audit_actions().begin(), audit_actions().end()}, {}});
    add_format_option(&cmd, globals, opts->format, {"table", "json", "csv", "tsv"},
                      "Output format");
    cmd.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    cmd.callback([&globals, opts, command_id] {
        auto print = print_listing(opts->format, !opts->no_headers, audit_columns());
        Session session = open_session(globals, command_id);
        list_audit(session, opts->request, print);
    });
}

} // namespace tokenctl::cli
