// Boost 1.74's Asio uses std::exchange without including <utility> under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "serve/metrics.h"
#include "serve/router.h"
#include "serve/server.h"
#include "serve/tls.h"

#include <tokenctl/commands.h>
#include <tokenctl/crypto.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <type_traits>
#include <unistd.h>

namespace tokenctl::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t k_header_limit = 8 * 1024;
constexpr std::size_t k_body_limit = 16 * 1024;
constexpr std::size_t k_max_connections = 1000;
// Absolute deadlines: a client trickling bytes gains nothing by it.
constexpr auto k_read_deadline = std::chrono::seconds(10);
constexpr auto k_write_deadline = std::chrono::seconds(10);
constexpr auto k_stop_deadline = std::chrono::seconds(10);
constexpr auto k_record_interval = std::chrono::seconds(5);
constexpr unsigned k_max_workers = 64;
constexpr auto k_sweep_interval = std::chrono::seconds(1);

// The session of the worker thread running a handler (Session is not thread-safe).
thread_local Session* t_session = nullptr;

// One line on standard error in one write, so that threads never interleave lines.
void log_line(const std::string& line) {
    std::string text = line + "\n";
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

// Client-supplied text as the log may show it: secrets redacted, controls escaped, cut.
std::string loggable(std::string_view text) {
    constexpr std::size_t k_max = 200;
    std::string shown = escape_controls(redact_secrets(text.substr(0, k_max)));
    return text.size() > k_max ? shown + "..." : shown;
}

// A session whose connection to the registry was lost (a PostgreSQL server restarted, a
// network cut, a COMMIT whose answer never came) connects again before it is used, rather
// than answering 503 until serve is restarted. Error(failure) if it still cannot.
Session& reconnected(Session& session) {
    Store& store = session.store();
    if (store.connection_lost()) {
        log_line("tokenctl: serve: the connection to the registry was lost; connecting again");
        store.reconnect();
    }
    return session;
}

std::string_view view(beast::string_view text) {
    return {text.data(), text.size()};
}

bool is_loopback(const net::ip::address& address) {
    if (address.is_v4()) {
        return address.to_v4().is_loopback();
    }
    auto v6 = address.to_v6();
    return v6.is_loopback() ||
           (v6.is_v4_mapped() && net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback());
}

[[noreturn]] void refuse_address(std::string_view text) {
    throw Error(Status::usage,
                fmt::format("--listen {}: not a loopback address; listening beyond this host "
                            "needs TLS: give --tls-cert and --tls-key",
                            printable(text)));
}

class Server;

// A connection the server can ask to stop, and whose deadline its worker checks.
class Connection {
  public:
    virtual ~Connection() = default;
    // Ends the connection once its request in flight, if any, is answered.
    virtual void stop() = 0;
    // Closes the connection if its deadline has passed (on its worker's thread).
    virtual void expire(std::chrono::steady_clock::time_point now) = 0;
};

// An acceptor the server can close.
class Listener {
  public:
    virtual ~Listener() = default;
    virtual void close() = 0;
};

// A thread of the server: an io_context of its own that only this thread runs (so no
// handler needs a lock or a strand), its session, and the connections it serves, whose
// deadlines it checks every second. A deadline is a time stored in the connection: no
// timer is set or cancelled per request.
class Worker {
  public:
    using Executor = net::io_context::executor_type;

    Worker(Session& session, const std::atomic<bool>& stopping)
        : m_session(session), m_stopping(stopping), m_ioc(1), m_sweep(m_ioc),
          m_guard(net::make_work_guard(m_ioc)) {}

    // Connections still open when the server is destroyed end with the io_context, after
    // the timer: they must not touch it then.
    ~Worker() { m_closing = true; }

    net::io_context& ioc() { return m_ioc; }

    // Runs the io_context until the server stops; a handler's unexpected exception is
    // logged, and serving goes on.
    void run() {
        t_session = &m_session;
        sweep();
        while (true) {
            try {
                m_ioc.run();
                return;
            } catch (const std::exception& e) {
                log_line(
                    fmt::format("tokenctl: serve: unexpected failure: {}", loggable(e.what())));
            }
        }
    }

    // The server stops: once its connections are gone, this worker's run() returns.
    void wind_down() {
        m_guard.reset();
        net::post(m_ioc, [this] {
            if (m_connections.empty()) {
                m_sweep.cancel();
            }
        });
    }

    // On this worker's thread.
    void track(Connection* connection) { m_connections.insert(connection); }
    void untrack(Connection* connection) {
        m_connections.erase(connection);
        if (m_stopping && m_connections.empty() && !m_closing) {
            m_sweep.cancel();
        }
    }

  private:
    void sweep() {
        if (m_stopping && m_connections.empty()) {
            return;
        }
        m_sweep.expires_after(k_sweep_interval);
        m_sweep.async_wait([this](beast::error_code ec) {
            if (ec) {
                return;
            }
            auto now = std::chrono::steady_clock::now();
            // expire() only closes a socket: the connection leaves the set later, when its
            // handlers have run.
            for (Connection* connection : m_connections) {
                connection->expire(now);
            }
            sweep();
        });
    }

    Session& m_session;
    const std::atomic<bool>& m_stopping;
    bool m_closing = false;
    // Declared before the io_context: alive while it destroys what holds connections.
    std::set<Connection*> m_connections;
    net::io_context m_ioc;
    net::steady_timer m_sweep;
    net::executor_work_guard<Executor> m_guard;
};

// What the threads share: the workers, the connections, the counts, the stop.
class Server final : public Context {
  public:
    Server(TokenUses& uses, Metrics& metrics, Millis reuse_grace_ms,
           const std::vector<std::unique_ptr<Session>>& sessions)
        : Context(uses, metrics, reuse_grace_ms) {
        for (const auto& session : sessions) {
            m_workers.push_back(std::make_unique<Worker>(*session, m_stopping));
        }
        m_signals.emplace(control());
        m_hard_stop.emplace(control());
    }

    Session& session() override { return reconnected(*t_session); }
    bool stopping() const { return m_stopping; }
    // Where listeners, signals and the stop run: the first worker.
    net::io_context& control() { return m_workers.front()->ioc(); }
    // The worker that serves the next connection accepted, in turn.
    Worker& next_worker() { return *m_workers[m_next++ % m_workers.size()]; }

    // Counts a new connection in, unless the limit is reached.
    bool admit(Connection* connection) {
        std::lock_guard lock(m_mutex);
        if (m_connections.size() >= k_max_connections || m_stopping) {
            return false;
        }
        m_connections.insert(connection);
        return true;
    }
    void forget(Connection* connection) {
        std::lock_guard lock(m_mutex);
        if (m_connections.erase(connection) > 0 && m_stopping && m_connections.empty() &&
            !m_destroying) {
            net::post(control(), [this] { m_hard_stop->cancel(); });
        }
    }

    void add_listener(std::shared_ptr<Listener> listener) {
        m_listeners.push_back(std::move(listener));
    }

    // On SIGTERM or SIGINT: stop accepting, end idle connections, let requests in
    // flight finish, and give up on the rest after k_stop_deadline.
    void stop_on_signal() {
        m_signals->add(SIGTERM);
        m_signals->add(SIGINT);
        m_signals->async_wait([this](beast::error_code ec, int) {
            if (ec) {
                return;
            }
            sd_notify(0, "STOPPING=1");
            log_line("tokenctl: serve: stopping");
            for (auto& listener : m_listeners) {
                listener->close();
            }
            {
                // Under the lock: a connection still counted has not finished forget(), so
                // it is not freed yet (one being destroyed meanwhile declines in stop()).
                std::lock_guard lock(m_mutex);
                m_stopping = true;
                for (Connection* connection : m_connections) {
                    connection->stop();
                }
            }
            for (auto& worker : m_workers) {
                worker->wind_down();
            }
            m_hard_stop->expires_after(k_stop_deadline);
            m_hard_stop->async_wait([this](beast::error_code wait_ec) {
                if (!wait_ec) {
                    log_line("tokenctl: serve: requests still in flight after 10 s: closing");
                    for (auto& worker : m_workers) {
                        worker->ioc().stop();
                    }
                }
            });
            std::lock_guard lock(m_mutex);
            if (m_connections.empty()) {
                m_hard_stop->cancel();
            }
        });
    }

    // Runs every worker, each on a thread of its own (the first on the calling one), until
    // the server has stopped.
    void run() {
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < m_workers.size(); ++i) {
            threads.emplace_back([&worker = *m_workers[i]] { worker.run(); });
        }
        m_workers.front()->run();
        for (auto& thread : threads) {
            thread.join();
        }
    }

    // The answer to a request; a failing registry is logged and answered 503.
    Response respond(const Request& request, std::string_view& endpoint) {
        try {
            return answer(request, *this, endpoint);
        } catch (const Error& e) {
            log_line(fmt::format("tokenctl: serve: error: {}", loggable(e.what())));
            return error_response(503, "temporarily_unavailable");
        } catch (const std::exception& e) {
            log_line(fmt::format("tokenctl: serve: unexpected failure: {}", loggable(e.what())));
            return error_response(500, "server_error");
        }
    }

    // Connections still open (the stop gave up on them) end with their io_contexts, which
    // go before what they use of the server.
    ~Server() override {
        {
            std::lock_guard lock(m_mutex);
            m_destroying = true;
        }
        m_listeners.clear();
        m_hard_stop.reset();
        m_signals.reset();
        m_workers.clear();
    }

  private:
    // Declared before the workers: alive while their io_contexts destroy what holds
    // connections.
    std::mutex m_mutex;
    std::set<Connection*> m_connections;
    std::atomic<bool> m_stopping = false;
    bool m_destroying = false;
    std::atomic<std::size_t> m_next = 0;
    std::vector<std::unique_ptr<Worker>> m_workers;
    std::optional<net::signal_set> m_signals;
    std::optional<net::steady_timer> m_hard_stop;
    std::vector<std::shared_ptr<Listener>> m_listeners;
};

