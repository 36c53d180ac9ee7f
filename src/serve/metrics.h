#pragma once

#include <tokenctl/commands.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tokenctl::serve {

// What /metrics reports of the requests served, counted from every worker thread.
class Metrics {
  public:
    // Counts one answered request of `endpoint` (a route's name, or "other") with HTTP
    // status `status`, which took `seconds`.
    void observe(std::string_view endpoint, unsigned status, double seconds);
    // Counts one refresh-token reuse detected by POST /oauth2/token (the token revoked).
    void count_reuse();
    // Counts one failed client authentication (invalid_client) of `client_id`. The label
    // set is bounded: a client ID that is not 32 lowercase hexadecimal digits, or one beyond
    // the first k_max_clients distinct IDs, is counted as "other".
    void count_client_failure(std::string_view client_id);
    // The Prometheus text exposition of the counts, and of the registry's `tokens` when
    // they could be counted.
    std::string render(const std::optional<TokenCounts>& tokens) const;

  private:
    // Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied).
    static constexpr std::array<double, 12> k_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
    static constexpr std::size_t k_max_clients = 100;
    mutable std::mutex m_mutex;
    std::uint64_t m_reuses = 0;
    std::map<std::string, std::uint64_t> m_client_failures;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> m_requests;
    std::array<std::uint64_t, k_buckets.size()> m_bucket_counts{};
    std::uint64_t m_count = 0;
    double m_sum = 0;
};

} // namespace tokenctl::serve
