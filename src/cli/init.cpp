#include "cli/common.h"

#include <iostream>

namespace tokenctl::cli {

void set_init_command(CLI::App& cmd, Globals& globals) {
    auto admin = std::make_shared<std::optional<std::string>>();
    cmd.add_option("--admin", *admin,
                   "Name of the first administrator (default: the acting "
                   "user)")
        ->option_text("NAME");
    cmd.callback([&globals, admin] {
        Paths paths = resolve_paths(globals.db);
        std::string name = admin->has_value() ? **admin : resolve_acting_name(globals.as);
        init_database(paths, name);
        std::cout << "created database " << paths.db.text << '\n'
                  << "created key file " << paths.key.string()
                  << " (keep it private; back it up with the database)\n"
                  << "administrator: " << name << '\n';
    });
}

} // namespace tokenctl::cli
