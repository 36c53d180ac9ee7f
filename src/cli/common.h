#pragma once

#include <tokenctl/commands.h>
#include <tokenctl/format.h>
#include <tokenctl/session.h>

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenctl::cli {

// The options every command takes (--db, --as).
struct Globals {
    std::optional<std::string> db;
    std::optional<std::string> as;
};

// Opens the database for `command` (its audit action name) as the acting user.
Session open_session(const Globals& globals, std::string command);

// Where -o sends a token file: standard output for `-o -` or no -o (a delivery without
// output), else FILE, never over the session's registry files.
Delivery delivery_to(const Session& session, SecretFormat format,
                     const std::optional<std::string>& output, bool force);

// Adds --format with `choices`, the first being the default.
CLI::Option* add_format_option(CLI::App* app, std::string& target, std::vector<std::string> choices,
                               std::string_view what);

// Shows `details`, asks `question` on the terminal and returns the answer (true only for
// y or yes). Without a terminal on standard input it throws Error(usage) naming --yes.
bool confirm(const std::string& question, const std::string& details = {});

// Records what the running command has committed, for the error line should writing its
// output fail afterwards ("token 3af8… was created; get its file with …").
void committed(std::string what);
// What committed() recorded, or "".
const std::string& committed_note();

// A note on standard error: `tokenctl: note: …`.
void note(std::string_view message);

// A sink that writes a listing of `Row`s to standard output in `format` (checked now).
template <class Row>
ListingSink<Row> print_listing(std::string_view format, bool headers,
                               std::span<const Column<Row>> columns) {
    return [format = parse_format(format), headers, columns](const RowStream<Row>& rows) {
        write_listing<Row>(std::cout, format, headers, columns, rows);
    };
}

// One command's set-up: declares the options (and subcommands) of `command`, already
// named and described by app.cpp's table, and the callback that runs it.
void set_init_command(CLI::App& command, Globals& globals);
void set_user_command(CLI::App& command, Globals& globals);
void set_add_app_command(CLI::App& command, Globals& globals);
void set_list_command(CLI::App& command, Globals& globals);
void set_system_list_command(CLI::App& command, Globals& globals);
void set_revoke_command(CLI::App& command, Globals& globals);
void set_download_command(CLI::App& command, Globals& globals);
void set_refresh_command(CLI::App& command, Globals& globals);
void set_verify_command(CLI::App& command, Globals& globals);
void set_audit_command(CLI::App& command, Globals& globals);
void set_whoami_command(CLI::App& command, Globals& globals);
void set_app_command(CLI::App& command, Globals& globals);
void set_backup_command(CLI::App& command, Globals& globals);
void set_rekey_command(CLI::App& command, Globals& globals);
void set_check_command(CLI::App& command, Globals& globals);

} // namespace tokenctl::cli
