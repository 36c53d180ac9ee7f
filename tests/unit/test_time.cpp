#include <tokenctl/error.h>
#include <tokenctl/time.h>

#include <doctest/doctest.h>

using namespace tokenctl;

TEST_CASE("RFC 3339 round trip") {
    CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(format_rfc3339(1795804593549) == "2026-11-27T18:36:33Z");
    CHECK(parse_rfc3339("2026-11-27T18:36:33Z") == 1795804593000);
    CHECK(parse_rfc3339("2026-11-27T18:36:33.549Z") == 1795804593549);
    CHECK(parse_rfc3339("2026-11-27T19:36:33+01:00") == 1795804593000);
    CHECK(parse_rfc3339("2026-11-27t18:36:33z") == 1795804593000);
    CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59Z");
}

TEST_CASE("invalid times are usage errors") {
    for (const char* bad : {"", "2026-11-27", "2026-11-27T18:36:33", "2026-13-01T00:00:00Z",
                            "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z", "yesterday",
                            "2026-11-27T18:36:33Zjunk", "2026-11-27T18:36:33.Z"}) {
        CHECK_THROWS_AS(parse_rfc3339(bad), Error);
    }
}

TEST_CASE("durations") {
    CHECK(parse_duration("90m", "d") == 90 * 60'000);
    CHECK(parse_duration("2h", "d") == 7'200'000);
    CHECK(parse_duration("30d", "d") == 30LL * 86'400'000);
    CHECK(parse_duration("1s", "d") == 1000);
    for (const char* bad : {"", "0m", "-5m", "5", "m", "5w", "5 m", " 5m", "5m ", "1.5h", "+5m",
                            "99999999999999999999d", "9223372036854775807s", "5M"}) {
        CHECK_THROWS_AS(parse_duration(bad, "--access-ttl"), Error);
    }
    try {
        parse_duration("5w", "--access-ttl");
    } catch (const Error& e) {
        CHECK(e.status() == Status::usage);
        CHECK(std::string(e.what()) == "invalid --access-ttl '5w'");
    }
    CHECK(format_duration(7'200'000) == "2h");
    CHECK(format_duration(15LL * 86'400'000) == "15d");
    CHECK(format_duration(90 * 60'000) == "90m");
}
