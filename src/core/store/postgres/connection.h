#pragma once

#include "store/postgres/libpq.h"

#include <tokenctl/error.h>
#include <tokenctl/model.h>
#include <tokenctl/store.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The PostgreSQL backend's connection and protocol: one libpq connection, its statements
// sent in pipelines, listings streamed row by row, COPY, transactions and their commit,
// every answer awaited at most 30 s, and the server's SQLSTATEs mapped to tokenctl's
// errors. It knows no table of the registry.
namespace tokenctl::postgres {

// The SQLSTATE of require_meta(): the value is not what the command read before.
inline constexpr std::string_view k_changed = "TK001";
// The SQLSTATE of keep_an_admin() refusing to demote or remove the schema's owner.
inline constexpr std::string_view k_owner_stays = "TK002";
// The SQLSTATE of require_now(): the client's clock is too far from the server's.
inline constexpr std::string_view k_clock_skew = "TK003";
// How long a writer waits for the writers' lock (SET LOCAL lock_timeout).
inline constexpr std::string_view k_lock_timeout = "10s";

// Parameters of one statement: text, or binary for bytea, or NULL. Copied into the
// statements a pipeline defers.
class Params {
  public:
    // Appends a text parameter.
    Params& text(std::string value) {
        m_entries.push_back(Entry{std::move(value), 0});
        return *this;
    }
    // Appends a text parameter.
    Params& text(std::string_view value) { return text(std::string(value)); }
    // Appends a text parameter.
    Params& text(const char* value) { return text(std::string(value)); }
    // Appends a number, in text form.
    Params& text(std::int64_t value) { return text(std::to_string(value)); }
    // Appends a number in text form, or NULL.
    Params& text(const std::optional<std::int64_t>& value) { return value ? text(*value) : null(); }
    // Appends NULL.
    Params& null() {
        m_entries.push_back(Entry{std::nullopt, 0});
        return *this;
    }
    // Appends a bytea parameter, in binary form.
    Params& bytes(const Bytes& value) {
        m_entries.push_back(Entry{std::string(value.begin(), value.end()), 1});
        return *this;
    }

    // The values, as one string that differs when they do.
    std::string digest() const;

    // libpq's arrays, valid until this changes.
    int count() const { return static_cast<int>(m_entries.size()); }
    // libpq's array of values (NULL for NULL), valid until this changes.
    const char* const* values() const;
    // libpq's array of lengths, valid until this changes.
    const int* lengths() const;
    // libpq's array of formats (0 text, 1 binary), valid until this changes.
    const int* formats() const;

  private:
    struct Entry {
        std::optional<std::string> value;
        int format; // 0 text, 1 binary
    };
    std::vector<Entry> m_entries;
    mutable std::vector<const char*> m_values;
    mutable std::vector<int> m_lengths;
    mutable std::vector<int> m_formats;
};

// One statement's result, in text form; owns (and clears) libpq's PGresult.
class Result {
  public:
    // Takes `result` (which may be NULL).
    explicit Result(PGresult* result) : m_result(result) {}
    // Takes other's result.
    Result(Result&& other) noexcept : m_result(std::exchange(other.m_result, nullptr)) {}
    // Clears this result, then takes other's.
    Result& operator=(Result&& other) noexcept;
    // Clears the result.
    ~Result();

    // libpq's result, or NULL.
    PGresult* get() const { return m_result; }
    // The number of rows.
    int rows() const { return libpq().PQntuples(m_result); }
    // Whether the value at (row, col) is NULL.
    bool null(int row, int col) const { return libpq().PQgetisnull(m_result, row, col) != 0; }
    // The value at (row, col) as the server sent it, valid as long as this result.
    std::string_view view(int row, int col) const {
        return {libpq().PQgetvalue(m_result, row, col),
                static_cast<std::size_t>(libpq().PQgetlength(m_result, row, col))};
    }
    // The value at (row, col), copied.
    std::string str(int row, int col) const { return std::string(view(row, col)); }
    // The value at (row, col) as a number; Error(failure) when it is not one.
    std::int64_t int64(int row, int col) const;
    // The value at (row, col) as a number, or nullopt for NULL.
    std::optional<std::int64_t> optional_int64(int row, int col) const {
        return null(row, col) ? std::nullopt : std::optional<std::int64_t>(int64(row, col));
    }
    // bytea in its text form: \x and two hex digits a byte.
    Bytes bytes(int row, int col) const;

  private:
    PGresult* m_result;
};

// One row of a Result, read by column (as token_columns reads a token's row).
struct ResultRow {
    const Result& r;
    int i;
    int first = 0; // the column that column 0 is (what precedes a token's columns)
    // The number in column c.
    std::int64_t int64(int c) const { return r.int64(i, first + c); }
    // The text in column c.
    std::string text(int c) const { return r.str(i, first + c); }
    // The number in column c, or nullopt for NULL.
    std::optional<std::int64_t> optional_int64(int c) const {
        return r.optional_int64(i, first + c);
    }
    // The bytea in column c.
    Bytes bytes(int c) const { return r.bytes(i, first + c); }
    // Whether column c is NULL.
    bool null(int c) const { return r.null(i, first + c); }
};

// Appends `bytes` to a line of COPY's text format, as bytea's hex form.
void copy_bytea(std::string& out, const Bytes& bytes);
// Appends `value` to a line of COPY's text format, or \N (NULL).
void copy_number(std::string& out, std::optional<std::int64_t> value);

// libpq's multi-line messages as one line: line breaks and the indentation after them
// become one space.
std::string one_line(std::string_view text);

// One connection to the registry's server, and the statements sent on it. Errors are
// Error, worded for the registry as shown (its URI, the password hidden).
class Connection {
  public:
    // How the server's error for a statement becomes tokenctl's: one of the *_error below.
    using ErrorMapper = Error (Connection::*)(std::string_view what, const PGresult* result,
                                              std::string_view sqlstate) const;