template <class Stream> struct IsTls : std::false_type {};
template <class NextLayer> struct IsTls<tls::Stream<NextLayer>> : std::true_type {};

// One client connection, its handlers run by its worker's thread. Stream: the socket
// (plain HTTP) or a tls::Stream over it (HTTPS).
template <class Stream>
class HttpConnection final : public Connection,
                             public std::enable_shared_from_this<HttpConnection<Stream>> {
  public:
    HttpConnection(Stream stream, Server& server, Worker& worker)
        : m_stream(std::move(stream)), m_server(server), m_worker(worker) {}
    ~HttpConnection() override {
        if (m_tracked) {
            m_worker.untrack(this);
        }
        m_server.forget(this);
    }

    void start() {
        net::dispatch(m_stream.get_executor(), [self = this->shared_from_this()] {
            self->m_worker.track(self.get());
            self->m_tracked = true;
            if constexpr (IsTls<Stream>::value) {
                self->handshake();
            } else {
                self->read();
            }
        });
    }

    void stop() override {
        auto self = this->weak_from_this().lock();
        if (!self) {
            return;
        }
        net::post(m_stream.get_executor(), [self] {
            // Waiting for a request that has not begun: nothing is in flight.
            if (self->m_handshaking ||
                (!self->m_writing && self->m_parser && !self->m_parser->got_some())) {
                self->close();
            }
        });
    }

    void expire(std::chrono::steady_clock::time_point now) override {
        if (now >= m_deadline) {
            m_expired = true;
            close();
        }
    }

  private:
    // The TLS handshake, under the read deadline; a failure is logged and closes.
    void handshake() {
        if (m_server.stopping()) {
            return close();
        }
        m_handshaking = true;
        m_deadline = std::chrono::steady_clock::now() + k_read_deadline;
        m_stream.async_handshake([self = this->shared_from_this()](beast::error_code ec) {
            self->m_handshaking = false;
            if (ec) {
                if (self->m_expired) {
                    log_line("tokenctl: serve: TLS handshake failed: no handshake within the "
                             "read deadline");
                } else if (ec != net::error::operation_aborted) {
                    log_line(fmt::format("tokenctl: serve: TLS handshake failed: {}",
                                         loggable(tls::describe_failure(ec))));
                }
                return self->close();
            }
            self->read();
        });
    }

    void read() {
        if (m_server.stopping()) {
            return close();
        }
        m_parser.emplace();
        m_parser->header_limit(k_header_limit);
        m_parser->body_limit(k_body_limit);
        m_deadline = std::chrono::steady_clock::now() + k_read_deadline;
        http::async_read(m_stream, m_buffer, *m_parser,
                         [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(beast::error_code ec) {
        m_started = std::chrono::steady_clock::now();
        if (ec) {
            if (ec == http::error::header_limit) {
                return reply_error(431);
            }
            if (ec == http::error::body_limit) {
                return reply_error(413);
            }
            if (&ec.category() == &http::make_error_code(http::error::bad_target).category() &&
                ec != http::error::end_of_stream && ec != http::error::partial_message) {
                return reply_error(400);
            }
            return close(); // deadline, end of stream, reset, stopped
        }
        const auto& req = m_parser->get();
        Request request;
        request.method = view(req.method_string());
        request.target = view(req.target());
        request.content_type = view(req[http::field::content_type]);
        auto [first, last] = req.equal_range(http::field::authorization);
        for (auto field = first; field != last; ++field) {
            request.authorization.push_back(view(field->value()));
        }
        request.body = req.body();
        m_log_method = loggable(request.method);
        m_log_path = loggable(request.target.substr(0, request.target.find('?')));

        Response response = m_server.respond(request, m_endpoint);
        // Read before the request's header values are overwritten (Connection: close).
        bool keep_alive = req.keep_alive();
        forget_request();
        if (!response.log_note.empty()) {
            log_line(fmt::format("tokenctl: serve: {}", loggable(response.log_note)));
        }
        m_response = {};
        m_response.version(req.version());
        m_response.result(response.status);
        for (auto& [name, value] : response.headers) {
            m_response.insert(name, value);
        }
        m_response.body() = std::move(response.body);
        m_response.keep_alive(keep_alive && !response.close && !m_server.stopping());
        write();
    }

    // An answer to a request that could not be read: 400, 413 or 431, then close.
    void reply_error(unsigned status) {
        forget_request();
        m_log_method = "-";
        m_log_path = "-";
        m_endpoint = "other";
        Response response = error_response(status, "invalid_request");
        m_response = {};
        m_response.version(11);
        m_response.result(response.status);
        for (auto& [name, value] : response.headers) {
            m_response.insert(name, value);
        }
        m_response.body() = std::move(response.body);
        m_response.keep_alive(false);
        write();
    }

    void write() {
        // A 204 has no body, and says nothing of its length.
        if (m_response.result() != http::status::no_content) {
            m_response.prepare_payload();
        }
        m_writing = true;
        m_deadline = std::chrono::steady_clock::now() + k_write_deadline;
        http::async_write(m_stream, m_response,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_write(ec);
                          });
    }

    void on_write(beast::error_code ec) {
        m_writing = false;
        wipe(m_response.body()); // a token endpoint's answer holds new secrets
        std::chrono::duration<double> took = std::chrono::steady_clock::now() - m_started;
        unsigned status = m_response.result_int();
        m_server.metrics().observe(m_endpoint, status, took.count());
        log_line(fmt::format("tokenctl: serve: {} {} {} {:.1f}ms{}", m_log_method, m_log_path,
                             status, took.count() * 1000, ec ? " (not delivered)" : ""));
        if (ec || !m_response.keep_alive()) {
            return close();
        }
        read();
    }

    // Overwrites what the request held (secrets in its target, headers or body), once
    // answered: in the parsed message, and in the read buffer unless the next request has
    // begun in it.
    void forget_request() {
        auto& req = m_parser->get();
        auto overwrite = [](beast::string_view text) {
            wipe(const_cast<char*>(text.data()), text.size());
        };
        overwrite(req.target());
        for (const auto& field : req) {
            overwrite(field.value());
        }
        wipe(req.body());
        if (m_buffer.size() == 0) {
            auto whole = m_buffer.prepare(m_buffer.capacity());
            wipe(whole.data(), whole.size());
        }
    }

    void close() {
        if constexpr (IsTls<Stream>::value) {
            m_stream.close_notify();
        }
        auto& socket = beast::get_lowest_layer(m_stream);
        beast::error_code ec;
        socket.shutdown(net::socket_base::shutdown_send, ec);
        socket.close(ec);
    }

    Stream m_stream;
    Server& m_server;
    Worker& m_worker;
    bool m_tracked = false; // in its worker's set (on the worker's thread)
    std::chrono::steady_clock::time_point m_deadline;
    beast::flat_buffer m_buffer{k_header_limit};
    std::optional<http::request_parser<http::string_body>> m_parser;
    http::response<http::string_body> m_response;
    std::chrono::steady_clock::time_point m_started;
    std::string m_log_method;
    std::string m_log_path;
    std::string_view m_endpoint = "other";
    bool m_writing = false;
    bool m_handshaking = false;
    bool m_expired = false; // closed at its deadline
};

// An acceptor, run by the first worker; each connection it accepts goes to the next
// worker in turn. With a TLS context (TCP only), each speaks TLS.
template <class Protocol>
class ProtocolListener final : public Listener,
                               public std::enable_shared_from_this<ProtocolListener<Protocol>> {
  public:
    using Acceptor = typename Protocol::acceptor;
    using Socket = typename Protocol::socket::template rebind_executor<Worker::Executor>::other;
    ProtocolListener(Server& server, const std::function<void(Acceptor&)>& open,
                     std::shared_ptr<const tls::Context> tls = nullptr)
        : m_server(server), m_acceptor(server.control()), m_retry(server.control()),
          m_tls(std::move(tls)) {
        open(m_acceptor);
    }

    void start() {
        net::dispatch(m_acceptor.get_executor(),
                      [self = this->shared_from_this()] { self->accept(); });
    }
    void close() override {
        net::post(m_acceptor.get_executor(), [self = this->shared_from_this()] {
            beast::error_code ec;
            self->m_acceptor.close(ec);
            self->m_retry.cancel();
        });
    }

  private:
    void accept() {
        Worker& worker = m_server.next_worker();
        m_acceptor.async_accept(worker.ioc(), [self = this->shared_from_this(),
                                               &worker](beast::error_code ec, Socket socket) {
            self->on_accept(ec, std::move(socket), worker);
        });
    }

    void on_accept(beast::error_code ec, Socket socket, Worker& worker) {
        if (!m_acceptor.is_open() || ec == net::error::operation_aborted) {
            return;
        }
        if (ec) {
            // Out of file descriptors, say: try again shortly rather than spin.
            m_retry.expires_after(std::chrono::milliseconds(100));
            m_retry.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
                if (!wait_ec) {
                    self->accept();
                }
            });
            return;
        }
        if constexpr (std::is_same_v<Protocol, net::ip::tcp>) {
            if (m_tls) {
                using TlsStream = tls::Stream<Socket>;
                try {
                    start(std::make_shared<HttpConnection<TlsStream>>(
                        TlsStream(*m_tls, std::move(socket)), m_server, worker));
                } catch (const Error& e) {
                    log_line(fmt::format("tokenctl: serve: error: {}", loggable(e.what())));
                }
                return accept();
            }
        }
        start(std::make_shared<HttpConnection<Socket>>(std::move(socket), m_server, worker));
        accept();
    }

    template <class Accepted> void start(const std::shared_ptr<Accepted>& connection) {
        if (m_server.admit(connection.get())) {
            connection->start();
        }
    }

    Server& m_server;
    Acceptor m_acceptor;
    net::steady_timer m_retry;
    std::shared_ptr<const tls::Context> m_tls;
};

