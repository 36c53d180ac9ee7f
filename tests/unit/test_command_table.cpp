#include <tokenctl/command_table.h>
#include <tokenctl/commands.h>
#include <tokenctl/error.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tokenctl;

TEST_CASE("a subcommand's path names the command it belongs to") {
    CHECK(command_path(CommandId::add_app) == "add-app");
    CHECK(command_path(CommandId::user_set_role) == "user set-role");
    CHECK(command_path(CommandId::app_remove) == "app remove");
    for (const CommandIdentity& command : k_command_table) {
        CHECK(command_path(command.id).ends_with(command.name));
    }
}

TEST_CASE("the audit actions are the audited commands and refresh-reuse, in alphabetical order") {
    auto actions = audit_actions();
    CHECK(
        std::vector<std::string>(actions.begin(), actions.end()) ==
        std::vector<std::string>{"add-app",     "app list",      "app remove", "app rotate-secret",
                                 "app show",    "audit",         "backup",     "check",
                                 "download",    "init",          "list",       "migrate",
                                 "refresh",     "refresh-reuse", "rekey",      "revoke",
                                 "serve",       "system-list",   "user add",   "user list",
                                 "user remove", "user set-role", "verify",     "whoami"});
}
