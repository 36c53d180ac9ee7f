#include "store/postgres/connection.h"

#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>

#include <poll.h>

namespace tokenctl::postgres {

namespace {

// How long tokenctl waits for any answer of the server: past it, the network or the server
// has gone silent, and the connection is given up.
constexpr int k_answer_timeout_ms = 30000;

// A listing this short is kept for the table format's second reading.
constexpr std::size_t k_replay_rows = 2000;

} // namespace

std::string Params::digest() const {
    std::string out;
    for (const Entry& e : m_entries) {
        out += e.value ? fmt::format("{}:{}:{};", e.format, e.value->size(), *e.value) : "-;";
    }
    return out;
}

const char* const* Params::values() const {
    m_values.clear();
    for (const Entry& e : m_entries) {
        m_values.push_back(e.value ? e.value->data() : nullptr);
    }
    return m_values.data();
}

const int* Params::lengths() const {
    m_lengths.clear();
    for (const Entry& e : m_entries) {
        m_lengths.push_back(e.value ? static_cast<int>(e.value->size()) : 0);
    }
    return m_lengths.data();
}

const int* Params::formats() const {
    m_formats.clear();
    for (const Entry& e : m_entries) {
        m_formats.push_back(e.format);
    }
    return m_formats.data();
}

Result& Result::operator=(Result&& other) noexcept {
    if (this != &other) {
        if (m_result != nullptr) {
            libpq().PQclear(m_result);
        }
        m_result = std::exchange(other.m_result, nullptr);
    }
    return *this;
}

Result::~Result() {
    if (m_result != nullptr) {
        libpq().PQclear(m_result);
    }
}

std::int64_t Result::int64(int row, int col) const {
    auto text = view(row, col);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        throw Error(Status::failure, fmt::format("the registry returned {} where a number belongs",
                                                 printable(text)));
    }
    return value;
}

Bytes Result::bytes(int row, int col) const {
    auto text = view(row, col);
    if (!text.starts_with("\\x") || text.size() % 2 != 0) {
        throw Error(Status::failure, "the registry returned binary data in an unknown form");
    }
    Bytes out;
    out.reserve((text.size() - 2) / 2);
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        throw Error(Status::failure, "the registry returned binary data in an unknown form");
    };
    for (std::size_t i = 2; i < text.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
    }
    return out;
}

void copy_bytea(std::string& out, const Bytes& bytes) {
    constexpr std::string_view k_digits = "0123456789abcdef";
    out += "\\\\x";
    for (auto b : bytes) {
        out += k_digits[b >> 4];
        out += k_digits[b & 15];
    }
}

void copy_number(std::string& out, std::optional<std::int64_t> value) {
    out += value ? std::to_string(*value) : "\\N";
}

