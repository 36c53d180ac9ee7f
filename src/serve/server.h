#pragma once

#include <tokenctl/session.h>
#include <tokenctl/time.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// `tokenctl serve`: the HTTP front end over the core (SPEC: tokenctl serve).
namespace tokenctl::serve {

// Where the server listens: --listen unix:PATH or HOST:PORT.
struct Listen {
    enum class Kind { unix_socket, tcp };
    Kind kind = Kind::unix_socket;
    std::string path;          // unix_socket
    std::string host;          // tcp: a loopback address, or any with TLS
    unsigned short port = 0;   // tcp; 0 picks a free port
    bool default_path = false; // unix_socket: the default, whose folder serve makes private
};

// Parses one --listen value. Error(usage) for a malformed one, and, without `tls`, for an
// address that is not a loopback one (listening beyond this host needs TLS).
Listen parse_listen(std::string_view text, bool tls = false);
// The default: unix:$XDG_RUNTIME_DIR/tokenctl/serve.sock. Error(usage) without
// XDG_RUNTIME_DIR.
Listen default_listen();

// --tls-cert and --tls-key: PEM files, the certificate chain and its private key, read
// once at start-up (tls::Context).
struct TlsFiles {
    std::string cert;
    std::string key;
};

struct Options {
    std::vector<Listen> listen;     // empty: default_listen(), unless systemd passes sockets
    std::optional<TlsFiles> tls;    // every TCP listener speaks TLS; unix sockets stay plain
    unsigned workers = 2;           // threads answering requests, each with its own session
    Millis reuse_grace_ms = 10'000; // --reuse-grace: POST /oauth2/token's retry window
};

// Opens a session of the serve command (each thread calls it once, at start-up).
using SessionOpener = std::function<Session()>;

// Serves until SIGTERM or SIGINT, then finishes the requests in flight (at most 10 s).
// Sessions are opened and sockets bound before anything is served, and systemd is told
// READY=1 then; a failure to start is an Error.
void run(const Options& options, const SessionOpener& open_session);

} // namespace tokenctl::serve
