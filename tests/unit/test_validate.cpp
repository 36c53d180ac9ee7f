#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <doctest/doctest.h>

#include <string>

using namespace tokenctl;

namespace {

Status status_of(void (*validate)(std::string_view), std::string_view value) {
    try {
        validate(value);
        return Status::ok;
    } catch (const Error& e) {
        return e.status();
    }
}

} // namespace

TEST_CASE("user names") {
    for (const char* ok : {"a", "alice", "Alice.Smith+ci@example.com", "a_b-c", "0"}) {
        CHECK_MESSAGE(status_of(validate_user_name, ok) == Status::ok, ok);
    }
    CHECK(status_of(validate_user_name, std::string(128, 'a')) == Status::ok);
    for (std::string bad :
         {std::string(), std::string(129, 'a'), std::string("a b"), std::string("a/b"),
          std::string("é"), std::string("a\nb"), std::string("a\0b", 3), std::string("a:b")}) {
        CHECK(status_of(validate_user_name, bad) == Status::usage);
    }
}

TEST_CASE("application names") {
    for (const char* ok : {"billing", "Billing App", "données", "日本語", "a,b\"c", "x"}) {
        CHECK_MESSAGE(status_of(validate_app_name, ok) == Status::ok, ok);
    }
    CHECK(status_of(validate_app_name, std::string(128, 'x')) == Status::ok);
    for (std::string bad :
         {std::string(), std::string(129, 'x'), std::string(" lead"), std::string("trail "),
          std::string("tab\there"), std::string("nl\n"), std::string("esc\x1b[31m"),
          std::string("del\x7f"), std::string("\xc3"), std::string("\xc0\xaf"),
          std::string("\xed\xa0\x80"), std::string("\xc2\x85"), std::string("\xe2\x80\xa8")}) {
        CHECK_MESSAGE(status_of(validate_app_name, bad) == Status::usage, printable(bad));
    }
    // 128 bytes is the limit, whatever the characters.
    std::string multibyte;
    for (int i = 0; i < 65; ++i) {
        multibyte += "é";
    }
    CHECK(status_of(validate_app_name, multibyte) == Status::usage);
}

TEST_CASE("redirect URIs") {
    for (const char* ok : {"https://app.example.com/cb", "http://localhost:8080/callback?x=1",
                           "com.example.app:/oauth2redirect", "urn:ietf:wg:oauth:2.0:oob",
                           "a+b-c.d:x", "https://exämple.com/"}) {
        CHECK_MESSAGE(status_of(validate_redirect_uri, ok) == Status::ok, ok);
    }
    std::string longest = "https://e.com/" + std::string(2048 - 14, 'a');
    CHECK(status_of(validate_redirect_uri, longest) == Status::ok);
    for (std::string bad :
         {std::string(), longest + "a", std::string("/relative/path"), std::string("example.com"),
          std::string("https://a/cb#frag"), std::string("https://a/ b"), std::string("https:"),
          std::string("1http://a"), std::string("ht_tp://a"), std::string(":nothing"),
          std::string("https://a/\r\nX: y"), std::string("https://a/\x01"),
          std::string("https://a/\xff"), std::string("https://a/\xc2\xa0")}) {
        CHECK_MESSAGE(status_of(validate_redirect_uri, bad) == Status::usage, printable(bad));
    }
}

TEST_CASE("token IDs and roles") {
    CHECK(status_of(validate_token_id, "0123456789abcdef") == Status::ok);
    CHECK(status_of(validate_token_id, "0123456789ABCDEF") == Status::usage);
    CHECK(status_of(validate_token_id, "0123456789abcde") == Status::usage);
    CHECK(status_of(validate_token_id, "../../etc/passwd") == Status::usage);
    CHECK(status_of(validate_role, "admin") == Status::ok);
    CHECK(status_of(validate_role, "user") == Status::ok);
    CHECK(status_of(validate_role, "Admin") == Status::usage);
}

TEST_CASE("names match case-insensitively") {
    CHECK(iequals("Alice@Example.com", "alice@example.COM"));
    CHECK_FALSE(iequals("alice", "alicia"));
    CHECK_FALSE(iequals("alice", "alice "));
}

TEST_CASE("printable() keeps hostile bytes off the terminal") {
    CHECK(printable("plain") == "'plain'");
    CHECK(printable("a\x1b[31mb") == "'a\\x1b[31mb'");
    CHECK(printable(std::string(100, 'x')).ends_with("(and 36 more bytes)"));
}

TEST_CASE("secrets are redacted from error text") {
    CHECK(redact_secrets("no secret here") == "no secret here");
    CHECK(redact_secrets("invalid token ID 'tca_abcDEF123' (and 40 more bytes)") ==
          "invalid token ID 'tca_\u2026(redacted)' (and 40 more bytes)");
    CHECK(redact_secrets("tcr_x1,tca_y2") == "tcr_\u2026(redacted),tca_\u2026(redacted)");
    CHECK(redact_secrets("tca_") == "tca_\u2026(redacted)");
}