using UnixProtocol = net::local::stream_protocol;
using TcpProtocol = net::ip::tcp;

[[noreturn]] void cannot_listen(std::string_view where, const std::string& why) {
    throw Error(Status::failure, fmt::format("cannot listen on {}: {}", where, why));
}

// A stale socket file at `path` (its server gone) is removed; a live one, or anything
// else there, is refused.
void clear_socket_path(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return;
    }
    std::string where = fmt::format("unix:{}", path);
    if (!S_ISSOCK(st.st_mode)) {
        cannot_listen(where, "something else than a socket is there");
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size());
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    int err = errno;
    ::close(fd);
    if (rc == 0) {
        cannot_listen(where, "another server listens there");
    }
    if (err == ECONNREFUSED) {
        ::unlink(path.c_str());
    }
}

void open_unix(UnixProtocol::acceptor& acceptor, const Listen& listen) {
    std::string where = fmt::format("unix:{}", listen.path);
    if (listen.default_path) {
        std::filesystem::path folder = std::filesystem::path(listen.path).parent_path();
        make_private_dirs(folder);
        if (::chmod(folder.c_str(), 0700) != 0) {
            cannot_listen(where, fmt::format("cannot make {} private: {}", folder.string(),
                                             std::strerror(errno)));
        }
    }
    clear_socket_path(listen.path);
    beast::error_code ec;
    acceptor.open(UnixProtocol(), ec);
    if (!ec) {
        acceptor.bind(UnixProtocol::endpoint(listen.path), ec);
    }
    if (!ec && ::chmod(listen.path.c_str(), 0660) != 0) {
        ec.assign(errno, boost::system::system_category());
    }
    if (!ec) {
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        cannot_listen(where, ec.message());
    }
}

