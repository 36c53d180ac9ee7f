#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility> under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include "serve/libssl.h"
#include "serve/server.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <type_traits>
#include <vector>

// TLS for `serve --tls-cert --tls-key`, over the libssl that serve loads with dlopen
// (serve/libssl.h): OpenSSL never touches the socket. It reads and writes a pair of memory
// BIOs, and Stream moves their bytes to and from the TCP socket below it. The connection's
// deadline closes that socket, which ends a handshake, read or write in progress.
namespace tokenctl::serve::tls {

// The server's SSL_CTX: TLS 1.2 at least, no renegotiation, no compression, the server's
// cipher preference among OpenSSL's default ciphers. Reads the files at construction:
// Error(failure) for a missing or unreadable file, one that is not PEM, a key that does
// not match the certificate, an encrypted key, or a key file that others may access or
// its group may write (its group may read it: Debian's ssl-cert convention). Messages name
// the files, never their contents.
class Context {
  public:
    explicit Context(const TlsFiles& files);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    SSL_CTX* get() const { return m_ctx; }

  private:
    SSL_CTX* m_ctx = nullptr;
};

// OpenSSL's errors as error codes: the value is OpenSSL's packed error code, the message
// its reason ("wrong version number", "http request").
const boost::system::error_category& category();

// Why a handshake failed, for the log (no secret is in it).
std::string describe_failure(const boost::system::error_code& ec);

namespace detail {

// One SSL object, its BIO pair, and the bytes on their way to and from the network.
class Engine {
  public:
    // done: the call succeeded; input: it waits for bytes from the network; retry: call
    // again once the output is sent; error: it failed (Step::ec).
    enum class Want { done, input, retry, error };
    struct Step {
        Want want = Want::done;
        std::size_t bytes = 0;
        boost::system::error_code ec;
    };

    explicit Engine(const Context& context);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // One call of SSL_do_handshake, SSL_read_ex or SSL_write_ex, after feeding it what has
    // arrived.
    Step handshake();
    Step read(void* data, std::size_t size);
    Step write(const void* data, std::size_t size);

    // Moves what OpenSSL has to send into the output buffer; true if it holds any.
    bool take_output();
    std::vector<char>& output() { return m_output; }
    // Whether the output buffer is being written (then nothing else may be sent).
    bool sending = false;

    // Room for bytes from the network, and their arrival.
    boost::asio::mutable_buffer input_space();
    void received(std::size_t size) { m_input_size = size; }
    // Whether bytes from the network wait that OpenSSL has not taken yet.
    bool input_waiting() const { return m_input_offset < m_input_size; }

    // A close_notify alert, sent without waiting on `fd` if the handshake is done and
    // nothing else is being sent; once.
    void close_notify(int fd);

  private:
    Step perform(int rc, std::size_t bytes);
    void feed();

