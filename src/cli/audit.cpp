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

void set_audit_command(CLI::App& cmd, Globals& globals) {
    auto opts = std::make_shared<AuditOptions>();
    cmd.add_option("--user", opts->request.user, "Only records of this acting user")
        ->option_text("NAME");
    cmd.add_option("--since", opts->request.since,
                   "Only records since TIME (RFC 3339, or a "
                   "duration back from now such as 24h)")
        ->option_text("TIME");
    cmd.add_option("--action", opts->request.action,
                   "Only records of this action (e.g. "
                   "revoke, download, user add)")
        ->option_text("NAME");
    add_format_option(&cmd, opts->format, {"table", "json", "csv", "tsv"}, "Output format");
    cmd.add_flag("--no-headers", opts->no_headers, "Leave out the header line");
    cmd.callback([&globals, opts] {
        Session session = open_session(globals, "audit");
        Format format = parse_format(opts->format);
        // No read transaction around it: the listing is one SELECT, consistent by itself,
        // and a refusal inside list_audit must be free to write its own audit record.
        write_listing<AuditEntry>(
            std::cout, format, !opts->no_headers, audit_columns(),
            [&](const auto& emit) { list_audit(session, opts->request, emit); });
    });
}

} // namespace tokenctl::cli
