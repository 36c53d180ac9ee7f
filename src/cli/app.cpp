#include "cli/app.h"
#include "cli/common.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include "version.h"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

namespace tokenctl::cli {

namespace {

constexpr std::string_view k_footer =
    R"(Exit status: 0 success, 1 operational failure or declined prompt, 2 usage or
invalid input, 3 permission denied, 4 not found, 5 conflict or state.
Environment: TOKENCTL_DB, TOKENCTL_USER, TOKENCTL_KEY_FILE, XDG_DATA_HOME.
Run `tokenctl COMMAND --help` for a command's options; `man tokenctl` for more.)";

// A command of tokenctl: its name and summary are declared at start-up, its options,
// subcommands and callback by `declare` only when it is the command being parsed.
struct Command {
    std::string_view name;
    std::string_view summary;
    void (*declare)(CLI::App& command, Globals& globals);
};

// The commands, in the order --help lists them. Declaring every command's options at
// start-up cost a quarter of the instructions of a whole `tokenctl list`.
constexpr std::array k_commands{
    Command{"init", "Create the database, its key file and the first administrator",
            &set_init_command},
    Command{"user", "Manage users (administrators only)", &set_user_command},
    Command{"add-app", "Create an application if needed and generate a token for it",
            &set_add_app_command},
    Command{"app", "List applications, or remove one and revoke its tokens", &set_app_command},
    Command{"list", "List your tokens (My Apps & Tokens)", &set_list_command},
    Command{"system-list", "List every user's tokens (System Apps & Tokens; administrators only)",
            &set_system_list_command},
    Command{"revoke", "Revoke tokens by ID, or every active token matching --user/--app",
            &set_revoke_command},
    Command{"download", "Write your token's file (Central's JSON layout) or one of its secrets",
            &set_download_command},
    Command{"refresh", "Rotate both secrets of your token and write the new token file",
            &set_refresh_command},
    Command{"verify", "Check an access token read from standard input", &set_verify_command},
    Command{"audit", "Show the audit log (administrators only)", &set_audit_command},
    Command{"whoami", "Show the acting user and their role", &set_whoami_command},
    Command{"backup", "Copy the database and its key file (administrators only)",
            &set_backup_command},
    Command{"rekey", "Rotate the key that encrypts the stored secrets (administrators only)",
            &set_rekey_command},
    Command{"check", "Check the registry's health: integrity, key file, modes, administrators",
            &set_check_command},
};

void print_error(std::string_view message, std::string_view hint) {
    std::string text =
        fmt::format("tokenctl: error: {}\n", escape_controls(redact_secrets(message)));
    if (!hint.empty()) {
        text += fmt::format("hint: {}\n", escape_controls(redact_secrets(hint)));
    }
    std::cerr << text << std::flush;
}

// Edit distance counting a swap of two neighbours as one edit (optimal string
// alignment), for "did you mean" on a mistyped command: `lsit` is one edit from `list`.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// The nearest of `scope`'s subcommands to a mistyped `word`, or "" if none is close.
std::string nearest_command(const CLI::App& scope, std::string_view word) {
    std::string best;
    std::size_t best_distance = 3;
    for (const CLI::App* sub : scope.get_subcommands({})) {
        std::size_t d = edit_distance(word, sub->get_name());
        if (d < best_distance) {
            best_distance = d;
            best = sub->get_name();
        }
    }
    return best;
}

// The first word of `args` that names no subcommand where one is expected, as in
// `tokenctl lsit` or `tokenctl user ad`. Options and the values of --db/--as are skipped.
std::optional<std::string> unknown_command(const CLI::App& app,
                                           const std::vector<std::string>& args) {
    const CLI::App* scope = &app;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--db" || arg == "--as") {
            ++i;
            continue;
        }
        if (arg.starts_with('-')) {
            continue;
        }
        if (scope->get_subcommands({}).empty()) {
            return std::nullopt;
        }
        const CLI::App* sub = nullptr;
        for (const CLI::App* candidate : scope->get_subcommands({})) {
            if (candidate->get_name() == arg) {
                sub = candidate;
            }
        }
        if (sub == nullptr) {
            return arg;
        }
        scope = sub;
    }
    return std::nullopt;
}

// The path of `scope` below tokenctl, e.g. " user add".
std::string command_path(const CLI::App* scope) {
    std::string path;
    for (const CLI::App* a = scope; a != nullptr && a->get_parent() != nullptr;
         a = a->get_parent()) {
        path = " " + a->get_name() + path;
    }
    return path;
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
    // Secrets and the key live in this process's memory: no core dump may hold them.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::ios::sync_with_stdio(false);

    CLI::App app{"Manage API applications and their access tokens on a local SQLite database.",
                 "tokenctl"};
    app.footer(std::string(k_footer));
    app.set_version_flag("--version", std::string("tokenctl ") + TOKENCTL_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.option_defaults()->always_capture_default(false);

    Globals globals;
    app.add_option("--db", globals.db,
                   "Database file (default: TOKENCTL_DB, else "
                   "$XDG_DATA_HOME/tokenctl/tokens.db)")
        ->option_text("PATH");
    app.add_option("--as", globals.as,
                   "Acting user (default: TOKENCTL_USER, else your login "
                   "name)")
        ->option_text("NAME");

    for (const Command& command : k_commands) {
        CLI::App* sub = app.add_subcommand(std::string(command.name), std::string(command.summary));
        // CLI11 calls this when `sub` is named on the command line, before parsing its
        // arguments: only then are its options declared.
        sub->preparse_callback(
            [sub, &globals, declare = command.declare](std::size_t) { declare(*sub, globals); });
    }

    try {
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            std::cout << app.help();
            return 0;
        } catch (const CLI::CallForVersion& e) {
            std::cout << e.what() << '\n';
            return 0;
        } catch (const CLI::ParseError& e) {
            if (e.get_name() == "CallForHelp") {
                return 0;
            }
            std::vector<std::string> args(argv + 1, argv + argc);
            const CLI::App* scope = deepest_parsed(app);
            if (auto word = unknown_command(app, args)) {
                const CLI::App& parent = scope != nullptr ? *scope : app;
                std::string nearest = nearest_command(parent, *word);
                print_error(fmt::format("unknown command {}", printable(*word)),
                            nearest.empty()
                                ? fmt::format("run `tokenctl{} --help` for the commands",
                                              command_path(&parent))
                                : fmt::format("did you mean `{}`?", nearest));
            } else {
                print_error(e.what(),
                            fmt::format("run `tokenctl{} --help` for usage", command_path(scope)));
            }
            return static_cast<int>(Status::usage);
        }
        errno = 0;
        std::cout.flush();
        if (!std::cout) {
            int err = errno;
            std::string message = "cannot write to standard output";
            if (err != 0) {
                message += fmt::format(": {}", std::strerror(err));
            }
            if (!committed_note().empty()) {
                message += "; " + committed_note();
            }
            throw Error(Status::failure, message);
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