    SSL* m_ssl = nullptr;
    BIO* m_network = nullptr;
    std::vector<char> m_input;
    std::size_t m_input_offset = 0;
    std::size_t m_input_size = 0;
    std::vector<char> m_output;
    bool m_closed = false;
};

} // namespace detail

// A TLS server stream over NextLayer (a TCP socket), modelling Beast's
// AsyncReadStream and AsyncWriteStream, so http::async_read and http::async_write work on
// it. One operation at a time: a read and a write may not overlap (HttpConnection reads,
// then writes). Completion handlers are never called from the initiating function.
template <class NextLayer> class Stream {
  public:
    using next_layer_type = NextLayer;
    using executor_type = typename NextLayer::executor_type;

    template <class... Args>
    explicit Stream(const Context& context, Args&&... args)
        : m_next(std::forward<Args>(args)...), m_engine(std::make_unique<detail::Engine>(context)) {
    }

    executor_type get_executor() noexcept { return m_next.get_executor(); }
    NextLayer& next_layer() noexcept { return m_next; }
    const NextLayer& next_layer() const noexcept { return m_next; }

    template <class Handler> auto async_handshake(Handler&& handler) {
        return boost::asio::async_initiate<Handler, void(boost::system::error_code)>(
            [this](auto&& h) {
                Operation<std::decay_t<decltype(h)>, false>(
                    std::move(h), *this, [](detail::Engine& e) { return e.handshake(); })
                    .start();
            },
            handler);
    }

    template <class MutableBuffers, class Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        return boost::asio::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
            [this](auto&& h, const MutableBuffers& b) {
                boost::asio::mutable_buffer target;
                for (auto it = boost::asio::buffer_sequence_begin(b);
                     it != boost::asio::buffer_sequence_end(b); ++it) {
                    if (boost::asio::mutable_buffer piece(*it); piece.size() > 0) {
                        target = piece;
                        break;
                    }
                }
                Operation<std::decay_t<decltype(h)>, true>(
                    std::move(h), *this,
                    [target](detail::Engine& e) { return e.read(target.data(), target.size()); },
                    target.size() == 0)
                    .start();
            },
            handler, buffers);
    }

    template <class ConstBuffers, class Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        return boost::asio::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
            [this](auto&& h, const ConstBuffers& b) {
                // At most one record's worth, handed to OpenSSL again unchanged on retries.
                m_staged.resize(std::min<std::size_t>(boost::asio::buffer_size(b), k_record));
                boost::asio::buffer_copy(boost::asio::buffer(m_staged), b);
                Operation<std::decay_t<decltype(h)>, true>(
                    std::move(h), *this,
                    [this](detail::Engine& e) { return e.write(m_staged.data(), m_staged.size()); },
                    m_staged.empty())
                    .start();
            },
            handler, buffers);
    }

    // Sends close_notify if it can without waiting (the caller closes the socket next).
    void close_notify() {
        m_engine->close_notify(boost::beast::get_lowest_layer(m_next).native_handle());
    }

  private:
    static constexpr std::size_t k_record = 16 * 1024;

    // One operation: calls OpenSSL, sends what it wrote, receives what it waits for, and
    // calls it again until it is done or fails. Sized: the handler takes the bytes read
    // or written after the error code (a handshake's takes the error code only).
    template <class Handler, bool Sized>
    class Operation : public boost::beast::async_base<Handler, executor_type> {
      public:
        using Call = std::function<detail::Engine::Step(detail::Engine&)>;
        Operation(Handler&& handler, Stream& stream, Call call, bool empty = false)
            : boost::beast::async_base<Handler, executor_type>(std::move(handler),
                                                               stream.get_executor()),
              m_stream(stream), m_call(std::move(call)), m_empty(empty) {}

        void start() {
            if (m_empty) {
                return finish(false, {}, 0);
            }
            step(false);
        }

        void operator()(boost::system::error_code ec, std::size_t bytes) {
            detail::Engine& engine = *m_stream.m_engine;
            if (m_state == State::sending) {
                engine.sending = false;
                engine.output().clear();
                if (ec) {
                    return finish(true, ec, 0);
                }
                if (m_step.want != detail::Engine::Want::input &&
                    m_step.want != detail::Engine::Want::retry) {
                    return finish(true, m_step.ec, m_step.bytes);
                }
            } else if (m_state == State::receiving) {
                if (ec) {
                    return finish(true, ec, 0);
                }
                engine.received(bytes);
            }
            step(true);
        }

      private:
        enum class State { calling, sending, receiving };

        // Calls the handler: at once when `continuation` (an operation of the next layer
        // completed), else posted to its executor.
        void finish(bool continuation, boost::system::error_code ec, std::size_t bytes) {
            if constexpr (Sized) {
                this->complete(continuation, ec, bytes);
            } else {
                this->complete(continuation, ec);
            }
        }

        void step(bool continuation) {
            detail::Engine& engine = *m_stream.m_engine;
            m_state = State::calling;
            m_step = m_call(engine);
            if (engine.take_output()) {
                m_state = State::sending;
                engine.sending = true;
                return boost::asio::async_write(
                    m_stream.m_next, boost::asio::buffer(engine.output()), std::move(*this));
            }
            if (m_step.want == detail::Engine::Want::done ||
                m_step.want == detail::Engine::Want::error) {
                return finish(continuation, m_step.ec, m_step.bytes);
            }
            if (m_step.want == detail::Engine::Want::retry || engine.input_waiting()) {
                // OpenSSL can neither send nor take what is here: give up rather than spin.
                return finish(
                    continuation,
                    boost::system::errc::make_error_code(boost::system::errc::protocol_error), 0);
            }
            m_state = State::receiving;
            m_stream.m_next.async_read_some(engine.input_space(), std::move(*this));
        }

        Stream& m_stream;
        Call m_call;
        bool m_empty;
        State m_state = State::calling;
        detail::Engine::Step m_step;
    };

    NextLayer m_next;
    std::unique_ptr<detail::Engine> m_engine;
    std::vector<char> m_staged;
};

} // namespace tokenctl::serve::tls
