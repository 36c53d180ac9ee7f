#include "serve/tls.h"

#include <tokenctl/error.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl::serve::tls {

namespace {

// The BIO pair's buffers, each way (OpenSSL's default, 17 KiB: a record that does not fit
// is taken in parts), and what one read from the socket may bring.
constexpr std::size_t k_bio_size = 17 * 1024;
constexpr std::size_t k_input_size = 17 * 1024;

// Boost 1.74's error_category has a public non-virtual destructor; the one instance below
// is never destroyed through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "tls"; }
    std::string message(int value) const override {
        const char* reason = libssl().ERR_reason_error_string(static_cast<unsigned long>(value));
        return reason != nullptr ? reason : "TLS protocol error";
    }
};
#pragma GCC diagnostic pop

// OpenSSL's first queued error (then cleared), as the reason a call failed.
std::string last_reason() {
    const Libssl& ssl = libssl();
    unsigned long code = ssl.ERR_get_error();
    ssl.ERR_clear_error();
    const char* reason = code != 0 ? ssl.ERR_reason_error_string(code) : nullptr;
    return reason != nullptr ? reason : "unknown reason";
}

// Checks that `path` is a regular file this process may open (and, for the key, that
// others may not access it, nor its group change it).
void check_file(const std::string& flag, const std::string& path, bool key) {
    std::string shown = escape_controls(path);
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        throw Error(Status::failure, err == ENOENT ? fmt::format("{} {}: no such file", flag, shown)
                                                   : fmt::format("{} {}: cannot open: {}", flag,
                                                                 shown, std::strerror(err)));
    }
    struct stat st {};
    int rc = ::fstat(fd, &st);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        throw Error(Status::failure,
                    fmt::format("{} {}: cannot read: {}", flag, shown, std::strerror(err)));
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(Status::failure, fmt::format("{} {}: not a regular file", flag, shown));
    }
    if (key && (st.st_mode & 027) != 0) {
        throw Error(Status::failure,
                    fmt::format("{} {}: a private key that others may read or its group may "
                                "change (mode {:04o}); run chmod o-rwx,g-w on it",
                                flag, shown, st.st_mode & 07777));
    }
}

// Encrypted keys are refused rather than asked for on a terminal.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

} // namespace

const boost::system::error_category& category() {
    static const Category instance;
    return instance;
}

std::string describe_failure(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) {
        return "the client closed the connection";
    }
    if (&ec.category() == &category()) {
        return fmt::format("TLS error: {}", ec.message());
    }
    return ec.message();
}

