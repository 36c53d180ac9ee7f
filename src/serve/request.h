#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

// What the server reads from a request besides what Beast parses: the target, the
// parameters of a query string or form body, and a bearer token. Pure functions over
// text, with no state: they are fuzzed (tests/fuzz/fuzz_serve_request.cpp).
namespace tokenctl::serve {

// Parameters by name, decoded. Their values are often secrets: they are wiped when the
// parameters go (a value moved out takes its bytes along).
class Params : public std::map<std::string, std::string> {
  public:
    using map::map;
    Params() = default;
    Params(const Params&) = default;
    Params(Params&&) = default;
    Params& operator=(const Params&) = default;
    Params& operator=(Params&&) = default;
    ~Params();
};

// A request target in origin form, split at the first '?'.
struct Target {
    std::string_view path;
    std::string_view query;
    bool has_query = false;
};
// The target's path and query; none unless it begins with '/'.
std::optional<Target> split_target(std::string_view target);

// The parameters of application/x-www-form-urlencoded text (a query string or a form
// body): NAME=VALUE pairs joined by '&', '+' for a space, %XX escapes. None when it is
// malformed (an empty pair, a pair without '=', an empty name, a bad escape, a control
// character once decoded) or names a parameter twice. Empty text has no parameters.
std::optional<Params> parse_form(std::string_view text);

// Whether a Content-Type value is application/x-www-form-urlencoded (case-insensitively,
// parameters such as charset allowed).
bool is_form_content_type(std::string_view value);

// The token of an Authorization header value `Bearer TOKEN` (RFC 6750: the scheme in any
// case, then spaces, then token68 characters alone); none otherwise.
std::optional<std::string_view> bearer_token(std::string_view header);

} // namespace tokenctl::serve