    // Not yet connected; `shown` names the registry in every message.
    explicit Connection(std::string shown) : m_shown(std::move(shown)) {}
    // Closes the connection.
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Connects to `location` (TCP keepalives, a 10 s connect timeout unless
    // PGCONNECT_TIMEOUT says otherwise); Error(failure) with libpq's reason, its
    // passwords hidden.
    void connect(const Location& location);

    // Whether the connection is lost: broken (the server or the network closed it) or
    // given up (no answer in time). Nothing more goes through it.
    bool lost() const;
    // Closes a lost connection and connects to `location` again, as connect() does.
    void reconnect(const Location& location);

    // The registry as messages name it.
    const std::string& shown() const { return m_shown; }
    // Whether a transaction is running.
    bool in_transaction() const { return m_in_transaction; }

    // Runs `body` between `begin`'s statements and the end of the transaction. The
    // beginning goes to the server with the body's first question; a read-only
    // transaction's end goes with the next command's, or not at all (the server ends it
    // when the connection closes, and nothing is lost: it changed nothing). A write's
    // COMMIT whose answer is lost throws UnknownOutcome. Nested transactions are an
    // internal error.
    void transaction(std::initializer_list<std::string> begin, std::string_view what,
                     bool read_only, const std::function<void()>& body);
    // Runs `body` in a read-only transaction of one snapshot.
    void read(const std::function<void()>& body);

    // Runs `sql` with `params`, after the statements deferred so far (in one pipeline);
    // throws the mapped error of the first that fails.
    Result query(std::string_view what, const std::string& sql, const Params& params = Params(),
                 ErrorMapper on_error = &Connection::server_error);
    // A statement whose result nobody reads: inside a transaction it waits for the next
    // one that has a result (its error, if any, comes then, before the commit).
    void run(std::string_view what, const std::string& sql, const Params& params);
    // Keeps `sql` to be sent with the next statement that has a result. When it raises
    // k_changed, `otherwise` is thrown instead of the server's error.
    void defer(std::string_view what, std::string sql, const Params& params,
               ErrorMapper on_error = &Connection::server_error,
               std::optional<Error> otherwise = std::nullopt);
    // One or more statements without parameters (after the deferred ones).
    void exec(std::string_view what, const std::string& sql,
              ErrorMapper on_error = &Connection::server_error);
    // Runs the COPY … FROM STDIN `sql`, `count` lines, line i as `line` writes it.
    void copy(std::string_view what, const std::string& sql, std::size_t count,
              const std::function<void(std::string& out, std::size_t i)>& line);
    // Runs `sql`, `fn` called on each row as it arrives (libpq's single-row mode): bounded
    // memory however many rows there are, and the server produces rows while `fn` writes
    // them. `fn` must not call the connection. Outside a transaction, in a read of its own.
    void stream(std::string_view what, const std::string& sql, const Params& params,
                const std::function<void(const Result&, int)>& fn);

    // SQLSTATE classes mapped to tokenctl's statuses and hints.
    Error server_error(std::string_view what, const PGresult* result,
                       std::string_view sqlstate) const;
    // server_error, but a lock not taken within k_lock_timeout says who holds it.
    Error lock_error(std::string_view what, const PGresult* result,
                     std::string_view sqlstate) const;
    // server_error, but no schema tokenctl, or a login without its grants, say so.
    Error open_error(std::string_view what, const PGresult* result,
                     std::string_view sqlstate) const;

  private:
    void commit();
    Result pipeline(std::string_view what, const std::string& sql, const Params& params,
                    ErrorMapper on_error);
    void send(std::string_view what, int sent);
    PGresult* next_result(std::string_view what);
    Result last_result(std::string_view what);
    void flush();
    void check(std::string_view what, const Result& r, ErrorMapper on_error) const;

    std::string m_shown; // the URI, its password hidden
    PGconn* m_conn = nullptr;
    // The connection was given up (no answer in time): m_conn is closed.
    bool m_gone = false;
    bool m_in_transaction = false;
    bool m_read_only = false;
    // Statements whose results nobody reads, sent with the next one that has one, in one
    // pipeline: a round trip each saved.
    struct Pending {
        std::string what;
        std::string sql;
        std::shared_ptr<const Params> params;
        ErrorMapper on_error;
        // Thrown instead when the statement raises k_changed (require_meta).
        std::optional<Error> otherwise;
    };
    std::vector<Pending> m_pending;
    // The last listing of this read transaction, when it was short: its query and rows.
    std::optional<std::pair<std::string, std::vector<std::shared_ptr<Result>>>> m_replay;
};

} // namespace tokenctl::postgres
