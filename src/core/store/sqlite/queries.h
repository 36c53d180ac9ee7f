#pragma once

#include <tokenctl/store.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

// The SQLite backend's queries that listings and completion run (see sqlite.h), and the
// pieces of SQL the store's other statements share with them.
namespace tokenctl::sqlite {

// Whether token `t` is active at ?1: neither revoked nor expired (TokenRow::status_at).
inline constexpr std::string_view k_token_active_at =
    "t.revoked_at IS NULL AND t.refresh_expires_at > ?1";

inline constexpr std::string_view k_token_joins =
    " FROM tokens t JOIN users u ON u.id = t.user_id JOIN apps a ON a.id = t.app_id";

// The range of names that begin with the query's prefix: [low, high), either open.
std::pair<std::optional<std::string>, std::optional<std::string>>
prefix_range(const NameQuery& query);

} // namespace tokenctl::sqlite
