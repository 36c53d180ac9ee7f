#pragma once

#include <string>
#include <string_view>

namespace tokenctl {

// Each validator throws Error(usage) with a message naming the problem.

// 1-128 characters from A-Z a-z 0-9 . _ @ + -, not beginning with -, nothing shaped
// like a secret (contains_secret).
void validate_user_name(std::string_view name);

// 1-128 bytes of printable UTF-8: no C0 or C1 control characters, no Unicode format
// characters (category Cf: bidirectional overrides, zero-width characters, ...), nothing
// drawn blank or as nothing (U+2800, U+3164, U+034F, the typographic spaces, ...), no
// white space at either end (U+0020, U+00A0, U+202F, U+3000 only inside), nothing
// shaped like a secret.
void validate_app_name(std::string_view name);
// A name that finds an existing application (app remove, revoke --app, audit --subject):
// validate_app_name's rules but those on blanks and white space, so that an application
// an older tokenctl let in under such a name can still be named to remove it.
void validate_app_name_to_find(std::string_view name);

// Absolute URI (RFC 3986 scheme, then a non-empty rest), no fragment, no white space,
// control or format characters, at most 2048 bytes.
void validate_redirect_uri(std::string_view uri);

// 16 lowercase hexadecimal characters.
void validate_token_id(std::string_view id);

// "admin", "user" or "verifier".
void validate_role(std::string_view role);

// Case-insensitive ASCII equality, the rule by which user names match.
bool iequals(std::string_view a, std::string_view b);

// True when `text` holds a run shaped like a tokenctl secret: tca_, tcr_ or tcs_ and at least
// 43 base62 characters (a secret's random part; a whole secret has 49).
bool contains_secret(std::string_view text);

// `text` with every run that looks like a tokenctl secret (tca_…, tcr_…, tcs_…) replaced by
// "tca_…(redacted)": applied to every error line, so that a secret pasted in the wrong
// place never reaches standard error.
std::string redact_secrets(std::string_view text);

// `text` with every run shaped like a secret (contains_secret) replaced by
// "tca_…(redacted)": applied to every field of an audit record before it is stored, so
// no secret is ever recorded while a name that merely begins with tca_ stays whole.
std::string redact_secret_shapes(std::string_view text);

// The text made safe to quote in an error message: control bytes shown as \xNN and
// cut to a readable length, so hostile input cannot drive the terminal.
std::string printable(std::string_view text);

// `text` with C0 and C1 control characters, DEL, Unicode format characters (Cf), the
// characters names refuse as drawn blank or as nothing (U+2800, U+3164, U+034F, the
// typographic spaces, ...) and bytes that are not UTF-8 shown as \xNN, each byte of them:
// an error line or a listing quoting raw text can neither drive the terminal, nor reorder
// what it shows, nor split in two, nor hide a character.
std::string escape_controls(std::string_view text);

} // namespace tokenctl
