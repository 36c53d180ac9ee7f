#include "cli/common.h"

#include <tokenctl/error.h>

#include <fmt/format.h>

#include <iostream>
#include <unistd.h>

namespace tokenctl::cli {

namespace {

// Standard input, up to one byte past verify's limit (enough to tell it was exceeded),
// read straight into one zeroed buffer that never grows: wiping the result wipes the
// only copy of the secret.
std::string read_stdin_bounded(std::size_t limit) {
    constexpr std::size_t k_chunk = 512;
    std::string input(limit + 1 + k_chunk, '\0');
    std::size_t size = 0;
    while (size <= limit) {
        ssize_t n = ::read(STDIN_FILENO, input.data() + size, k_chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            wipe(input);
            throw Error(Status::failure, "cannot read standard input");
        }
        if (n == 0) {
            break;
        }
        size += static_cast<std::size_t>(n);
    }
    input.resize(size); // keeps the buffer; past `size` it holds only zeros
    return input;
}

} // namespace

void set_verify_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto format = std::make_shared<std::string>();
    add_format_option(&cmd, globals, *format, {"text", "json"}, "Output format");
    // An argument is refused by verify itself, not by the parser, whose message would
    // repeat it: the argument may well be the secret, and must not reach the terminal.
    auto arguments = std::make_shared<std::vector<std::string>>();
    cmd.add_option("ARGUMENT", *arguments)->group("");
    cmd.callback([&globals, format, arguments, command_id] {
        if (!arguments->empty()) {
            for (auto& argument : *arguments) {
                wipe(argument);
            }
            throw Error(Status::usage,
                        "verify takes no arguments: it reads the access token "
                        "from standard input",
                        "pipe it in: tokenctl download ID --format access-token | tokenctl "
                        "verify");
        }
        std::string input = read_stdin_bounded(1024);
        std::string access;
        TokenRow token;
        try {
            access = parse_verify_input(input);
            wipe(input);
            Session session = open_session(globals, command_id);
            token = verify_access_token(session, access);
            wipe(access);
        } catch (...) {
            // A refused token (unknown, revoked, malformed) is still a secret.
            wipe(input);
            wipe(access);
            throw;
        }
        if (*format == "json") {
            write_json_object(std::cout, specs_of(token_columns()),
                              fields_of(token_columns(), token));
        } else {
            std::cout << fmt::format("valid\ntoken_id: {}\nuser: {}\napplication: {}\n"
                                     "access_expires_at: {}\n",
                                     token.token_id, token.user, token.application,
                                     format_rfc3339(token.access_expires_at));
        }
    });
}

} // namespace tokenctl::cli
