#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include "format_chars.h"

#include <fmt/format.h>

#include <algorithm>

namespace tokenctl {

namespace {

constexpr std::size_t k_max_name = 128;
constexpr std::size_t k_max_uri = 2048;

bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not well formed
// (overlong forms, surrogates and values past U+10FFFF included). Sets `cp`.
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& cp) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char b0 = byte(i);
    std::size_t len = 0;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07u;
    } else {
        return 0;
    }
    if (i + len > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        unsigned char b = byte(i + k);
        if ((b & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    return len;
}

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
bool is_control(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

// Unicode general category Cf: invisible characters that change how text around them is
// shown (U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE, ...), and the other
// default-ignorable code points that are not marks (U+2065, reserved for one; U+3164
// HANGUL FILLER), which are shown as nothing too.
bool is_format_char(char32_t cp) {
    const auto& table = unicode::k_format_chars;
    auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                               [](char32_t c, const unicode::Range& r) { return c < r.first; });
    return it != std::begin(table) && cp <= std::prev(it)->last;
}

// Spaces that a writer puts between the words of an application name: the ordinary,
// no-break, narrow no-break and ideographic spaces. Allowed inside a name, never at either
// end, where nothing shows them.
bool is_inner_space(char32_t cp) {
    return cp == 0x20 || cp == 0xA0 || cp == 0x202F || cp == 0x3000;
}

// What shows as a blank or as nothing, and is neither a control nor in the generated table
// of format characters (scripts/gen-format-chars): the other Unicode spaces (ogham space
// mark, the typographic spaces U+2000-U+200A, the medium mathematical space) and letters
// and marks drawn blank (combining grapheme joiner, Khmer inherent vowels, Mongolian free
// variation selectors, braille blank, Hangul fillers). Written out here rather than
// generated: no Unicode property names exactly these. Refused anywhere in names and URIs.
bool is_blank_looking(char32_t cp) {
    return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x205F || cp == 0x034F ||
           cp == 0x115F || cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5 ||
           (cp >= 0x180B && cp <= 0x180F) || cp == 0x2800 || cp == 0x3164 || cp == 0xFFA0;
}

// A secret's random part is 43 base62 characters; the checksum after it adds nothing secret.
constexpr std::size_t k_secret_random = 43;

bool is_base62(char c) {
    return is_alpha(c) || is_digit(c);
}

// Where the next run of tca_/tcr_/tcs_ and at least `min_run` base62 characters begins in
// `text` at or after `from`, and its length; npos when there is none.
std::pair<std::size_t, std::size_t> find_secret(std::string_view text, std::size_t from,
                                                std::size_t min_run) {
    for (std::size_t at = from; at < text.size(); ++at) {
        at = std::min({text.find("tca_", at), text.find("tcr_", at), text.find("tcs_", at)});
        if (at == std::string_view::npos) {
            break;
        }
        std::size_t end = at + 4;
        while (end < text.size() && is_base62(text[end])) {
            ++end;
        }
        if (end - at - 4 >= min_run) {
            return {at, end - at};
        }
    }
    return {std::string_view::npos, 0};
}

std::string redact(std::string_view text, std::size_t min_run) {
    std::string out;
    std::size_t i = 0;
    for (auto [at, len] = find_secret(text, 0, min_run); at != std::string_view::npos;
         std::tie(at, len) = find_secret(text, i, min_run)) {
        out.append(text.substr(i, at + 4 - i));
        out += "\u2026(redacted)";
        i = at + len;
    }
    out.append(text.substr(i));
    return out;
}

} // namespace

int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool contains_secret(std::string_view text) {
    return find_secret(text, 0, k_secret_random).first != std::string_view::npos;
}

std::string redact_secrets(std::string_view text) {
    // The prefix alone, as a hint names it ("starts with tca_ and"), hides nothing.
    return redact(text, 1);
}

std::string redact_secret_shapes(std::string_view text) {
    return redact(text, k_secret_random);
}

std::string printable(std::string_view text) {
    constexpr std::size_t k_shown = 64;
    std::string out = "'";
    std::size_t i = 0;
    for (; i < text.size() && i < k_shown; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7F || c >= 0x80 || c == '\'' || c == '\\') {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '\'';
    if (i < text.size()) {
        out += fmt::format(" (and {} more bytes)", text.size() - i);
    }
    return out;
}

std::string escape_controls(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        std::size_t len = utf8_sequence(text, i, cp);
        if (len == 0 || is_control(cp) || is_format_char(cp) || is_blank_looking(cp)) {
            for (std::size_t k = 0; k < std::max<std::size_t>(len, 1); ++k) {
                out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + k]));
            }
            len = std::max<std::size_t>(len, 1);
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

// Names and URIs are shown in listings and prompts: a secret there would be on screen.
void refuse_secret(std::string_view what, std::string_view text) {
    if (contains_secret(text)) {
        throw Error(Status::usage, fmt::format("{} is shaped like a tokenctl secret", what),
                    "a secret is never a name; if one was pasted here, revoke or refresh "
                    "that token");
    }
}

void validate_user_name(std::string_view name) {
    if (name.empty()) {
        throw Error(Status::usage, "user name must not be empty");
    }
    if (name.size() > k_max_name) {
        throw Error(Status::usage, fmt::format("user name is {} characters long; the limit is {}",
                                               name.size(), k_max_name));
    }
    for (char c : name) {
        if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '@' || c == '+' ||
              c == '-')) {
            throw Error(Status::usage, fmt::format("invalid user name {}", printable(name)),
                        "user names use only A-Z a-z 0-9 . _ @ + -");
        }
    }
    if (name.front() == '-') {
        throw Error(Status::usage, fmt::format("invalid user name {}", printable(name)),
                    "a user name may not begin with -");
    }
    refuse_secret("user name", name);
}

