// Feeds arbitrary bytes to the name validators (user, application, role, token ID).
// Whatever they accept must meet SPEC.md's rules, checked here independently; whatever
// they refuse must be a usage error whose message cannot drive a terminal.
#include "fuzz_support.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace {

// Runs `validate` on `text`: true when it accepts, false when it refuses properly.
bool accepts(const std::function<void(std::string_view)>& validate, std::string_view text) {
    try {
        validate(text);
        return true;
    } catch (const tokenctl::Error& e) {
        fuzz::require(e.status() == tokenctl::Status::usage, "refused with a usage error");
        fuzz::require_printable(e.what());
        fuzz::require_printable(e.hint());
        return false;
    }
}

bool is_user_name_char(char c) {
    return fuzz::is_alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
           c == '+' || c == '-';
}

// True when the UTF-8 text holds a C0/C1 control, DEL, U+2028 or U+2029.
bool has_control(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F) {
            return true;
        }
        auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
        auto after = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
        if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
            return true;
        }
        if (c == 0xE2 && next == 0x80 && (after == 0xA8 || after == 0xA9)) {
            return true;
        }
    }
    return false;
}

// True when the UTF-8 text holds one of the format characters (Unicode category Cf) that
// disguise text: U+00AD, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF. A subset
// of Cf, spelled as bytes, independent of the validator's table.
bool has_disguising_format_char(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto at = [&](std::size_t k) {
            return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
        };
        if ((at(0) == 0xC2 && at(1) == 0xAD) ||
            (at(0) == 0xE2 && at(1) == 0x80 &&
             ((at(2) >= 0x8B && at(2) <= 0x8F) || (at(2) >= 0xAA && at(2) <= 0xAE))) ||
            (at(0) == 0xE2 && at(1) == 0x81 && at(2) >= 0xA0 && at(2) <= 0xAF) ||
            (at(0) == 0xEF && at(1) == 0xBB && at(2) == 0xBF)) {
            return true;
        }
    }
    return false;
}

// True when the text holds tca_ or tcr_ and 43 base62 characters: a secret's shape.
bool has_secret_shape(std::string_view s) {
    for (std::size_t i = 0; i + 4 <= s.size(); ++i) {
        if (s.substr(i, 4) != "tca_" && s.substr(i, 4) != "tcr_") {
            continue;
        }
        std::size_t run = 0;
        while (i + 4 + run < s.size() && (fuzz::is_alpha(s[i + 4 + run]) ||
                                          (s[i + 4 + run] >= '0' && s[i + 4 + run] <= '9'))) {
            ++run;
        }
        if (run >= 43) {
            return true;
        }
    }
    return false;
}

// The first and the last code point of UTF-8 text that is valid and not empty.
char32_t decode_at(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[k])); };
    if (b(i) < 0x80) {
        return b(i);
    }
    if (b(i) < 0xE0) {
        return ((b(i) & 0x1F) << 6) | (b(i + 1) & 0x3F);
    }
    if (b(i) < 0xF0) {
        return ((b(i) & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
    }
    return ((b(i) & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) |
           (b(i + 3) & 0x3F);
}
char32_t first_code_point(std::string_view s) {
    return decode_at(s, 0);
}
char32_t last_code_point(std::string_view s) {
    std::size_t i = s.size() - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
        --i;
    }
    return decode_at(s, i);
}

// Unicode's White_Space characters and those drawn blank (braille blank, Hangul fillers,
// Khmer inherent vowels, the combining grapheme joiner), independent of the validator.
bool is_blank(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0x2800 || cp == 0x115F || cp == 0x1160 ||
           cp == 0x3164 || cp == 0xFFA0 || cp == 0x17B4 || cp == 0x17B5 || cp == 0x034F;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (accepts(tokenctl::validate_user_name, text)) {
        fuzz::require(!text.empty() && text.size() <= 128, "user name length");
        for (char c : text) {
            fuzz::require(is_user_name_char(c), "user name alphabet");
        }
        fuzz::require(text.front() != '-', "user name does not begin with -");
        fuzz::require(!has_secret_shape(text), "user name is not shaped like a secret");
    }

    if (accepts(tokenctl::validate_app_name, text)) {
        fuzz::require(!text.empty() && text.size() <= 128, "application name length");
        fuzz::require(fuzz::is_valid_utf8(text), "application name is UTF-8");
        fuzz::require(!has_control(text), "application name has no control character");
        fuzz::require(!has_disguising_format_char(text),
                      "application name has no bidirectional or zero-width character");
        fuzz::require(!has_secret_shape(text), "application name is not shaped like a secret");
        fuzz::require(text.front() != ' ' && text.back() != ' ',
                      "application name has no leading or trailing space");
        fuzz::require(!is_blank(first_code_point(text)) && !is_blank(last_code_point(text)),
                      "application name neither begins nor ends with a blank");
    }

    if (accepts(tokenctl::validate_token_id, text)) {
        fuzz::require(text.size() == 16, "token ID length");
        for (char c : text) {
            fuzz::require((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "token ID is hex");
        }
    }

    if (accepts(tokenctl::validate_role, text)) {
        fuzz::require(text == "admin" || text == "user" || text == "verifier", "role");
    }

    // Case-insensitive matching is symmetric and agrees with itself on an ASCII-lowered
    // copy.
    std::string_view left = text.substr(0, text.size() / 2);
    std::string_view right = text.substr(text.size() / 2);
    fuzz::require(tokenctl::iequals(left, right) == tokenctl::iequals(right, left),
                  "iequals is symmetric");
    std::string lowered(text);
    for (char& c : lowered) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    fuzz::require(tokenctl::iequals(text, lowered), "a name equals its lower-case form");

    // What an error line shows of raw text: UTF-8, no control, no disguising character.
    std::string escaped = tokenctl::escape_controls(text);
    fuzz::require(fuzz::is_valid_utf8(escaped), "escape_controls() leaves UTF-8");
    fuzz::require(!has_control(escaped), "escape_controls() leaves no control character");
    fuzz::require(!has_disguising_format_char(escaped),
                  "escape_controls() leaves no bidirectional or zero-width character");

    std::string shown = tokenctl::printable(text);
    fuzz::require_printable(shown);
    fuzz::require(shown.size() <= 2 + 64 * 4 + 40, "printable() cuts long text");
    return 0;
}
