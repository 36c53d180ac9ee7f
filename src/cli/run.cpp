#include "cli/run.h"
#include "cli/common.h"
#include "cli/words.h"

#include <tokenctl/command_table.h>
#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include "version.h"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <streambuf>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl::cli {

namespace {

// What the front end adds to a command of k_command_table: its summary, a few command
// lines for its help, and its set_<cmd>_command(), which declares its options and callback
// at start-up (so that help, parse errors and completion see the whole tree).
struct Command {
    CommandId id;
    std::string_view summary;
    std::string_view examples;
    void (*declare)(CLI::App& command, Globals& globals, CommandId command_id);
};

// The commands, indexed by CommandId (include/tokenctl/command_table.h, which names them).
constexpr std::array k_commands{
    Command{CommandId::init, "Create the database, its key file and the first administrator",
            "tokenctl init --admin admin@example.com\n"
            "tokenctl --db /srv/tokenctl/tokens.db init\n"
            "PGUSER=owner tokenctl --db 'postgresql://db.example.com/tokens?sslmode=verify-full' "
            "init\n",
            &set_init_command},
    Command{CommandId::user, "Manage users (administrators only)",
            "tokenctl user add dev@example.com\n"
            "tokenctl user list --format json\n"
            "tokenctl user set-role ops@example.com admin\n"
            "tokenctl user remove dev@example.com --yes\n",
            &set_user_command},
    Command{CommandId::user_add, "Add a user",
            "tokenctl user add dev@example.com\n"
            "tokenctl user add ops@example.com --role admin\n",
            &set_user_add_command},
    Command{CommandId::user_list, "List users with their roles and active tokens",
            "tokenctl user list\n"
            "tokenctl user list --format csv --no-headers\n",
            &set_user_list_command},
    Command{CommandId::user_set_role, "Change a user's role",
            "tokenctl user set-role ops@example.com admin\n"
            "tokenctl user set-role ops@example.com user\n",
            &set_user_set_role_command},
    Command{CommandId::user_remove, "Remove a user and revoke their tokens",
            "tokenctl user remove dev@example.com\n"
            "tokenctl user remove dev@example.com --yes   # in a script: no prompt\n",
            &set_user_remove_command},
    Command{CommandId::add_app, "Create an application if needed and generate a token for it",
            "tokenctl add-app --redirect-uri https://ops.example.com/callback\n"
            "tokenctl add-app --name ci-pipeline --redirect-uri https://ci.example.com/cb \\\n"
            "    --access-ttl 90m --refresh-ttl 30d -q\n"
            "tokenctl add-app --for dev@example.com --redirect-uri https://ci.example.com/cb\n",
            &set_add_app_command},
    Command{CommandId::app,
            "List, show or remove applications; read or rotate their client secrets",
            "tokenctl app list\n"
            "tokenctl app secret ci-pipeline\n"
            "tokenctl app remove ci-pipeline --yes\n",
            &set_app_command},
    Command{CommandId::app_list,
            "List applications with their client IDs and active tokens (Central's table)",
            "tokenctl app list\n"
            "tokenctl app list --all --format json\n",
            &set_app_list_command},
    Command{CommandId::app_remove,
            "Remove an application and revoke its active tokens (they stay in history)",
            "tokenctl app remove ci-pipeline\n"
            "tokenctl app remove ci-pipeline --yes   # in a script: no prompt\n",
            &set_app_remove_command},
    Command{CommandId::app_show, "Show one application as app list does, with its client ID",
            "tokenctl app show ci-pipeline\n"
            "tokenctl app show ci-pipeline --format json\n",
            &set_app_show_command},
    Command{CommandId::app_secret,
            "Print an application's client secret (administrators, its creator, its token "
            "holders)",
            "tokenctl app secret ci-pipeline\n"
            "tokenctl app secret ci-pipeline -o client-secret.txt\n",
            &set_app_secret_command},
    Command{CommandId::app_rotate_secret,
            "Give an application a new client secret; the old one stops working at once",
            "tokenctl app rotate-secret ci-pipeline\n"
            "tokenctl app rotate-secret ci-pipeline --yes   # in a script: no prompt\n",
            &set_app_rotate_secret_command},
    Command{CommandId::list, "List your tokens (My Apps & Tokens)",
            "tokenctl list\n"
            "tokenctl list --all --format csv\n"
            "tokenctl list --app ci-pipeline --format json\n",
            &set_list_command},
    Command{CommandId::system_list,
            "List every user's tokens (System Apps & Tokens; administrators only)",
            "tokenctl system-list\n"
            "tokenctl system-list --user dev@example.com --all\n"
            "tokenctl system-list --format json | jq -r '.[].token_id'\n",
            &set_system_list_command},
    Command{CommandId::revoke, "Revoke tokens by ID, or every active token matching --user/--app",
            "tokenctl revoke 3af8afb98c5d6144\n"
            "tokenctl revoke --user dev@example.com --app ci-pipeline --yes\n",
            &set_revoke_command},
    Command{CommandId::download,
            "Write your token's file (Central's JSON layout) or one of its secrets",
            "tokenctl download 3af8afb98c5d6144 -o token.json\n"
            "tokenctl download 3af8afb98c5d6144 --format access-token | tokenctl verify\n",
            &set_download_command},
    Command{CommandId::refresh, "Rotate both secrets of your token and write the new token file",
            "tokenctl refresh 3af8afb98c5d6144 -o token.json --force\n"
            "tokenctl refresh 3af8afb98c5d6144 --format access-token\n",
            &set_refresh_command},
    Command{CommandId::verify, "Check an access token read from standard input",
            "tokenctl download 3af8afb98c5d6144 --format access-token | tokenctl verify\n"
            "tokenctl verify --format json < access-token.txt\n",
            &set_verify_command},
    Command{CommandId::serve,
            "Answer token checks and client refreshes over HTTP (verifiers and administrators)",
            "tokenctl --as gateway serve\n"
            "tokenctl --as gateway serve --listen unix:/run/tokenctl/serve.sock --workers 4\n"
            "tokenctl --as gateway serve --listen 127.0.0.1:8080\n"
            "tokenctl --as gateway serve --listen 192.0.2.10:8443 --tls-cert chain.pem "
            "--tls-key server.key\n",
            &set_serve_command},
    Command{CommandId::audit, "Show the audit log (administrators only)",
            "tokenctl audit --since 24h --action revoke\n"
            "tokenctl audit --user dev@example.com --format json\n"
            "tokenctl audit --subject dev@example.com   # what was done to dev and their tokens\n",
            &set_audit_command},
    Command{CommandId::whoami, "Show the acting user and their role",
            "tokenctl whoami\n"
            "tokenctl whoami --format json | jq -r .role\n",
            &set_whoami_command},
    Command{CommandId::backup, "Copy a SQLite database and its key file (administrators only)",
            "tokenctl backup /srv/backup/tokens-$(date +%F).db\n"
            "tokenctl backup /srv/backup/tokens.db --force\n",
            &set_backup_command},
    Command{CommandId::rekey,
            "Rotate the key that encrypts the stored secrets (administrators only)",
            "tokenctl rekey\n"
            "tokenctl rekey --yes   # in a script: no prompt\n",
            &set_rekey_command},
    Command{CommandId::check,
            "Check the registry's health: integrity, key file, modes, administrators",
            "tokenctl check\n"
            "tokenctl check || echo 'see the problem lines above' >&2\n",
            &set_check_command},
    Command{CommandId::migrate,
            "Upgrade the registry's schema (administrators; on PostgreSQL, its owner)",
            "tokenctl migrate\n"
            "PGUSER=owner tokenctl --db 'postgresql://db.example.com/tokens?sslmode=verify-full' "
            "migrate\n",
            &set_migrate_command},
    Command{CommandId::help, "Show the help of tokenctl or of a command",
            "tokenctl help revoke\n"
            "tokenctl help user add\n",
            &set_help_command},
};
static_assert(indexed_by_command_id(k_commands), "k_commands: one row per CommandId, in order");

// tokenctl's own examples, for `tokenctl --help`.
constexpr std::string_view k_examples =
    "tokenctl init --admin admin@example.com\n"
    "tokenctl --as admin@example.com user add dev@example.com\n"
    "tokenctl add-app --redirect-uri https://ops.example.com/callback\n"
    "tokenctl list --format json\n";

// Standard output's buffer, written with write(2): it keeps the reason of a failed write
// for the error line, which std::filebuf forgets.
class StdoutBuffer final : public std::streambuf {
  public:
    StdoutBuffer() { setp(m_buffer.data(), m_buffer.data() + m_buffer.size()); }
    // errno of the first failed write, or 0.
    int error() const { return m_error; }

