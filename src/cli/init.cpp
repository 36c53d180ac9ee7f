#include "cli/common.h"

#include <fmt/format.h>

#include <iostream>

namespace tokenctl::cli {

void set_init_command(CLI::App& cmd, Globals& globals, CommandId /*command_id*/) {
    auto admin = std::make_shared<std::optional<std::string>>();
    cmd.add_option("--admin", *admin,
                   "Name of the first administrator (default: the acting "
                   "user)")
        ->option_text("NAME");
    cmd.callback([&globals, admin] {
        Paths paths = registry_paths(globals);
        InitResult made =
            init_database(paths, admin->has_value() ? *admin : claimed_acting_name(globals.as));
        committed(fmt::format("{} {} was created with key file {} and administrator {}",
                              made.registry_id ? "registry" : "database",
                              made.registry_id ? *made.registry_id : paths.db.text,
                              made.key.string(), made.admin));
        if (made.registry_id) {
            std::cout << "created registry " << *made.registry_id << " in " << paths.db.text
                      << '\n';
        } else {
            std::cout << "created database " << paths.db.text << '\n';
        }
        std::cout << "created key file " << made.key.string()
                  << " (keep it private; back it up with the database)\n"
                  << "administrator: " << made.admin << '\n';
    });
}

} // namespace tokenctl::cli
