// tokenctl-client-refresh: what serve's POST /oauth2/token does, without HTTP, for the
// end-to-end suites (tests/cli/test_client_refresh.sh): reads a client ID, a client secret
// and a refresh token, one a line, from standard input, and calls refresh_for_client on the
// registry of TOKENCTL_DB as --as NAME (on PostgreSQL, the login). Prints the token file and
// exits 0; prints invalid_client (exit 10) or invalid_grant (exit 11); any other error is
// one `error:` line on stderr and its status.
#include <tokenctl/command_table.h>
#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/session.h>

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    using namespace tokenctl;
    std::optional<std::string> as;
    Millis grace = 10'000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--as") {
            as = argv[i + 1];
        } else if (flag == "--grace") {
            grace = std::strtoll(argv[i + 1], nullptr, 10);
        }
    }
    ClientRefresh request;
    std::getline(std::cin, request.client_id);
    std::getline(std::cin, request.client_secret);
    std::getline(std::cin, request.refresh_token);
    try {
        Session session(resolve_paths(std::nullopt), claimed_acting_name(as), CommandId::verify);
        TokenFile file = refresh_for_client(session, request, grace);
        std::cout << file.text() << std::flush;
        return 0;
    } catch (const GrantRefused& e) {
        std::cout << e.what() << "\n";
        return e.code() == GrantError::invalid_client ? 10 : 11;
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return static_cast<int>(e.status());
    }
}
