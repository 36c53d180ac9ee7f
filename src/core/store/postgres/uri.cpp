#include "store/postgres/uri.h"

#include <tokenctl/error.h>

#include <fmt/format.h>

#include <algorithm>

namespace tokenctl::postgres {

namespace {

// %XX decoded, as libpq decodes a URI's parameters; malformed text is left as it is.
std::string percent_decoded(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
            hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// The URI with each password shown as ***, found where libpq finds them: the user info
// runs to the first '@' before any '/' (a '?' may be part of it), its password from its
// first ':'; a query parameter's keyword is percent-decoded first (pass%77ord is
// password). sslpassword, the client key's, is hidden too. The passwords as written go
// to `passwords`. A user info with a raw '@' in it (u:p@ss@host) is hidden up to its last
// '@', and `raw_at` is set: libpq would read what follows its first '@' as the host.
std::string redact_uri(std::string_view uri, std::vector<std::string>& passwords, bool& raw_at) {
    std::string out;
    auto scheme_end = uri.find("://");
    std::size_t rest = scheme_end == std::string_view::npos ? uri.size() : scheme_end + 3;
    out += uri.substr(0, rest);
    auto info_end = uri.find_first_of("@/", rest);
    raw_at = false;
    if (info_end != std::string_view::npos && uri[info_end] == '@') {
        // The host ends at the path or the query, whose '@'s are their own.
        auto last_at = uri.substr(0, uri.find_first_of("/?", info_end)).rfind('@');
        raw_at = last_at != info_end;
        info_end = last_at;
        auto info = uri.substr(rest, info_end - rest);
        auto colon = info.find(':');
        out += info.substr(0, colon);
        if (colon != std::string_view::npos) {
            passwords.emplace_back(info.substr(colon + 1));
            out += ":***";
        }
        out += '@';
        rest = info_end + 1;
    }
    auto query = uri.find('?', rest);
    out += uri.substr(rest, query == std::string_view::npos ? uri.npos : query + 1 - rest);
    if (query == std::string_view::npos) {
        return out;
    }
    for (std::size_t at = query + 1; at <= uri.size();) {
        auto end = std::min(uri.find('&', at), uri.size());
        auto param = uri.substr(at, end - at);
        auto equals = param.find('=');
        auto keyword = percent_decoded(param.substr(0, equals));
        if (equals != std::string_view::npos &&
            (keyword == "password" || keyword == "sslpassword")) {
            passwords.emplace_back(param.substr(equals + 1));
            out += param.substr(0, equals + 1);
            out += "***";
        } else {
            out += param;
        }
        if (end < uri.size()) {
            out += '&';
        }
        at = end + 1;
    }
    return out;
}

// Whether `text` has `what` at `at`, with `before` just before it (or nothing, when
// `before` is empty) and one of `after` (or the end) just after it.
bool framed(std::string_view text, std::size_t at, std::size_t size, std::string_view before,
            std::string_view after) {
    if (!before.empty() && (at == 0 || before.find(text[at - 1]) == std::string_view::npos)) {
        return false;
    }
    std::size_t end = at + size;
    return end == text.size() || after.find(text[end]) != std::string_view::npos;
}

} // namespace

std::string uri_warning(const Location& location) {
    if (location.passwords.empty()) {
        return {};
    }
    return "the registry's URI holds a password, which shows in ps and in shell history; keep "
           "it in ~/.pgpass or PGPASSFILE";
}

bool is_uri(std::string_view text) {
    return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

void parse_uri(Location& location) {
    location.uri = location.text;
    bool raw_at = false;
    location.text = redact_uri(location.uri, location.passwords, raw_at);
    if (raw_at) {
        throw Error(Status::usage,
                    fmt::format("the user name or password in {} holds a raw @, which would "
                                "be read as the start of the host",
                                location.text),
                    "percent-encode it: @ is %40");
    }
}

std::string hide_uri_passwords(std::string_view text, const Location& location) {
    std::string out(text);
    // The whole URI, as libpq quotes it when it cannot parse it.
    if (!location.uri.empty() && location.uri != location.text) {
        for (auto at = out.find(location.uri); at != std::string::npos;
             at = out.find(location.uri, at + location.text.size())) {
            out.replace(at, location.uri.size(), location.text);
        }
    }
    // A password alone, where a message can hold it: quoted, after "user:" in user info,
    // or as a parameter's value. A short password (one letter, say) is sought only there,
    // never as any run of letters of the message.
    constexpr std::size_t k_long = 8;
    constexpr std::string_view k_quotes = "\"'";
    constexpr std::string_view k_value_end = "&\"' ";
    for (const std::string& password : location.passwords) {
        if (password.empty()) {
            continue;
        }
        for (std::size_t at = out.find(password); at != std::string::npos;) {
            bool hide = password.size() >= k_long ||
                        framed(out, at, password.size(), k_quotes, k_quotes) ||
                        framed(out, at, password.size(), ":", "@") ||
                        framed(out, at, password.size(), "=", k_value_end);
            if (hide) {
                out.replace(at, password.size(), "***");
                at = out.find(password, at + 3);
            } else {
                at = out.find(password, at + 1);
            }
        }
    }
    return out;
}

} // namespace tokenctl::postgres
