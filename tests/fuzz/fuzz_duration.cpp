// Feeds arbitrary bytes to the duration parser (--access-ttl, --refresh-ttl) and the
// RFC 3339 parser (audit --since). Accepted values must be in range and survive a round
// trip through their formatter; refusals must be usage errors with printable messages.
#include "fuzz_support.h"

#include <tokenctl/error.h>
#include <tokenctl/time.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

constexpr tokenctl::Millis k_second = 1000;
// 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z: the years format_rfc3339 writes
// with four digits.
constexpr tokenctl::Millis k_year_0 = -62167219200000;
constexpr tokenctl::Millis k_year_10000 = 253402300800000;

void refused_properly(const tokenctl::Error& e) {
    fuzz::require(e.status() == tokenctl::Status::usage, "refused with a usage error");
    fuzz::require_printable(e.what());
    fuzz::require_printable(e.hint());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    try {
        tokenctl::Millis d = tokenctl::parse_duration(text, "--access-ttl");
        fuzz::require(d > 0, "a duration is positive");
        fuzz::require(d % k_second == 0, "a duration is whole seconds");
        std::string shown = tokenctl::format_duration(d);
        fuzz::require(tokenctl::parse_duration(shown, "--access-ttl") == d,
                      "format_duration round-trips");
    } catch (const tokenctl::Error& e) {
        refused_properly(e);
    }

    try {
        tokenctl::Millis t = tokenctl::parse_rfc3339(text);
        if (t >= k_year_0 && t < k_year_10000) {
            std::string shown = tokenctl::format_rfc3339(t);
            fuzz::require(shown.size() == 20 && shown.back() == 'Z', "RFC 3339 shape");
            tokenctl::Millis whole = t - ((t % k_second) + k_second) % k_second;
            fuzz::require(tokenctl::parse_rfc3339(shown) == whole,
                          "format_rfc3339 round-trips to the second");
        }
    } catch (const tokenctl::Error& e) {
        refused_properly(e);
    }
    return 0;
}
