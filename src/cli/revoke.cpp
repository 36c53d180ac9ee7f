#include "cli/common.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

namespace tokenctl::cli {

namespace {

// The prompt lists this many tokens, then says how many more it revokes.
constexpr std::size_t k_prompt_tokens = 20;

struct RevokeOptions {
    RevokeRequest request;
    bool yes = false;
};

} // namespace

void set_revoke_command(CLI::App& cmd, Globals& globals, CommandId command_id) {
    auto opts = std::make_shared<RevokeOptions>();
    globals.complete(cmd.add_option("TOKEN_ID", opts->request.token_ids, "Token IDs to revoke"),
                     NameSet::revocable_tokens);
    globals.complete(cmd.add_option("--user", opts->request.user, "Every active token of this user")
                         ->option_text("NAME"),
                     NameSet::users);
    globals.complete(
        cmd.add_option("--app", opts->request.app, "Every active token of this application")
            ->option_text("APP"),
        NameSet::apps);
    cmd.add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    cmd.callback([&globals, opts, command_id] {
        Session session = open_session(globals, command_id);
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
            std::size_t shown = std::min(plan.tokens.size(), k_prompt_tokens);
            for (std::size_t i = 0; i < shown; ++i) {
                const auto& t = plan.tokens[i];
                details += fmt::format("  {}  {}  {}\n", t.token_id, escape_controls(t.user),
                                       escape_controls(t.application));
            }
            if (plan.tokens.size() > shown) {
                details += fmt::format("  … and {} more\n", plan.tokens.size() - shown);
            }
            if (!confirm(fmt::format("Revoke {}?", count_of(plan.tokens.size(), "token")),
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
