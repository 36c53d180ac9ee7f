#include "libcrypto.h"

#include <tokenctl/crypto.h>
#include <tokenctl/error.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace tokenctl {

namespace {

constexpr std::size_t k_nonce = 12;
constexpr std::size_t k_tag = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&::EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() {
    const auto& c = libcrypto();
    CipherCtx ctx(c.EVP_CIPHER_CTX_new(), c.EVP_CIPHER_CTX_free);
    if (!ctx) {
        throw Error(Status::failure, "cannot allocate a cipher context");
    }
    return ctx;
}

[[noreturn]] void crypto_failure(const char* what) {
    throw Error(Status::failure, std::string("encryption failed: ") + what);
}

const unsigned char* bytes_of(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

} // namespace

void random_bytes(std::uint8_t* out, std::size_t size) {
    if (libcrypto().RAND_bytes(out, static_cast<int>(size)) != 1) {
        throw Error(Status::failure, "the system's random number generator failed");
    }
}

Bytes sha256(std::string_view data) {
    const auto& c = libcrypto();
    Bytes out(32);
    unsigned int len = 0;
    // Fetched once: an implicit fetch on every call costs as much as hashing a secret.
    static EVP_MD* const md = c.EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (md == nullptr ||
        c.EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 ||
        len != out.size()) {
        throw Error(Status::failure, "SHA-256 failed");
    }
    return out;
}

bool equal_constant_time(const Bytes& a, const Bytes& b) {
    return a.size() == b.size() && libcrypto().CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Key Key::generate() {
    Key key;
    random_bytes(key.m_bytes.data(), k_size);
    return key;
}

Key::Key(std::string_view raw) {
    if (raw.size() != k_size) {
        throw Error(Status::failure, "a key must be 32 bytes");
    }
    std::copy(raw.begin(), raw.end(), m_bytes.begin());
}

Key::Key(Key&& other) noexcept : m_bytes(other.m_bytes) {
    wipe(other.m_bytes.data(), k_size);
}

Key::~Key() {
    wipe(m_bytes.data(), k_size);
}

RandomPool::~RandomPool() {
    wipe(m_bytes.data(), m_bytes.size());
}

void RandomPool::fill(std::uint8_t* out, std::size_t size) {
    while (size > 0) {
        if (m_next == m_bytes.size()) {
            random_bytes(m_bytes.data(), m_bytes.size());
            m_next = 0;
        }
        std::size_t n = std::min(size, m_bytes.size() - m_next);
        std::copy_n(m_bytes.data() + m_next, n, out);
        wipe(m_bytes.data() + m_next, n);
        m_next += n;
        out += n;
        size -= n;
    }
}

Sealer::Sealer(const Key& key, RandomPool* nonces) : m_ctx(new_ctx().release()), m_nonces(nonces) {
    const auto& c = libcrypto();
    if (c.EVP_EncryptInit_ex(m_ctx, c.EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1) {
        c.EVP_CIPHER_CTX_free(m_ctx);
        crypto_failure("AES-256-GCM key set-up");
    }
}

Sealer::~Sealer() {
    libcrypto().EVP_CIPHER_CTX_free(m_ctx);
}

Bytes Sealer::seal(std::string_view plaintext, std::string_view associated_data) {
    const auto& c = libcrypto();
    Bytes out(k_nonce + plaintext.size() + k_tag);
    if (m_nonces != nullptr) {
        m_nonces->fill(out.data(), k_nonce);
    } else {
        random_bytes(out.data(), k_nonce);
    }
    int len = 0;
    // Only the nonce changes: the key schedule set up by the constructor is kept.
    if (c.EVP_EncryptInit_ex(m_ctx, nullptr, nullptr, nullptr, out.data()) != 1 ||
        c.EVP_EncryptUpdate(m_ctx, nullptr, &len, bytes_of(associated_data),
                            static_cast<int>(associated_data.size())) != 1 ||
        c.EVP_EncryptUpdate(m_ctx, out.data() + k_nonce, &len, bytes_of(plaintext),
                            static_cast<int>(plaintext.size())) != 1 ||
        c.EVP_EncryptFinal_ex(m_ctx, out.data() + k_nonce + len, &len) != 1 ||
        c.EVP_CIPHER_CTX_ctrl(m_ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(k_tag),
                              out.data() + k_nonce + plaintext.size()) != 1) {
        crypto_failure("AES-256-GCM");
    }
    return out;
}

Bytes seal(const Key& key, std::string_view plaintext, std::string_view associated_data) {
    return Sealer(key).seal(plaintext, associated_data);
}

std::string open_sealed(const Key& key, const Bytes& sealed, std::string_view associated_data) {
    if (sealed.size() < k_nonce + k_tag) {
        throw Error(Status::failure, "a stored secret is damaged (too short)");
    }
    std::size_t text_size = sealed.size() - k_nonce - k_tag;
    const auto& c = libcrypto();
    std::string out(text_size, '\0');
    auto ctx = new_ctx();
    int len = 0;
    Bytes tag(sealed.end() - k_tag, sealed.end());
    bool ok = c.EVP_DecryptInit_ex(ctx.get(), c.EVP_aes_256_gcm(), nullptr, key.data(),
                                   sealed.data()) == 1 &&
              c.EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(associated_data),
                                  static_cast<int>(associated_data.size())) == 1 &&
              c.EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                                  sealed.data() + k_nonce, static_cast<int>(text_size)) == 1 &&
              c.EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(k_tag),
                                    tag.data()) == 1 &&
              c.EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len,
                                    &len) == 1;
    if (!ok) {
        wipe(out);
        throw Error(Status::failure,
                    "a stored secret cannot be decrypted: the key file does not match this "
                    "database, or the database was altered");
    }
    return out;
}

void wipe(void* data, std::size_t size) {
    // Nothing to wipe: an empty view's data may be null, which explicit_bzero must not get.
    if (size == 0) {
        return;
    }
    // explicit_bzero, unlike memset, is never removed as a dead store.
    ::explicit_bzero(data, size);
}

void wipe(std::string& secret) {
    wipe(secret.data(), secret.size());
    secret.clear();
}

} // namespace tokenctl
