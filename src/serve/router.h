#pragma once

#include "serve/metrics.h"

#include <tokenctl/commands.h>
#include <tokenctl/session.h>

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The HTTP endpoints of `tokenctl serve`, independent of the HTTP library: a request as
// the server read it, an answer to write, and a table of routes, each one function that
// calls the core.
namespace tokenctl::serve {

// A request, read completely.
struct Request {
    std::string_view method;
    std::string_view target; // path and query, as sent
    std::string_view content_type;
    std::vector<std::string_view> authorization; // every Authorization header, in order
    std::string_view body;
};

// An answer.
struct Response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool close = false;   // close the connection once written (set for every error answer)
    std::string log_note; // for the server's log: why the answer lacks something
};

// What an endpoint works with: the worker thread's own session (Session is not
// thread-safe), and what all threads share.
class Context {
  public:
    Context(TokenUses& uses, Metrics& metrics, Millis reuse_grace_ms)
        : m_uses(uses), m_metrics(metrics), m_reuse_grace_ms(reuse_grace_ms) {}
    virtual ~Context() = default;
    // The calling thread's session, connected again first if its connection to the registry
    // was lost (Error(failure) when it cannot be).
    virtual Session& session() = 0;
    TokenUses& uses() { return m_uses; }
    Metrics& metrics() { return m_metrics; }
    // How long a rotated-away refresh token may be presented again (--reuse-grace).
    Millis reuse_grace_ms() const { return m_reuse_grace_ms; }

  private:
    TokenUses& m_uses;
    Metrics& m_metrics;
    Millis m_reuse_grace_ms;
};

// One endpoint: requests of `method` to `path` go to `handle`.
struct Route {
    std::string_view method;
    std::string_view path;
    std::string_view name; // the endpoint in metrics
    Response (*handle)(const Request& request, Context& context);
};

// Every endpoint, in the order the README lists them.
std::span<const Route> routes();

// The answer to `request`: its route's, or 400 (a target not in origin form), 404 (no
// such path) or 405 (another method). `endpoint` is set to the route's name, or "other".
// An Error of the registry propagates: the caller logs it and answers 503.
Response answer(const Request& request, Context& context, std::string_view& endpoint);

// A JSON error answer {"error":CODE} with `status`, closing the connection.
Response error_response(unsigned status, std::string_view code);

} // namespace tokenctl::serve