Context::Context(const TlsFiles& files) {
    check_file("--tls-cert", files.cert, false);
    check_file("--tls-key", files.key, true);
    const Libssl& ssl = libssl();
    ssl.ERR_clear_error();
    m_ctx = ssl.SSL_CTX_new(ssl.TLS_server_method());
    if (m_ctx == nullptr) {
        throw Error(Status::failure, fmt::format("cannot set up TLS: {}", last_reason()));
    }
    ssl.SSL_CTX_ctrl(m_ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);
    ssl.SSL_CTX_set_options(m_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                       SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Idle keep-alive connections give their buffers back.
    ssl.SSL_CTX_ctrl(m_ctx, SSL_CTRL_MODE, SSL_MODE_RELEASE_BUFFERS, nullptr);
    ssl.SSL_CTX_set_default_passwd_cb(m_ctx, &no_passphrase);
    std::string cert = escape_controls(files.cert);
    std::string key = escape_controls(files.key);
    if (ssl.SSL_CTX_use_certificate_chain_file(m_ctx, files.cert.c_str()) != 1) {
        std::string why = last_reason();
        ssl.SSL_CTX_free(m_ctx);
        throw Error(Status::failure,
                    fmt::format("--tls-cert {}: not a PEM certificate chain ({})", cert, why));
    }
    if (ssl.SSL_CTX_use_PrivateKey_file(m_ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        unsigned long code = ssl.ERR_get_error();
        ssl.ERR_clear_error();
        ssl.SSL_CTX_free(m_ctx);
        int reason = ERR_GET_REASON(code);
        if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH) {
            throw Error(Status::failure, fmt::format("--tls-key {}: does not match the "
                                                     "certificate of --tls-cert {}",
                                                     key, cert));
        }
        const char* why = code != 0 ? ssl.ERR_reason_error_string(code) : nullptr;
        throw Error(Status::failure,
                    fmt::format("--tls-key {}: not an unencrypted PEM private key ({})", key,
                                why != nullptr ? why : "unknown reason"));
    }
    if (ssl.SSL_CTX_check_private_key(m_ctx) != 1) {
        ssl.ERR_clear_error();
        ssl.SSL_CTX_free(m_ctx);
        throw Error(Status::failure,
                    fmt::format("--tls-key {}: does not match the certificate of --tls-cert {}",
                                key, cert));
    }
}

Context::~Context() {
    libssl().SSL_CTX_free(m_ctx);
}

namespace detail {

Engine::Engine(const Context& context) : m_input(k_input_size) {
    const Libssl& ssl = libssl();
    ssl.ERR_clear_error();
    m_ssl = ssl.SSL_new(context.get());
    BIO* inside = nullptr;
    if (m_ssl == nullptr ||
        ssl.BIO_new_bio_pair(&inside, k_bio_size, &m_network, k_bio_size) != 1) {
        std::string why = last_reason();
        if (m_ssl != nullptr) {
            ssl.SSL_free(m_ssl);
        }
        throw Error(Status::failure, fmt::format("cannot set up a TLS connection: {}", why));
    }
    ssl.SSL_set_bio(m_ssl, inside, inside);
    ssl.SSL_set_accept_state(m_ssl);
}

Engine::~Engine() {
    const Libssl& ssl = libssl();
    ssl.SSL_free(m_ssl); // and the inside BIO
    ssl.BIO_free(m_network);
}

void Engine::feed() {
    while (input_waiting()) {
        int n = libssl().BIO_write(m_network, m_input.data() + m_input_offset,
                                   static_cast<int>(m_input_size - m_input_offset));
        if (n <= 0) {
            return;
        }
        m_input_offset += static_cast<std::size_t>(n);
    }
}

boost::asio::mutable_buffer Engine::input_space() {
    m_input_offset = 0;
    m_input_size = 0;
    return boost::asio::buffer(m_input);
}

Engine::Step Engine::perform(int rc, std::size_t bytes) {
    const Libssl& ssl = libssl();
    if (rc == 1) {
        return {Want::done, bytes, {}};
    }
    switch (ssl.SSL_get_error(m_ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return {Want::input, 0, {}};
    case SSL_ERROR_WANT_WRITE:
        return {Want::retry, 0, {}};
    case SSL_ERROR_ZERO_RETURN: // close_notify: the end of the stream
        ssl.ERR_clear_error();
        return {Want::error, 0, boost::asio::error::eof};
    default: {
        unsigned long code = ssl.ERR_get_error();
        ssl.ERR_clear_error();
        if (code == 0) {
            return {Want::error, 0, boost::asio::error::eof};
        }
        return {Want::error, 0, boost::system::error_code(static_cast<int>(code), category())};
    }
    }
}

Engine::Step Engine::handshake() {
    const Libssl& ssl = libssl();
    ssl.ERR_clear_error();
    feed();
    int rc = ssl.SSL_do_handshake(m_ssl);
    return perform(rc, 0);
}

Engine::Step Engine::read(void* data, std::size_t size) {
    const Libssl& ssl = libssl();
    ssl.ERR_clear_error();
    feed();
    std::size_t got = 0;
    int rc = ssl.SSL_read_ex(m_ssl, data, size, &got); // before `got` is read
    return perform(rc, got);
}

Engine::Step Engine::write(const void* data, std::size_t size) {
    const Libssl& ssl = libssl();
    ssl.ERR_clear_error();
    feed();
    std::size_t put = 0;
    int rc = ssl.SSL_write_ex(m_ssl, data, size, &put); // before `put` is read
    return perform(rc, put);
}

bool Engine::take_output() {
    const Libssl& ssl = libssl();
    std::size_t pending = ssl.BIO_ctrl_pending(m_network);
    if (pending > 0) {
        std::size_t at = m_output.size();
        m_output.resize(at + pending);
        int n = ssl.BIO_read(m_network, m_output.data() + at, static_cast<int>(pending));
        m_output.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
    }
    return !m_output.empty();
}

void Engine::close_notify(int fd) {
    const Libssl& ssl = libssl();
    if (m_closed || sending || ssl.SSL_is_init_finished(m_ssl) != 1) {
        return;
    }
    m_closed = true;
    ssl.ERR_clear_error();
    ssl.SSL_shutdown(m_ssl);
    ssl.ERR_clear_error();
    if (!take_output()) {
        return;
    }
    // Best effort: what the socket's buffer takes now, never waiting.
    (void)::send(fd, m_output.data(), m_output.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    m_output.clear();
}

} // namespace detail

} // namespace tokenctl::serve::tls
