#include "cli/common.h"
#include "serve/server.h"

namespace tokenctl::cli {

namespace {

struct ServeOptions {
    std::vector<std::string> listen;
    unsigned workers = 2;
};

} // namespace

void set_serve_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<ServeOptions>();
    cmd.add_option("--listen", opts->listen,
                   "Where to listen: unix:PATH or a loopback HOST:PORT; repeatable (default: "
                   "unix:$XDG_RUNTIME_DIR/tokenctl/serve.sock; sockets passed by systemd "
                   "take its place)")
        ->option_text("ADDR");
    cmd.add_option("--workers", opts->workers, "Threads answering requests, 1 to 64")
        ->option_text("N")
        ->capture_default_str();
    cmd.callback([&globals, opts, command_id] {
        serve::Options options;
        for (const auto& text : opts->listen) {
            options.listen.push_back(serve::parse_listen(text));
        }
        options.workers = opts->workers;
        serve::run(options, [&globals, command_id] { return open_session(globals, command_id); });
    });
}

} // namespace tokenctl::cli
