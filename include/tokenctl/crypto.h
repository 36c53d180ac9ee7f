#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's EVP_CIPHER_CTX, without including OpenSSL in every user of this header.
struct evp_cipher_ctx_st;

namespace tokenctl {

using Bytes = std::vector<std::uint8_t>;

// Fills `out` with `size` bytes from OpenSSL's CSPRNG.
void random_bytes(std::uint8_t* out, std::size_t size);

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

// Random bytes from OpenSSL's CSPRNG, drawn 4 KiB at a time and each handed out once: for
// tools that need millions of small random values (tokenctl-seed), where one call to the
// generator per value is most of the cost. Wiped when destroyed. Not to be kept across a
// fork (both processes would hand out the same bytes).
class RandomPool {
  public:
    RandomPool() = default;
    RandomPool(const RandomPool&) = delete;
    RandomPool& operator=(const RandomPool&) = delete;
    ~RandomPool();

    // Fills `out` with `size` bytes never handed out before.
    void fill(std::uint8_t* out, std::size_t size);

  private:
    static constexpr std::size_t k_size = 4096;
    std::array<std::uint8_t, k_size> m_bytes{};
    std::size_t m_next = k_size;
};

// seal() for many secrets under one key: the cipher context and its key schedule are set
// up once and reused, which is most of the cost of sealing one short secret.
class Sealer {
  public:
    // Nonces come from `nonces` when given, else straight from OpenSSL's CSPRNG.
    explicit Sealer(const Key& key, RandomPool* nonces = nullptr);
    Sealer(const Sealer&) = delete;
    Sealer& operator=(const Sealer&) = delete;
    ~Sealer();

    // What seal(key, plaintext, associated_data) returns, with a fresh random nonce.
    Bytes seal(std::string_view plaintext, std::string_view associated_data);

  private:
    evp_cipher_ctx_st* m_ctx;
    RandomPool* m_nonces;
};

// Opens what seal() made. Throws Error(failure) when the key, the data or the
// associated data do not match (tampering or the wrong key file).
std::string open_sealed(const Key& key, const Bytes& sealed, std::string_view associated_data);

// Overwrites `size` bytes that held a secret, in a way the compiler cannot drop.
void wipe(void* data, std::size_t size);

// Overwrites a string holding a secret, then empties it.
void wipe(std::string& secret);

} // namespace tokenctl
