#pragma once

#include <tokenctl/store.h>

#include <string>
#include <string_view>

// PostgreSQL locations: libpq connection URIs, and the passwords they may hold.
namespace tokenctl::postgres {

// Whether `text` names a PostgreSQL registry: a postgresql:// or postgres:// URI.
bool is_uri(std::string_view text);

// Fills `location` from its text, a URI: uri (as given), text (each password as ***) and
// passwords (as written). A user info with a raw '@' (u:p@ss@host, which libpq would read
// as the host) is Error(usage).
void parse_uri(Location& location);

// The warning a URI with a password deserves, or "" (Location::warning).
std::string uri_warning(const Location& location);

// `text` with the location's URI shown as location.text, and each of its passwords as ***
// (see hide_passwords).
std::string hide_uri_passwords(std::string_view text, const Location& location);

} // namespace tokenctl::postgres
