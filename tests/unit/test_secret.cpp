#include <tokenctl/secret.h>

#include <doctest/doctest.h>

#include <set>

using namespace tokenctl;

TEST_CASE("CRC-32 matches the standard check value") {
    CHECK(crc32("123456789") == 0xCBF43926u);
    CHECK(crc32("") == 0u);
}

TEST_CASE("base62") {
    CHECK(base62_u32(0, 6) == "000000");
    CHECK(base62_u32(61, 6) == "00000z");
    CHECK(base62_u32(62, 6) == "000010");
    CHECK(base62_u32(0xFFFFFFFFu, 6) == "4gfFC3");
}

TEST_CASE("secrets have the GitHub-style shape and a checksum") {
    std::string access = generate_secret(SecretKind::access);
    std::string refresh = generate_secret(SecretKind::refresh);
    CHECK(access.size() == k_secret_length);
    CHECK(access.starts_with("tca_"));
    CHECK(refresh.starts_with("tcr_"));
    CHECK(is_well_formed_secret(access, SecretKind::access));
    CHECK(is_well_formed_secret(refresh, SecretKind::refresh));
    CHECK_FALSE(is_well_formed_secret(access, SecretKind::refresh));
    CHECK(access.substr(47) == base62_u32(crc32(access.substr(0, 47)), 6));

    SUBCASE("a typo is caught by the checksum") {
        std::string typo = access;
        typo[10] = typo[10] == 'a' ? 'b' : 'a';
        CHECK_FALSE(is_well_formed_secret(typo, SecretKind::access));
        std::string bad_sum = access;
        bad_sum.back() = bad_sum.back() == '0' ? '1' : '0';
        CHECK_FALSE(is_well_formed_secret(bad_sum, SecretKind::access));
    }
    SUBCASE("wrong length or alphabet") {
        CHECK_FALSE(is_well_formed_secret(access.substr(1), SecretKind::access));
        CHECK_FALSE(is_well_formed_secret(access + "0", SecretKind::access));
        std::string symbol = access;
        symbol[20] = '-';
        CHECK_FALSE(is_well_formed_secret(symbol, SecretKind::access));
        CHECK_FALSE(is_well_formed_secret("", SecretKind::access));
    }
}

TEST_CASE("secrets and IDs do not repeat") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        CHECK(seen.insert(generate_secret(SecretKind::access)).second);
    }
    std::string id = random_hex(8);
    CHECK(id.size() == 16);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(random_hex(16).size() == 32);
    CHECK(random_hex(8) != random_hex(8));
}
