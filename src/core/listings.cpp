#include <tokenctl/commands.h>
#include <tokenctl/policy.h>
#include <tokenctl/time.h>

#include <algorithm>
#include <array>
#include <memory>

namespace tokenctl {

namespace {

Field time_field(Millis t) {
    return Field::of(format_rfc3339(t));
}

Field optional_time_field(const std::optional<Millis>& t) {
    return t ? time_field(*t) : Field::none();
}

// The columns of each listing: one line a column, read by every format.
constexpr std::array<Column<TokenRow>, 11> k_token_columns{{
    {{"token_id", "TOKEN ID"}, [](const TokenRow& r) { return Field::of(r.token_id); }},
    {{"user", "USER NAME"}, [](const TokenRow& r) { return Field::of(r.user); }},
    {{"application", "APPLICATION"}, [](const TokenRow& r) { return Field::of(r.application); }},
    {{"redirect_uri", ""}, [](const TokenRow& r) { return Field::of(r.redirect_uri); }},
    {{"generated_at", "GENERATED AT"},
     [](const TokenRow& r) { return time_field(r.generated_at); }},
    {{"access_expires_at", ""}, [](const TokenRow& r) { return time_field(r.access_expires_at); }},
    {{"refresh_expires_at", ""},
     [](const TokenRow& r) { return time_field(r.refresh_expires_at); }},
    {{"revoked_at", ""}, [](const TokenRow& r) { return optional_time_field(r.revoked_at); }},
    {{"status", "STATUS"},
     [](const TokenRow& r) { return Field::of(std::string(status_name(r.status))); }},
    {{"client_id", ""}, [](const TokenRow& r) { return Field::of(r.client_id); }},
    {{"last_used_at", ""}, [](const TokenRow& r) { return optional_time_field(r.last_used_at); }},
}};

constexpr std::array<Column<UserRow>, 5> k_user_columns{{
    {{"name", "NAME"}, [](const UserRow& r) { return Field::of(r.user.name); }},
    {{"role", "ROLE"},
     [](const UserRow& r) { return Field::of(std::string(role_name(r.user.role))); }},
    {{"created_at", "CREATED AT"}, [](const UserRow& r) { return time_field(r.user.created_at); }},
    {{"active_tokens", "ACTIVE TOKENS"},
     [](const UserRow& r) { return Field::of(r.active_tokens); }},
    // whoami on a PostgreSQL registry only
    {{"registry", "REGISTRY"}, [](const UserRow& r) { return Field::of(r.registry); }},
}};

constexpr std::array<Column<AuditEntry>, 6> k_audit_columns{{
    {{"time", "TIME"}, [](const AuditEntry& e) { return time_field(e.at); }},
    {{"user", "USER"}, [](const AuditEntry& e) { return Field::of(e.actor); }},
    {{"action", "ACTION"}, [](const AuditEntry& e) { return Field::of(e.action); }},
    {{"subject", "SUBJECT"}, [](const AuditEntry& e) { return Field::of(e.subject); }},
    {{"outcome", "OUTCOME"}, [](const AuditEntry& e) { return Field::of(e.outcome); }},
    {{"detail", "DETAIL"}, [](const AuditEntry& e) { return Field::of(e.detail); }},
}};

constexpr std::array<Column<AppRow>, 7> k_app_columns{{
    {{"name", "NAME"}, [](const AppRow& r) { return Field::of(r.app.name); }},
    {{"client_id", "CLIENT ID"}, [](const AppRow& r) { return Field::of(r.app.client_id); }},
    {{"redirect_uri", "REDIRECT URI"},
     [](const AppRow& r) { return Field::of(r.app.redirect_uri); }},
    {{"created_at", "CREATED AT"}, [](const AppRow& r) { return time_field(r.app.created_at); }},
    {{"created_by", "CREATED BY"}, [](const AppRow& r) { return Field::of(r.created_by); }},
    {{"active_tokens", "ACTIVE TOKENS"},
     [](const AppRow& r) { return Field::of(r.active_tokens); }},
    {{"removed_at", "REMOVED AT"},
     [](const AppRow& r) { return optional_time_field(r.app.removed_at); }},
}};

} // namespace

std::span<const Column<AppRow>> app_columns(bool all) {
    return std::span<const Column<AppRow>>(k_app_columns).first(all ? 7 : 6);
}

void complete_names(const Paths& paths, const std::optional<std::string>& claimed, NameSet set,
                    const std::string& prefix, std::size_t limit,
                    const std::function<void(const std::string&)>& fn) {
    // Not a Session: an unknown acting user is recorded by one, and completion writes nothing.
    std::unique_ptr<Store> store = open_store(paths.db);
    std::optional<User> found = store->find_user(acting_name(*store, claimed), false);
    if (!found) {
        return;
    }
    const User& actor = *found;
    bool admin = policy::may_administer(actor, "complete names").allowed();
    NameQuery query;
    query.prefix = prefix;
    query.now = now_ms();
    switch (set) {
    case NameSet::own_tokens:
    case NameSet::revocable_tokens:
        query.kind = NameQuery::Kind::token_ids;
        if (set == NameSet::own_tokens || !admin) {
            query.user_id = actor.id;
        }
        break;
    case NameSet::users:
    case NameSet::non_admin_users:
        if (!admin) {
            return;
        }
        query.kind = NameQuery::Kind::user_names;
        if (set == NameSet::non_admin_users) {
            query.role = Role::user;
        }
        break;
    case NameSet::apps:
        query.kind = NameQuery::Kind::app_names;
        if (!admin) {
            query.user_id = actor.id;
        }
        break;
    }
    limit = std::max<std::size_t>(limit, 2);
    std::vector<std::string> first;
    query.limit = limit + 1;
    store->read([&] {
        store->for_each_name(query, [&](const std::string& name) { first.push_back(name); });
        if (first.size() > limit) {
            first.resize(limit - 1);
            query.last = true;
            query.limit = 1;
            store->for_each_name(query, [&](const std::string& name) { first.push_back(name); });
        }
    });
    for (const auto& name : first) {
        fn(name);
    }
}

std::span<const Column<TokenRow>> token_columns() {
    return k_token_columns;
}
std::span<const Column<UserRow>> user_columns(bool registry) {
    return std::span<const Column<UserRow>>(k_user_columns).first(registry ? 5 : 4);
}
std::span<const Column<AuditEntry>> audit_columns() {
    return k_audit_columns;
}

} // namespace tokenctl
