#pragma once

#include <string>
#include <string_view>

namespace tokenctl {

// Each validator throws Error(usage) with a message naming the problem.

// 1-128 characters from A-Z a-z 0-9 . _ @ + -
void validate_user_name(std::string_view name);

// 1-128 bytes of printable UTF-8: no control characters, no leading/trailing space.
void validate_app_name(std::string_view name);

// Absolute URI (RFC 3986 scheme, then a non-empty rest), no fragment, no white space
// or control characters, at most 2048 bytes.
void validate_redirect_uri(std::string_view uri);

// 16 lowercase hexadecimal characters.
void validate_token_id(std::string_view id);

// "admin" or "user".
void validate_role(std::string_view role);

// Case-insensitive ASCII equality, the rule by which user names match.
bool iequals(std::string_view a, std::string_view b);

// `text` with every run that looks like a tokenctl secret (tca_… or tcr_…) replaced by
// "tca_…(redacted)": applied to every error line, so that a secret pasted in the wrong
// place never reaches standard error.
std::string redact_secrets(std::string_view text);

// The text made safe to quote in an error message: control bytes shown as \xNN and
// cut to a readable length, so hostile input cannot drive the terminal.
std::string printable(std::string_view text);

} // namespace tokenctl
