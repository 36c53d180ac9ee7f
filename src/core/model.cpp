#include <tokenctl/error.h>
#include <tokenctl/model.h>
#include <tokenctl/validate.h>

namespace tokenctl {

std::string_view role_name(Role role) {
    switch (role) {
    case Role::admin:
        return "admin";
    case Role::verifier:
        return "verifier";
    case Role::user:
        break;
    }
    return "user";
}

Role parse_role(std::string_view text) {
    validate_role(text);
    return text == "admin" ? Role::admin : text == "verifier" ? Role::verifier : Role::user;
}

std::string_view status_name(TokenStatus status) {
    switch (status) {
    case TokenStatus::active:
        return "active";
    case TokenStatus::expired:
        return "expired";
    case TokenStatus::revoked:
        return "revoked";
    }
    return "active";
}

TokenStatus TokenRow::status_at(Millis now) const {
    if (revoked_at) {
        return TokenStatus::revoked;
    }
    return refresh_expires_at <= now ? TokenStatus::expired : TokenStatus::active;
}

} // namespace tokenctl
