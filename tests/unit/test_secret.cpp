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

TEST_CASE("client secrets: tcs_, the same shape and checksum as token secrets") {
    std::string client = generate_secret(SecretKind::client);
    CHECK(client.size() == k_secret_length);
    CHECK(client.starts_with("tcs_"));
    CHECK(is_well_formed_secret(client, SecretKind::client));
    CHECK_FALSE(is_well_formed_secret(client, SecretKind::access));
    CHECK_FALSE(is_well_formed_secret(client, SecretKind::refresh));
    CHECK_FALSE(is_well_formed_secret(generate_secret(SecretKind::access), SecretKind::client));
    CHECK(client.substr(47) == base62_u32(crc32(client.substr(0, 47)), 6));
    std::string typo = client;
    typo[30] = typo[30] == 'a' ? 'b' : 'a';
    CHECK_FALSE(is_well_formed_secret(typo, SecretKind::client));
    // The same random value under another prefix is another checksum.
    std::string relabelled = "tca_" + client.substr(4);
    CHECK_FALSE(is_well_formed_secret(relabelled, SecretKind::access));
}

TEST_CASE("each kind of secret is sealed with its own associated data") {
    CHECK(kind_name(SecretKind::client) == "client");
    CHECK(sealing_context("0123456789abcdef0123456789abcdef", SecretKind::client) ==
          "0123456789abcdef0123456789abcdef:client");
    CHECK(sealing_context("0123456789abcdef", SecretKind::access) == "0123456789abcdef:access");
    Key key = Key::generate();
    std::string client = generate_secret(SecretKind::client);
    Bytes sealed = seal(key, client, sealing_context("c1", SecretKind::client));
    CHECK(open_sealed(key, sealed, sealing_context("c1", SecretKind::client)) == client);
    CHECK_THROWS(open_sealed(key, sealed, sealing_context("c2", SecretKind::client)));
    CHECK_THROWS(open_sealed(key, sealed, sealing_context("c1", SecretKind::access)));
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