  protected:
    int_type overflow(int_type c) override {
        if (!drain()) {
            return traits_type::eof();
        }
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override { return drain() ? 0 : -1; }

  private:
    bool drain() {
        const char* p = pbase();
        while (m_error == 0 && p < pptr()) {
            ssize_t n = ::write(STDOUT_FILENO, p, static_cast<std::size_t>(pptr() - p));
            if (n < 0 && errno != EINTR) {
                m_error = errno;
            } else if (n > 0) {
                p += n;
            }
        }
        setp(m_buffer.data(), m_buffer.data() + m_buffer.size());
        return m_error == 0;
    }

    std::array<char, 1 << 16> m_buffer{};
    int m_error = 0;
};

// Flushes standard output; a failed write is Error(failure) with its reason, and what the
// command committed before it (committed()).
void flush_stdout(const StdoutBuffer& buffer) {
    std::cout.flush();
    if (buffer.error() != 0 || !std::cout) {
        std::string message =
            fmt::format("cannot write to standard output: {}",
                        std::strerror(buffer.error() != 0 ? buffer.error() : EIO));
        if (!committed_note().empty()) {
            message += "; " + committed_note();
        }
        throw Error(Status::failure, message);
    }
}

void print_error(std::string_view message, std::string_view hint) {
    std::string text =
        fmt::format("tokenctl: error: {}\n", escape_controls(redact_secrets(message)));
    if (!hint.empty()) {
        text += fmt::format("hint: {}\n", escape_controls(redact_secrets(hint)));
    }
    std::cerr << text << std::flush;
}

// The nearest of `candidates` to a mistyped `word`, or "" if none is close.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = 3;
    for (const auto& candidate : candidates) {
        std::size_t d = edit_distance(word, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = candidate;
        }
    }
    return best;
}

// The names of `scope`'s subcommands, or of the options it takes (its own and tokenctl's).
std::vector<std::string> command_names(const CLI::App& scope) {
    std::vector<std::string> names;
    for (const CLI::App* sub : scope.get_subcommands({})) {
        if (!sub->get_group().empty()) {
            names.push_back(sub->get_name());
        }
    }
    return names;
}
std::vector<std::string> option_names(const CLI::App& scope) {
    std::vector<std::string> names;
    for (const CLI::App* app = &scope; app != nullptr; app = app->get_parent()) {
        for (const CLI::Option* option : app->get_options()) {
            for (const auto& name : option->get_lnames()) {
                names.push_back("--" + name);
            }
        }
    }
    return names;
}

// One error line for a command line CLI11 refused, naming the word at fault.
void print_parse_error(const CLI::App& app, const CLI::ParseError& error,
                       const std::vector<std::string>& args) {
    Reading r = read_words(app, args);
    std::string path = command_path(*r.scope);
    std::string help_hint = fmt::format("run `tokenctl help{}` for usage", path);
    if (r.unknown_command) {
        std::string best = nearest(*r.unknown_command, command_names(*r.scope));
        print_error(fmt::format("unknown command {}", printable(*r.unknown_command)),
                    best.empty() ? fmt::format("run `tokenctl help{}` for the commands", path)
                                 : fmt::format("did you mean `{}`?", best));
    } else if (r.unknown_option) {
        std::string best = nearest(*r.unknown_option, option_names(*r.scope));
        print_error(fmt::format("unknown option {}", printable(*r.unknown_option)),
                    best.empty() ? help_hint : fmt::format("did you mean `{}`?", best));
    } else if (r.pending != nullptr) {
        print_error(fmt::format("option {} needs a value", r.pending->get_name()), help_hint);
    } else if (r.extra_argument) {
        print_error(fmt::format("unexpected argument {}", printable(*r.extra_argument)), help_hint);
    } else if (!r.scope->get_subcommands({}).empty() && r.scope->get_subcommands().empty()) {
        print_error(fmt::format("tokenctl{} needs a command", path),
                    fmt::format("run `tokenctl help{}` for the commands", path));
    } else {
        print_error(error.what(), help_hint);
    }
}

// The deepest subcommand that was named on the command line.
const CLI::App* deepest_parsed(const CLI::App& app) {
    for (const CLI::App* sub : app.get_subcommands()) {
        return deepest_parsed(*sub) != nullptr ? deepest_parsed(*sub) : sub;
    }
    return nullptr;
}

} // namespace