std::string one_line(std::string_view text) {
    std::string out;
    for (char c : text) {
        bool space = c == '\n' || c == '\r' || c == '\t';
        if (space && !out.empty() && out.back() == ' ') {
            continue;
        }
        out += space ? ' ' : c;
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

Connection::~Connection() {
    if (m_conn != nullptr) {
        libpq().PQfinish(m_conn);
    }
}

void Connection::connect(const Location& location) {
    const std::string& uri = location.uri;
    const Libpq& pq = libpq();
    // The URI comes last: what it names overrides the defaults before it.
    std::vector<const char*> keywords = {"fallback_application_name"};
    std::vector<const char*> values = {"tokenctl"};
    if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
        keywords.push_back("connect_timeout");
        values.push_back("10");
    }
    // A network that drops the connection's packets is noticed by TCP itself: probes
    // after 10 s of silence, and unacknowledged data given up after 30 s.
    for (auto [keyword, value] : {std::pair{"keepalives", "1"},
                                  {"keepalives_idle", "10"},
                                  {"keepalives_interval", "5"},
                                  {"keepalives_count", "3"},
                                  {"tcp_user_timeout", "30000"}}) {
        keywords.push_back(keyword);
        values.push_back(value);
    }
    keywords.push_back("dbname");
    values.push_back(uri.c_str());
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    m_conn = pq.PQconnectdbParams(keywords.data(), values.data(), 1);
    if (m_conn == nullptr) {
        throw Error(Status::failure,
                    fmt::format("cannot connect to registry {}: out of memory", m_shown));
    }
    if (pq.PQstatus(m_conn) != CONNECTION_OK) {
        // libpq quotes a malformed part of the URI, which may be the password.
        std::string reason = hide_passwords(one_line(pq.PQerrorMessage(m_conn)), location);
        // The constructor throws: no destructor will close it.
        pq.PQfinish(std::exchange(m_conn, nullptr));
        throw Error(Status::failure,
                    fmt::format("cannot connect to registry {}: {}", m_shown, reason),
                    "check the server, the URI (--db or TOKENCTL_DB), your password in "
                    "~/.pgpass or PGPASSFILE, and sslmode");
    }
    // Notices (NOTICE, WARNING) are the server's chatter, not tokenctl's output.
    pq.PQsetNoticeProcessor(
        m_conn, [](void*, const char*) {}, nullptr);
}

bool Connection::lost() const {
    return m_gone || m_conn == nullptr || libpq().PQstatus(m_conn) == CONNECTION_BAD;
}

void Connection::reconnect(const Location& location) {
    if (m_conn != nullptr) {
        libpq().PQfinish(std::exchange(m_conn, nullptr));
    }
    // Until connected again, the connection counts as given up.
    m_gone = true;
    m_in_transaction = false;
    m_pending.clear();
    m_replay.reset();
    connect(location);
    m_gone = false;
}

void Connection::transaction(std::initializer_list<std::string> begin, std::string_view what,
                             bool read_only, const std::function<void()>& body) {
    if (m_in_transaction) {
        throw Error(Status::failure, "internal error: nested transaction");
    }
    for (const std::string& statement : begin) {
        defer(what, statement, Params(), &Connection::lock_error);
    }
    m_in_transaction = true;
    m_read_only = read_only;
    m_replay.reset();
    try {
        body();
        if (read_only) {
            defer("end a read transaction", "COMMIT", Params());
        } else {
            commit();
        }
    } catch (...) {
        m_in_transaction = false;
        m_pending.clear();
        // A connection that is gone has rolled back already; the original error says why.
        if (!m_gone) {
            try {
                exec("roll back", "ROLLBACK");
            } catch (const Error&) {
            }
        }
        throw;
    }
    m_in_transaction = false;
}

void Connection::read(const std::function<void()>& body) {
    transaction({"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}, "begin a read transaction",
                true, body);
}

void Connection::commit() {
    try {
        query("commit", "COMMIT");
    } catch (const Error& e) {
        if (!m_gone && libpq().PQstatus(m_conn) != CONNECTION_BAD) {
            throw;
        }
        throw UnknownOutcome(
            fmt::format("registry {}: the connection was lost while the change was being "
                        "committed; whether it was made is unknown ({})",
                        m_shown, e.what()),
            "find out whether it was made before trying again");
    }
}

Error Connection::lock_error(std::string_view what, const PGresult* result,
                             std::string_view sqlstate) const {
    if (sqlstate == "55P03") {
        return Error(Status::failure,
                     fmt::format("registry {}: another tokenctl held the write lock for more "
                                 "than {}",
                                 m_shown, k_lock_timeout),
                     "try again; a stuck client's lock is released when its connection ends");
    }
    return server_error(what, result, sqlstate);
}

Error Connection::open_error(std::string_view what, const PGresult* result,
                             std::string_view sqlstate) const {
    if (sqlstate == "42P01" || sqlstate == "3F000") {
        return Error(Status::failure, fmt::format("no tokenctl registry in {}", m_shown),
                     "run `tokenctl init` to create one, or name another with --db");
    }
    if (sqlstate == "42501") {
        // The registry's grants go to its users' logins only: this login is none of them
        // (or a removed one). The line is SQLite's for an unknown acting user.
        return Error(Status::permission,
                     fmt::format("{} is not a user of this database", libpq().PQuser(m_conn)),
                     "an administrator of the registry adds your login with `tokenctl user "
                     "add NAME`");
    }
    return server_error(what, result, sqlstate);
}

Error Connection::server_error(std::string_view what, const PGresult* result,
                               std::string_view sqlstate) const {
    std::string reason =
        result != nullptr
            ? one_line(libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) != nullptr
                           ? libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)
                           : "")
            : std::string();
    if (reason.empty()) {
        reason = m_conn != nullptr ? one_line(libpq().PQerrorMessage(m_conn))
                                   : std::string("the connection was given up");
    }
    std::string message = fmt::format("registry {}: cannot {}: {}", m_shown, what, reason);
    if (sqlstate == "42501") {
        return Error(Status::permission, message,
                     "the server refused: your login lacks the grant; an administrator "
                     "changes roles with `tokenctl user set-role`");
    }
    if (sqlstate == k_clock_skew) {
        return Error(Status::failure, fmt::format("registry {}: {}", m_shown, reason),
                     "set this host's clock right (NTP, systemd-timesyncd); the registry "
                     "stores the times its hosts give within five minutes of its own");
    }
    if (sqlstate == k_owner_stays) {
        return Error(Status::conflict, fmt::format("registry {}: {}", m_shown, reason),
                     "the owner of the schema tokenctl is the registry's administrator of "
                     "last resort");
    }
    if (sqlstate == "23505") {
        return Error(Status::conflict, message, "another writer got there first; try again");
    }
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014") {
        return Error(Status::failure, message, "try again");
    }
    if (sqlstate == "53100") {
        return Error(Status::failure, message, "the server's disk is full; nothing was changed");
    }
    if (sqlstate == "25006") {
        return Error(Status::failure, message,
                     "the server is read-only (a standby?); name the primary with --db");
    }
    if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate.starts_with("57P")) {
        return Error(Status::failure, message,
                     "the connection to the server was lost; if a change was being "
                     "committed, check whether it was made before trying again");
    }
    return Error(Status::failure, message);
}