namespace {

void check_app_name(std::string_view name, bool new_name) {
    if (name.empty()) {
        throw Error(Status::usage, "application name must not be empty");
    }
    if (name.size() > k_max_name) {
        throw Error(Status::usage, fmt::format("application name is {} bytes long; the limit is {}",
                                               name.size(), k_max_name));
    }
    for (std::size_t i = 0; i < name.size();) {
        char32_t cp = 0;
        std::size_t len = utf8_sequence(name, i, cp);
        if (len == 0) {
            throw Error(Status::usage,
                        fmt::format("application name {} is not valid UTF-8", printable(name)));
        }
        if (is_control(cp)) {
            throw Error(Status::usage, fmt::format("application name {} contains a control "
                                                   "character",
                                                   printable(name)));
        }
        if (is_format_char(cp)) {
            throw Error(Status::usage,
                        fmt::format("application name {} contains the invisible format "
                                    "character U+{:04X}",
                                    printable(name), static_cast<std::uint32_t>(cp)));
        }
        if (new_name && is_blank_looking(cp)) {
            throw Error(Status::usage,
                        fmt::format("application name {} contains U+{:04X}, which shows as a "
                                    "blank or as nothing",
                                    printable(name), static_cast<std::uint32_t>(cp)));
        }
        if (new_name && is_inner_space(cp) && (i == 0 || i + len == name.size())) {
            throw Error(Status::usage,
                        fmt::format("application name {} has a leading or trailing space{}",
                                    printable(name),
                                    cp == 0x20 ? std::string()
                                               : fmt::format(" (U+{:04X})",
                                                             static_cast<std::uint32_t>(cp))),
                        "a name begins and ends with a visible character");
        }
        i += len;
    }
    refuse_secret("application name", name);
}

} // namespace

void validate_app_name(std::string_view name) {
    check_app_name(name, true);
}

void validate_app_name_to_find(std::string_view name) {
    check_app_name(name, false);
}

void validate_redirect_uri(std::string_view uri) {
    auto bad = [&](std::string_view why) {
        return Error(Status::usage, fmt::format("invalid redirect URI {}: {}", printable(uri), why),
                     "use an absolute URI such as https://app.example.com/callback");
    };
    if (uri.empty()) {
        throw Error(Status::usage, "redirect URI must not be empty",
                    "use an absolute URI such as https://app.example.com/callback");
    }
    if (uri.size() > k_max_uri) {
        throw bad(fmt::format("it is {} bytes long; the limit is {}", uri.size(), k_max_uri));
    }
    for (char ch : uri) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7F) {
            throw bad("it contains white space or a control character");
        }
    }
    for (std::size_t i = 0; i < uri.size();) {
        char32_t cp = 0;
        std::size_t len = utf8_sequence(uri, i, cp);
        if (len == 0 || is_control(cp) || cp == 0x85) {
            throw bad("it contains an invalid byte or a control character");
        }
        if (is_inner_space(cp) || is_blank_looking(cp)) {
            throw bad(fmt::format("it contains U+{:04X}, white space or a character shown "
                                  "as a blank",
                                  static_cast<std::uint32_t>(cp)));
        }
        if (is_format_char(cp)) {
            throw bad(fmt::format("it contains the invisible format character U+{:04X}",
                                  static_cast<std::uint32_t>(cp)));
        }
        i += len;
    }
    std::size_t colon = uri.find(':');
    if (colon == std::string_view::npos || colon == 0 || !is_alpha(uri[0])) {
        throw bad("it is not absolute (it needs a scheme such as https:)");
    }
    for (std::size_t i = 1; i < colon; ++i) {
        char c = uri[i];
        if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) {
            throw bad("its scheme has a character other than letters, digits, + - .");
        }
    }
    if (colon + 1 == uri.size()) {
        throw bad("nothing follows the scheme");
    }
    if (uri.find('#') != std::string_view::npos) {
        throw bad("it has a fragment (#), which redirect URIs must not have");
    }
}

void validate_token_id(std::string_view id) {
    bool ok = id.size() == 16;
    for (char c : id) {
        ok = ok && (is_digit(c) || (c >= 'a' && c <= 'f'));
    }
    if (!ok) {
        throw Error(Status::usage, fmt::format("invalid token ID {}", printable(id)),
                    "a token ID is 16 lowercase hexadecimal characters, as `tokenctl list` "
                    "shows");
    }
}

void validate_role(std::string_view role) {
    if (role != "admin" && role != "user" && role != "verifier") {
        throw Error(Status::usage, fmt::format("invalid role {}", printable(role)),
                    "a role is admin, user or verifier");
    }
}

} // namespace tokenctl
