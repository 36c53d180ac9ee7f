#include "cli/common.h"
#include "serve/server.h"

#include <tokenctl/time.h>

namespace tokenctl::cli {

namespace {

struct ServeOptions {
    std::vector<std::string> listen;
    unsigned workers = 2;
    std::string reuse_grace = "10s";
    std::string tls_cert;
    std::string tls_key;
};

} // namespace

void set_serve_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<ServeOptions>();
    cmd.add_option("--listen", opts->listen,
                   "Where to listen: unix:PATH or HOST:PORT, a loopback address unless TLS is "
                   "on; repeatable (default: unix:$XDG_RUNTIME_DIR/tokenctl/serve.sock; "
                   "sockets passed by systemd take its place)")
        ->option_text("ADDR");
    globals
        .complete_files(cmd.add_option("--tls-cert", opts->tls_cert,
                                       "HTTPS: the certificate chain (PEM) that every TCP "
                                       "listener presents; needs --tls-key; unix sockets "
                                       "stay plain HTTP"))
        ->option_text("FILE");
    globals
        .complete_files(cmd.add_option("--tls-key", opts->tls_key,
                                       "HTTPS: the certificate's private key (PEM, "
                                       "unencrypted; refused if others may read it)"))
        ->option_text("FILE");
    cmd.add_option("--workers", opts->workers, "Threads answering requests, 1 to 64")
        ->option_text("N")
        ->capture_default_str();
    cmd.add_option("--reuse-grace", opts->reuse_grace,
                   "How long after its rotation POST /oauth2/token answers a refresh token "
                   "again with the same successor; presented later, the token is revoked as "
                   "stolen")
        ->option_text("DUR")
        ->capture_default_str();
    cmd.callback([&globals, opts, command_id] {
        serve::Options options;
        if (opts->tls_cert.empty() != opts->tls_key.empty()) {
            throw Error(Status::usage, opts->tls_cert.empty() ? "--tls-key needs --tls-cert"
                                                              : "--tls-cert needs --tls-key");
        }
        if (!opts->tls_cert.empty()) {
            options.tls = serve::TlsFiles{opts->tls_cert, opts->tls_key};
        }
        for (const auto& text : opts->listen) {
            options.listen.push_back(serve::parse_listen(text, options.tls.has_value()));
        }
        options.workers = opts->workers;
        options.reuse_grace_ms = parse_duration(opts->reuse_grace, "--reuse-grace");
        serve::run(options, [&globals, command_id] { return open_session(globals, command_id); });
    });
}

} // namespace tokenctl::cli