Result Connection::query(std::string_view what, const std::string& sql, const Params& params,
                         ErrorMapper on_error) {
    if (!m_pending.empty()) {
        return pipeline(what, sql, params, on_error);
    }
    send(what, libpq().PQsendQueryParams(m_conn, sql.c_str(), params.count(), nullptr,
                                         params.values(), params.lengths(), params.formats(), 0));
    Result r = last_result(what);
    check(what, r, on_error);
    return r;
}

void Connection::run(std::string_view what, const std::string& sql, const Params& params) {
    if (m_in_transaction) {
        defer(what, sql, params);
    } else {
        query(what, sql, params);
    }
}

void Connection::defer(std::string_view what, std::string sql, const Params& params,
                       ErrorMapper on_error, std::optional<Error> otherwise) {
    m_pending.push_back(Pending{std::string(what), std::move(sql),
                                std::make_shared<const Params>(params), on_error,
                                std::move(otherwise)});
}

Result Connection::pipeline(std::string_view what, const std::string& sql, const Params& params,
                            ErrorMapper on_error) {
    const Libpq& pq = libpq();
    auto pending = std::exchange(m_pending, {});
    pending.push_back(Pending{std::string(what), sql, nullptr, on_error, std::nullopt});
    auto lost = [&] { return server_error(what, nullptr, ""); };
    if (pq.PQenterPipelineMode(m_conn) != 1) {
        throw lost();
    }
    for (const Pending& p : pending) {
        const Params& values = p.params ? *p.params : params;
        if (pq.PQsendQueryParams(m_conn, p.sql.c_str(), values.count(), nullptr, values.values(),
                                 values.lengths(), values.formats(), 0) != 1) {
            throw lost();
        }
    }
    if (pq.PQpipelineSync(m_conn) != 1) {
        throw lost();
    }
    // Each statement's result and the NULL after it, then the sync. After a failure
    // the rest report PGRES_PIPELINE_ABORTED: the first error is the one to tell.
    std::optional<Error> failure;
    std::optional<Result> last;
    for (const Pending& p : pending) {
        Result r(next_result(what));
        if (r.get() == nullptr) {
            throw lost();
        }
        // libpq keeps the single-row mode of a listing just read for the first statement
        // of the next pipeline: its rows come one by one, and what decides is the result
        // after them (the end of the rows, or an error).
        while (PGresult* more = next_result(what)) {
            if (pq.PQresultStatus(r.get()) == PGRES_SINGLE_TUPLE) {
                r = Result(more);
            } else {
                pq.PQclear(more);
            }
        }
        const char* state = pq.PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
        if (!failure && p.otherwise && state != nullptr && state == k_changed) {
            failure = p.otherwise;
        } else if (!failure && pq.PQresultStatus(r.get()) != PGRES_PIPELINE_ABORTED) {
            try {
                check(p.what, r, p.on_error);
            } catch (const Error& e) {
                failure = e;
            }
        }
        if (&p == &pending.back()) {
            last.emplace(std::move(r));
        }
    }
    Result sync(next_result(what));
    pq.PQexitPipelineMode(m_conn);
    if (failure) {
        throw *failure;
    }
    return std::move(*last);
}

void Connection::exec(std::string_view what, const std::string& sql, ErrorMapper on_error) {
    flush();
    send(what, libpq().PQsendQuery(m_conn, sql.c_str()));
    Result r = last_result(what);
    check(what, r, on_error);
}

void Connection::send(std::string_view what, int sent) {
    if (m_gone) {
        throw server_error(what, nullptr, "");
    }
    if (sent != 1) {
        throw server_error(what, nullptr, "");
    }
}

