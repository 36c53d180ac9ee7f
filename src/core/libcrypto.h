#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

// The libcrypto functions tokenctl calls, each named once: the table below and its
// loader are both written from this list.
#define TOKENCTL_LIBCRYPTO_FUNCTIONS(X)                                                            \
    X(CRYPTO_memcmp)                                                                               \
    X(EVP_CIPHER_CTX_ctrl)                                                                         \
    X(EVP_CIPHER_CTX_free)                                                                         \
    X(EVP_CIPHER_CTX_new)                                                                          \
    X(EVP_DecryptFinal_ex)                                                                         \
    X(EVP_DecryptInit_ex)                                                                          \
    X(EVP_DecryptUpdate)                                                                           \
    X(EVP_Digest)                                                                                  \
    X(EVP_EncryptFinal_ex)                                                                         \
    X(EVP_EncryptInit_ex)                                                                          \
    X(EVP_EncryptUpdate)                                                                           \
    X(EVP_MD_fetch)                                                                                \
    X(EVP_aes_256_gcm)                                                                             \
    X(RAND_bytes)

namespace tokenctl {

// OpenSSL's libcrypto, loaded on first use rather than at start-up: loading it costs more
// than the whole of a listing (its relocations and the pages they touch), and listings,
// user commands and the audit log never need it. Members are the functions of the same
// names.
struct Libcrypto {
#define TOKENCTL_LIBCRYPTO_MEMBER(name) decltype(&::name) name = nullptr;
    TOKENCTL_LIBCRYPTO_FUNCTIONS(TOKENCTL_LIBCRYPTO_MEMBER)
#undef TOKENCTL_LIBCRYPTO_MEMBER
};

// The loaded library. Throws Error(failure) when libcrypto.so.3 cannot be loaded or lacks
// one of the functions.
const Libcrypto& libcrypto();

} // namespace tokenctl
