#pragma once

#include "cli/common.h"

#include <CLI/CLI.hpp>

#include <cstddef>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The command line read against the declared commands and options, for what CLI11 does
// not say: which word a parse error is about, the help of a command, and what completes
// the word being typed.
namespace tokenctl::cli {

// How the words after `tokenctl` read.
struct Reading {
    const CLI::App* scope = nullptr;            // the deepest command named (the app when none)
    std::optional<std::string> db;              // the values of --db and --as
    std::optional<std::string> as;              //
    std::vector<std::string> positionals;       // positional words given to `scope`
    const CLI::Option* pending = nullptr;       // the option whose value the next word would be
    std::optional<std::string> unknown_option;  // the first option no command in scope has
    std::optional<std::string> unknown_command; // the first word naming no subcommand
    std::optional<std::string> extra_argument;  // the first positional word `scope` refuses
};
Reading read_words(const CLI::App& app, std::span<const std::string> words);

// The option of `scope`, or of a command above it, named `name` (`--long` or `-s`).
const CLI::Option* find_option(const CLI::App& scope, std::string_view name);

// Edit distance counting a swap of two neighbours as one edit (optimal string
// alignment), for "did you mean": `lsit` is one edit from `list`.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The path of `command` below tokenctl, e.g. " user add" (empty for tokenctl itself).
std::string command_path(const CLI::App& command);

// The help of `command` (tokenctl itself, a command or a user subcommand): usage, summary,
// arguments and options with their defaults, the global options, examples.
std::string help_text(const CLI::App& command);

// `tokenctl __complete WORD... CURRENT`: what completes CURRENT after WORD... (the words
// typed after `tokenctl`, as the shell would pass them). The first line is `files` (let
// the shell complete a path) or `words`; then one candidate a line, optionally followed
// by a tab and a description. Names come from the database, filtered by CURRENT there;
// any failure (no database, an unknown acting user) leaves just `words`.
void print_completions(const CLI::App& app, const Globals& globals,
                       std::span<const std::string> words, std::ostream& out);

} // namespace tokenctl::cli
