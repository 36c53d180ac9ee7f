#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenctl {

using Bytes = std::vector<std::uint8_t>;

// SHA-256 of `data`.
Bytes sha256(std::string_view data);

// Constant-time equality of two byte strings of the same length (CRYPTO_memcmp).
bool equal_constant_time(const Bytes& a, const Bytes& b);

// A 256-bit AES key, wiped when destroyed.
class Key {
public:
    static constexpr std::size_t k_size = 32;

    // A new key from OpenSSL's CSPRNG.
    static Key generate();
    // A key from exactly k_size bytes.
    explicit Key(std::string_view raw);
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    Key(Key&& other) noexcept;
    ~Key();

    const std::uint8_t* data() const { return m_bytes.data(); }

private:
    Key() = default;
    std::array<std::uint8_t, k_size> m_bytes{};
};

// AES-256-GCM with a random 96-bit nonce; returns nonce || ciphertext || tag.
Bytes seal(const Key& key, std::string_view plaintext, std::string_view associated_data);

// Opens what seal() made. Throws Error(failure) when the key, the data or the
// associated data do not match (tampering or the wrong key file).
std::string open_sealed(const Key& key, const Bytes& sealed, std::string_view associated_data);

// Overwrites a string holding a secret (OPENSSL_cleanse) before it is released.
void wipe(std::string& secret);

} // namespace tokenctl
