#include "cli/words.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace tokenctl::cli {

namespace {

constexpr std::string_view k_footer =
    R"(Exit status: 0 success, 1 operational failure or declined prompt, 2 usage or
invalid input, 3 permission denied, 4 not found, 5 conflict or state.
Environment: TOKENCTL_DB, TOKENCTL_USER, TOKENCTL_KEY_FILE, XDG_DATA_HOME,
XDG_CONFIG_HOME; on PostgreSQL also libpq's (PGUSER, PGPASSFILE, PGSSLMODE, ...).
Run `tokenctl help COMMAND` for a command's options; `man tokenctl` for more.
)";

struct Entry {
    std::string name;
    std::string description;
};

std::string option_name(const CLI::Option& option) {
    std::string name;
    for (const auto& s : option.get_snames()) {
        name += (name.empty() ? "-" : ", -") + s;
    }
    for (const auto& l : option.get_lnames()) {
        name += (name.empty() ? "--" : ", --") + l;
    }
    if (option.get_type_size_max() > 0) {
        name += " " + option.get_option_text();
    }
    return name;
}

std::string option_description(const CLI::Option& option) {
    std::string text = option.get_description();
    if (option.get_required()) {
        text += " (required)";
    } else if (!option.get_default_str().empty()) {
        text += fmt::format(" (default: {})", option.get_default_str());
    }
    return text;
}

void append_section(std::string& out, std::string_view title, const std::vector<Entry>& entries,
                    std::size_t width) {
    if (entries.empty()) {
        return;
    }
    out += fmt::format("\n{}:\n", title);
    for (const auto& e : entries) {
        out += fmt::format("  {:<{}}  {}\n", e.name, width, e.description);
    }
}

} // namespace

std::string help_text(const CLI::App& command) {
    const CLI::App* root = &command;
    while (root->get_parent() != nullptr) {
        root = root->get_parent();
    }
    bool top = &command == root;
    std::string path = command_path(command);

    std::vector<Entry> commands;
    for (const CLI::App* sub : command.get_subcommands({})) {
        if (!sub->get_group().empty()) {
            commands.push_back({sub->get_name(), sub->get_description()});
        }
    }
    std::vector<Entry> arguments;
    std::vector<Entry> options;
    std::string usage = "tokenctl" + path;
    std::string optional_part;
    for (const CLI::Option* option : command.get_options()) {
        if (option->get_group().empty() || option == command.get_help_ptr() ||
            (top && option->nonpositional())) {
            continue;
        }
        if (option->get_positional()) {
            std::string name = option->get_name(true);
            bool many = option->get_items_expected_max() > 1;
            arguments.push_back({name, option_description(*option)});
            usage += option->get_required() ? " " + name + (many ? "..." : "")
                                            : " [" + name + (many ? "..." : "") + "]";
        } else {
            options.push_back({option_name(*option), option_description(*option)});
            if (option->get_required()) {
                usage += " " + option_name(*option);
            } else {
                optional_part = " [OPTIONS]";
            }
        }
    }
    if (top) {
        usage += " [--db PATH] [--as NAME] COMMAND [OPTIONS]";
    } else if (!commands.empty()) {
        usage += " COMMAND [OPTIONS]";
    } else {
        usage += optional_part;
    }

    // --db and --as, which every command takes; --version only where it means something.
    std::vector<Entry> globals;
    const CLI::Option* version = nullptr;
    for (const CLI::Option* option : root->get_options()) {
        if (option->check_name("--version")) {
            version = option;
        } else if (option->nonpositional() && option != root->get_help_ptr()) {
            globals.push_back({option_name(*option), option->get_description()});
        }
    }
    globals.push_back({"-h, --help", "Show this help and exit"});
    if (top && version != nullptr) {
        globals.push_back({option_name(*version), version->get_description()});
    }

    std::size_t width = 0;
    for (const auto* list : {&commands, &arguments, &options, &globals}) {
        for (const auto& e : *list) {
            width = std::max(width, e.name.size());
        }
    }

    std::string out = fmt::format("Usage: {}\n\n{}.\n", usage, command.get_description());
    append_section(out, "Commands", commands, width);
    append_section(out, "Arguments", arguments, width);
    append_section(out, "Options", options, width);
    append_section(out, "Global options", globals, width);
    // run.cpp's table gives each command its examples as its footer.
    std::string footer = command.get_footer();
    if (!footer.empty()) {
        out += "\nExamples:\n";
        std::string_view text = footer;
        while (!text.empty()) {
            auto end = text.find('\n');
            out += fmt::format("  {}\n", text.substr(0, end));
            text.remove_prefix(end + 1);
        }
    }
    out += "\n";
    out += k_footer;
    return out;
}

} // namespace tokenctl::cli
