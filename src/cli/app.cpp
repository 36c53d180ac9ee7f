#include "cli/app.h"
#include "cli/common.h"

#include <tokenctl/error.h>

#include "version.h"

#include <fmt/format.h>

#include <iostream>
#include <sys/stat.h>

namespace tokenctl::cli {

namespace {

constexpr std::string_view k_footer = R"(Exit status: 0 success, 1 operational failure or declined prompt, 2 usage or
invalid input, 3 permission denied, 4 not found, 5 conflict or state.
Environment: TOKENCTL_DB, TOKENCTL_USER, TOKENCTL_KEY_FILE, XDG_DATA_HOME.
Run `tokenctl COMMAND --help` for a command's options; `man tokenctl` for more.)";

void print_error(std::string_view message, std::string_view hint) {
    std::string text = fmt::format("tokenctl: error: {}\n", message);
    if (!hint.empty()) {
        text += fmt::format("hint: {}\n", hint);
    }
    std::cerr << text << std::flush;
}

// Levenshtein distance, for "did you mean" on a mistyped command.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// A hint for a parse error: the nearest command to a mistyped one, or where help is.
std::string hint_for(const CLI::App& app, const CLI::App* failed, const CLI::ParseError& e,
                     const std::vector<std::string>& args) {
    const CLI::App* scope = failed != nullptr ? failed : &app;
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
        for (const auto& arg : args) {
            if (arg.starts_with('-')) {
                continue;
            }
            std::string best;
            std::size_t best_distance = 3;
            for (const CLI::App* sub : scope->get_subcommands({})) {
                std::size_t d = edit_distance(arg, sub->get_name());
                if (d < best_distance) {
                    best_distance = d;
                    best = sub->get_name();
                }
            }
            if (!best.empty()) {
                return fmt::format("did you mean `{}`?", best);
            }
            break;
        }
    }
    std::string path;
    for (const CLI::App* a = scope; a != nullptr && a->get_parent() != nullptr; a = a->get_parent()) {
        path = " " + a->get_name() + path;
    }
    return fmt::format("run `tokenctl{} --help` for usage", path);
}

// The deepest subcommand that was named on the command line.
const CLI::App* deepest_parsed(const CLI::App& app) {
    for (const CLI::App* sub : app.get_subcommands()) {
        return deepest_parsed(*sub) != nullptr ? deepest_parsed(*sub) : sub;
    }
    return nullptr;
}

} // namespace

int run(int argc, char** argv) {
    // Every file tokenctl creates is private, whatever the caller's umask.
    ::umask(077);
    std::ios::sync_with_stdio(false);

    CLI::App app{"Manage API applications and their access tokens on a local SQLite database.",
                 "tokenctl"};
    app.footer(std::string(k_footer));
    app.set_version_flag("--version", std::string("tokenctl ") + TOKENCTL_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.option_defaults()->always_capture_default(false);

    Globals globals;
    app.add_option("--db", globals.db, "Database file (default: TOKENCTL_DB, else "
                                       "$XDG_DATA_HOME/tokenctl/tokens.db)")
        ->option_text("PATH");
    app.add_option("--as", globals.as, "Acting user (default: TOKENCTL_USER, else your login "
                                       "name)")
        ->option_text("NAME");

    set_init_command(app, globals);
    set_user_command(app, globals);
    set_add_app_command(app, globals);
    set_list_commands(app, globals);
    set_revoke_command(app, globals);
    set_download_commands(app, globals);
    set_verify_command(app, globals);
    set_audit_command(app, globals);

    try {
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            std::cout << app.help();
            return 0;
        } catch (const CLI::CallForAllHelp&) {
            std::cout << app.help("", CLI::AppFormatMode::All);
            return 0;
        } catch (const CLI::CallForVersion& e) {
            std::cout << e.what() << '\n';
            return 0;
        } catch (const CLI::ParseError& e) {
            if (e.get_name() == "CallForHelp") {
                return 0;
            }
            std::vector<std::string> args(argv + 1, argv + argc);
            print_error(e.what(), hint_for(app, deepest_parsed(app), e, args));
            return static_cast<int>(Status::usage);
        }
        std::cout.flush();
        if (!std::cout) {
            throw Error(Status::failure, "cannot write to standard output");
        }
        return 0;
    } catch (const Error& e) {
        std::cout.flush();
        print_error(e.what(), e.hint());
        return static_cast<int>(e.status());
    } catch (const std::exception& e) {
        print_error(fmt::format("unexpected failure: {}", e.what()), {});
        return static_cast<int>(Status::failure);
    }
}

} // namespace tokenctl::cli
