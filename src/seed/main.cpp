// tokenctl-seed: a new database filled with users, applications and many tokens, for
// benchmarks and for trying tokenctl on a registry of realistic size. Every token is
// what `add-app` would have stored: real secrets, their digests, sealed under the key.
#include <tokenctl/commands.h>
#include <tokenctl/crypto.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/secret.h>
#include <tokenctl/session.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <unordered_set>

namespace tokenctl::seed {

namespace {

constexpr Millis k_hour = 3'600'000;
constexpr Millis k_day = 24 * k_hour;
// Tokens are generated over this span before now, oldest first.
constexpr Millis k_history = 400 * k_day;
// Refresh lifetimes, one after the other: the old short-lived ones expire.
constexpr std::array<Millis, 4> k_refresh_ttls = {15 * k_day, 30 * k_day, 90 * k_day, 365 * k_day};
constexpr Millis k_access_ttl = 2 * k_hour;
// One token in this many is revoked.
constexpr std::int64_t k_revoke_every = 10;
// Tokens per write transaction.
constexpr std::int64_t k_batch = 100'000;
// Page cache of the load: the indexes of a million tokens fit.
constexpr std::int64_t k_cache_bytes = 512LL << 20;

struct Options {
    std::string db;
    std::int64_t tokens = 0;
    std::optional<std::int64_t> users;
    std::optional<std::int64_t> apps;
};

struct Counts {
    std::int64_t revoked = 0;
    std::int64_t expired = 0;
};

// "user000042": zero-padded so that names sort in creation order.
std::string numbered(std::string_view prefix, std::int64_t n, std::int64_t count) {
    std::size_t width = std::max<std::size_t>(4, std::to_string(count).size());
    return fmt::format("{}{:0{}}", prefix, n, width);
}

// Seals and digests two fresh secrets into `token`, as add-app does.
void issue_secrets(Token& token, Sealer& sealer, RandomPool& pool) {
    std::string access = generate_secret(SecretKind::access, pool);
    std::string refresh = generate_secret(SecretKind::refresh, pool);
    token.access_digest = sha256(access);
    token.refresh_digest = sha256(refresh);
    token.access_sealed = sealer.seal(access, sealing_context(token.token_id, SecretKind::access));
    token.refresh_sealed =
        sealer.seal(refresh, sealing_context(token.token_id, SecretKind::refresh));
    wipe(access);
    wipe(refresh);
}

Counts seed(const Options& options) {
    if (options.tokens < 0) {
        throw Error(Status::usage, "--tokens must be 0 or more");
    }
    std::int64_t user_count =
        options.users.value_or(std::max<std::int64_t>(1, options.tokens / 10));
    if (user_count < 1) {
        throw Error(Status::usage, "--users must be at least 1");
    }
    // By default each user has one application named after them, as a non-admin's
    // add-app creates; --apps makes administrator-named applications shared by users.
    bool own_apps = !options.apps;
    std::int64_t app_count = options.apps.value_or(user_count);
    if (app_count < 1) {
        throw Error(Status::usage, "--apps must be at least 1");
    }

    Paths paths = resolve_paths(options.db);
    if (auto warning = paths.db.warning(); !warning.empty()) {
        std::cerr << "tokenctl-seed: warning: " << warning << '\n';
    }
    // On PostgreSQL the administrator is the connecting login.
    InitResult made = init_database(
        paths, paths.db.authenticates() ? std::nullopt : std::optional<std::string>("admin"));
    Key key = read_key_file(made.key);
    // Millions of small random values: drawn from a pool, not one generator call each.
    RandomPool pool;
    Sealer sealer(key, &pool);
    auto store = open_store(paths.db, {.bulk_cache_bytes = k_cache_bytes});
    Millis now = now_ms();
    Millis start = now - k_history;
    std::int64_t admin_id = store->find_user(made.admin, false)->id;

    std::vector<std::int64_t> user_ids;
    std::vector<std::string> user_names;
    std::vector<App> apps;
    store->write([&] {
        for (std::int64_t u = 1; u <= user_count; ++u) {
            user_names.push_back(numbered("user", u, user_count));
            user_ids.push_back(store->insert_user(user_names.back(), Role::user, start));
        }
        for (std::int64_t a = 1; a <= app_count; ++a) {
            App app;
            app.name = own_apps ? user_names[static_cast<std::size_t>(a - 1)]
                                : numbered("app-", a, app_count);
            app.redirect_uri = fmt::format("https://{}.example.com/callback", app.name);
            app.client_id = random_hex(16, pool);
            app.created_at = start;
            app.created_by = own_apps ? user_ids[static_cast<std::size_t>(a - 1)] : admin_id;
            app.id = store->insert_app(app);
            std::string client = generate_secret(SecretKind::client, pool);
            store->insert_client_secret(ClientSecret{
                app.id, app.client_id, sha256(client),
                sealer.seal(client, sealing_context(app.client_id, SecretKind::client)), start});
            wipe(client);
            apps.push_back(std::move(app));
        }
    });

    Counts counts;
    Token token;
    token.access_ttl = k_access_ttl;
    std::unordered_set<std::string> token_ids; // a new registry: unique among these
    std::vector<Token> batch;
    for (std::int64_t first = 0; first < options.tokens; first += k_batch) {
        std::int64_t last = std::min(options.tokens, first + k_batch);
        batch.clear();
        store->write([&] {
            for (std::int64_t i = first; i < last; ++i) {
                auto u = static_cast<std::size_t>(i % user_count);
                const App& app = apps[own_apps ? u : static_cast<std::size_t>(i % app_count)];
                do {
                    token.token_id = random_hex(8, pool);
                } while (!token_ids.insert(token.token_id).second);
                token.user_id = user_ids[u];
                token.app_id = app.id;
                token.created_by = own_apps ? user_ids[u] : admin_id;
                token.generated_at =
                    start + k_history * i / std::max<std::int64_t>(1, options.tokens);
                token.issued_at = token.generated_at;
                token.refresh_ttl =
                    k_refresh_ttls[static_cast<std::size_t>(i) % k_refresh_ttls.size()];
                token.access_expires_at = token.issued_at + token.access_ttl;
                token.refresh_expires_at = token.issued_at + token.refresh_ttl;
                issue_secrets(token, sealer, pool);
                token.revoked_at.reset();
                if (i % k_revoke_every == k_revoke_every - 1) {
                    token.revoked_at = std::min(now, token.generated_at + k_hour);
                    ++counts.revoked;
                } else if (token.refresh_expires_at <= now) {
                    ++counts.expired;
                }
                batch.push_back(token);
            }
            store->insert_tokens(batch, admin_id);
        });
    }
    store->write([&] {
        store->append_audit(AuditEntry{0,
                                       now_ms(),
                                       made.admin,
                                       "seed",
                                       {},
                                       "ok",
                                       fmt::format("{} users, {} applications, {} tokens",
                                                   user_count, app_count, options.tokens)});
    });
    return counts;
}

} // namespace

int run(int argc, char** argv) {
    CLI::App app{"Creates a new tokenctl registry filled with users, applications and tokens "
                 "(for benchmarks): a SQLite database file, or a registry on PostgreSQL named "
                 "by a postgresql:// URI.",
                 "tokenctl-seed"};
    Options options;
    app.add_option("--db", options.db,
                   "The new registry: a SQLite file (its key file goes beside it) or a "
                   "postgresql:// URI (the key file goes where tokenctl init puts it)")
        ->required()
        ->option_text("PATH|URI");
    app.add_option("--tokens", options.tokens, "Number of tokens")->required()->option_text("N");
    app.add_option("--users", options.users, "Number of non-admin users (default N/10, at least 1)")
        ->option_text("U");
    app.add_option("--apps", options.apps,
                   "Number of applications shared by the users (default: one per user, named "
                   "after them)")
        ->option_text("A");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            std::cout << app.help();
            return 0;
        }
        std::cerr << fmt::format("tokenctl-seed: error: {}\n", e.what());
        return static_cast<int>(Status::usage);
    }
    try {
        auto began = std::chrono::steady_clock::now();
        Counts counts = seed(options);
        std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
        std::cout << fmt::format("seeded {}: {} tokens ({} revoked, {} expired) in {:.1f} s\n",
                                 options.db, options.tokens, counts.revoked, counts.expired,
                                 took.count());
        return 0;
    } catch (const Error& e) {
        std::string text = fmt::format("tokenctl-seed: error: {}\n", e.what());
        if (!e.hint().empty()) {
            text += fmt::format("hint: {}\n", e.hint());
        }
        std::cerr << text;
        return static_cast<int>(e.status());
    }
}

} // namespace tokenctl::seed

int main(int argc, char** argv) {
    return tokenctl::seed::run(argc, argv);
}
