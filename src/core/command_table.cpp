#include <tokenctl/command_table.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

namespace tokenctl {

namespace {

constexpr bool indexed_by_id() {
    for (std::size_t i = 0; i < k_command_table.size(); ++i) {
        const CommandIdentity& command = k_command_table[i];
        if (static_cast<std::size_t>(command.id) != i ||
            static_cast<std::size_t>(command.parent) > i) {
            return false;
        }
    }
    return true;
}
static_assert(indexed_by_id(), "k_command_table: one row per CommandId, in order, "
                               "each subcommand after the command it belongs to");

} // namespace

std::string command_path(CommandId id) {
    const CommandIdentity& command = command_identity(id);
    if (command.parent == id) {
        return std::string(command.name);
    }
    return command_path(command.parent) + " " + std::string(command.name);
}

CommandId command_by_path(std::string_view path) {
    for (const CommandIdentity& command : k_command_table) {
        if (command_path(command.id) == path) {
            return command.id;
        }
    }
    throw Error(Status::usage, fmt::format("unknown command {}", printable(path)));
}

} // namespace tokenctl
