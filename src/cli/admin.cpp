#include "cli/common.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <iostream>

namespace tokenctl::cli {

namespace {

struct AdminOptions {
    std::string dest;
    bool force = false;
    bool yes = false;
};

} // namespace

void set_rekey_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AdminOptions>();
    cmd.add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    cmd.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        if (!opts->yes) {
            std::int64_t count = plan_rekey(session);
            if (!confirm(fmt::format("Generate a new key and re-seal the secrets of {}?",
                                     count_of(static_cast<std::size_t>(count), "token")))) {
                throw Error(Status::failure, "not confirmed; the key was not changed");
            }
        }
        std::int64_t count = rekey(session);
        committed(fmt::format("the key was rotated ({} re-sealed; key file {})",
                              count_of(static_cast<std::size_t>(count), "token"),
                              session.paths().key.string()));
        std::cout << fmt::format("re-sealed {} under a new key; key file {}\n",
                                 count_of(static_cast<std::size_t>(count), "token"),
                                 session.paths().key.string());
    });
}

void set_backup_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<AdminOptions>();
    globals.complete_files(
        cmd.add_option("DEST", opts->dest, "Where to write the copy; its key file goes to DEST.key")
            ->required());
    cmd.add_flag("--force", opts->force, "Replace an existing DEST and DEST.key");
    cmd.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
        backup_registry(session, opts->dest, opts->force);
        committed(fmt::format("the backup {} and its key file {}.key were written", opts->dest,
                              opts->dest));
        std::cout << fmt::format("wrote {} and {}.key\n", opts->dest, opts->dest);
    });
}

void set_migrate_command(CLI::App& cmd, Globals& globals, CommandId /*command_id*/) {
    cmd.callback([&globals] {
        auto [from, to] =
            migrate_registry(registry_paths(globals), claimed_acting_name(globals.as));
        if (from != to) {
            committed(fmt::format("the schema was upgraded from version {} to {}", from, to));
        }
        if (from == to) {
            std::cout << fmt::format("schema version {}: up to date\n", to);
        } else {
            std::cout << fmt::format("upgraded the schema from version {} to {}\n", from, to);
        }
    });
}

void set_check_command(CLI::App& cmd, Globals& globals, CommandId /*command_id*/) {
    cmd.callback([&globals] {
        Paths paths = registry_paths(globals);
        auto acting = claimed_acting_name(globals.as);
        std::size_t problems = 0;
        std::size_t skipped = 0;
        auto lines = check_registry(paths, acting);
        for (const CheckLine& line : lines) {
            if (!line.skipped.empty()) {
                ++skipped;
                std::cout << fmt::format("skipped {}: {}\n", line.name,
                                         escape_controls(line.skipped));
                continue;
            }
            if (line.problem.empty()) {
                std::cout << fmt::format("ok {}\n", line.name);
                continue;
            }
            ++problems;
            // What a damaged file says may hold anything: one line, shown as it is stored.
            std::cout << fmt::format(
                "problem {}: {}{}\n", line.name, escape_controls(line.problem),
                line.hint.empty() ? "" : fmt::format(" (hint: {})", escape_controls(line.hint)));
        }
        if (problems > 0) {
            throw Error(Status::failure, fmt::format("{} of {} checks found a problem", problems,
                                                     lines.size() - skipped));
        }
    });
}

} // namespace tokenctl::cli
