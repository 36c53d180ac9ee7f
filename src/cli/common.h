#pragma once

#include <tokenctl/command_table.h>
#include <tokenctl/commands.h>
#include <tokenctl/format.h>
#include <tokenctl/session.h>

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenctl::cli {

// What completes the value of an option or of a positional argument.
struct ValueSpec {
    enum class Kind { none, files, choices, names, commands };
    Kind kind = Kind::none;
    std::vector<std::string> choices; // Kind::choices
    NameSet names{};                  // Kind::names: asked of the database
                                      // Kind::commands: tokenctl's, as `help` takes them
};

// The options every command takes (--db, --as), and how the value of each declared option
// completes (`tokenctl __complete`).
struct Globals {
    std::optional<std::string> db;
    std::optional<std::string> as;
    std::map<const CLI::Option*, ValueSpec> values;

    // Records how `option`'s value completes; returns `option`.
    CLI::Option* complete(CLI::Option* option, ValueSpec spec);
    CLI::Option* complete(CLI::Option* option, NameSet names) {
        return complete(option, ValueSpec{ValueSpec::Kind::names, {}, names});
    }
    CLI::Option* complete_files(CLI::Option* option) {
        return complete(option, ValueSpec{ValueSpec::Kind::files, {}, {}});
    }
};

// Where the registry and its key file are (--db, the environment), with a warning on
// standard error where the location deserves one (Location::warning).
Paths registry_paths(const Globals& globals);

// Opens the database for `command` as the acting user.
Session open_session(const Globals& globals, CommandId command);

// Where -o sends a token file: standard output for `-o -` or no -o (a delivery without
// output), else FILE (the core refuses the registry's own files).
Delivery delivery_to(SecretFormat format, const std::optional<std::string>& output, bool force);

// Adds an option (or, for a NAME without dashes, a positional argument) whose value is one
// of `choices`; a value outside them is a usage error that names them.
CLI::Option* add_choice_option(CLI::App* app, Globals& globals, const std::string& name,
                               std::string& target, std::vector<std::string> choices,
                               const std::string& description);
// Adds --format with `choices`, the first being the default.
CLI::Option* add_format_option(CLI::App* app, Globals& globals, std::string& target,
                               std::vector<std::string> choices, std::string_view what);

// Shows `details`, asks `question` on the terminal and returns the answer (true only for
// y or yes). Without a terminal on standard input it throws Error(usage) naming --yes.
bool confirm(const std::string& question, const std::string& details = {});

// Records what the running command has committed, for the error line should writing its
// output fail afterwards ("token 3af8… was created; get its file with …").
void committed(std::string what);
// What committed() recorded, or "".
const std::string& committed_note();

// "1 token", "2 tokens": `count` and `noun`, plural unless the count is one.
std::string count_of(std::size_t count, std::string_view noun);

// `word` as one word of a POSIX shell: unchanged when it holds only characters no shell
// treats specially, else in single quotes.
std::string shell_quote(std::string_view word);

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

// One command's set-up: declares the options of `command`, already named and described by
// run.cpp's table (which adds its subcommands after it), and the callback that runs it as
// `id`.
void set_init_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_user_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_user_add_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_user_list_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_user_set_role_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_user_remove_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_add_app_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_app_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_app_list_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_app_remove_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_app_show_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_app_secret_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_app_rotate_secret_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_list_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_system_list_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_revoke_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_download_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_refresh_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_verify_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_audit_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_whoami_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_backup_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_rekey_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_check_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_migrate_command(CLI::App& command, Globals& globals, CommandId command_id);
void set_help_command(CLI::App& command, Globals& globals, CommandId command_id);

} // namespace tokenctl::cli
