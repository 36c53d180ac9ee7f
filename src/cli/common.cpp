#include "cli/common.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <unistd.h>

namespace tokenctl::cli {

Session open_session(const Globals& globals, CommandId command) {
    Paths paths = registry_paths(globals);
    auto acting = claimed_acting_name(globals.as);
    return Session(paths, acting, command);
}

Paths registry_paths(const Globals& globals) {
    Paths paths = resolve_paths(globals.db);
    if (auto warning = paths.db.warning(); !warning.empty()) {
        std::cerr << "tokenctl: warning: " << warning << '\n';
    }
    return paths;
}

Delivery delivery_to(SecretFormat format, const std::optional<std::string>& output, bool force) {
    Delivery delivery{format, std::nullopt, force};
    if (output && *output != "-") {
        delivery.output = *output;
    }
    return delivery;
}

CLI::Option* Globals::complete(CLI::Option* option, ValueSpec spec) {
    values[option] = std::move(spec);
    return option;
}

CLI::Option* add_choice_option(CLI::App* app, Globals& globals, const std::string& name,
                               std::string& target, std::vector<std::string> choices,
                               const std::string& description) {
    auto check = [choices](const std::string& value) -> std::string {
        if (std::find(choices.begin(), choices.end(), value) != choices.end()) {
            return {};
        }
        return fmt::format("{} is not one of {}", printable(value), fmt::join(choices, ", "));
    };
    CLI::Option* option = app->add_option(name, target, description)->check(check, "");
    return globals.complete(option, ValueSpec{ValueSpec::Kind::choices, std::move(choices), {}});
}

CLI::Option* add_format_option(CLI::App* app, Globals& globals, std::string& target,
                               std::vector<std::string> choices, std::string_view what) {
    target = choices.front();
    std::string description = fmt::format("{}: {}", what, fmt::join(choices, ", "));
    return add_choice_option(app, globals, "--format", target, std::move(choices), description)
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

std::string count_of(std::size_t count, std::string_view noun) {
    return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

std::string shell_quote(std::string_view word) {
    constexpr std::string_view k_plain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789@%+=:,./_-";
    if (!word.empty() && word.find_first_not_of(k_plain) == std::string_view::npos) {
        return std::string(word);
    }
    std::string quoted = "'";
    for (char c : word) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

void note(std::string_view message) {
    std::cerr << "tokenctl: note: " << message << '\n';
}

} // namespace tokenctl::cli
