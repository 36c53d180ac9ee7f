#pragma once

namespace tokenctl::cli {

// Parses the command line, runs the command, prints any error as one
// `tokenctl: error: …` line (plus an optional hint) and returns the exit status.
int run(int argc, char** argv);

} // namespace tokenctl::cli