PGresult* Connection::next_result(std::string_view what) {
    const Libpq& pq = libpq();
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(k_answer_timeout_ms);
    while (!m_gone && pq.PQisBusy(m_conn) == 1) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        pollfd fd{pq.PQsocket(m_conn), POLLIN, 0};
        int ready = left > 0 ? ::poll(&fd, 1, static_cast<int>(left)) : 0;
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready == 0) {
            m_gone = true;
            pq.PQfinish(std::exchange(m_conn, nullptr));
            throw Error(Status::failure,
                        fmt::format("registry {}: cannot {}: no answer from the server in {} "
                                    "s; the connection was given up",
                                    m_shown, what, k_answer_timeout_ms / 1000),
                        "check the network and the server; if a change was being "
                        "committed, check whether it was made before trying again");
        }
        if (pq.PQconsumeInput(m_conn) != 1) {
            break; // the connection failed: PQgetResult says so
        }
    }
    if (m_gone) {
        throw server_error(what, nullptr, "");
    }
    return pq.PQgetResult(m_conn);
}

Result Connection::last_result(std::string_view what) {
    Result last(next_result(what));
    while (PGresult* more = next_result(what)) {
        last = Result(more);
    }
    return last;
}

void Connection::flush() {
    if (!m_pending.empty()) {
        Pending last = std::move(m_pending.back());
        m_pending.pop_back();
        query(last.what, last.sql, *last.params, last.on_error);
    }
}

void Connection::check(std::string_view what, const Result& r, ErrorMapper on_error) const {
    auto status = r.get() == nullptr ? PGRES_FATAL_ERROR : libpq().PQresultStatus(r.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return;
    }
    const char* state =
        r.get() != nullptr ? libpq().PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    throw(this->*on_error)(what, r.get(), state != nullptr ? state : "");
}

void Connection::copy(std::string_view what, const std::string& sql, std::size_t count,
                      const std::function<void(std::string& out, std::size_t i)>& line) {
    const Libpq& pq = libpq();
    flush();
    send(what, pq.PQsendQuery(m_conn, sql.c_str()));
    Result start(next_result(what));
    if (start.get() == nullptr || pq.PQresultStatus(start.get()) != PGRES_COPY_IN) {
        check(what, start, &Connection::server_error);
    }
    std::string buffer;
    auto flush = [&] {
        if (pq.PQputCopyData(m_conn, buffer.data(), static_cast<int>(buffer.size())) != 1) {
            throw server_error(what, nullptr, "");
        }
        buffer.clear();
    };
    for (std::size_t i = 0; i < count; ++i) {
        line(buffer, i);
        buffer += '\n';
        if (buffer.size() > (1U << 20)) {
            flush();
        }
    }
    flush();
    if (pq.PQputCopyEnd(m_conn, nullptr) != 1) {
        throw server_error(what, nullptr, "");
    }
    // The COPY's own result, then the end of the results.
    for (PGresult* r = next_result(what); r != nullptr; r = next_result(what)) {
        Result result(r);
        check(what, result, &Connection::server_error);
    }
}

void Connection::stream(std::string_view what, const std::string& sql, const Params& params,
                        const std::function<void(const Result&, int)>& fn) {
    if (!m_in_transaction) {
        read([&] { stream(what, sql, params, fn); });
        return;
    }
    // The table format reads a listing twice (to measure, then to write): a second
    // reading of a short listing, in the same snapshot, is the rows of the first.
    std::string key = sql + '\0' + params.digest();
    if (m_replay && m_replay->first == key) {
        for (const auto& row : m_replay->second) {
            fn(*row, 0);
        }
        return;
    }
    m_replay.reset();
    flush();
    const Libpq& pq = libpq();
    if (pq.PQsendQueryParams(m_conn, sql.c_str(), params.count(), nullptr, params.values(),
                             params.lengths(), params.formats(), 0) != 1 ||
        pq.PQsetSingleRowMode(m_conn) != 1) {
        throw server_error(what, nullptr, "");
    }
    std::vector<std::shared_ptr<Result>> kept;
    bool keep = m_read_only;
    while (PGresult* raw = next_result(what)) {
        auto row = std::make_shared<Result>(raw);
        auto status = pq.PQresultStatus(raw);
        if (status == PGRES_SINGLE_TUPLE) {
            // Should fn throw, the rows still coming are discarded by the rollback.
            fn(*row, 0);
            if (keep && kept.size() < k_replay_rows) {
                kept.push_back(std::move(row));
            } else {
                keep = false;
                kept.clear();
            }
        } else if (status != PGRES_TUPLES_OK) {
            while (PGresult* rest = next_result(what)) {
                pq.PQclear(rest);
            }
            check(what, *row, &Connection::server_error);
        }
    }
    if (keep) {
        m_replay.emplace(std::move(key), std::move(kept));
    }
}

} // namespace tokenctl::postgres