void set_help_command(CLI::App& cmd, Globals& globals, CommandId /*command_id*/) {
    auto words = std::make_shared<std::vector<std::string>>();
    globals.complete(cmd.add_option("COMMAND", *words, "The command (and subcommand) to explain"),
                     ValueSpec{ValueSpec::Kind::commands, {}, {}});
    cmd.callback([&cmd, words] {
        const CLI::App* scope = cmd.get_parent();
        for (const auto& word : *words) {
            const CLI::App* sub = nullptr;
            for (const CLI::App* candidate : scope->get_subcommands({})) {
                if (candidate->get_name() == word && !candidate->get_group().empty()) {
                    sub = candidate;
                }
            }
            if (sub == nullptr) {
                std::string best = nearest(word, command_names(*scope));
                throw Error(Status::usage, fmt::format("unknown command {}", printable(word)),
                            best.empty() ? fmt::format("run `tokenctl help{}` for the commands",
                                                       command_path(*scope))
                                         : fmt::format("did you mean `{}`?", best));
            }
            scope = sub;
        }
        std::cout << help_text(*scope);
    });
}

int run(int argc, char** argv) {
    // Every file tokenctl creates is private, whatever the caller's umask.
    ::umask(077);
    // Secrets and the key live in this process's memory: no core dump may hold them.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    // A reader that went away is a failed write like a full disk (EPIPE): the command
    // reports it, and what it committed before, instead of dying silently of SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    use_utf8_ctype();
    std::ios::sync_with_stdio(false);
    StdoutBuffer buffer;
    std::streambuf* original = std::cout.rdbuf(&buffer);
    struct Restore {
        std::streambuf* original;
        ~Restore() {
            std::cout.flush();
            std::cout.rdbuf(original);
        }
    } restore{original};

    CLI::App app{"Manage API applications and their access tokens in a SQLite database or a "
                 "registry shared on PostgreSQL",
                 "tokenctl"};
    app.set_help_flag("-h,--help", "Show this help and exit");
    app.set_version_flag("--version", std::string("tokenctl ") + TOKENCTL_VERSION,
                         "Print the version and exit");
    app.require_subcommand(1);
    app.fallthrough();
    app.option_defaults()->always_capture_default(false);

    Globals globals;
    globals.complete_files(app.add_option("--db", globals.db,
                                          "Database file or postgresql:// URI (default: "
                                          "TOKENCTL_DB, else $XDG_DATA_HOME/tokenctl/tokens.db)")
                               ->option_text("PATH"));
    globals.complete(app.add_option("--as", globals.as,
                                    "Acting user (default: TOKENCTL_USER, else your login name; on "
                                    "PostgreSQL, only your login)")
                         ->option_text("NAME"),
                     NameSet::users);
    app.footer(std::string(k_examples));
    std::array<CLI::App*, k_commands.size()> declared{};
    for (const Command& command : k_commands) {
        const CommandIdentity& identity = command_identity(command.id);
        CLI::App& parent = identity.parent == command.id
                               ? app
                               : *declared[static_cast<std::size_t>(identity.parent)];
        CLI::App* sub =
            parent.add_subcommand(std::string(identity.name), std::string(command.summary));
        sub->footer(std::string(command.examples));
        command.declare(*sub, globals, command.id);
        declared[static_cast<std::size_t>(command.id)] = sub;
    }

    try {
        if (argc >= 2 && std::string_view(argv[1]) == "__complete") {
            std::vector<std::string> words(argv + 2, argv + argc);
            print_completions(app, globals, words, std::cout);
            flush_stdout(buffer);
            return 0;
        }
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            const CLI::App* scope = deepest_parsed(app);
            std::cout << help_text(scope != nullptr ? *scope : app);
            flush_stdout(buffer);
            return 0;
        } catch (const CLI::CallForVersion& e) {
            std::cout << e.what() << '\n';
            flush_stdout(buffer);
            return 0;
        } catch (const CLI::ParseError& e) {
            print_parse_error(app, e, std::vector<std::string>(argv + 1, argv + argc));
            return static_cast<int>(Status::usage);
        }
        flush_stdout(buffer);
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
