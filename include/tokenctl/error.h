#pragma once

#include <stdexcept>
#include <string>

namespace tokenctl {

// The exit statuses of SPEC.md; every failure maps to exactly one of them.
enum class Status : int {
    ok = 0,
    failure = 1,    // database, file system, key file, crypto, declined prompt
    usage = 2,      // unknown flag, invalid name, URI, duration, missing --yes
    permission = 3, // role rules, unknown acting user
    not_found = 4,  // token ID, user, application
    conflict = 5,   // already exists, revoked/expired, last administrator, file exists
};

// The one error type of the project: a message fit for a user, the exit status it
// maps to, and an optional hint printed on a second line.
class Error : public std::runtime_error {
  public:
    Error(Status status, const std::string& message, std::string hint = {})
        : std::runtime_error(message), m_status(status), m_hint(std::move(hint)) {}

    Status status() const { return m_status; }
    const std::string& hint() const { return m_hint; }

  private:
    Status m_status;
    std::string m_hint;
};

// A write whose commit may or may not have happened: the answer to COMMIT was lost. What
// the committed state may need (a key, a file) must be kept, and the message says how to
// find out. Exit status 1.
class UnknownOutcome : public Error {
  public:
    UnknownOutcome(const std::string& message, std::string hint)
        : Error(Status::failure, message, std::move(hint)) {}
};

} // namespace tokenctl
