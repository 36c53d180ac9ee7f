#include "cli/words.h"

#include <tokenctl/commands.h>
#include <tokenctl/session.h>

#include <algorithm>
#include <cstdlib>

namespace tokenctl::cli {

namespace {

// At most this many names are printed for one completion: a shell lists them in well
// under a second, and typing one more character narrows them.
constexpr std::size_t k_completion_limit = 1000;

bool takes_value(const CLI::Option& option) {
    return option.get_type_size_max() > 0;
}

// Whether `option` is tokenctl's own option `name` (--db, --as).
bool is_global(const CLI::App& app, const CLI::Option& option, std::string_view name) {
    auto options = app.get_options();
    return std::find(options.begin(), options.end(), &option) != options.end() &&
           option.check_name(std::string(name));
}

// Visible subcommands: `__complete` and other hidden ones have no group.
std::vector<const CLI::App*> visible_commands(const CLI::App& scope) {
    std::vector<const CLI::App*> commands;
    for (const CLI::App* sub : scope.get_subcommands({})) {
        if (!sub->get_group().empty()) {
            commands.push_back(sub);
        }
    }
    return commands;
}

// The positional option of `scope` that the positional word number `index` fills.
const CLI::Option* positional_at(const CLI::App& scope, std::size_t index) {
    for (const CLI::Option* option :
         scope.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
        auto takes = static_cast<std::size_t>(std::max(option->get_items_expected_max(), 1));
        if (index < takes) {
            return option;
        }
        index -= takes;
    }
    return nullptr;
}

// A --db value as typed: the shell has not expanded a leading ~ yet.
std::string expand_tilde(const std::string& path) {
    const char* home = std::getenv("HOME");
    if (home != nullptr && (path == "~" || path.starts_with("~/"))) {
        return home + path.substr(1);
    }
    return path;
}

void print_candidate(std::ostream& out, std::string_view prefix, std::string_view word,
                     std::string_view description) {
    out << prefix << word;
    if (!description.empty()) {
        out << '\t' << description;
    }
    out << '\n';
}

// The value of `option` (or positional) that begins with `typed`; `prefix` (`--format=`)
// goes before each candidate.
void print_commands(const CLI::App& scope, const std::string& typed, std::ostream& out) {
    for (const CLI::App* command : scope.get_subcommands({})) {
        if (!command->get_group().empty() && command->get_name().starts_with(typed)) {
            print_candidate(out, {}, command->get_name(), command->get_description());
        }
    }
}

void complete_value(const CLI::App& app, const Globals& globals, const Reading& reading,
                    const CLI::Option& option, const std::string& typed, std::string_view prefix,
                    std::ostream& out) {
    auto spec = globals.values.find(&option);
    if (spec == globals.values.end()) {
        out << "words\n";
        return;
    }
    switch (spec->second.kind) {
    case ValueSpec::Kind::none:
        out << "words\n";
        return;
    case ValueSpec::Kind::files:
        out << "files\n";
        return;
    case ValueSpec::Kind::commands: {
        // `help user a`: the commands below those already named.
        Reading below = read_words(app, reading.positionals);
        out << "words\n";
        if (!below.unknown_command) {
            print_commands(*below.scope, typed, out);
        }
        return;
    }
    case ValueSpec::Kind::choices:
        out << "words\n";
        for (const auto& choice : spec->second.choices) {
            if (choice.starts_with(typed)) {
                print_candidate(out, prefix, choice, {});
            }
        }
        return;
    case ValueSpec::Kind::names:
        out << "words\n";
        try {
            std::optional<std::string> db;
            if (reading.db) {
                db = expand_tilde(*reading.db);
            }
            complete_names(resolve_paths(db), claimed_acting_name(reading.as), spec->second.names,
                           typed, k_completion_limit, [&](const std::string& name) {
                               print_candidate(out, prefix, name, {});
                           });
        } catch (const std::exception&) {
            // No database, or one that cannot be read: nothing to offer, nothing to say.
        }
        return;
    }
}

} // namespace

const CLI::Option* find_option(const CLI::App& scope, std::string_view name) {
    for (const CLI::App* app = &scope; app != nullptr; app = app->get_parent()) {
        for (const CLI::Option* option : app->get_options()) {
            if (option->nonpositional() && option->check_name(std::string(name))) {
                return option;
            }
        }
    }
    return nullptr;
}

Reading read_words(const CLI::App& app, std::span<const std::string> words) {
    Reading r;
    r.scope = &app;
    bool options_ended = false;
    auto record_global = [&](const CLI::Option& option, const std::string& value) {
        if (is_global(app, option, "--db")) {
            r.db = value;
        } else if (is_global(app, option, "--as")) {
            r.as = value;
        }
    };
    for (const std::string& word : words) {
        if (r.pending != nullptr) {
            record_global(*r.pending, word);
            r.pending = nullptr;
            continue;
        }
        if (!options_ended && word == "--") {
            options_ended = true;
            continue;
        }
        if (!options_ended && word.size() > 1 && word.front() == '-') {
            std::string name = word;
            std::optional<std::string> value;
            if (word.starts_with("--")) {
                if (auto eq = word.find('='); eq != std::string::npos) {
                    name = word.substr(0, eq);
                    value = word.substr(eq + 1);
                }
            } else if (word.size() > 2) {
                name = word.substr(0, 2); // -oFILE
                value = word.substr(2);
            }
            const CLI::Option* option = find_option(*r.scope, name);
            if (option == nullptr) {
                if (!r.unknown_option) {
                    r.unknown_option = name;
                }
            } else if (value) {
                record_global(*option, *value);
            } else if (takes_value(*option)) {
                r.pending = option;
            }
            continue;
        }
        auto commands = r.scope->get_subcommands({});
        if (!commands.empty()) {
            auto named = std::find_if(commands.begin(), commands.end(),
                                      [&](const CLI::App* c) { return c->get_name() == word; });
            if (named != commands.end()) {
                r.scope = *named;
                r.positionals.clear();
            } else {
                r.unknown_command = word; // what follows cannot be read
                break;
            }
            continue;
        }
        if (positional_at(*r.scope, r.positionals.size()) == nullptr && !r.extra_argument) {
            r.extra_argument = word;
        }
        r.positionals.push_back(word);
    }
    return r;
}

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

std::string command_path(const CLI::App& command) {
    std::string path;
    for (const CLI::App* a = &command; a != nullptr && a->get_parent() != nullptr;
         a = a->get_parent()) {
        path = " " + a->get_name() + path;
    }
    return path;
}

void print_completions(const CLI::App& app, const Globals& globals,
                       std::span<const std::string> words, std::ostream& out) {
    if (words.empty()) {
        out << "words\n";
        return;
    }
    const std::string& current = words.back();
    Reading reading = read_words(app, words.first(words.size() - 1));
    if (reading.pending != nullptr) {
        complete_value(app, globals, reading, *reading.pending, current, {}, out);
        return;
    }
    if (current.starts_with("--") && current.find('=') != std::string::npos) {
        std::string name = current.substr(0, current.find('='));
        const CLI::Option* option = find_option(*reading.scope, name);
        if (option == nullptr || !takes_value(*option)) {
            out << "words\n";
            return;
        }
        complete_value(app, globals, reading, *option, current.substr(name.size() + 1), name + "=",
                       out);
        return;
    }
    if (current.starts_with('-')) {
        out << "words\n";
        for (const CLI::App* scope = reading.scope; scope != nullptr; scope = scope->get_parent()) {
            for (const CLI::Option* option : scope->get_options()) {
                // The command's own options, and the global ones of tokenctl itself.
                bool inherited = scope != reading.scope;
                if (!option->nonpositional() || option->get_group().empty() ||
                    (inherited &&
                     (scope->get_parent() != nullptr || option == scope->get_help_ptr() ||
                      option == scope->get_version_ptr()))) {
                    continue;
                }
                std::vector<std::string> names;
                for (const auto& name : option->get_snames()) {
                    names.push_back("-" + name);
                }
                for (const auto& name : option->get_lnames()) {
                    names.push_back("--" + name);
                }
                for (const auto& name : names) {
                    if (name.starts_with(current)) {
                        print_candidate(out, {}, name, option->get_description());
                    }
                }
            }
        }
        return;
    }
    if (!visible_commands(*reading.scope).empty()) {
        out << "words\n";
        print_commands(*reading.scope, current, out);
        return;
    }
    const CLI::Option* positional = positional_at(*reading.scope, reading.positionals.size());
    if (positional == nullptr) {
        out << "words\n";
        return;
    }
    complete_value(app, globals, reading, *positional, current, {}, out);
}

} // namespace tokenctl::cli