void open_tcp(TcpProtocol::acceptor& acceptor, const Listen& listen) {
    std::string where = fmt::format("{}:{}", listen.host, listen.port);
    beast::error_code ec;
    TcpProtocol::endpoint endpoint(net::ip::make_address(listen.host, ec), listen.port);
    if (!ec) {
        acceptor.open(endpoint.protocol(), ec);
    }
    if (!ec) {
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        cannot_listen(where, ec.message());
    }
}

// Where `acceptor` listens, for the start line.
std::string describe(const TcpProtocol::acceptor& acceptor) {
    beast::error_code ec;
    auto endpoint = acceptor.local_endpoint(ec);
    if (ec) {
        return "?";
    }
    return endpoint.address().is_v6()
               ? fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port())
               : fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

// The sockets systemd passed (socket activation): true if there were any. With `tls`, TCP
// sockets speak TLS and may be on any address.
bool adopt_systemd_sockets(Server& server, std::vector<std::string>& shown,
                           const std::shared_ptr<const tls::Context>& tls) {
    int count = sd_listen_fds(1);
    if (count <= 0) {
        return false;
    }
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) > 0) {
            auto listener = std::make_shared<ProtocolListener<UnixProtocol>>(
                server, [fd](UnixProtocol::acceptor& a) { a.assign(UnixProtocol(), fd); });
            listener->start();
            server.add_listener(listener);
            shown.push_back(fmt::format("unix socket fd {} (systemd)", fd));
            continue;
        }
        for (int family : {AF_INET, AF_INET6}) {
            if (sd_is_socket_inet(fd, family, SOCK_STREAM, 1, 0) <= 0) {
                continue;
            }
            std::string where;
            auto listener = std::make_shared<ProtocolListener<TcpProtocol>>(
                server,
                [&](TcpProtocol::acceptor& a) {
                    a.assign(family == AF_INET ? TcpProtocol::v4() : TcpProtocol::v6(), fd);
                    where = describe(a);
                    if (!tls && !is_loopback(a.local_endpoint().address())) {
                        refuse_address(where);
                    }
                },
                tls);
            listener->start();
            server.add_listener(listener);
            shown.push_back(fmt::format("{}{} (systemd)", where, tls ? " (TLS)" : ""));
        }
    }
    if (shown.empty()) {
        throw Error(Status::failure, "systemd passed no listening stream socket",
                    "check the ListenStream= lines of tokenctl-serve.socket");
    }
    return true;
}

