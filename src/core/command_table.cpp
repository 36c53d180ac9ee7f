#include <tokenctl/command_table.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

namespace tokenctl {

namespace {

constexpr bool parents_first() {
    for (const CommandIdentity& command : k_command_table) {
        if (command.parent > command.id) {
            return false;
        }
    }
    return true;
}
static_assert(indexed_by_command_id(k_command_table), "k_command_table: one row per CommandId");
static_assert(parents_first(), "k_command_table: a subcommand after the command it belongs to");

} // namespace

std::string command_path(CommandId id) {
    const CommandIdentity& command = command_identity(id);
    if (command.parent == id) {
        return std::string(command.name);
    }
    return command_path(command.parent) + " " + std::string(command.name);
}

} // namespace tokenctl
