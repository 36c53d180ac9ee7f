#include <tokenctl/crypto.h>
#include <tokenctl/error.h>

#include <doctest/doctest.h>

using namespace tokenctl;

TEST_CASE("SHA-256 of a known value") {
    Bytes d = sha256("abc");
    REQUIRE(d.size() == 32);
    CHECK(d[0] == 0xba);
    CHECK(d[1] == 0x78);
    CHECK(d[31] == 0xad);
    CHECK(equal_constant_time(d, sha256("abc")));
    CHECK_FALSE(equal_constant_time(d, sha256("abd")));
    CHECK_FALSE(equal_constant_time(d, Bytes{}));
}

TEST_CASE("AES-256-GCM round trip and tamper detection") {
    Key key = Key::generate();
    Bytes sealed = seal(key, "tca_secret", "0123456789abcdef:access");
    CHECK(sealed.size() == 12 + 10 + 16);
    CHECK(open_sealed(key, sealed, "0123456789abcdef:access") == "tca_secret");

    SUBCASE("each seal has its own nonce") {
        CHECK(seal(key, "tca_secret", "x") != seal(key, "tca_secret", "x"));
    }
    SUBCASE("another token's or kind's associated data is refused") {
        CHECK_THROWS_AS(open_sealed(key, sealed, "0123456789abcdef:refresh"), Error);
        CHECK_THROWS_AS(open_sealed(key, sealed, "fedcba9876543210:access"), Error);
    }
    SUBCASE("a changed byte anywhere is refused") {
        for (std::size_t i = 0; i < sealed.size(); ++i) {
            Bytes tampered = sealed;
            tampered[i] ^= 0x01;
            CHECK_THROWS_AS(open_sealed(key, tampered, "0123456789abcdef:access"), Error);
        }
    }
    SUBCASE("another key is refused") {
        Key other = Key::generate();
        try {
            open_sealed(other, sealed, "0123456789abcdef:access");
            FAIL("opened with the wrong key");
        } catch (const Error& e) {
            CHECK(e.status() == Status::failure);
        }
    }
    SUBCASE("a truncated blob is refused") {
        CHECK_THROWS_AS(open_sealed(key, Bytes(sealed.begin(), sealed.begin() + 20), "x"), Error);
    }
}

TEST_CASE("keys are exactly 32 bytes") {
    CHECK_THROWS_AS(Key(std::string(31, 'k')), Error);
    CHECK_NOTHROW(Key(std::string(32, 'k')));
}
