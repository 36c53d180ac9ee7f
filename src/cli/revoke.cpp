#include "cli/common.h"

#include <tokenctl/error.h>

#include <fmt/format.h>

#include <iostream>

namespace tokenctl::cli {

namespace {

struct RevokeOptions {
    RevokeRequest request;
    bool yes = false;
};

} // namespace

void set_revoke_command(CLI::App& cmd, Globals& globals) {
    auto opts = std::make_shared<RevokeOptions>();
    cmd.add_option("TOKEN_ID", opts->request.token_ids, "Token IDs to revoke");
    cmd.add_option("--user", opts->request.user, "Every active token of this user")
        ->option_text("NAME");
    cmd.add_option("--app", opts->request.app, "Every active token of this application")
        ->option_text("APP");
    cmd.add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    cmd.callback([&globals, opts] {
        Session session = open_session(globals, "revoke");
        RevokePlan plan = plan_revoke(session, opts->request);
        for (const auto& id : plan.already_revoked) {
            note(fmt::format("token {} is already revoked", id));
        }
        if (plan.tokens.empty()) {
            if (plan.already_revoked.empty()) {
                note("no active token matches; nothing to revoke");
            }
            return;
        }
        if (!opts->yes) {
            std::string details = "These tokens will be revoked:\n";
            for (const auto& t : plan.tokens) {
                details += fmt::format("  {}  {}  {}\n", t.token_id, t.user, t.application);
            }
            if (!confirm(fmt::format("Revoke {} token{}?", plan.tokens.size(),
                                     plan.tokens.size() == 1 ? "" : "s"),
                         details)) {
                throw Error(Status::failure, "not confirmed; nothing was revoked");
            }
        }
        auto revoked = execute_revoke(session, plan);
        committed(fmt::format("{} token{} revoked; `tokenctl list --all` shows them",
                              revoked.size(), revoked.size() == 1 ? " was" : "s were"));
        for (const auto& id : revoked) {
            std::cout << "revoked " << id << '\n';
        }
    });
}

} // namespace tokenctl::cli