// Records the uses of tokens noted by the workers, every k_record_interval and once more
// at the end, on a thread and a session of its own: no answer waits for a write.
class UseRecorder {
  public:
    UseRecorder(TokenUses& uses, Session& session)
        : m_thread([this, &uses, &session] { loop(uses, session); }) {}
    ~UseRecorder() {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_wake.notify_one();
        m_thread.join();
    }

  private:
    void loop(TokenUses& uses, Session& session) {
        std::unique_lock lock(m_mutex);
        while (true) {
            bool done = m_wake.wait_for(lock, k_record_interval, [this] { return m_done; });
            lock.unlock();
            try {
                uses.record(reconnected(session));
            } catch (const std::exception& e) {
                log_line(fmt::format("tokenctl: serve: cannot record token uses: {}",
                                     loggable(e.what())));
            }
            lock.lock();
            if (done) {
                return;
            }
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_done = false;
    std::thread m_thread;
};

} // namespace

Listen parse_listen(std::string_view text, bool tls) {
    Listen listen;
    if (text.starts_with("unix:")) {
        listen.path = std::string(text.substr(5));
        if (listen.path.empty() || !listen.path.starts_with('/')) {
            throw Error(
                Status::usage,
                fmt::format("--listen {}: a unix socket needs an absolute path", printable(text)),
                "for example --listen unix:/run/tokenctl/serve.sock");
        }
        if (listen.path.size() >= sizeof(sockaddr_un::sun_path)) {
            throw Error(Status::usage,
                        fmt::format("--listen {}: the socket's path is longer "
                                    "than {} bytes",
                                    printable(text), sizeof(sockaddr_un::sun_path) - 1));
        }
        return listen;
    }
    listen.kind = Listen::Kind::tcp;
    std::size_t colon = text.rfind(':');
    std::string_view host = colon == std::string_view::npos ? text : text.substr(0, colon);
    std::string_view port = colon == std::string_view::npos ? "" : text.substr(colon + 1);
    if (host.starts_with('[') && host.ends_with(']')) {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        host = {}; // an IPv6 address without brackets
    }
    unsigned long number = 0;
    bool port_ok = !port.empty() && port.size() <= 5 &&
                   port.find_first_not_of("0123456789") == std::string_view::npos &&
                   (number = std::stoul(std::string(port))) <= 65535;
    if (host.empty() || !port_ok) {
        throw Error(Status::usage,
                    fmt::format("--listen {}: expected unix:PATH or HOST:PORT", printable(text)),
                    "for example --listen unix:/run/tokenctl/serve.sock, --listen "
                    "127.0.0.1:8080 or --listen [::1]:8080");
    }
    listen.port = static_cast<unsigned short>(number);
    if (host == "localhost") {
        listen.host = "127.0.0.1";
        return listen;
    }
    beast::error_code ec;
    auto address = net::ip::make_address(std::string(host), ec);
    if (ec) {
        throw Error(
            Status::usage,
            fmt::format("--listen {}: {} is not an IP address", printable(text), printable(host)),
            "name a loopback address (127.0.0.1, [::1]) or a unix socket");
    }
    if (!tls && !is_loopback(address)) {
        refuse_address(text);
    }
    listen.host = address.to_string();
    return listen;
}

Listen default_listen() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime == nullptr || *runtime != '/') {
        throw Error(Status::usage,
                    "no --listen, and XDG_RUNTIME_DIR is not set: cannot tell where to listen",
                    "name a socket with --listen unix:PATH, or an address with --listen "
                    "127.0.0.1:PORT");
    }
    Listen listen;
    listen.path = (std::filesystem::path(runtime) / "tokenctl" / "serve.sock").string();
    listen.default_path = true;
    if (listen.path.size() >= sizeof(sockaddr_un::sun_path)) {
        throw Error(Status::usage, "XDG_RUNTIME_DIR is too long for a unix socket's path",
                    "name a socket with --listen unix:PATH");
    }
    return listen;
}

