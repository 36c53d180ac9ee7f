#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

// The libssl functions `serve` calls for TLS, each named once: the table below and its
// loader are both written from this list. The BIO_ and ERR_ functions are libcrypto's,
// found through libssl, which depends on it.
#define TOKENCTL_LIBSSL_FUNCTIONS(X)                                                               \
    X(BIO_ctrl_pending)                                                                            \
    X(BIO_free)                                                                                    \
    X(BIO_new_bio_pair)                                                                            \
    X(BIO_read)                                                                                    \
    X(BIO_write)                                                                                   \
    X(ERR_clear_error)                                                                             \
    X(ERR_get_error)                                                                               \
    X(ERR_reason_error_string)                                                                     \
    X(SSL_CTX_check_private_key)                                                                   \
    X(SSL_CTX_ctrl)                                                                                \
    X(SSL_CTX_free)                                                                                \
    X(SSL_CTX_new)                                                                                 \
    X(SSL_CTX_set_default_passwd_cb)                                                               \
    X(SSL_CTX_set_options)                                                                         \
    X(SSL_CTX_use_PrivateKey_file)                                                                 \
    X(SSL_CTX_use_certificate_chain_file)                                                          \
    X(SSL_do_handshake)                                                                            \
    X(SSL_free)                                                                                    \
    X(SSL_get_error)                                                                               \
    X(SSL_is_init_finished)                                                                        \
    X(SSL_new)                                                                                     \
    X(SSL_read_ex)                                                                                 \
    X(SSL_set_accept_state)                                                                        \
    X(SSL_set_bio)                                                                                 \
    X(SSL_shutdown)                                                                                \
    X(SSL_write_ex)                                                                                \
    X(TLS_server_method)

namespace tokenctl::serve {

// OpenSSL's libssl, loaded on first use (only by `serve --tls-cert`), as libcrypto is
// (core/libcrypto.h): linking it would load libcrypto at every start-up. Members are the
// functions of the same names.
struct Libssl {
#define TOKENCTL_LIBSSL_MEMBER(name) decltype(&::name) name = nullptr;
    TOKENCTL_LIBSSL_FUNCTIONS(TOKENCTL_LIBSSL_MEMBER)
#undef TOKENCTL_LIBSSL_MEMBER
};

// The loaded library. Throws Error(failure) when libssl.so.3 cannot be loaded or lacks one
// of the functions.
const Libssl& libssl();

} // namespace tokenctl::serve
