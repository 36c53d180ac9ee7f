#pragma once

// Invariant checks shared by the fuzz targets: a broken invariant aborts, which
// libFuzzer reports as a crash with the input that caused it.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fuzz {

inline void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

inline bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Text quoted in an error message must not drive a terminal: no C0 control, no DEL,
// no byte of a multi-byte sequence (printable() escapes those as \xNN).
inline void require_printable(std::string_view text) {
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        require(c >= 0x20 && c < 0x7F, "an error message holds only printable ASCII");
    }
}

// Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF), decided
// independently of the validator under test.
inline bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        unsigned lo = 0x80;
        unsigned hi = 0xBF;
        if (b < 0x80) {
            ++i;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (i + len > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            auto c = static_cast<unsigned char>(s[i + k]);
            unsigned low = k == 1 ? lo : 0x80;
            unsigned high = k == 1 ? hi : 0xBF;
            if (c < low || c > high) {
                return false;
            }
        }
        i += len;
    }
    return true;
}

} // namespace fuzz
