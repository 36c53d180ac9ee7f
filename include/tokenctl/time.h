#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tokenctl {

// Milliseconds since the Unix epoch, UTC: the unit of every stored time.
using Millis = std::int64_t;

// The current time.
Millis now_ms();

// RFC 3339 UTC to the second with a Z, e.g. 2026-11-27T18:05:51Z.
std::string format_rfc3339(Millis t);

// Parses an RFC 3339 timestamp (`Z` or `±hh:mm` offset, optional fraction).
// Throws Error(usage) on anything else.
Millis parse_rfc3339(std::string_view text);

// Parses a duration: a positive integer and one unit of s, m, h, d ("90m", "30d").
// Returns milliseconds. Throws Error(usage) naming `what` on a bad value.
Millis parse_duration(std::string_view text, std::string_view what);

// A duration in the shortest exact form ("2h", "15d", "90m").
std::string format_duration(Millis d);

} // namespace tokenctl
