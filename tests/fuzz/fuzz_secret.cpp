// The token-string checker: arbitrary bytes through is_well_formed_secret and the
// verify input parser; then a secret built from the input with its checksum must be
// accepted, and any one-character change of it refused (CRC32 catches every single
// substitution).
#include "fuzz_support.h"

#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/secret.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view k_alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    using tokenctl::SecretKind;

    for (SecretKind kind : {SecretKind::access, SecretKind::refresh}) {
        if (tokenctl::is_well_formed_secret(text, kind)) {
            fuzz::require(text.size() == tokenctl::k_secret_length, "secret length");
            fuzz::require(text.starts_with(kind == SecretKind::access ? "tca_" : "tcr_"),
                          "secret prefix");
            fuzz::require(!tokenctl::is_well_formed_secret(text, kind == SecretKind::access
                                                                     ? SecretKind::refresh
                                                                     : SecretKind::access),
                          "a secret has one kind");
        }
    }

    try {
        std::string token = tokenctl::parse_verify_input(text);
        fuzz::require(tokenctl::is_well_formed_secret(token, SecretKind::access),
                      "verify accepts only well-formed access tokens");
    } catch (const tokenctl::Error& e) {
        fuzz::require(e.status() == tokenctl::Status::usage, "verify refuses with usage");
        fuzz::require_printable(e.what());
    }

    // A well-formed secret made from the input, then one character changed.
    if (size < 45) {
        return 0;
    }
    SecretKind kind = (data[0] & 1) != 0 ? SecretKind::access : SecretKind::refresh;
    std::string secret = kind == SecretKind::access ? "tca_" : "tcr_";
    for (std::size_t i = 0; i < 43; ++i) {
        secret += k_alphabet[data[1 + i] % k_alphabet.size()];
    }
    secret += tokenctl::base62_u32(tokenctl::crc32(secret), 6);
    fuzz::require(tokenctl::is_well_formed_secret(secret, kind),
                  "a checksummed secret is accepted");

    std::size_t position = 4 + data[44] % (tokenctl::k_secret_length - 4);
    std::size_t step = 1 + (size > 45 ? data[45] % (k_alphabet.size() - 1) : 0);
    std::size_t old_index = k_alphabet.find(secret[position]);
    secret[position] = k_alphabet[(old_index + step) % k_alphabet.size()];
    fuzz::require(!tokenctl::is_well_formed_secret(secret, kind),
                  "a secret with one character changed is refused");
    return 0;
}
