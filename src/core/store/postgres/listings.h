#pragma once

#include "store/postgres/connection.h"

#include <tokenctl/store/postgres.h>

#include <string>
#include <string_view>

// What the PostgreSQL store's statements share with its listings (listings.cpp, where each
// listing's SQL is written, and declared in tokenctl/store/postgres.h).
namespace tokenctl::postgres {

// A token's row (token_columns::k_row) is read from tokens t joined to its user u and its
// application a.
inline constexpr std::string_view k_token_joins =
    " FROM tokenctl.tokens t JOIN tokenctl.users u ON u.id = t.user_id "
    "JOIN tokenctl.apps a ON a.id = t.app_id";

// Whether token `t` is active at the parameter `at` ("$1"): neither revoked nor expired
// (TokenRow::status_at).
std::string token_active_at(std::string_view at);

// The values of `statement`, as the connection sends them.
Params params_of(const PostgresStatement& statement);

} // namespace tokenctl::postgres
