#pragma once

#include <tokenctl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokenctl {

// The kinds of secret: the two a token holds, and an application's client secret.
enum class SecretKind { access, refresh, client };

// "access", "refresh" or "client": also the associated-data tag when a secret is sealed.
std::string_view kind_name(SecretKind kind);

// The associated data a secret is sealed with: "TOKEN_ID:access", "TOKEN_ID:refresh", or
// "CLIENT_ID:client" for an application's client secret. A ciphertext copied into another
// row, or into another kind's column, does not open.
std::string sealing_context(std::string_view owner_id, SecretKind kind);

// Length of a secret string: 4 prefix + 43 base62 value + 6 base62 CRC32.
inline constexpr std::size_t k_secret_length = 53;

// A new secret: `tca_`, `tcr_` or `tcs_` (client), 43 base62 characters of 256 CSPRNG
// bits, then 6 base62 characters of the CRC32 of what precedes.
std::string generate_secret(SecretKind kind);
// The same, with its random value drawn from `pool`.
std::string generate_secret(SecretKind kind, RandomPool& pool);

// True when `text` has the prefix of `kind`, the right length and alphabet, and a
// checksum that matches: a well-formed secret, checked without any lookup.
bool is_well_formed_secret(std::string_view text, SecretKind kind);

// `bytes` random bytes from OpenSSL's CSPRNG as lowercase hex (token and client IDs).
std::string random_hex(std::size_t bytes);
// The same, drawn from `pool`.
std::string random_hex(std::size_t bytes, RandomPool& pool);

// CRC-32 (IEEE 802.3, as zlib computes it).
std::uint32_t crc32(std::string_view data);

// `value` in base62 (0-9A-Za-z), left-padded with '0' to `width` characters.
std::string base62_u32(std::uint32_t value, std::size_t width);

} // namespace tokenctl