void run(const Options& options, const SessionOpener& open_session) {
    if (options.workers < 1 || options.workers > k_max_workers) {
        throw Error(Status::usage,
                    fmt::format("--workers {}: expected 1 to {}", options.workers, k_max_workers));
    }
    // TLS: the files are read once, before anything else; unix sockets stay plain, so at
    // least one TCP listener must be named (or passed by systemd).
    std::shared_ptr<const tls::Context> tls;
    if (options.tls) {
        bool tcp = sd_listen_fds(0) > 0;
        for (const Listen& listen : options.listen) {
            tcp = tcp || listen.kind == Listen::Kind::tcp;
        }
        if (!tcp) {
            throw Error(Status::usage, "--tls-cert and --tls-key need a --listen HOST:PORT: "
                                       "unix sockets are served without TLS");
        }
        tls = std::make_shared<const tls::Context>(*options.tls);
    }
    // Every session first, one per worker and one for the uses: a refused acting user or a
    // registry that cannot be opened stops the server before it listens.
    std::vector<std::unique_ptr<Session>> sessions;
    for (unsigned i = 0; i <= options.workers; ++i) {
        sessions.push_back(std::make_unique<Session>(open_session()));
    }
    TokenUses uses;
    Metrics metrics;
    // The last session records the uses; the others are the workers'.
    std::unique_ptr<Session> recording = std::move(sessions.back());
    sessions.pop_back();
    Server server(uses, metrics, options.reuse_grace_ms, sessions);
    std::vector<std::string> shown;
    std::vector<std::string> socket_files;
    if (!adopt_systemd_sockets(server, shown, tls)) {
        std::vector<Listen> listens = options.listen;
        if (listens.empty()) {
            listens.push_back(default_listen());
        }
        for (const Listen& listen : listens) {
            if (listen.kind == Listen::Kind::unix_socket) {
                auto listener = std::make_shared<ProtocolListener<UnixProtocol>>(
                    server, [&](UnixProtocol::acceptor& a) { open_unix(a, listen); });
                socket_files.push_back(listen.path);
                listener->start();
                server.add_listener(listener);
                shown.push_back(fmt::format("unix:{}", listen.path));
            } else {
                std::string where;
                auto listener = std::make_shared<ProtocolListener<TcpProtocol>>(
                    server,
                    [&](TcpProtocol::acceptor& a) {
                        open_tcp(a, listen);
                        where = describe(a);
                    },
                    tls);
                listener->start();
                server.add_listener(listener);
                shown.push_back(tls ? where + " (TLS)" : where);
            }
        }
    } else {
        if (!options.listen.empty()) {
            log_line("tokenctl: note: systemd passed sockets: --listen is ignored");
        }
        if (tls && std::none_of(shown.begin(), shown.end(), [](const std::string& where) {
                return where.find("(TLS)") != std::string::npos;
            })) {
            log_line("tokenctl: note: systemd passed no TCP socket: --tls-cert and --tls-key "
                     "are not used (unix sockets stay plain HTTP)");
        }
    }
    server.stop_on_signal();

    const Session& first = *sessions.front();
    std::string listening;
    for (const auto& where : shown) {
        listening += listening.empty() ? where : ", " + where;
    }
    log_line(fmt::format("tokenctl: serve: listening on {} for {} as {} ({} workers)", listening,
                         first.paths().db.text, first.actor().name, options.workers));
    sd_notify(0, "READY=1");
    {
        UseRecorder recorder(uses, *recording);
        server.run();
    }
    for (const auto& path : socket_files) {
        ::unlink(path.c_str());
    }
    log_line("tokenctl: serve: stopped");
}

} // namespace tokenctl::serve
