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

TEST_CASE("format characters (Cf) and C1 controls are refused in names and URIs") {
    for (const char* cf : {"\u202E", "\u202A", "\u2066", "\u2069", "\u200B", "\u200F", "\uFEFF",
                           "\u00AD", "\u061C", "\U000E0001", "\U000E007F",
                           // Invisible but not Cf: reserved for format characters, fillers.
                           "\u2065", "\uFFF0", "\U000E0000", "\U000E0FFF", "\u3164", "\u115F"}) {
        CHECK_MESSAGE(status_of(validate_app_name, std::string("a") + cf + "b") == Status::usage,
                      cf);
        CHECK_MESSAGE(
            status_of(validate_redirect_uri, std::string("https://x/") + cf) == Status::usage, cf);
        CHECK(status_of(validate_user_name, std::string("a") + cf) == Status::usage);
    }
    for (const char* c1 : {"\u0080", "\u0085", "\u009B", "\u009F"}) {
        CHECK(status_of(validate_app_name, std::string("a") + c1) == Status::usage);
        CHECK(status_of(validate_redirect_uri, std::string("https://x/") + c1) == Status::usage);
    }
    // Neighbours of the ranges are visible and stay allowed; so do the variation
    // selectors, which emoji need.
    for (const char* ok :
         {"\u00AC", "\u00AE", "\u2070", "\uFEFE", "\uFE0F", "\U000E0100", "\u3165"}) {
        CHECK_MESSAGE(status_of(validate_app_name, std::string("a") + ok) == Status::ok, ok);
    }
}

TEST_CASE("names that read as spaces or nothing are refused") {
    // White space a writer may put between words: inside a name only.
    for (const char* space : {" ", "\u00A0", "\u202F", "\u3000"}) {
        CHECK_MESSAGE(status_of(validate_app_name, std::string("a") + space + "b") == Status::ok,
                      printable(space));
        for (std::string bad : {std::string(space) + "ci", "ci" + std::string(space),
                                std::string(space), std::string(space) + space}) {
            CHECK_MESSAGE(status_of(validate_app_name, bad) == Status::usage, printable(bad));
        }
        CHECK(status_of(validate_redirect_uri, std::string("https://x/a") + space + "b") ==
              Status::usage);
    }
    // Other spaces, and what is drawn blank or as nothing: anywhere.
    for (const char* blank :
         {"\u1680", "\u2000", "\u2005", "\u200A", "\u205F", "\u034F", "\u115F", "\u1160", "\u17B4",
          "\u17B5", "\u180B", "\u180E", "\u180F", "\u2800", "\u3164", "\uFFA0"}) {
        for (std::string bad : {std::string(blank) + "ci", "ci" + std::string(blank),
                                "c" + std::string(blank) + "i", std::string(blank)}) {
            CHECK_MESSAGE(status_of(validate_app_name, bad) == Status::usage, printable(bad));
        }
        CHECK_MESSAGE(status_of(validate_redirect_uri, std::string("https://x/a") + blank) ==
                          Status::usage,
                      printable(blank));
        CHECK(status_of(validate_user_name, std::string("a") + blank) == Status::usage);
    }
    // Their neighbours are visible.
    for (const char* ok : {"\u17B3", "\u17B6", "\u2801", "\u034E", "\u1161", "\uFFA1"}) {
        CHECK_MESSAGE(status_of(validate_app_name, std::string("a") + ok) == Status::ok,
                      printable(ok));
    }
}

TEST_CASE("names shaped like a secret are refused; a leading - in a user name too") {
    const std::string secret = "tca_" + std::string(49, 'z');
    CHECK(status_of(validate_user_name, secret) == Status::usage);
    CHECK(status_of(validate_user_name, "a." + secret) == Status::usage);
    CHECK(status_of(validate_app_name, "tcr_" + std::string(43, '9')) == Status::usage);
    CHECK(status_of(validate_app_name, "tcr_" + std::string(42, '9')) == Status::ok);
    CHECK(status_of(validate_app_name, "tca_demo") == Status::ok);
    CHECK(status_of(validate_user_name, "-bob") == Status::usage);
    CHECK(status_of(validate_user_name, "bob-") == Status::ok);
}

TEST_CASE("contains_secret and redact_secret_shapes find a secret's shape only") {
    const std::string secret = "tca_" + std::string(49, 'A');
    CHECK(contains_secret(secret));
    CHECK(contains_secret("x " + secret + " y"));
    CHECK_FALSE(contains_secret("tca_demo"));
    CHECK_FALSE(contains_secret("tca_tca_tca_"));
    CHECK(redact_secret_shapes("user tca_demo") == "user tca_demo");
    CHECK(redact_secret_shapes("as " + secret + ", tcr_" + std::string(50, '1')) ==
          "as tca_\u2026(redacted), tcr_\u2026(redacted)");
}

TEST_CASE("escape_controls shows C0, C1, DEL, format characters and stray bytes as \\xNN") {
    CHECK(escape_controls("plain caf\u00e9 \u2026") == "plain caf\u00e9 \u2026");
    CHECK(escape_controls("a\nb\x1b[0m\x7f") == "a\\x0ab\\x1b[0m\\x7f");
    CHECK(escape_controls("x\u009b31m") == "x\\xc2\\x9b31m");
    // Blank-looking characters are shown too; the spaces a name may hold inside are not.
    CHECK(escape_controls("ci\u2800") == "ci\\xe2\\xa0\\x80");
    CHECK(escape_controls("a\u00a0b\u3000c") == "a\u00a0b\u3000c");
    CHECK(escape_controls("l\u202Er") == "l\\xe2\\x80\\xaer");
    CHECK(escape_controls("bad \xff\x9b end") == "bad \\xff\\x9b end");
}

TEST_CASE("secrets are redacted from error text") {
    CHECK(redact_secrets("no secret here") == "no secret here");
    CHECK(redact_secrets("invalid token ID 'tca_abcDEF123' (and 40 more bytes)") ==
          "invalid token ID 'tca_\u2026(redacted)' (and 40 more bytes)");
    CHECK(redact_secrets("tcr_x1,tca_y2") == "tcr_\u2026(redacted),tca_\u2026(redacted)");
    // The prefix alone, as a hint names it ("starts with tca_ and"), hides nothing.
    CHECK(redact_secrets("tca_") == "tca_");
    CHECK(redact_secrets("starts with tca_ and is") == "starts with tca_ and is");
    CHECK(redact_secrets("tca_1") == "tca_\u2026(redacted)");
}

TEST_CASE("a name that finds an existing application may hold what new names refuse") {
    for (std::string old : {std::string("ci\u2800"), std::string("\u00a0ci"),
                            std::string("c\u034fi"), std::string("ci ")}) {
        CHECK_MESSAGE(status_of(validate_app_name, old) == Status::usage, printable(old));
        CHECK_MESSAGE(status_of(validate_app_name_to_find, old) == Status::ok, printable(old));
    }
    // Controls, format characters and secrets never find anything.
    for (std::string bad : {std::string("a\nb"), std::string("a\u202eb"), std::string()}) {
        CHECK(status_of(validate_app_name_to_find, bad) == Status::usage);
    }
}
