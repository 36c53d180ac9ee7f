#include "cli/common.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <unistd.h>

namespace tokenctl::cli {

Session open_session(const Globals& globals, std::string command) {
    Paths paths = resolve_paths(globals.db);
    std::string acting = resolve_acting_name(globals.as);
    return Session(paths, acting, std::move(command));
}

Delivery delivery_to(const Session& session, SecretFormat format,
                     const std::optional<std::string>& output, bool force) {
    Delivery delivery{format, std::nullopt, force, registry_files(session.paths())};
    if (output && *output != "-") {
        delivery.output = *output;
    }
    return delivery;
}

CLI::Option* add_format_option(CLI::App* app, std::string& target, std::vector<std::string> choices,
                               std::string_view what) {
    target = choices.front();
    std::string description = fmt::format("{}: {}", what, fmt::join(choices, ", "));
    return app->add_option("--format", target, description)
        ->check(CLI::IsMember(choices))
        ->option_text("FORMAT")
        ->capture_default_str();
}

bool confirm(const std::string& question, const std::string& details) {
    if (::isatty(STDIN_FILENO) == 0) {
        throw Error(Status::usage, "confirmation needed, and standard input is not a terminal",
                    "pass --yes to confirm");
    }
    std::cerr << details << question << " [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        std::cerr << '\n';
        return false;
    }
    return iequals(answer, "y") || iequals(answer, "yes");
}

namespace {
std::string g_committed;
} // namespace

void committed(std::string what) {
    g_committed = std::move(what);
}

const std::string& committed_note() {
    return g_committed;
}

void note(std::string_view message) {
    std::cerr << "tokenctl: note: " << message << '\n';
}

} // namespace tokenctl::cli
