#include "serve/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace tokenctl::serve {

void Metrics::observe(std::string_view endpoint, unsigned status, double seconds) {
    std::lock_guard lock(m_mutex);
    ++m_requests[{std::string(endpoint), status}];
    for (std::size_t i = 0; i < k_buckets.size(); ++i) {
        if (seconds <= k_buckets[i]) {
            ++m_bucket_counts[i];
        }
    }
    ++m_count;
    m_sum += seconds;
}

void Metrics::count_reuse() {
    std::lock_guard lock(m_mutex);
    ++m_reuses;
}

void Metrics::count_client_failure(std::string_view client_id) {
    bool well_formed =
        client_id.size() == 32 && std::all_of(client_id.begin(), client_id.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        });
    std::lock_guard lock(m_mutex);
    std::string label = "other";
    if (well_formed && (m_client_failures.contains(std::string(client_id)) ||
                        m_client_failures.size() < k_max_clients)) {
        label = client_id;
    }
    ++m_client_failures[label];
}

std::string Metrics::render(const std::optional<TokenCounts>& tokens) const {
    std::string out;
    std::lock_guard lock(m_mutex);
    out += "# HELP tokenctl_serve_requests_total Requests answered, by endpoint and HTTP status.\n"
           "# TYPE tokenctl_serve_requests_total counter\n";
    for (const auto& [key, count] : m_requests) {
        out += fmt::format("tokenctl_serve_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n",
                           key.first, key.second, count);
    }
    out += "# HELP tokenctl_serve_request_duration_seconds Time from a request read to its "
           "answer written.\n"
           "# TYPE tokenctl_serve_request_duration_seconds histogram\n";
    for (std::size_t i = 0; i < k_buckets.size(); ++i) {
        out += fmt::format("tokenctl_serve_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                           k_buckets[i], m_bucket_counts[i]);
    }
    out += fmt::format("tokenctl_serve_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n"
                       "tokenctl_serve_request_duration_seconds_sum {}\n"
                       "tokenctl_serve_request_duration_seconds_count {}\n",
                       m_count, m_sum, m_count);
    out += fmt::format("# HELP tokenctl_serve_refresh_reuse_total Refresh tokens presented again "
                       "after the reuse grace (each token revoked).\n"
                       "# TYPE tokenctl_serve_refresh_reuse_total counter\n"
                       "tokenctl_serve_refresh_reuse_total {}\n",
                       m_reuses);
    out += "# HELP tokenctl_serve_client_auth_failures_total Failed client authentications "
           "(invalid_client), by client ID (\"other\": malformed, or beyond the first 100).\n"
           "# TYPE tokenctl_serve_client_auth_failures_total counter\n";
    for (const auto& [client, count] : m_client_failures) {
        out += fmt::format("tokenctl_serve_client_auth_failures_total{{client_id=\"{}\"}} {}\n",
                           client, count);
    }
    if (!tokens) {
        return out;
    }
    out += fmt::format("# HELP tokenctl_tokens Tokens in the registry, by status.\n"
                       "# TYPE tokenctl_tokens gauge\n"
                       "tokenctl_tokens{{status=\"active\"}} {}\n"
                       "tokenctl_tokens{{status=\"expired\"}} {}\n"
                       "tokenctl_tokens{{status=\"revoked\"}} {}\n"
                       "# HELP tokenctl_tokens_expiring Active tokens whose refresh token "
                       "expires within 7 days.\n"
                       "# TYPE tokenctl_tokens_expiring gauge\n"
                       "tokenctl_tokens_expiring{{within=\"7d\"}} {}\n",
                       tokens->active, tokens->expired, tokens->revoked, tokens->expiring);
    return out;
}

} // namespace tokenctl::serve
