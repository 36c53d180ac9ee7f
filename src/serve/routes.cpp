#include "serve/request.h"
#include "serve/router.h"

#include <tokenctl/error.h>
#include <tokenctl/time.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>

namespace tokenctl::serve {

namespace {

constexpr std::string_view k_json = "application/json";
constexpr Millis k_week = 7 * 86'400'000LL;

Response json_response(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", k_json);
    r.body = std::move(body);
    return r;
}

// A token answer: never kept by a cache on the way.
Response no_store(Response r) {
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

// The core's refusals of a presented token (malformed, unknown, revoked, expired) are all
// "not a valid token"; anything else (the registry failing, the serving user removed) is
// no answer about the token.
bool refuses_token(const Error& e) {
    return e.status() == Status::usage || e.status() == Status::not_found ||
           e.status() == Status::conflict;
}

// The token `access` names, valid now, its use noted; none when the core refuses it.
// An Error of the registry itself propagates (503).
std::optional<Token> valid_token(Context& context, std::string_view access) {
    try {
        Token token = check_access_token(context.session(), access);
        context.uses().note(token, now_ms());
        return token;
    } catch (const Error& e) {
        if (refuses_token(e)) {
            return std::nullopt;
        }
        throw;
    }
}

Response invalid_token() {
    Response r = json_response(401, R"({"error":"invalid_token"})");
    r.headers.emplace_back("WWW-Authenticate", R"(Bearer error="invalid_token")");
    return no_store(std::move(r));
}

// GET /auth (nginx's auth_request): 204 and who the token is for, or 401.
Response handle_auth(const Request& request, Context& context) {
    if (request.authorization.size() > 1) {
        return error_response(400, "invalid_request");
    }
    std::optional<std::string_view> access;
    if (request.authorization.size() == 1) {
        access = bearer_token(request.authorization.front());
    }
    std::optional<Token> token;
    if (access) {
        token = valid_token(context, *access);
    }
    if (!token) {
        return invalid_token();
    }
    Response r;
    r.status = 204;
    r.headers.emplace_back("X-Tokenctl-User", token->user);
    r.headers.emplace_back("X-Tokenctl-Application", token->application);
    r.headers.emplace_back("X-Tokenctl-Token-Id", token->token_id);
    return no_store(std::move(r));
}

// POST /introspect (RFC 7662): the form parameter `token`; active or exactly inactive.
Response handle_introspect(const Request& request, Context& context) {
    auto target = split_target(request.target);
    if (!target || target->has_query || !is_form_content_type(request.content_type)) {
        return error_response(400, "invalid_request");
    }
    auto params = parse_form(request.body);
    if (!params || !params->contains("token")) {
        return error_response(400, "invalid_request");
    }
    auto token = valid_token(context, params->at("token"));
    if (!token) {
        return no_store(json_response(200, R"({"active":false})"));
    }
    nlohmann::ordered_json body{{"active", true},
                                {"token_type", "bearer"},
                                {"client_id", token->client_id},
                                {"username", token->user},
                                {"sub", token->user},
                                {"exp", token->access_expires_at / 1000},
                                {"iat", token->issued_at / 1000},
                                {"token_id", token->token_id}};
    return no_store(json_response(200, body.dump()));
}

// An RFC 6749 §5.2 error of the token endpoint: never cached.
Response grant_error(unsigned status, std::string_view code) {
    Response r = error_response(status, code);
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Pragma", "no-cache");
    return r;
}

// POST /oauth2/token (RFC 6749 §6, as pycentral calls it): grant_type=refresh_token,
// client_id, client_secret and refresh_token, in the query string or a form body, each
// exactly once across both. Both secrets rotated and committed before the answer.
Response handle_token(const Request& request, Context& context) {
    auto target = split_target(request.target);
    if (!target || (!request.body.empty() && !is_form_content_type(request.content_type))) {
        return grant_error(400, "invalid_request");
    }
    auto params = parse_form(target->query);
    auto body = parse_form(request.body);
    if (!params || !body) {
        return grant_error(400, "invalid_request");
    }
    for (auto& [name, value] : *body) {
        if (!params->emplace(name, std::move(value)).second) {
            return grant_error(400, "invalid_request");
        }
    }
    // Parameters other than these are ignored (RFC 6749 §3.2: unrecognized ones are).
    if (!params->contains("grant_type")) {
        return grant_error(400, "invalid_request");
    }
    if (params->at("grant_type") != "refresh_token") {
        return grant_error(400, "unsupported_grant_type");
    }
    ClientRefresh refresh;
    for (auto [name, field] : {std::pair{"client_id", &refresh.client_id},
                               std::pair{"client_secret", &refresh.client_secret},
                               std::pair{"refresh_token", &refresh.refresh_token}}) {
        auto found = params->find(name);
        if (found == params->end() || found->second.empty()) {
            return grant_error(400, "invalid_request");
        }
        *field = std::move(found->second);
    }
    try {
        TokenFile file = refresh_for_client(context.session(), refresh, context.reuse_grace_ms());
        Response r = json_response(200, file.text());
        r.headers.emplace_back("Cache-Control", "no-store");
        r.headers.emplace_back("Pragma", "no-cache");
        return r;
    } catch (const GrantRefused& e) {
        if (e.code() == GrantError::invalid_client) {
            context.metrics().count_client_failure(refresh.client_id);
            Response r = grant_error(401, "invalid_client");
            r.headers.emplace_back("WWW-Authenticate", R"(Basic realm="tokenctl")");
            return r;
        }
        Response r = grant_error(400, "invalid_grant");
        if (e.reuse()) {
            context.metrics().count_reuse();
            r.log_note = "a refresh token rotated away was presented again after the reuse "
                         "grace: its token is revoked (audit: refresh-reuse)";
        }
        return r;
    }
}

// GET /healthz: the registry answers and the key file matches it.
Response handle_healthz(const Request&, Context& context) {
    if (registry_healthy(context.session())) {
        return json_response(200, R"({"status":"ok"})");
    }
    return json_response(503, R"({"status":"unavailable"})");
}

// GET /metrics: Prometheus text, the registry's tokens counted now by the database (one
// aggregate query; on PostgreSQL through tokenctl.token_counts(), which counts every token
// for a verifier too, who reads no token rows). Should the count fail, the token gauges are
// left out and the requests' counts are still reported.
Response handle_metrics(const Request&, Context& context) {
    Millis now = now_ms();
    Response r;
    std::optional<TokenCounts> counts;
    try {
        counts = count_tokens(context.session(), now, k_week);
    } catch (const Error& e) {
        r.log_note = fmt::format("tokens not counted: {}", e.what());
    }
    r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = context.metrics().render(counts);
    return r;
}

constexpr std::array k_routes{
    Route{"GET", "/auth", "auth", &handle_auth},
    Route{"POST", "/oauth2/token", "token", &handle_token},
    Route{"POST", "/introspect", "introspect", &handle_introspect},
    Route{"GET", "/healthz", "healthz", &handle_healthz},
    Route{"GET", "/metrics", "metrics", &handle_metrics},
};

} // namespace

std::span<const Route> routes() {
    return k_routes;
}

Response error_response(unsigned status, std::string_view code) {
    Response r = json_response(status, fmt::format(R"({{"error":"{}"}})", code));
    r.close = true;
    return r;
}

Response answer(const Request& request, Context& context, std::string_view& endpoint) {
    endpoint = "other";
    auto target = split_target(request.target);
    if (!target) {
        return error_response(400, "invalid_request");
    }
    std::string allowed;
    for (const Route& route : k_routes) {
        if (route.path != target->path) {
            continue;
        }
        if (route.method == request.method) {
            endpoint = route.name;
            return route.handle(request, context);
        }
        allowed += allowed.empty() ? route.method : fmt::format(", {}", route.method);
    }
    if (allowed.empty()) {
        return error_response(404, "not_found");
    }
    Response r = error_response(405, "method_not_allowed");
    r.headers.emplace_back("Allow", allowed);
    return r;
}

} // namespace tokenctl::serve
