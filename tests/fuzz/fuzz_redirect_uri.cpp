// Feeds arbitrary bytes to the redirect-URI validator. An accepted URI must meet every
// rule of SPEC.md; a refused one must be refused as a usage error with a message that
// holds no control byte.
#include "fuzz_support.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view uri(reinterpret_cast<const char*>(data), size);
    try {
        tokenctl::validate_redirect_uri(uri);
    } catch (const tokenctl::Error& e) {
        fuzz::require(e.status() == tokenctl::Status::usage, "refused with a usage error");
        fuzz::require_printable(e.what());
        fuzz::require_printable(e.hint());
        return 0;
    }
    fuzz::require(!uri.empty() && uri.size() <= 2048, "accepted length is 1..2048");
    fuzz::require(uri.find('#') == std::string_view::npos, "accepted URI has no fragment");
    for (char ch : uri) {
        auto c = static_cast<unsigned char>(ch);
        fuzz::require(c > 0x20 && c != 0x7F, "accepted URI has no space or control byte");
    }
    fuzz::require(fuzz::is_valid_utf8(uri), "accepted URI is UTF-8");
    std::size_t colon = uri.find(':');
    fuzz::require(colon != std::string_view::npos && colon > 0 && colon + 1 < uri.size(),
                  "accepted URI has a scheme and a rest");
    fuzz::require(fuzz::is_alpha(uri[0]), "scheme starts with a letter");
    for (std::size_t i = 1; i < colon; ++i) {
        char c = uri[i];
        fuzz::require(fuzz::is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
                          c == '.',
                      "scheme characters");
    }
    return 0;
}
